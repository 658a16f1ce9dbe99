//! Calling the backend: [`grpc_web`] (tonic-web-wasm-client, protobuf) and [`rest`]
//! (gloo-net, JSON). Both take the same [`Call`] and report a [`CallOutcome`] measured
//! the same way, so the UI treats them alike.

pub mod grpc_web;
pub mod raw_codec;
pub mod rest;
pub mod sse;

use std::rc::Rc;

use lab_proto::v1::{Record, Shape};

/// The two protocols the lab compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    GrpcWeb,
    Rest,
}

impl Protocol {
    pub const ALL: [Protocol; 2] = [Protocol::GrpcWeb, Protocol::Rest];

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Protocol::GrpcWeb => "gRPC-Web",
            Protocol::Rest => "REST",
        }
    }

    /// The stable key used in `data-testid`s, URLs and exports.
    pub fn key(self) -> &'static str {
        match self {
            Protocol::GrpcWeb => "grpc-web",
            Protocol::Rest => "rest",
        }
    }

    /// Index into per-protocol arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What a fetch or stream asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchParams {
    pub shape: Shape,
    pub count: u32,
    pub seed: u64,
}

/// One request of a workload.
#[derive(Debug, Clone)]
pub enum Call {
    Ping,
    Fetch(FetchParams),
    /// The records are generated once per run and shared by its requests.
    Upload(Rc<Vec<Record>>),
    /// A server stream of `count` records, `interval_ms` apart (SSE for REST).
    Stream(FetchParams, u32),
}

/// A failed call, with what the protocol said about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransportError {
    /// gRPC status other than OK.
    #[error("gRPC {code}: {message}")]
    Grpc { code: String, message: String },
    /// HTTP status other than 2xx, with the server's `detail` when it sent one.
    #[error("HTTP {status}: {detail}")]
    Http { status: u16, detail: String },
    /// No answer at all: the backend is down or unreachable.
    #[error("network error: {0}")]
    Network(String),
    /// An answer that could not be decoded.
    #[error("cannot decode the response: {0}")]
    Decode(String),
}

impl TransportError {
    /// The short status shown in tables: `grpc 14`, `http 400`, `network`, `decode`.
    pub fn status(&self) -> String {
        match self {
            TransportError::Grpc { code, .. } => format!("gRPC {code}"),
            TransportError::Http { status, .. } => format!("HTTP {status}"),
            TransportError::Network(_) => "network".to_owned(),
            TransportError::Decode(_) => "decode".to_owned(),
        }
    }
}

/// What the client itself measured about one call (the browser's Resource Timing
/// adds the network side, see `crate::resource_timing`).
#[derive(Debug, Clone, PartialEq)]
pub struct CallOutcome {
    /// The URL fetched, to find its Resource Timing entry.
    pub url: String,
    /// `performance.now()` when the call started.
    pub started_ms: f64,
    /// End to end, from before encoding the request to after decoding the response.
    pub e2e_ms: f64,
    /// Encoding the request body (prost or serde_json).
    pub encode_ms: f64,
    /// Decoding the response body (prost or serde_json), apart from the network.
    pub decode_ms: f64,
    /// Request body bytes as sent (before any HTTP compression).
    pub request_bytes: u64,
    /// The response payload's own encoded size: the protobuf message, or the JSON text.
    pub payload_bytes: u64,
    /// Records received (fetch, stream) or acknowledged (upload).
    pub records: u64,
    /// Streams: time from the start of the call to the first message.
    pub first_message_ms: Option<f64>,
    /// `Err` when the call failed.
    pub result: Result<(), TransportError>,
}

/// Makes one call over `protocol`.
pub async fn call(protocol: Protocol, origin: &str, call: &Call, compression: bool) -> CallOutcome {
    match protocol {
        Protocol::GrpcWeb => grpc_web::call(origin, call, compression).await,
        Protocol::Rest => rest::call(origin, call, compression).await,
    }
}

/// Fetches records over `protocol` (the parity check).
pub async fn fetch(
    protocol: Protocol,
    origin: &str,
    params: FetchParams,
) -> Result<Vec<Record>, TransportError> {
    match protocol {
        Protocol::GrpcWeb => grpc_web::fetch(origin, params).await,
        Protocol::Rest => rest::fetch(origin, params).await,
    }
}

/// The request header that asks the backend not to compress (see the backend's
/// `compression` module): page code cannot change `Accept-Encoding`.
pub const COMPRESSION_SWITCH: &str = "lab-compression";

/// The page's origin, e.g. `http://127.0.0.1:8080`: both APIs live there.
pub fn origin() -> String {
    web_sys::window()
        .and_then(|window| window.location().origin().ok())
        .unwrap_or_default()
}

/// `performance.now()` in milliseconds (`std::time::Instant` panics on wasm32).
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|window| window.performance())
        .map_or(0.0, |performance| performance.now())
}
