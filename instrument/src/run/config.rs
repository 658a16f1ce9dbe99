//! What a run does, and its form in the page URL (`?protocol=both&workload=fetch&…`),
//! so a shared link reproduces the setup.

use lab_proto::contract::{listener, network};
use lab_proto::v1::Shape;

use super::service_lanes::{Client, GrpcLane, Lanes, RestLane};
use super::shape_choice::ShapeChoice;
use crate::transport::{FetchParams, Protocol};

/// Which protocol(s) a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolChoice {
    GrpcWeb,
    Rest,
    /// Alternate request by request, so both face the same conditions.
    Both,
}

impl ProtocolChoice {
    pub const ALL: [ProtocolChoice; 3] = [
        ProtocolChoice::GrpcWeb,
        ProtocolChoice::Rest,
        ProtocolChoice::Both,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ProtocolChoice::GrpcWeb => "gRPC-Web",
            ProtocolChoice::Rest => "REST",
            ProtocolChoice::Both => "Both",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            ProtocolChoice::GrpcWeb => "grpc-web",
            ProtocolChoice::Rest => "rest",
            ProtocolChoice::Both => "both",
        }
    }

    /// The protocol of request number `seq`.
    pub fn protocol_for(self, seq: u64) -> Protocol {
        match self {
            ProtocolChoice::GrpcWeb => Protocol::GrpcWeb,
            ProtocolChoice::Rest => Protocol::Rest,
            ProtocolChoice::Both if seq.is_multiple_of(2) => Protocol::GrpcWeb,
            ProtocolChoice::Both => Protocol::Rest,
        }
    }
}

/// The request a run repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    Ping,
    Fetch,
    Upload,
    Stream,
    /// Bidirectional streaming: records sent one at a time, each answered before the
    /// next (REST over a WebSocket; gRPC-Web cannot send a stream from a browser).
    Echo,
    /// Client streaming: records sent one message at a time, answered once (REST: a
    /// streamed body of newline-delimited JSON). Service to service only: a browser's
    /// fetch sends a body only once it is whole.
    ClientStream,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 6] = [
        WorkloadKind::Ping,
        WorkloadKind::Fetch,
        WorkloadKind::Upload,
        WorkloadKind::Stream,
        WorkloadKind::ClientStream,
        WorkloadKind::Echo,
    ];

    pub fn key(self) -> &'static str {
        match self {
            WorkloadKind::Ping => "ping",
            WorkloadKind::Fetch => "fetch",
            WorkloadKind::Upload => "upload",
            WorkloadKind::Stream => "stream",
            WorkloadKind::Echo => "echo",
            WorkloadKind::ClientStream => "client-stream",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            WorkloadKind::Ping => "Ping (empty request and response)",
            WorkloadKind::Fetch => "Fetch N records",
            WorkloadKind::Upload => "Upload N records",
            WorkloadKind::Stream => "Server stream of N records",
            WorkloadKind::Echo => "Bidirectional echo of N records",
            WorkloadKind::ClientStream => "Client stream of N records",
        }
    }

    /// Whether the client sends its records one message at a time (client or
    /// bidirectional streaming).
    pub fn streams_requests(self) -> bool {
        matches!(self, WorkloadKind::Echo | WorkloadKind::ClientStream)
    }
}

/// Which of the backend's listeners the page talks to: browsers speak HTTP/2 only over
/// TLS and HTTP/3 only over QUIC, so the backend serves the same router on four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpVersion {
    /// `http://`: HTTP/1.1 (the baseline).
    #[default]
    PlainHttp1,
    /// `https://`, ALPN offering only `http/1.1`.
    TlsHttp1,
    /// `https://`, ALPN offering `h2` (browsers take it).
    TlsH2,
    /// QUIC (UDP), ALPN `h3`: the same origin as `TlsH2`, which advertises it; a
    /// browser takes it when it trusts the certificate or is told to.
    QuicH3,
}

impl HttpVersion {
    pub const ALL: [HttpVersion; 4] = [
        HttpVersion::PlainHttp1,
        HttpVersion::TlsHttp1,
        HttpVersion::TlsH2,
        HttpVersion::QuicH3,
    ];

    /// The stable key, also the name of the backend's listener (`/api/v1/status`).
    pub fn key(self) -> &'static str {
        match self {
            HttpVersion::PlainHttp1 => listener::PLAIN,
            HttpVersion::TlsHttp1 => listener::TLS_HTTP1,
            HttpVersion::TlsH2 => listener::TLS_H2,
            HttpVersion::QuicH3 => listener::QUIC_H3,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            HttpVersion::PlainHttp1 => "HTTP/1.1 (plain)",
            HttpVersion::TlsHttp1 => "HTTP/1.1 (TLS)",
            HttpVersion::TlsH2 => "HTTP/2 (TLS)",
            HttpVersion::QuicH3 => "HTTP/3 (QUIC)",
        }
    }

    /// What Resource Timing's `nextHopProtocol` must read for this choice.
    pub fn next_hop(self) -> &'static str {
        match self {
            HttpVersion::PlainHttp1 | HttpVersion::TlsHttp1 => "http/1.1",
            HttpVersion::TlsH2 => "h2",
            HttpVersion::QuicH3 => "h3",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.key() == key)
    }
}

/// The emulated network a run goes through: the backend puts one under each of its
/// listeners (loopback: none), so, like the HTTP version, it is where the page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network(&'static str);

impl Default for Network {
    fn default() -> Self {
        Self(network::LOOPBACK)
    }
}

impl Network {
    /// The stable key, as `/api/v1/status` names the listener's network.
    pub fn key(self) -> &'static str {
        self.0
    }

    /// A network the contract names; others (from a newer backend) are not known.
    pub fn from_key(key: &str) -> Option<Self> {
        [network::LOOPBACK, network::CUSTOM]
            .into_iter()
            .chain(network::PRESETS)
            .find(|name| *name == key)
            .map(Self)
    }
}

/// The value of `key` in a URL query (with or without its `?`), as written.
pub fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, value)| value)
}

/// The number under `key` in a URL query, at most `max`; `default` when it is missing
/// or not a number.
pub fn query_number(query: &str, key: &str, max: u32, default: u32) -> u32 {
    query_value(query, key)
        .and_then(|v| v.parse::<u32>().ok())
        .map_or(default, |n| n.min(max))
}

/// Bounds the form enforces.
pub const MAX_CONCURRENCY: u32 = 64;
pub const MAX_TOTAL: u32 = 1_000_000;

/// A run's whole setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunConfig {
    pub protocol: ProtocolChoice,
    pub workload: WorkloadKind,
    pub shape: ShapeChoice,
    /// Records per request (fetch, upload, stream).
    pub count: u32,
    pub seed: u64,
    /// Ask for HTTP compression (gzip/br) of responses.
    pub compression: bool,
    /// Requests in the run.
    pub total: u32,
    /// Requests in flight at once.
    pub concurrency: u32,
    /// Target requests per second over all protocols; 0 means as fast as possible.
    pub rate: u32,
    /// Pause between streamed messages.
    pub interval_ms: u32,
    /// The listener the run goes through: where the page was loaded from.
    pub http: HttpVersion,
    /// The emulated network of that listener.
    pub network: Network,
    /// Who sends the requests: this browser, or the backend's native runner.
    pub client: Client,
    /// Service to service: the transports of the gRPC and REST sides.
    pub lanes: Lanes,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            protocol: ProtocolChoice::Both,
            workload: WorkloadKind::Fetch,
            shape: ShapeChoice::BuiltIn(Shape::Telemetry),
            count: 100,
            seed: 1,
            compression: false,
            total: 200,
            concurrency: 4,
            rate: 0,
            interval_ms: 0,
            http: HttpVersion::PlainHttp1,
            network: Network::default(),
            client: Client::Browser,
            lanes: Lanes::default(),
        }
    }
}

impl RunConfig {
    /// What a fetch or stream of this run asks for.
    pub fn fetch_params(&self) -> FetchParams {
        FetchParams {
            shape: self.shape,
            count: self.count,
            seed: self.seed,
        }
    }

    /// The name of `protocol`'s side of this run: gRPC-Web and REST in the browser,
    /// the lanes' transports service to service.
    pub fn side_label(&self, protocol: Protocol) -> &'static str {
        match self.client {
            Client::Browser => protocol.label(),
            Client::Service => self.lanes.label(protocol),
        }
    }

    /// The URL query that reproduces this setup.
    pub fn to_query(&self) -> String {
        let mut query = self.browser_query();
        if self.client == Client::Service {
            query.push_str(&format!(
                "&client={}&grpc={}&rest={}",
                self.client.key(),
                self.lanes.grpc.key(),
                self.lanes.rest.key()
            ));
        }
        query
    }

    fn browser_query(&self) -> String {
        format!(
            "protocol={}&workload={}&shape={}&count={}&seed={}&compression={}&total={}&concurrency={}&rate={}&interval={}&http={}&net={}",
            self.protocol.key(),
            self.workload.key(),
            self.shape.key(),
            self.count,
            self.seed,
            if self.compression { "on" } else { "off" },
            self.total,
            self.concurrency,
            self.rate,
            self.interval_ms,
            self.http.key(),
            self.network.key(),
        )
    }

    /// Reads a URL query (with or without its `?`); what is missing or invalid keeps
    /// its default, numbers are clamped to what the lab accepts.
    pub fn from_query(query: &str) -> Self {
        let mut config = Self::default();
        for pair in query.trim_start_matches('?').split('&') {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            let number = |max: u32| value.parse::<u32>().ok().map(|n| n.min(max));
            match key {
                "protocol" => {
                    if let Some(p) = ProtocolChoice::ALL.into_iter().find(|p| p.key() == value) {
                        config.protocol = p;
                    }
                }
                "workload" => {
                    if let Some(w) = WorkloadKind::ALL.into_iter().find(|w| w.key() == value) {
                        config.workload = w;
                    }
                }
                "shape" => config.shape = ShapeChoice::from_key(value).unwrap_or(config.shape),
                "count" => {
                    config.count = number(lab_proto::dataset::MAX_RECORDS)
                        .unwrap_or(config.count)
                        .max(1)
                }
                "seed" => config.seed = value.parse().unwrap_or(config.seed),
                "compression" => config.compression = value == "on",
                "total" => config.total = number(MAX_TOTAL).unwrap_or(config.total).max(1),
                "concurrency" => {
                    config.concurrency =
                        number(MAX_CONCURRENCY).unwrap_or(config.concurrency).max(1)
                }
                "rate" => config.rate = number(1_000_000).unwrap_or(config.rate),
                "interval" => config.interval_ms = number(10_000).unwrap_or(config.interval_ms),
                "http" => config.http = HttpVersion::from_key(value).unwrap_or(config.http),
                "net" => config.network = Network::from_key(value).unwrap_or(config.network),
                "client" => config.client = Client::from_key(value).unwrap_or(config.client),
                "grpc" => {
                    config.lanes.grpc = GrpcLane::from_key(value).unwrap_or(config.lanes.grpc)
                }
                "rest" => {
                    config.lanes.rest = RestLane::from_key(value).unwrap_or(config.lanes.rest)
                }
                _ => {}
            }
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_round_trips() {
        let config = RunConfig {
            protocol: ProtocolChoice::Rest,
            workload: WorkloadKind::Upload,
            shape: ShapeChoice::Custom(crate::run::shape_choice::CustomShapeId(0xfeed)),
            count: 2_500,
            seed: 77,
            compression: true,
            total: 10_000,
            concurrency: 16,
            rate: 500,
            interval_ms: 20,
            http: HttpVersion::TlsH2,
            network: Network::from_key("intercontinental").unwrap(),
            client: Client::Service,
            lanes: Lanes {
                grpc: GrpcLane::WebH2,
                rest: RestLane::H2,
            },
        };
        assert_eq!(
            RunConfig::from_query(&format!("?{}", config.to_query())),
            config
        );
        assert_eq!(
            RunConfig::from_query(&RunConfig::default().to_query()),
            RunConfig::default()
        );
    }

    #[test]
    fn bad_or_missing_values_keep_defaults_and_numbers_are_clamped() {
        let config = RunConfig::from_query(
            "protocol=smoke&count=0&concurrency=999&total=abc&shape=log&junk&net=5g",
        );
        assert_eq!(config.network, Network::default(), "an unknown network");
        assert_eq!(config.protocol, ProtocolChoice::Both);
        assert_eq!(config.count, 1);
        assert_eq!(config.concurrency, MAX_CONCURRENCY);
        assert_eq!(config.total, RunConfig::default().total);
        assert_eq!(config.shape, ShapeChoice::BuiltIn(Shape::Log));
        assert_eq!(
            RunConfig::from_query("count=5000000").count,
            lab_proto::dataset::MAX_RECORDS
        );
    }

    #[test]
    fn both_alternates_protocols_request_by_request() {
        let seq: Vec<Protocol> = (0..4)
            .map(|i| ProtocolChoice::Both.protocol_for(i))
            .collect();
        assert_eq!(
            seq,
            [
                Protocol::GrpcWeb,
                Protocol::Rest,
                Protocol::GrpcWeb,
                Protocol::Rest
            ]
        );
        assert_eq!(ProtocolChoice::Rest.protocol_for(0), Protocol::Rest);
    }
}
