//! The lab's listeners: the plain one (HTTP/1.1 and h2c, the baseline), two over
//! TLS, one whose ALPN offers only `http/1.1` and one offering `h2` and `http/1.1`, so
//! a browser can be made to speak either version, and one over QUIC (UDP) serving
//! HTTP/3 ([`crate::http3`]). Each has the URL a client opens and counts of its
//! connections, reported by `GET /api/v1/status` (the page shows how many connections
//! a run opened).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lab_proto::contract::{listener as names, network};
use lab_runner::wire::ByteCounts;
use serde::{Deserialize, Serialize};

use crate::link::Link;

/// ALPN ids (RFC 7301).
pub const ALPN_HTTP1: &[u8] = b"http/1.1";
pub const ALPN_H2: &[u8] = b"h2";
/// HTTP/3 over QUIC (RFC 9114).
pub const ALPN_H3: &[u8] = b"h3";

/// Which HTTP versions a listener offers, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListenerKind {
    /// Cleartext: HTTP/1.1, and HTTP/2 with prior knowledge (h2c, native gRPC).
    Plain,
    /// TLS offering only `http/1.1`: a browser speaks HTTP/1.1.
    TlsHttp1,
    /// TLS offering `h2`, then `http/1.1`: a browser speaks HTTP/2.
    TlsH2,
    /// QUIC (UDP) offering `h3`: HTTP/3.
    QuicH3,
}

impl ListenerKind {
    pub const ALL: [ListenerKind; 4] = [Self::Plain, Self::TlsHttp1, Self::TlsH2, Self::QuicH3];

    /// The name in `/api/v1/status`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => names::PLAIN,
            Self::TlsHttp1 => names::TLS_HTTP1,
            Self::TlsH2 => names::TLS_H2,
            Self::QuicH3 => names::QUIC_H3,
        }
    }

    pub fn scheme(self) -> &'static str {
        match self {
            Self::Plain => "http",
            Self::TlsHttp1 | Self::TlsH2 | Self::QuicH3 => "https",
        }
    }

    /// Whether it listens on UDP (QUIC) rather than TCP.
    pub fn is_quic(self) -> bool {
        self == Self::QuicH3
    }

    /// The ALPN ids offered in the TLS handshake (QUIC's included), most preferred
    /// first; `None` for the plain listener (no handshake).
    pub fn alpn(self) -> Option<&'static [&'static [u8]]> {
        match self {
            Self::Plain => None,
            Self::TlsHttp1 => Some(&[ALPN_HTTP1]),
            Self::TlsH2 => Some(&[ALPN_H2, ALPN_HTTP1]),
            Self::QuicH3 => Some(&[ALPN_H3]),
        }
    }

    /// The HTTP versions served, as ALPN ids (`h2c`: HTTP/2 over cleartext, by prior
    /// knowledge rather than negotiated).
    pub fn protocols(self) -> &'static [&'static str] {
        match self {
            Self::Plain => &["http/1.1", "h2c"],
            Self::TlsHttp1 => &["http/1.1"],
            Self::TlsH2 => &["h2", "http/1.1"],
            Self::QuicH3 => &["h3"],
        }
    }

    /// The command-line flag and environment variable of its address.
    pub fn addr_option(self) -> (&'static str, &'static str) {
        match self {
            Self::Plain => ("--addr", "LAB_ADDR"),
            Self::TlsHttp1 => ("--tls-http1-addr", "LAB_TLS_HTTP1_ADDR"),
            Self::TlsH2 => ("--tls-h2-addr", "LAB_TLS_H2_ADDR"),
            Self::QuicH3 => ("--h3-addr", "LAB_H3_ADDR"),
        }
    }
}

impl fmt::Display for ListenerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Plain => "HTTP/1.1 and h2c",
            Self::TlsHttp1 => "HTTP/1.1 over TLS",
            Self::TlsH2 => "HTTP/2 over TLS",
            Self::QuicH3 => "HTTP/3 over QUIC",
        })
    }
}

/// Connections of one listener: counters only (two atomic adds per connection).
#[derive(Debug, Default)]
pub struct ConnectionCounts {
    accepted: AtomicU64,
    open: AtomicU64,
    refused: AtomicU64,
    /// Bytes read and written at the accepted sockets (below TLS and the link).
    pub bytes: Arc<ByteCounts>,
}

impl ConnectionCounts {
    /// Admits a new connection unless `max` are open already (then it is counted as
    /// refused). The connection counts as open until the guard is dropped.
    pub fn admit(self: &Arc<Self>, max: usize) -> Option<OpenConnection> {
        let open_before = self.open.fetch_add(1, Ordering::Relaxed);
        if open_before >= max as u64 {
            self.open.fetch_sub(1, Ordering::Relaxed);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        self.accepted.fetch_add(1, Ordering::Relaxed);
        Some(OpenConnection(self.clone()))
    }

    /// Connections admitted since start.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Connections admitted and not closed yet.
    pub fn open(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections closed right after accept because `max` were open.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// An admitted connection: open until dropped.
#[derive(Debug)]
pub struct OpenConnection(Arc<ConnectionCounts>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A bound listener as the rest of the backend sees it.
#[derive(Debug, Clone)]
pub struct ListenerInfo {
    pub kind: ListenerKind,
    /// The bound address.
    pub addr: SocketAddr,
    pub counts: Arc<ConnectionCounts>,
    /// The emulated network under every connection of this listener (its own: no
    /// other listener shares its bandwidth); `None`: loopback as is.
    pub link: Option<Link>,
}

impl ListenerInfo {
    pub fn new(kind: ListenerKind, addr: SocketAddr, link: Option<Link>) -> Self {
        Self {
            kind,
            addr,
            counts: Arc::default(),
            link,
        }
    }

    /// The network's name: `loopback`, a preset's, or `custom`.
    pub fn network(&self) -> &str {
        self.link
            .as_ref()
            .map_or(network::LOOPBACK, |link| &link.profile().name)
    }

    /// The URL a client opens: scheme and address as bound, no path
    /// (`https://127.0.0.1:8444`, `http://[::1]:8080`). The QUIC listener's is an
    /// `https://` origin like the TCP ones (on its UDP port: by default `tls-h2`'s
    /// number, so the same origin).
    pub fn url(&self) -> String {
        format!("{}://{}", self.kind.scheme(), self.addr)
    }

    pub fn status(&self) -> ListenerStatus {
        ListenerStatus {
            name: self.kind.name().to_owned(),
            url: self.url(),
            alpn: self
                .kind
                .protocols()
                .iter()
                .map(|&id| id.to_owned())
                .collect(),
            connections_accepted: self.counts.accepted(),
            connections_open: self.counts.open(),
            connections_refused: self.counts.refused(),
            bytes_read: self.counts.bytes.read(),
            bytes_written: self.counts.bytes.written(),
            network: NetworkStatus {
                name: self.network().to_owned(),
                link: self.link.as_ref().map(|link| link.profile().numbers()),
            },
        }
    }
}

/// The emulated network of a listener, in `GET /api/v1/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkStatus {
    /// `loopback` (none), a preset's name or `custom`: the page's `net=` key.
    pub name: String,
    /// What the link costs, e.g. `rtt=150ms, down=1638.4kbit, up=750kbit`; `null` on
    /// loopback.
    pub link: Option<String>,
}

/// One listener in `GET /api/v1/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerStatus {
    /// `plain`, `tls-http1`, `tls-h2` or `quic-h3` (`lab_proto::contract::listener`).
    pub name: String,
    /// What a client opens, e.g. `https://127.0.0.1:8444` (the host as bound).
    pub url: String,
    /// The HTTP versions served, as ALPN ids, preferred first (`h2c` on the plain
    /// listener: HTTP/2 by prior knowledge).
    pub alpn: Vec<String>,
    /// Connections admitted since start (this request's included).
    pub connections_accepted: u64,
    /// Connections admitted and still open.
    pub connections_open: u64,
    /// Connections closed right after accept because the listener was at its maximum.
    pub connections_refused: u64,
    /// Bytes read from and written to its sockets since start (TLS included): what its
    /// clients sent and received, as a client counting at its own socket would.
    #[serde(default)]
    pub bytes_read: u64,
    #[serde(default)]
    pub bytes_written: u64,
    /// The network its connections pass through.
    pub network: NetworkStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_stops_at_the_maximum_and_resumes_when_one_closes() {
        let counts = Arc::new(ConnectionCounts::default());
        let first = counts.admit(2).unwrap();
        let _second = counts.admit(2).unwrap();
        assert!(counts.admit(2).is_none());
        assert_eq!(
            (counts.accepted(), counts.open(), counts.refused()),
            (2, 2, 1)
        );
        drop(first);
        assert_eq!(counts.open(), 1);
        let _third = counts.admit(2).unwrap();
        assert_eq!(
            (counts.accepted(), counts.open(), counts.refused()),
            (3, 2, 1)
        );
    }

    #[test]
    fn urls_are_what_a_client_opens() {
        let info = |kind, addr: &str| ListenerInfo::new(kind, addr.parse().unwrap(), None).url();
        assert_eq!(
            info(ListenerKind::Plain, "127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            info(ListenerKind::TlsH2, "[::1]:8444"),
            "https://[::1]:8444"
        );
    }

    #[test]
    fn only_the_h2_listener_offers_h2() {
        assert_eq!(ListenerKind::TlsHttp1.alpn().unwrap(), [ALPN_HTTP1]);
        assert_eq!(ListenerKind::TlsH2.alpn().unwrap(), [ALPN_H2, ALPN_HTTP1]);
        assert_eq!(ListenerKind::Plain.alpn(), None);
        assert_eq!(ListenerKind::QuicH3.alpn().unwrap(), [ALPN_H3]);
    }

    #[test]
    fn status_is_camel_case_json() {
        let info = ListenerInfo::new(
            ListenerKind::TlsHttp1,
            "127.0.0.1:8443".parse().unwrap(),
            None,
        );
        let _open = info.counts.admit(10);
        let json = serde_json::to_value(info.status()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "name": "tls-http1",
                "url": "https://127.0.0.1:8443",
                "alpn": ["http/1.1"],
                "connectionsAccepted": 1,
                "connectionsOpen": 1,
                "connectionsRefused": 0,
                "bytesRead": 0,
                "bytesWritten": 0,
                "network": {"name": "loopback", "link": null},
            })
        );
        let profile = crate::link::LinkProfile::parse("lighthouse-mobile")
            .unwrap()
            .unwrap();
        let linked = ListenerInfo::new(
            ListenerKind::TlsH2,
            "127.0.0.1:8544".parse().unwrap(),
            Some(Link::new(profile)),
        );
        assert_eq!(
            serde_json::to_value(linked.status().network).unwrap(),
            serde_json::json!({
                "name": "lighthouse-mobile",
                "link": "rtt=150ms, down=1638.4kbit, up=750kbit",
            })
        );
    }
}
