//! The lab's backend: one axum [`Router`] that serves, on every listener (plain
//! HTTP/1.1 + h2c, and HTTP/1.1 or HTTP/2 over TLS: [`listener`]),
//!
//! - REST + JSON under `/api/v1` ([`rest`]),
//! - gRPC-Web (binary and text) and native gRPC (h2c by prior knowledge, or h2 over TLS) for
//!   `lab.v1.LabService` ([`grpc`]),
//! - the built frontend as static files, with `index.html` as the fallback,
//! - `GET /healthz`, a bare route: the benchmark's baseline.
//!
//! [`app`] builds the router from an [`AppState`] so tests can serve it on
//! `127.0.0.1:0`; [`serve`] runs it until a shutdown signal; [`certificate`] makes or
//! loads what the TLS listeners present; [`link`] emulates a network under every
//! connection when a profile is set.

pub mod allowed_hosts;
pub mod api_error;
pub mod certificate;
pub mod compression;
pub mod custom_shape;
pub mod custom_workload;
pub mod grpc;
pub mod http3;
pub mod incoming_records;
pub mod link;
pub mod listener;
pub mod local_ca;
pub mod record_stream;
pub mod request_counts;
pub mod rest;
pub mod security_headers;
pub mod serve;
pub mod server_timing;
pub mod service_run;
pub mod trust_store;
pub mod workload;

use custom_shape::registry::ShapeRegistry;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use allowed_hosts::AllowedHosts;
use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::routing::get;
use lab_proto::contract;
use tower::ServiceBuilder;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use listener::{ListenerInfo, ListenerKind};
pub use record_stream::LiveStreams;
pub use request_counts::RequestCounts;
pub use serve::{BoundListener, ConnectionLimits, serve};

/// The largest request body (REST) or message (gRPC) accepted: the contract's limit,
/// enough for an upload of the maximum record count of any shape.
pub const MAX_BODY_BYTES: usize = lab_proto::contract::MAX_MESSAGE_BYTES;

/// Record streams (gRPC and SSE together) produced at once, by default: each holds a
/// generator and a connection slot for as long as its client listens.
pub const MAX_STREAMS: usize = 512;

/// The longest a request may take until its response starts (reading the body
/// included); streams only count until their first byte.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Static settings of a running backend.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory holding the built frontend (`index.html`, wasm, JS glue).
    pub static_dir: PathBuf,
    /// Request body / gRPC message size limit in bytes.
    pub max_body_bytes: usize,
    /// Origins other than the page's own that may call the APIs (CORS); no wildcard.
    pub cors_origins: Vec<HeaderValue>,
    /// Record streams produced at once; more are refused until one ends.
    pub max_streams: usize,
    /// Time limit until a response starts; then `408 Request Timeout`.
    pub request_timeout: Duration,
    /// Per-connection limits (request head size, timeouts, HTTP/2 streams, open
    /// connections per listener).
    pub connection: ConnectionLimits,
    /// Names the lab answers to beyond IP addresses and `localhost` (`--allowed-host`).
    pub allowed_hosts: Vec<String>,
    /// The TLS listeners' certificate chain (PEM), which the native runner trusts when
    /// it calls them (`None`: no TLS listeners).
    pub tls_chain_pem: Option<String>,
}

/// The dev loop's origins (`trunk serve`, see Trunk.toml), allowed by default.
pub const DEV_ORIGINS: [&str; 2] = ["http://127.0.0.1:8081", "http://localhost:8081"];

impl Config {
    pub fn new(static_dir: impl Into<PathBuf>) -> Self {
        Self {
            static_dir: static_dir.into(),
            max_body_bytes: MAX_BODY_BYTES,
            cors_origins: DEV_ORIGINS.map(HeaderValue::from_static).to_vec(),
            max_streams: MAX_STREAMS,
            request_timeout: REQUEST_TIMEOUT,
            connection: ConnectionLimits::default(),
            allowed_hosts: Vec::new(),
            tls_chain_pem: None,
        }
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub live_streams: LiveStreams,
    /// Requests per API route since start.
    pub requests: RequestCounts,
    /// The listeners serving this state, with their connection counts.
    pub listeners: Arc<[ListenerInfo]>,
    /// The names and origins the lab answers to, with its refusals.
    pub hosts: AllowedHosts,
    /// The custom shapes people registered (issue 22).
    pub shapes: Arc<ShapeRegistry>,
    /// The service-to-service run under way, if any (issue 23).
    pub service_runs: Arc<service_run::ServiceRuns>,
}

impl AppState {
    pub fn new(config: Config) -> Self {
        Self {
            live_streams: LiveStreams::new(config.max_streams),
            requests: RequestCounts::default(),
            listeners: Arc::new([]),
            shapes: Arc::default(),
            service_runs: Arc::default(),
            hosts: AllowedHosts::new(config.allowed_hosts.clone(), [], &config.cors_origins),
            config: Arc::new(config),
        }
    }

    /// The same state, reporting `listeners` in `/api/v1/status`.
    pub fn with_listeners(self, listeners: impl IntoIterator<Item = ListenerInfo>) -> Self {
        let listeners: Arc<[ListenerInfo]> = listeners.into_iter().collect();
        let hosts = AllowedHosts::new(
            self.config.allowed_hosts.clone(),
            listeners.iter().map(|l| l.addr.port()),
            &self.config.cors_origins,
        );
        Self {
            listeners,
            hosts,
            ..self
        }
    }
}

/// Builds the whole application.
pub fn app(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    // One service stack for the gRPC path (no `Routes` router inside the router, no
    // per-layer boxed routes): counting, timing, then gRPC-Web translation, then tonic.
    let grpc = ServiceBuilder::new()
        .layer(request_counts::CountLayer(state.requests.clone()))
        .layer(server_timing::GrpcTimingLayer { max_body })
        .layer(tonic_web::GrpcWebLayer::new())
        .service(grpc::service(state.clone()));

    // The release build writes brotli-11 and gzip copies (`.br`, `.gz`) of the bundle:
    // served by `Accept-Encoding`, they pass the compression layer untouched (it skips
    // responses that have a `Content-Encoding`). `Vary`, which ServeDir leaves out,
    // tells caches that the answer depends on that header.
    let static_dir = &state.config.static_dir;
    let index = ServeFile::new(static_dir.join("index.html"));
    let frontend = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
        .service(
            ServeDir::new(static_dir)
                .precompressed_br()
                .precompressed_gzip()
                .fallback(index.precompressed_br().precompressed_gzip()),
        );

    let cors = cors(&state.config.cors_origins);
    let timeout =
        TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.request_timeout);
    let hosts = state.hosts.clone();
    let security = security_headers::SecurityHeaders::new(
        &state.config.static_dir,
        &state.listeners,
        &state.config.allowed_hosts,
    );
    let rest = rest::routes(max_body, state.requests.clone()).with_state(state);

    let routes = rest
        .route_service(&format!("/{}/{{*method}}", contract::grpc::SERVICE), grpc)
        .route("/healthz", get(|| async { "ok" }))
        .fallback_service(frontend);
    // Wrapped around the router as one service, not added with `Router::layer`: that
    // wraps each route in each layer, and every layer's boxed route is cloned, with all
    // it wraps, on each request passing through it.
    let shared = ServiceBuilder::new()
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("timing-allow-origin"),
            HeaderValue::from_static("*"),
        ))
        .layer(middleware::map_response_with_state(
            security,
            security_headers::add,
        ))
        .layer(middleware::from_fn_with_state(hosts, allowed_hosts::guard))
        .layer(cors)
        .layer(middleware::map_request(compression::honour_switch))
        .layer(compression::layer())
        .layer(timeout)
        .service(routes);
    Router::new().fallback_service(shared)
}

/// CORS for the configured origins only (by default the dev loop's `trunk serve`):
/// they may read gRPC statuses and server timings across origins. No credentials.
fn cors(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods(AllowMethods::any())
        .allow_headers(AllowHeaders::any())
        .expose_headers([
            HeaderName::from_static("grpc-status"),
            HeaderName::from_static("grpc-message"),
            HeaderName::from_static("grpc-status-details-bin"),
            HeaderName::from_static("server-timing"),
        ])
}
