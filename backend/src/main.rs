//! `lab-backend`: serves the lab (UI, REST, gRPC-Web, native gRPC) on one address.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use axum::http::HeaderValue;
use clap::Parser;
use lab_backend::{AppState, Config, app, serve};
use tracing_subscriber::EnvFilter;

/// mimalloc: per-request allocations are the server's hottest code after I/O, and it
/// hands freed memory back to the system, so memory after load returns to its level.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The gRPC-Web vs REST lab backend.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "LAB_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Directory of the built frontend (Trunk's output).
    #[arg(long, env = "LAB_STATIC_DIR", default_value = "dist")]
    static_dir: PathBuf,
    /// Allow listening on a non-loopback address (the lab has no authentication).
    #[arg(long)]
    public: bool,
    /// An origin allowed to call the APIs from another page (CORS); repeat for more.
    /// Default: the dev loop's http://127.0.0.1:8081 and http://localhost:8081.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<HeaderValue>,
    /// Record streams produced at once (gRPC and SSE together); more are refused.
    /// Default: 512.
    #[arg(long, value_name = "N")]
    max_streams: Option<usize>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("lab_backend=info,tower_http=info")),
        )
        // Logs on stderr; stdout only says where the lab is.
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if !cli.addr.ip().is_loopback() && !cli.public {
        eprintln!(
            "error: {} is not a loopback address; the lab has no authentication, \
             so pass --public to expose it anyway",
            cli.addr
        );
        return ExitCode::FAILURE;
    }

    if !cli.static_dir.join("index.html").is_file() {
        tracing::warn!(
            "{} has no index.html: the APIs work, the UI does not (build it with `cargo xtask demo`)",
            cli.static_dir.display()
        );
    }
    let listener = match serve::bind(cli.addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    println!("The lab is at http://{addr}/");

    let mut config = Config::new(cli.static_dir);
    if !cli.cors_origins.is_empty() {
        config.cors_origins = cli.cors_origins;
    }
    if let Some(max) = cli.max_streams {
        config.max_streams = max;
    }
    let limits = config.connection.clone();
    let app = app(AppState::new(config));
    match serve::serve(listener, app, &limits, serve::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
