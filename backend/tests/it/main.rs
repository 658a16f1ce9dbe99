//! The backend's integration tests, one binary: a real backend on 127.0.0.1 over real
//! sockets, driven by real clients (tonic, reqwest, headless browsers).
//!
//! - [`api`]: parity of the transports, bad input, cancellation, compression, timings.
//! - [`limits`]: what keeps one client from knocking the server over.
//! - [`fuzz`]: property-based fuzzing of every input path.
//! - [`tls`]: the TLS listeners: parity, ALPN, certificates, connection counts.
//! - [`http3`]: the QUIC listener: parity with TCP, errors, streams, `Alt-Svc`, counts.
//! - [`cli`]: the command line.
//! - [`client_streams`]: client and bidirectional streaming, gRPC and REST's ways.
//! - [`custom_shapes`]: a person's own payload over every transport.
//! - [`load`]: bounded load and dropped streams against the binary (and the soak).
//! - [`browser`]: the real UI in headless Chromium and Firefox, on every listener.
//! - [`frontend_budget`]: the bundle's startup and sustained rate (a measurement).
//! - [`static_assets`]: the built frontend's precompressed files, by `Accept-Encoding`.

mod api;
mod browser;
mod cli;
mod client_streams;
mod custom_shapes;
mod frontend_budget;
mod fuzz;
mod http3;
mod limits;
mod link;
mod load;
mod local_server_trust;
mod native_runner;
mod static_assets;
mod support;
mod tls;
