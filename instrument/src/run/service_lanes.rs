//! Where a run's requests come from. In the browser (the default) the page's worker
//! sends them over gRPC-Web and REST; **service to service**, the backend's native
//! runner (`runner/`, crate `lab-runner`) sends them the way one service calls another,
//! over one transport per side: its gRPC lane and its REST lane. The two lanes take
//! the places of gRPC-Web and REST in the run's data ([`Protocol`]), so the page draws
//! both kinds of run with the same charts and table.

use crate::transport::Protocol;

/// Who sends a run's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Client {
    /// The page's worker, in this browser.
    #[default]
    Browser,
    /// The backend's native runner, outside the browser.
    Service,
}

impl Client {
    pub const ALL: [Client; 2] = [Client::Browser, Client::Service];

    pub fn key(self) -> &'static str {
        match self {
            Client::Browser => "browser",
            Client::Service => "service",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Client::Browser => "This browser (gRPC-Web vs REST)",
            Client::Service => "Service to service (native runner)",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == key)
    }
}

/// The gRPC side of a service-to-service run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GrpcLane {
    /// Native gRPC over cleartext HTTP/2 (prior knowledge), as inside a cluster.
    #[default]
    H2c,
    /// Native gRPC over HTTP/2 with TLS.
    Tls,
    /// gRPC-Web over HTTP/1.1 (cleartext): what a gateway or a server-side gRPC-Web
    /// client sends.
    WebHttp1,
    /// gRPC-Web over HTTP/2 with TLS.
    WebH2,
}

impl GrpcLane {
    pub const ALL: [GrpcLane; 4] = [
        GrpcLane::H2c,
        GrpcLane::Tls,
        GrpcLane::WebHttp1,
        GrpcLane::WebH2,
    ];

    pub fn key(self) -> &'static str {
        match self {
            GrpcLane::H2c => "h2c",
            GrpcLane::Tls => "tls",
            GrpcLane::WebHttp1 => "web-http1",
            GrpcLane::WebH2 => "web-h2",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GrpcLane::H2c => "gRPC (h2c)",
            GrpcLane::Tls => "gRPC (HTTP/2, TLS)",
            GrpcLane::WebHttp1 => "gRPC-Web (HTTP/1.1)",
            GrpcLane::WebH2 => "gRPC-Web (HTTP/2, TLS)",
        }
    }

    /// Whether the lane speaks gRPC-Web (else native gRPC).
    pub fn is_web(self) -> bool {
        matches!(self, GrpcLane::WebHttp1 | GrpcLane::WebH2)
    }

    /// Whether it runs over TLS.
    pub fn is_tls(self) -> bool {
        matches!(self, GrpcLane::Tls | GrpcLane::WebH2)
    }

    /// Whether it speaks HTTP/2 (else HTTP/1.1).
    pub fn is_http2(self) -> bool {
        self != GrpcLane::WebHttp1
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.key() == key)
    }
}

/// The REST side of a service-to-service run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestLane {
    /// JSON over HTTP/1.1 (cleartext) through a connection pool: one connection per
    /// request in flight, kept alive.
    #[default]
    Http1,
    /// JSON over HTTP/2 with TLS: every request multiplexed on one connection.
    H2,
}

impl RestLane {
    pub const ALL: [RestLane; 2] = [RestLane::Http1, RestLane::H2];

    pub fn key(self) -> &'static str {
        match self {
            RestLane::Http1 => "http1",
            RestLane::H2 => "h2",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RestLane::Http1 => "REST (HTTP/1.1, pool)",
            RestLane::H2 => "REST (HTTP/2, TLS)",
        }
    }

    /// Whether it runs over TLS (and HTTP/2).
    pub fn is_tls(self) -> bool {
        self == RestLane::H2
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.key() == key)
    }
}

/// A service-to-service run's two lanes, in the places of [`Protocol`]'s two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lanes {
    pub grpc: GrpcLane,
    pub rest: RestLane,
}

impl Lanes {
    /// The name of `protocol`'s lane.
    pub fn label(self, protocol: Protocol) -> &'static str {
        match protocol {
            Protocol::GrpcWeb => self.grpc.label(),
            Protocol::Rest => self.rest.label(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_one_lane_each() {
        for lane in GrpcLane::ALL {
            assert_eq!(GrpcLane::from_key(lane.key()), Some(lane));
        }
        for lane in RestLane::ALL {
            assert_eq!(RestLane::from_key(lane.key()), Some(lane));
        }
        for client in Client::ALL {
            assert_eq!(Client::from_key(client.key()), Some(client));
        }
        assert_eq!(GrpcLane::from_key("h3"), None);
    }

    #[test]
    fn lanes_take_the_protocols_places() {
        let lanes = Lanes {
            grpc: GrpcLane::Tls,
            rest: RestLane::H2,
        };
        assert_eq!(lanes.label(Protocol::GrpcWeb), "gRPC (HTTP/2, TLS)");
        assert_eq!(lanes.label(Protocol::Rest), "REST (HTTP/2, TLS)");
        assert!(!GrpcLane::WebHttp1.is_http2() && GrpcLane::WebHttp1.is_web());
    }
}
