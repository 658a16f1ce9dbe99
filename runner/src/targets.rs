//! Where a run's lanes connect: the backend's listeners on the run's network (each
//! network's listeners sit behind its emulated link, so the runner's bytes cross the
//! same link as a browser's), and the local CA its TLS listeners' certificate chains to.

use http::Uri;
use lab_instrument::run::config::Network;
use lab_proto::contract::listener;

use crate::RunnerError;

/// The listeners of one network, and the CA to trust.
#[derive(Debug, Clone)]
pub struct Targets {
    /// Cleartext: HTTP/1.1 and h2c.
    pub plain: Uri,
    /// TLS offering HTTP/1.1 only.
    pub tls_http1: Option<Uri>,
    /// TLS offering HTTP/2.
    pub tls_h2: Option<Uri>,
    /// The lab's local CA (PEM), which the TLS listeners' certificate chains to.
    pub ca_pem: Option<Vec<u8>>,
}

/// One listener as `/api/v1/status` lists it.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listener {
    name: String,
    url: String,
    network: NetworkName,
}

#[derive(Debug, serde::Deserialize)]
struct NetworkName {
    name: String,
}

#[derive(Debug, serde::Deserialize)]
struct Status {
    listeners: Vec<Listener>,
}

impl Targets {
    /// The listeners of `network` among `listeners` (name, URL, network name).
    pub fn pick<'a>(
        listeners: impl IntoIterator<Item = (&'a str, String, &'a str)>,
        network: Network,
        ca_pem: Option<Vec<u8>>,
    ) -> Result<Self, RunnerError> {
        let (mut plain, mut tls_http1, mut tls_h2) = (None, None, None);
        for (name, url, on) in listeners {
            if on != network.key() {
                continue;
            }
            // A listener bound to every address is reached on loopback (the name its
            // certificate holds).
            let url = url
                .replace("://0.0.0.0:", "://127.0.0.1:")
                .replace("://[::]:", "://[::1]:");
            let uri: Uri = url
                .parse()
                .map_err(|err| RunnerError::Backend(format!("listener URL {url}: {err}")))?;
            match name {
                listener::PLAIN => plain = Some(uri),
                listener::TLS_HTTP1 => tls_http1 = Some(uri),
                listener::TLS_H2 => tls_h2 = Some(uri),
                _ => {}
            }
        }
        Ok(Self {
            plain: plain.ok_or_else(|| RunnerError::NoListener {
                network: network.key().to_owned(),
                listener: listener::PLAIN,
            })?,
            tls_http1,
            tls_h2,
            ca_pem,
        })
    }

    /// From the body of the backend's `GET /api/v1/status`.
    pub fn from_status(
        body: &[u8],
        network: Network,
        ca_pem: Option<Vec<u8>>,
    ) -> Result<Self, RunnerError> {
        let status: Status = serde_json::from_slice(body)
            .map_err(|err| RunnerError::Backend(format!("its status is not the lab's: {err}")))?;
        Self::pick(
            status
                .listeners
                .iter()
                .map(|l| (l.name.as_str(), l.url.clone(), l.network.name.as_str())),
            network,
            ca_pem,
        )
    }

    /// The listener `name` (`tls-http1` or `tls-h2`), or why the run cannot use it.
    pub fn tls(&self, name: &'static str) -> Result<(&Uri, &[u8]), RunnerError> {
        let uri = match name {
            listener::TLS_HTTP1 => self.tls_http1.as_ref(),
            _ => self.tls_h2.as_ref(),
        };
        let uri = uri.ok_or_else(|| RunnerError::NoListener {
            network: String::new(),
            listener: name,
        })?;
        let ca = self.ca_pem.as_deref().ok_or(RunnerError::NoCa)?;
        Ok((uri, ca))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = r#"{"listeners":[
        {"name":"plain","url":"http://127.0.0.1:8080","network":{"name":"loopback"}},
        {"name":"tls-h2","url":"https://127.0.0.1:8444","network":{"name":"loopback"}},
        {"name":"plain","url":"http://127.0.0.1:8180","network":{"name":"lighthouse-mobile"}},
        {"name":"quic-h3","url":"https://127.0.0.1:8444","network":{"name":"loopback"}}
    ]}"#;

    #[test]
    fn the_run_s_network_picks_its_listeners() {
        let mobile = Network::from_key("lighthouse-mobile").unwrap();
        let targets = Targets::from_status(STATUS.as_bytes(), mobile, None).unwrap();
        assert_eq!(targets.plain, "http://127.0.0.1:8180");
        assert!(targets.tls_h2.is_none());
        let loopback = Targets::from_status(STATUS.as_bytes(), Network::default(), None).unwrap();
        assert_eq!(loopback.tls_h2.as_ref().unwrap(), "https://127.0.0.1:8444");
        assert_eq!(
            loopback.tls(listener::TLS_H2).unwrap_err(),
            RunnerError::NoCa
        );
        let far = Network::from_key("intercontinental").unwrap();
        let err = Targets::from_status(STATUS.as_bytes(), far, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the backend has no plain listener on the network intercontinental"
        );
        assert!(Targets::from_status(b"{}", far, None).is_err());
    }
}
