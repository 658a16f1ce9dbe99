//! Calling the backend: [`grpc_web`] (tonic-web-wasm-client, protobuf) and [`rest`]
//! (gloo-net, JSON; streams as Server-Sent Events, [`sse`]). Both take the same
//! [`Call`] and report a [`CallOutcome`] measured the same way, over `fetch` alike, so
//! the UI treats them alike.

pub mod custom_call;
pub mod grpc_web;
pub mod raw_codec;
#[cfg(feature = "custom-shapes")]
pub mod reflect_codec;
pub mod rest;
pub mod server_status;
pub mod service_run;
pub mod sse;
pub mod sse_parser;
pub mod websocket_echo;

use std::rc::Rc;

use lab_proto::v1::{FetchResponse, Record, UploadResponse};

use self::custom_call::{CustomCall, CustomWork, DecodedRecords};
use crate::run::shape_choice::ShapeChoice;

/// The two protocols the lab compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
    pub shape: ShapeChoice,
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
    /// A server stream of `params.count` records, `interval_ms` apart (SSE for REST).
    Stream {
        params: FetchParams,
        interval_ms: u32,
    },
    /// A custom shape's fetch, upload or stream, with the shape's descriptors.
    Custom(Rc<CustomCall>),
    /// A bidirectional stream of these records, each answered before the next is sent
    /// (REST: a WebSocket; gRPC-Web cannot, and says why).
    Echo(Rc<Vec<Record>>),
    /// A client stream: neither protocol can send one from a browser, and each call
    /// says why (service to service, the native runner sends it).
    ClientStream,
}

impl Call {
    /// Whether the answer is an upload's acknowledgement (count and checksum).
    fn uploads(&self) -> bool {
        match self {
            Call::Upload(_) => true,
            Call::Custom(custom) => custom.work == CustomWork::Upload,
            _ => false,
        }
    }

    /// Whether the response is a server stream.
    fn streams(&self) -> bool {
        match self {
            Call::Stream { .. } => true,
            Call::Custom(custom) => {
                matches!(custom.work, CustomWork::Stream { .. })
            }
            _ => false,
        }
    }
}

/// A unary response, decoded by either protocol.
enum Decoded {
    Nothing,
    Fetched(FetchResponse),
    /// A custom shape's records.
    FetchedCustom(Box<dyn DecodedRecords>),
    Uploaded(UploadResponse),
}

/// How to make a call, beside what it asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallOptions {
    /// Ask for HTTP compression (gzip/br) of the response.
    pub compression: bool,
    /// Also compute the checksum of the records received (or, for an upload, take the
    /// one the server acknowledged), outside the timed decode: proof that both
    /// protocols carried the same data, taken on a run's first responses only.
    pub verify: bool,
}

/// How a [`TransportError::NotInBrowser`] reads: the views show it as a finding.
pub const NOT_IN_BROWSER: &str = "not possible in a browser";

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
    /// What this protocol cannot do in a browser: not a failure of the lab, a finding.
    /// Its message starts with [`NOT_IN_BROWSER`].
    #[error("not possible in a browser: {0}")]
    NotInBrowser(String),
}

impl TransportError {
    /// The short status shown in tables: `grpc 14`, `http 400`, `network`, `decode`.
    pub fn status(&self) -> String {
        match self {
            TransportError::Grpc { code, .. } => format!("gRPC {code}"),
            TransportError::Http { status, .. } => format!("HTTP {status}"),
            TransportError::Network(_) => "network".to_owned(),
            TransportError::Decode(_) => "decode".to_owned(),
            TransportError::NotInBrowser(_) => "not in a browser".to_owned(),
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
    /// With [`CallOptions::verify`]: `lab_proto::checksum` of the records received, or
    /// the server's checksum of an upload.
    pub checksum: Option<u32>,
    /// `Err` when the call failed.
    pub result: Result<(), TransportError>,
}

impl CallOutcome {
    /// A call to `url` that started at `started_ms` and has measured nothing yet.
    pub fn started(url: String, started_ms: f64) -> Self {
        Self {
            url,
            started_ms,
            e2e_ms: 0.0,
            encode_ms: 0.0,
            decode_ms: 0.0,
            request_bytes: 0,
            payload_bytes: 0,
            records: 0,
            first_message_ms: None,
            checksum: None,
            result: Ok(()),
        }
    }

    /// Takes in a decoded unary response: its record count, and with `verify` the
    /// checksum of what was fetched or the one the server acknowledged for an upload.
    fn settle<E: ToString>(&mut self, decoded: Result<Decoded, E>, verify: bool) {
        match decoded {
            Ok(Decoded::Nothing) => {}
            Ok(Decoded::Fetched(response)) => {
                self.records = response.records.len() as u64;
                if verify {
                    self.checksum = Some(lab_proto::checksum(&response.records));
                }
            }
            Ok(Decoded::FetchedCustom(records)) => {
                self.records = records.count();
                if verify {
                    let mut digest = lab_proto::RecordDigest::default();
                    records.digest(&mut digest);
                    self.checksum = Some(digest.finish());
                }
            }
            Ok(Decoded::Uploaded(response)) => {
                self.records = response.count;
                self.checksum = verify.then_some(response.checksum);
            }
            Err(err) => self.result = Err(TransportError::Decode(err.to_string())),
        }
    }

    /// Stops the clock: end to end is now.
    fn finish(mut self) -> Self {
        self.e2e_ms = now_ms() - self.started_ms;
        self
    }
}

/// Makes one call over `protocol`. Dropping the future cancels the call: its fetch is
/// aborted (a stream's too), so a stopped run sends and holds nothing more.
pub async fn call(
    protocol: Protocol,
    origin: &str,
    call: &Call,
    options: CallOptions,
) -> CallOutcome {
    let outcome = match protocol {
        Protocol::GrpcWeb => grpc_web::call(origin, call, options).await,
        Protocol::Rest => rest::call(origin, call, options).await,
    };
    outcome.finish()
}

pub use crate::global_scope::{origin, user_agent};

/// `performance.now()` in milliseconds (`std::time::Instant` panics on wasm32), in the
/// global's own time origin: a worker's differs from its page's.
pub fn now_ms() -> f64 {
    crate::global_scope::with_performance(web_sys::Performance::now).unwrap_or(0.0)
}
