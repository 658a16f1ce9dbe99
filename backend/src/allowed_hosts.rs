//! Who may talk to the lab: the names it answers to, and the origins that may make it
//! work. Checked before any route, on every listener (the router is shared by the
//! plain, TLS and HTTP/3 listeners).
//!
//! - **Host**: a request whose `Host` (HTTP/1.1) or `:authority` (HTTP/2, HTTP/3,
//!   native gRPC) names anything but an IP address, `localhost` or a name given with
//!   `--allowed-host` gets `421 Misdirected Request`. A site that rebinds its own name
//!   to 127.0.0.1 (DNS rebinding) reaches the lab under that name, so it is refused
//!   there; an IP address cannot be rebound. A port, when written, must be one of the
//!   lab's listeners' or of a `--cors-origin` (the dev loop's proxy passes its own).
//! - **Origin**: a request that is not a read (`GET`, `HEAD`, `OPTIONS`) and carries
//!   an `Origin` that is not one of the lab's own (an allowed host, or a `--cors-origin`)
//!   gets `403 Forbidden`, in addition to CORS, which only keeps a foreign page from
//!   reading the answer, not the work from being done. Clients that send no `Origin`
//!   (curl, gRPC clients) are not browsers run by another site, and pass.
//!
//! Both refusals carry `grpc-status` and `grpc-message` too, so gRPC clients report them
//! as such, and are counted in `/api/v1/status`.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The names and ports the lab answers to, and how many requests it refused.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    /// Names beyond `localhost` and IP addresses (`--allowed-host`), lower case.
    names: Arc<[String]>,
    /// The listeners' ports and the CORS origins' (the dev loop's proxy presents its
    /// own); empty: any port.
    ports: Arc<[u16]>,
    /// Origins of other pages allowed to call the APIs (CORS).
    cors_origins: Arc<[HeaderValue]>,
    refused_hosts: Arc<AtomicU64>,
    refused_origins: Arc<AtomicU64>,
}

/// The host and port of an authority such as `127.0.0.1:8080`, `[::1]:8443` or
/// `localhost`.
fn split_authority(authority: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?.parse().ok()?),
        };
        return Some((host, port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((authority, None)),
    }
}

impl AllowedHosts {
    /// `names` beyond the built-in ones, the listeners' `ports` (none: any port), and
    /// the CORS origins, which count as the lab's own.
    pub fn new(
        names: impl IntoIterator<Item = String>,
        ports: impl IntoIterator<Item = u16>,
        cors_origins: &[HeaderValue],
    ) -> Self {
        let mut ports: Vec<u16> = ports.into_iter().collect();
        if !ports.is_empty() {
            ports.extend(cors_origins.iter().filter_map(|origin| {
                let authority = origin.to_str().ok()?.split_once("://")?.1;
                split_authority(authority)?.1
            }));
        }
        Self {
            names: names.into_iter().map(|n| n.to_ascii_lowercase()).collect(),
            ports: ports.into(),
            cors_origins: cors_origins.into(),
            ..Self::default()
        }
    }

    /// Whether the lab answers to `authority` (a `Host` or `:authority` value).
    pub fn allows(&self, authority: &str) -> bool {
        let Some((host, port)) = split_authority(authority) else {
            return false;
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let named =
            host.parse::<IpAddr>().is_ok() || host == "localhost" || self.names.contains(&host);
        let port_ok = match port {
            Some(port) => self.ports.is_empty() || self.ports.contains(&port),
            None => true,
        };
        named && port_ok
    }

    /// Whether `origin` (an `Origin` header value) is one of the lab's own.
    pub fn owns_origin(&self, origin: &HeaderValue) -> bool {
        if self.cors_origins.contains(origin) {
            return true;
        }
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|authority| self.allows(authority))
    }

    /// Requests refused for their Host, and for their Origin, since start.
    pub fn refused(&self) -> (u64, u64) {
        (
            self.refused_hosts.load(Ordering::Relaxed),
            self.refused_origins.load(Ordering::Relaxed),
        )
    }

    /// Why `request` is refused, if it is.
    fn refusal(
        &self,
        method: &Method,
        uri_authority: Option<&str>,
        headers: &HeaderMap,
    ) -> Option<Refusal> {
        let host = headers.get(header::HOST).map(|h| h.to_str().unwrap_or("?"));
        for name in [uri_authority, host].into_iter().flatten() {
            if !self.allows(name) {
                self.refused_hosts.fetch_add(1, Ordering::Relaxed);
                return Some(Refusal {
                    status: StatusCode::MISDIRECTED_REQUEST,
                    message: format!(
                        "this lab answers only to 127.0.0.1, [::1], localhost and names given \
                         with --allowed-host, on its own ports; not to {name}"
                    ),
                });
            }
        }
        let reads = [Method::GET, Method::HEAD, Method::OPTIONS];
        // A WebSocket is opened with a GET, but CORS does not guard it: the page that
        // opens one talks to the lab freely, so its opening is a write too.
        let websocket = headers
            .get(header::UPGRADE)
            .is_some_and(|u| u.as_bytes().eq_ignore_ascii_case(b"websocket"));
        if let Some(origin) = headers.get(header::ORIGIN)
            && (!reads.contains(method) || websocket)
            && !self.owns_origin(origin)
        {
            self.refused_origins.fetch_add(1, Ordering::Relaxed);
            return Some(Refusal {
                status: StatusCode::FORBIDDEN,
                message: format!(
                    "a page from {} may not make this lab work: only its own pages and \
                     --cors-origin origins may",
                    origin.to_str().unwrap_or("another origin")
                ),
            });
        }
        None
    }
}

/// A refused request's answer.
struct Refusal {
    status: StatusCode,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        // PERMISSION_DENIED for gRPC clients; the message is ASCII.
        let grpc_message = HeaderValue::from_str(&self.message)
            .unwrap_or_else(|_| HeaderValue::from_static("refused"));
        (
            self.status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                ),
                (
                    header::HeaderName::from_static("grpc-status"),
                    HeaderValue::from_static("7"),
                ),
                (
                    header::HeaderName::from_static("grpc-message"),
                    grpc_message,
                ),
            ],
            format!("{}\n", self.message),
        )
            .into_response()
    }
}

/// The middleware: refuses a request for its Host or its Origin, or passes it on.
pub async fn guard(State(hosts): State<AllowedHosts>, request: Request, next: Next) -> Response {
    let authority = request.uri().authority().map(|a| a.as_str());
    match hosts.refusal(request.method(), authority, request.headers()) {
        Some(refusal) => refusal.into_response(),
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> AllowedHosts {
        AllowedHosts::new(
            ["Lab.Example.com".to_owned()],
            [8080, 8443],
            &[HeaderValue::from_static("http://127.0.0.1:8081")],
        )
    }

    #[test]
    fn loopback_names_addresses_and_given_names_pass_on_the_lab_s_ports() {
        let hosts = lab();
        for ok in [
            "127.0.0.1:8080",
            "[::1]:8443",
            "localhost:8080",
            "LOCALHOST.:8443",
            "lab.example.com:8443",
            "lab.example.com",
            "10.0.0.7:8080",
            "127.0.0.1",
            "127.0.0.1:8081",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.nip.io:8080",
            "localhost.evil.example:8080",
            "127.0.0.1:9999",
            "[::1",
            "localhost:http",
            "",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
        assert!(
            AllowedHosts::default().allows("127.0.0.1:1234"),
            "no listeners: any port"
        );
    }

    #[test]
    fn the_lab_s_own_origins_and_cors_origins_may_make_it_work() {
        let hosts = lab();
        let own = |o: &'static str| hosts.owns_origin(&HeaderValue::from_static(o));
        assert!(own("http://127.0.0.1:8080"));
        assert!(own("https://localhost:8443"));
        assert!(own("http://127.0.0.1:8081"), "a --cors-origin");
        assert!(!own("https://evil.example"));
        assert!(!own("null"));
        assert!(!own("http://127.0.0.1:9999"));
    }

    #[test]
    fn a_foreign_host_or_a_foreign_origin_s_write_is_refused_and_counted() {
        let hosts = lab();
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("evil.example:8080"));
        let refusal = hosts.refusal(&Method::GET, None, &headers).unwrap();
        assert_eq!(refusal.status, StatusCode::MISDIRECTED_REQUEST);
        assert!(
            refusal.message.contains("--allowed-host"),
            "{}",
            refusal.message
        );
        // HTTP/2's :authority is the URI's.
        let refusal = hosts.refusal(&Method::POST, Some("evil.example:8080"), &HeaderMap::new());
        assert!(refusal.is_some());
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(
            hosts.refusal(&Method::GET, None, &headers).is_none(),
            "reads pass"
        );
        let refusal = hosts.refusal(&Method::POST, None, &headers).unwrap();
        assert_eq!(refusal.status, StatusCode::FORBIDDEN);
        headers.remove(header::ORIGIN);
        assert!(
            hosts.refusal(&Method::POST, None, &headers).is_none(),
            "no Origin: no browser"
        );
        assert_eq!(hosts.refused(), (2, 1));
    }
}
