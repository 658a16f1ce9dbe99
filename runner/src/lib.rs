//! The lab's native runner: the page's workloads sent service to service. One side is
//! gRPC (native over h2c or TLS, or gRPC-Web over HTTP/1.1 or HTTP/2, as a gateway
//! sends it), the other REST (JSON over a pooled HTTP/1.1 client or HTTP/2 over TLS),
//! each on connections of its own whose every byte is counted at the socket
//! ([`wire`]). The settings are the page's ([`RunConfig`], its URL form), the samples,
//! aggregates and statistics the instrument's, so the page draws a runner's run as it
//! draws its own, and the command line (`lab-runner`) prints the same figures.
//!
//! [`RunConfig`]: lab_instrument::run::config::RunConfig

pub mod engine;
pub mod grpc_side;
pub mod http_lane;
pub mod report;
pub mod rest_side;
pub mod targets;
pub mod wire;
pub mod work;

/// Why a run cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunnerError {
    #[error("the runner sends the built-in shapes only: run a person's own shape in the browser")]
    CustomShape,
    #[error("the backend has no {listener} listener{}", if network.is_empty() { String::new() } else { format!(" on the network {network}") })]
    NoListener {
        network: String,
        listener: &'static str,
    },
    #[error("no CA certificate to trust the TLS listeners with: pass --ca (the backend's ca.pem)")]
    NoCa,
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the backend: {0}")]
    Backend(String),
}
