//! What the page reads from the backend's `GET /api/v1/status`: its listeners, one per
//! HTTP version and network, with the connections each has accepted. Only these fields are read
//! (serde skips the rest), so the bundle carries no parser for the others.

use gloo_net::http::Request;
use lab_proto::contract::rest::STATUS;
use serde::Deserialize;
use web_sys::RequestCache;

use super::TransportError;

/// One of the backend's listeners.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// `plain`, `tls-http1` or `tls-h2`: an `HttpVersion` key.
    pub name: String,
    /// Its origin as a browser opens it, e.g. `https://127.0.0.1:8444`.
    pub url: String,
    /// Connections accepted since the backend started.
    #[serde(default)]
    pub connections_accepted: u64,
    /// The emulated network under its connections (loopback when not said).
    #[serde(default)]
    pub network: ListenerNetwork,
}

/// A listener's emulated network.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListenerNetwork {
    /// `loopback`, a preset's name or `custom`: a `Network` key.
    pub name: String,
    /// What its link costs, e.g. `rtt=150ms, down=1638.4kbit, up=750kbit`.
    pub link: Option<String>,
}

impl Default for ListenerNetwork {
    fn default() -> Self {
        Self {
            name: lab_proto::contract::network::LOOPBACK.to_owned(),
            link: None,
        }
    }
}

#[derive(Deserialize)]
struct StatusView {
    #[serde(default)]
    listeners: Vec<Listener>,
}

/// The backend's listeners, as `origin`'s status reports them.
pub async fn listeners(origin: &str) -> Result<Vec<Listener>, TransportError> {
    let response = Request::get(&format!("{origin}{STATUS}"))
        .cache(RequestCache::NoStore)
        .send()
        .await
        .map_err(|err| TransportError::Network(err.to_string()))?;
    let body = super::rest::body_of(&response).await?;
    serde_json::from_slice::<StatusView>(&body)
        .map(|status| status.listeners)
        .map_err(|err| TransportError::Decode(err.to_string()))
}

/// Scheme and port of an origin such as `https://127.0.0.1:8444` (default ports when
/// none is written).
fn scheme_and_port(origin: &str) -> Option<(&str, u16)> {
    let (scheme, rest) = origin.split_once("://")?;
    let authority = rest.split('/').next()?;
    let port = match authority.rsplit_once(':') {
        // `[::1]:8444` and `127.0.0.1:8444` alike; `[::1]` alone has no port.
        Some((host, port)) if !port.ends_with(']') && !host.is_empty() => port.parse().ok()?,
        _ => match scheme {
            "http" => 80,
            "https" => 443,
            _ => return None,
        },
    };
    Some((scheme, port))
}

/// The listener serving the page at `origin`: same scheme and port (the host may be
/// spelled `localhost` on one side and `127.0.0.1` on the other).
pub fn serving<'a>(listeners: &'a [Listener], origin: &str) -> Option<&'a Listener> {
    let page = scheme_and_port(origin)?;
    listeners
        .iter()
        .find(|l| scheme_and_port(&l.url) == Some(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(name: &str, url: &str) -> Listener {
        Listener {
            name: name.into(),
            url: url.into(),
            connections_accepted: 0,
            network: ListenerNetwork::default(),
        }
    }

    #[test]
    fn the_serving_listener_is_found_by_scheme_and_port() {
        let listeners = [
            listener("plain", "http://127.0.0.1:8080"),
            listener("tls-http1", "https://127.0.0.1:8443"),
            listener("tls-h2", "https://127.0.0.1:8444"),
        ];
        let name = |origin| serving(&listeners, origin).map(|l| l.name.as_str());
        assert_eq!(name("https://localhost:8444"), Some("tls-h2"));
        assert_eq!(name("http://127.0.0.1:8080"), Some("plain"));
        assert_eq!(name("https://[::1]:8443"), Some("tls-http1"));
        assert_eq!(
            name("http://127.0.0.1:8443"),
            None,
            "same port, other scheme"
        );
        assert_eq!(name("https://example.org"), None);
        assert_eq!(name("not a url"), None);
    }

    #[test]
    fn default_ports_count_when_none_is_written() {
        assert_eq!(
            scheme_and_port("https://lab.example.org"),
            Some(("https", 443))
        );
        assert_eq!(scheme_and_port("http://[::1]"), Some(("http", 80)));
        assert_eq!(scheme_and_port("http://h:81/path"), Some(("http", 81)));
    }

    #[test]
    fn only_the_fields_the_page_needs_are_read() {
        let json = r#"{"liveStreams":0,"requests":{"/api/v1/ping":3},"listeners":[
            {"name":"tls-h2","url":"https://127.0.0.1:8444","alpn":["h2","http/1.1"],
             "connectionsAccepted":7,"connectionsOpen":1}]}"#;
        let status: StatusView = serde_json::from_slice(json.as_bytes()).unwrap();
        assert_eq!(status.listeners[0].connections_accepted, 7);
        assert_eq!(status.listeners[0].network.name, "loopback");
        let json = r#"{"listeners":[{"name":"plain","url":"http://127.0.0.1:8180",
            "network":{"name":"lighthouse-mobile","link":"rtt=150ms"}}]}"#;
        let status: StatusView = serde_json::from_slice(json.as_bytes()).unwrap();
        assert_eq!(status.listeners[0].network.name, "lighthouse-mobile");
        assert_eq!(
            status.listeners[0].network.link.as_deref(),
            Some("rtt=150ms")
        );
        let without: StatusView = serde_json::from_slice(b"{\"liveStreams\":0}").unwrap();
        assert!(without.listeners.is_empty());
    }
}
