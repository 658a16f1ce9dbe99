//! Calling the backend: [`grpc_web`] (tonic-web-wasm-client, protobuf) and [`rest`]
//! (gloo-net, JSON). Both return the same prost values, so their results compare
//! directly.

pub mod grpc_web;
pub mod rest;

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

    /// The stable key used in `data-testid`s and URLs.
    pub fn key(self) -> &'static str {
        match self {
            Protocol::GrpcWeb => "grpc-web",
            Protocol::Rest => "rest",
        }
    }
}

/// What a fetch asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchParams {
    pub shape: Shape,
    pub count: u32,
    pub seed: u64,
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

/// Fetches records over `protocol`.
pub async fn fetch(
    protocol: Protocol,
    base_url: &str,
    params: FetchParams,
) -> Result<Vec<Record>, TransportError> {
    match protocol {
        Protocol::GrpcWeb => grpc_web::fetch(base_url, params).await,
        Protocol::Rest => rest::fetch(base_url, params).await,
    }
}

/// The page's origin, e.g. `http://127.0.0.1:8080`: both APIs live there.
pub fn origin() -> String {
    web_sys::window()
        .and_then(|window| window.location().origin().ok())
        .unwrap_or_default()
}
