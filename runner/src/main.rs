//! `lab-runner`: the page's workloads, service to service, from the command line.
//! Prints the run's figures as a table and writes the page's exports.
//!
//! ```text
//! lab-runner --backend http://127.0.0.1:8080 --workload fetch --count 1000 \
//!     --grpc h2c,tls --rest http1,h2 --total 2000 --concurrency 64 --json run.json
//! ```

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use http::Uri;
use http_body_util::BodyExt;
use indicatif::{ProgressBar, ProgressStyle};
use lab_instrument::run::config::RunConfig;
use lab_instrument::run::run_export::{RunContext, run_json};
use lab_instrument::run::service_lanes::{GrpcLane, RestLane};
use lab_instrument::run::worker_protocol::FromWorker;
use lab_instrument::transport::Protocol;
use lab_proto::contract::rest::STATUS;
use lab_runner::engine::{self, Sides};
use lab_runner::http_lane::HttpLane;
use lab_runner::report;
use lab_runner::targets::Targets;
use lab_runner::wire::{Connector, WireCounts};

/// Runs one of the lab's workloads service to service against a running backend.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The backend's plain listener (its status names the others).
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "LAB_BACKEND")]
    backend: Uri,
    /// The lab's local CA, to trust its TLS listeners (default: the backend's data
    /// directory's ca.pem).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// The gRPC side(s), comma-separated: h2c, tls, web-http1, web-h2.
    #[arg(long, default_value = "h2c", value_delimiter = ',')]
    grpc: Vec<String>,
    /// The REST side(s), comma-separated: http1, h2.
    #[arg(long, default_value = "http1", value_delimiter = ',')]
    rest: Vec<String>,
    /// ping, fetch, upload, stream, client-stream, echo.
    #[arg(long, default_value = "fetch")]
    workload: String,
    /// telemetry, log, order.
    #[arg(long, default_value = "telemetry")]
    shape: String,
    /// Records per request.
    #[arg(long, default_value_t = 100)]
    count: u32,
    /// Requests in the run.
    #[arg(long, default_value_t = 200)]
    total: u32,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: u32,
    /// Target requests per second (0: as fast as possible).
    #[arg(long, default_value_t = 0)]
    rate: u32,
    /// Pause between streamed messages, ms.
    #[arg(long, default_value_t = 0)]
    interval: u32,
    /// both, grpc-web (the gRPC side only) or rest.
    #[arg(long, default_value = "both")]
    protocol: String,
    /// Ask for HTTP compression of responses (REST and gRPC-Web).
    #[arg(long)]
    compression: bool,
    /// The emulated network (its listeners): loopback or a preset the backend offers.
    #[arg(long, default_value = "loopback")]
    net: String,
    /// Requests left out of the figures at the start.
    #[arg(long, default_value_t = 0)]
    warmup: u64,
    /// Seed of the generated records.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A run still going after this many seconds is stopped.
    #[arg(long, default_value_t = 600)]
    time_limit: u64,
    /// Writes the run's JSON export (the page's format) here; with several lanes, one
    /// file per pair, the lanes' keys added to the name.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Writes the samples as CSV here (as the page's CSV export).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Writes each side's figures (after the warm-up) as JSON here, for tools.
    #[arg(long)]
    figures: Option<PathBuf>,
}

fn default_ca() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    let path = data.join("grpc-web-vs-rest-lab/ca.pem");
    path.exists().then_some(path)
}

fn with_pair(path: &std::path::Path, grpc: GrpcLane, rest: RestLane, several: bool) -> PathBuf {
    if !several {
        return path.to_owned();
    }
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("run");
    let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("json");
    path.with_file_name(format!("{stem}-{}-{}.{ext}", grpc.key(), rest.key()))
}

async fn status(backend: &Uri) -> Result<Vec<u8>, String> {
    let counts = std::sync::Arc::new(WireCounts::default());
    let lane = HttpLane::new(
        backend.clone(),
        Connector::new(None, counts.clone()),
        counts,
        false,
        1,
    );
    let request = http::Request::get(lane.uri(STATUS))
        .body(tonic::body::Body::empty())
        .expect("a valid request");
    let response = lane.send(request).await.map_err(|err| {
        format!(
            "cannot reach {backend}: {}",
            lab_runner::rest_side::error_chain(&err)
        )
    })?;
    if !response.status().is_success() {
        return Err(format!("{backend}{STATUS} answered {}", response.status()));
    }
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(body.to_bytes().to_vec())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lab-runner: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let lanes =
        |keys: &[String], parse: fn(&str) -> Option<String>| -> Result<Vec<String>, String> {
            keys.iter()
                .map(|k| parse(k).ok_or_else(|| format!("unknown lane {k}")))
                .collect()
        };
    let grpc = lanes(&args.grpc, |k| {
        GrpcLane::from_key(k).map(|l| l.key().to_owned())
    })?;
    let rest = lanes(&args.rest, |k| {
        RestLane::from_key(k).map(|l| l.key().to_owned())
    })?;
    let ca = match args.ca.clone().or_else(default_ca) {
        Some(path) => Some(std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?),
        None => None,
    };
    let status = status(&args.backend).await?;
    let several = grpc.len() * rest.len() > 1;
    // Ctrl-C stops the run under way (which still reports what it measured) and the
    // pairs after it.
    let (interrupt, interrupted) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = interrupt.send(true);
        }
    });
    for grpc_key in &grpc {
        for rest_key in &rest {
            if *interrupted.borrow() {
                return Ok(());
            }
            let query = format!(
                "protocol={}&workload={}&shape={}&count={}&seed={}&compression={}&total={}&concurrency={}&rate={}&interval={}&net={}&client=service&grpc={grpc_key}&rest={rest_key}",
                args.protocol,
                args.workload,
                args.shape,
                args.count,
                args.seed,
                if args.compression { "on" } else { "off" },
                args.total,
                args.concurrency,
                args.rate,
                args.interval,
                args.net,
            );
            let config = RunConfig::from_query(&query);
            // The URL form keeps a default for what it does not know: here that is an
            // error.
            for (what, given, read) in [
                ("workload", &args.workload, config.workload.key().to_owned()),
                ("network", &args.net, config.network.key().to_owned()),
                ("shape", &args.shape, config.shape.key()),
                ("protocol", &args.protocol, config.protocol.key().to_owned()),
            ] {
                if *given != read {
                    return Err(format!("unknown {what} {given}"));
                }
            }
            let targets = Targets::from_status(&status, config.network, ca.clone())
                .map_err(|e| e.to_string())?;
            let sides = Sides::new(&config, &targets).map_err(|e| e.to_string())?;
            println!(
                "{} vs {}: {} × {} (concurrency {}, network {})",
                config.side_label(Protocol::GrpcWeb),
                config.side_label(Protocol::Rest),
                config.workload.label(),
                config.total,
                config.concurrency,
                config.network.key()
            );
            let bar = ProgressBar::new(u64::from(config.total));
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} requests, {elapsed}")
                    .expect("a valid template"),
            );
            let finished = engine::run(
                config,
                0,
                &sides,
                Duration::from_secs(args.time_limit),
                {
                    let mut interrupted = interrupted.clone();
                    async move {
                        let _ = interrupted.wait_for(|stop| *stop).await;
                    }
                },
                |message| {
                    if let FromWorker::Progress { done, .. } = message {
                        bar.set_position(done);
                    }
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            bar.finish_and_clear();
            print!("{}", report::table(&config, &finished, args.warmup));
            let (grpc_lane, rest_lane) = (config.lanes.grpc, config.lanes.rest);
            if let Some(path) = &args.figures {
                let path = with_pair(path, grpc_lane, rest_lane, several);
                std::fs::write(&path, report::figures_json(&config, &finished, args.warmup))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            if let Some(path) = &args.csv {
                let path = with_pair(path, grpc_lane, rest_lane, several);
                std::fs::write(&path, finished.data.to_csv())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            if let Some(path) = &args.json {
                let path = with_pair(path, grpc_lane, rest_lane, several);
                let summaries = Protocol::ALL.map(|p| finished.data.summary(p, true));
                let origin = args.backend.to_string();
                let context = RunContext {
                    config: &config.to_query(),
                    browser: concat!(
                        "lab-runner/",
                        env!("CARGO_PKG_VERSION"),
                        " (native, service to service)"
                    ),
                    origin: origin.trim_end_matches('/'),
                    timer: Some(engine::TIMER),
                    custom_shape: None,
                    sockets: finished.data.sockets.as_ref(),
                };
                let json = run_json(&context, &summaries, &finished.data.to_csv());
                std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
}
