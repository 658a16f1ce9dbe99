//! `cargo xtask bench-native`: the native runner's figures for `docs/native.md`, from
//! the release backend (loopback and two emulated networks) and the release
//! `lab-runner`: each workload × shape size × HTTP version × network at concurrency 1
//! and 64 (p50, p99, requests/s, wire and socket bytes), the streaming modes, CPU per
//! request on both sides, and the runner against `h2load` (an independent client) on
//! the same unary calls, so the runner's own cost is known.
//!
//! The tables go between the `<!-- figures -->` markers of `docs/native.md`; the text
//! around them is kept. Runs on emulated networks are bounded in time (what was
//! measured until then is reported, marked `stopped`).

use std::fmt::Write as _;
use std::path::Path;

use crate::bench::{Server, grpc_frame, h2load_counts};
use crate::command::{Failure, Step, cargo};

/// A run on an emulated network stops after this many seconds.
const EMULATED_SECONDS: u64 = 20;
const NETWORKS: [&str; 3] = ["loopback", "lighthouse-mobile", "intercontinental"];
/// Each pair compares sides on one footing: cleartext (gRPC over h2c against REST over
/// a pooled HTTP/1.1 client), and TLS (both HTTP/2).
const PAIRS: [(&str, &str, &str); 2] = [("h2c", "http1", "cleartext"), ("tls", "h2", "TLS")];
const WORKLOADS: [&str; 6] = ["ping", "fetch", "upload", "stream", "client-stream", "echo"];
/// Records per request and their shape: the browser's figures' cells
/// (`docs/network-profiles.md`): 10 telemetry points, 1,000 orders.
const SIZES: [(u32, &str); 2] = [(10, "telemetry"), (1000, "order")];

/// What the runner's `--figures` file says of one side.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Side {
    side: String,
    requests: u64,
    errors: u64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    requests_per_second: f64,
    wire_bytes: Option<f64>,
    socket_bytes_per_request: Option<f64>,
    first_message_ms: Option<f64>,
    messages_per_second: Option<f64>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Figures {
    stopped: bool,
    cpu_ms_per_request: Option<f64>,
    sides: Vec<Side>,
}

struct Tools<'a> {
    root: &'a Path,
    server: &'a Server,
    runner: std::path::PathBuf,
    scratch: std::path::PathBuf,
}

impl Tools<'_> {
    /// One runner run; `args` are its settings.
    fn run(&self, args: &[String]) -> Result<Figures, Failure> {
        let figures = self.scratch.join("figures.json");
        let _ = std::fs::remove_file(&figures);
        Step::new(&self.runner)
            .args(["--backend", &format!("http://{}", self.server.addr)])
            .arg("--ca")
            .arg(self.root.join("target/bench/tls/ca.pem"))
            .arg("--figures")
            .arg(&figures)
            .args(args)
            .output()
            .ok_or_else(|| Failure(format!("lab-runner failed: {}", args.join(" "))))?;
        let text = std::fs::read_to_string(&figures)
            .map_err(|err| Failure(format!("no figures from lab-runner: {err}")))?;
        serde_json::from_str(&text).map_err(|err| Failure(format!("figures: {err}")))
    }
}

/// The backend's connections open on `network`'s listeners (its status, read with a
/// plain HTTP/1.1 GET).
fn open_connections(server: &Server, network: &str) -> Option<u64> {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(server.addr).ok()?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        lab_proto::contract::rest::STATUS,
        server.addr
    );
    tcp.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    tcp.read_to_string(&mut response).ok()?;
    let body = &response[response.find("\r\n\r\n")? + 4..];
    let status: serde_json::Value = serde_json::from_str(body).ok()?;
    Some(
        status["listeners"]
            .as_array()?
            .iter()
            .filter(|l| l["network"]["name"] == network)
            .filter_map(|l| l["connectionsOpen"].as_u64())
            .sum(),
    )
}

/// Waits (up to two minutes) until no connection of an earlier run is open on
/// `network`: a stopped run's responses still queued in the emulated link would
/// otherwise hold up the next run's, as they would on a real link.
fn drained(server: &Server, network: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while open_connections(server, network).is_some_and(|n| n > 0)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| {
        if v < 10.0 {
            format!("{v:.2}")
        } else {
            format!("{v:.0}")
        }
    })
}

fn bytes(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.0}"))
}

fn args(pairs: &[(&str, String)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(k, v)| [format!("--{k}"), v.clone()])
        .collect()
}

pub fn run(root: &Path) -> Result<(), Failure> {
    let h2load = crate::bootstrap::h2load()?;
    cargo(root)
        .args([
            "build",
            "--release",
            "--package",
            "lab-backend",
            "--package",
            "lab-runner",
        ])
        .run_to_end()?;
    let scratch = root.join("target/bench");
    std::fs::create_dir_all(&scratch)
        .map_err(|err| Failure(format!("cannot create {}: {err}", scratch.display())))?;
    let server = Server::start_with_links(root, &NETWORKS[1..])?;
    let tools = Tools {
        root,
        server: &server,
        runner: root.join("target/release/lab-runner"),
        scratch: scratch.clone(),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Produced by `cargo xtask bench-native` ({}): the release backend and the release \
         `lab-runner` on this machine ({} cores), sharing them. Each cell is one run of \
         both sides alternating request by request; p50 / p99 in ms; rps: requests per \
         second over the run; wire: response body bytes (median); socket: bytes both ways \
         per request at the runner's sockets, TLS and connection setup included. Runs on \
         an emulated network stop after {EMULATED_SECONDS} s (marked *), each after the \
         link has carried the last one's bytes.\n",
        crate::bench::kernel(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (grpc, rest, footing) in PAIRS {
        let _ = writeln!(
            out,
            "### {footing}: gRPC ({grpc}) against REST ({rest})\n\n\
             | network | workload | records | c | gRPC p50 | REST p50 | gRPC p99 | REST p99 | gRPC rps | REST rps | gRPC wire | REST wire | gRPC socket | REST socket |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for network in NETWORKS {
            for workload in WORKLOADS {
                let sizes: &[(u32, &str)] = if workload == "ping" {
                    &[(0, "telemetry")]
                } else {
                    &SIZES
                };
                for &(count, shape) in sizes {
                    for concurrency in [1u32, 64] {
                        let emulated = network != "loopback";
                        // What a link cannot carry in a run's time is not run: 64
                        // responses of 1,000 orders are ~25 MB (two minutes of the
                        // mobile link), and an echo of 1,000 records is 1,000 round
                        // trips (minutes at 150–250 ms each).
                        let too_long = emulated
                            && count == 1000
                            && (workload == "echo"
                                || (network == "lighthouse-mobile" && concurrency == 64));
                        if too_long {
                            let _ = writeln!(
                                out,
                                "| {network} | {workload} | {count} {shape} | {concurrency} | not run: minutes on this link |  |  |  |  |  |  |  |  |  |"
                            );
                            continue;
                        }
                        let total = match (emulated, concurrency, count) {
                            (false, 1, _) => 200,
                            (false, _, 1000) => 512,
                            (false, _, _) => 2_000,
                            (true, 1, 1000) => 4,
                            (true, 1, _) => 8,
                            (true, _, _) => 128,
                        };
                        if emulated {
                            drained(&server, network);
                        }
                        let figures = tools.run(&args(&[
                            ("grpc", grpc.into()),
                            ("rest", rest.into()),
                            ("workload", workload.into()),
                            ("shape", shape.into()),
                            ("count", count.max(1).to_string()),
                            ("total", total.to_string()),
                            ("concurrency", concurrency.to_string()),
                            ("net", network.into()),
                            ("warmup", if emulated { "0" } else { "20" }.into()),
                            (
                                "time-limit",
                                if emulated { EMULATED_SECONDS } else { 120 }.to_string(),
                            ),
                        ]))?;
                        let [g, r] = [&figures.sides[0], &figures.sides[1]];
                        let mark = if figures.stopped { "*" } else { "" };
                        let _ = writeln!(
                            out,
                            "| {network}{mark} | {workload} | {} | {concurrency} | {} | {} | {} | {} | {:.0} | {:.0} | {} | {} | {} | {} |",
                            if count == 0 {
                                "–".to_owned()
                            } else {
                                format!("{count} {shape}")
                            },
                            ms(g.p50_ms),
                            ms(r.p50_ms),
                            ms(g.p99_ms),
                            ms(r.p99_ms),
                            g.requests_per_second,
                            r.requests_per_second,
                            bytes(g.wire_bytes),
                            bytes(r.wire_bytes),
                            bytes(g.socket_bytes_per_request),
                            bytes(r.socket_bytes_per_request),
                        );
                        if g.errors + r.errors > 0 {
                            let _ = writeln!(
                                out,
                                "|  | ↳ errors: {} of {}, {} of {} |  |  |  |  |  |  |  |  |  |  |  |  |",
                                g.errors, g.requests, r.errors, r.requests
                            );
                        }
                    }
                }
            }
        }
        out.push('\n');
    }

    // The streaming modes side by side, at concurrency 1 on loopback, 1000 records.
    let _ = writeln!(
        out,
        "### Streaming modes (loopback, 1,000 telemetry records per stream, concurrency 1)\n\n\
         | mode | side | stream p50 (ms) | first message (ms) | messages/s | round trip per message (ms) |\n\
         |---|---|---:|---:|---:|---:|"
    );
    for (workload, mode) in [
        ("stream", "server streaming"),
        ("client-stream", "client streaming"),
        ("echo", "bidirectional (echo)"),
    ] {
        for (grpc, rest, _) in PAIRS {
            let figures = tools.run(&args(&[
                ("grpc", grpc.into()),
                ("rest", rest.into()),
                ("workload", workload.into()),
                ("count", "1000".into()),
                ("total", "40".into()),
                ("concurrency", "1".into()),
                ("warmup", "4".into()),
            ]))?;
            for side in &figures.sides {
                let per_message = (workload == "echo")
                    .then(|| side.p50_ms.map(|p50| p50 / 1000.0))
                    .flatten();
                // A client stream's messages/s: its records over the call's median time.
                let rate = match workload {
                    "client-stream" => side.p50_ms.map(|p50| 1000.0 / (p50 / 1000.0)),
                    _ => side.messages_per_second,
                };
                let _ = writeln!(
                    out,
                    "| {mode} | {} | {} | {} | {} | {} |",
                    side.side,
                    ms(side.p50_ms),
                    ms(side.first_message_ms),
                    rate.map_or("–".into(), |v| format!("{v:.0}")),
                    per_message.map_or("–".into(), |v| format!("{v:.3}")),
                );
            }
        }
    }
    out.push_str(
        "\nA server stream's messages/s is per stream, from its first message to its last \
         (sent as fast as the server can, they arrive in a few reads); a client stream's is \
         its 1,000 records over the call's median time, and it has no first message (one \
         answer, at its end).\n\n",
    );

    // CPU per request, each side alone (the runner's process and the backend's).
    let _ = writeln!(
        out,
        "### CPU per request (loopback, concurrency 64, each side alone)\n\n\
         | workload | records | side | runner CPU (µs) | backend CPU (µs) |\n\
         |---|---:|---|---:|---:|"
    );
    for (workload, count) in [
        ("ping", 1),
        ("fetch", 10),
        ("fetch", 1000),
        ("upload", 1000),
        ("stream", 1000),
    ] {
        for (grpc, rest, _) in PAIRS {
            for protocol in ["grpc-web", "rest"] {
                let total = if count == 1000 { 1_000 } else { 10_000 };
                let before = server.cpu_seconds()?;
                let figures = tools.run(&args(&[
                    ("grpc", grpc.into()),
                    ("rest", rest.into()),
                    ("protocol", protocol.into()),
                    ("workload", workload.into()),
                    ("count", count.to_string()),
                    ("total", total.to_string()),
                    ("concurrency", "64".into()),
                ]))?;
                let backend = (server.cpu_seconds()? - before) * 1e6 / f64::from(total);
                let side = if protocol == "rest" {
                    &figures.sides[1]
                } else {
                    &figures.sides[0]
                };
                let _ = writeln!(
                    out,
                    "| {workload} | {count} | {} | {} | {backend:.0} |",
                    side.side,
                    figures
                        .cpu_ms_per_request
                        .map_or("–".into(), |ms| format!("{:.0}", ms * 1_000.0)),
                );
            }
        }
    }

    // The runner against h2load on the same unary call, concurrency 64 on loopback.
    let _ = writeln!(
        out,
        "\n### The runner against h2load (ping, loopback, 64 in flight)\n\n\
         | transport | h2load rps | runner rps | runner : h2load |\n|---|---:|---:|---:|"
    );
    let ping = grpc_frame(&lab_proto::v1::PingRequest {}.encode_to_vec());
    let body = scratch.join("ping.grpc");
    std::fs::write(&body, &ping).map_err(|err| Failure(err.to_string()))?;
    let requests = 30_000u32;
    for (name, h2load_args, url, runner_args) in [
        (
            "gRPC, h2c (1 connection, 64 streams)",
            vec![
                "-c",
                "1",
                "-m",
                "64",
                "-H",
                "content-type: application/grpc",
                "-H",
                "te: trailers",
            ],
            format!("http://{}{}", server.addr, lab_proto::contract::grpc::PING),
            ("grpc-web", "h2c", "http1"),
        ),
        (
            "REST, HTTP/1.1 (64 connections)",
            vec!["--h1", "-c", "64", "-m", "1"],
            format!("http://{}{}", server.addr, lab_proto::contract::rest::PING),
            ("rest", "h2c", "http1"),
        ),
        (
            "REST, HTTP/2 over TLS (1 connection, 64 streams)",
            vec!["-c", "1", "-m", "64"],
            format!(
                "https://{}{}",
                server.tls_h2_addr,
                lab_proto::contract::rest::PING
            ),
            ("rest", "tls", "h2"),
        ),
    ] {
        let mut step = Step::new(&h2load).args(h2load_args.iter().copied()).args([
            "-t",
            "1",
            "-n",
            &requests.to_string(),
        ]);
        if name.starts_with("gRPC") {
            step = step.arg("-d").arg(&body);
        }
        let output = step
            .arg(&url)
            .output()
            .ok_or_else(|| Failure(format!("h2load failed against {url}")))?;
        let (_, failed) = h2load_counts(&output)?;
        let h2load_rps: f64 = output
            .lines()
            .find_map(|line| line.strip_prefix("finished in "))
            .and_then(|rest| rest.split(", ").nth(1))
            .and_then(|rate| rate.trim_end_matches(" req/s").parse().ok())
            .ok_or_else(|| Failure(format!("h2load printed no rate:\n{output}")))?;
        let (protocol, grpc, rest) = runner_args;
        let figures = tools.run(&args(&[
            ("grpc", grpc.into()),
            ("rest", rest.into()),
            ("protocol", protocol.into()),
            ("workload", "ping".into()),
            ("total", requests.to_string()),
            ("concurrency", "64".into()),
        ]))?;
        let side = if protocol == "rest" {
            &figures.sides[1]
        } else {
            &figures.sides[0]
        };
        let _ = writeln!(
            out,
            "| {name} | {h2load_rps:.0}{} | {:.0} | {:.2} |",
            if failed > 0 {
                format!(" ({failed} failed)")
            } else {
                String::new()
            },
            side.requests_per_second,
            side.requests_per_second / h2load_rps
        );
    }

    let path = root.join("docs/native.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let (start, end) = ("<!-- figures -->", "<!-- /figures -->");
    let updated = match (doc.find(start), doc.find(end)) {
        (Some(a), Some(b)) if a < b => format!("{}{start}\n{out}{}", &doc[..a], &doc[b..]),
        _ => format!("{doc}\n{start}\n{out}{end}\n"),
    };
    std::fs::write(&path, updated)
        .map_err(|err| Failure(format!("cannot write {}: {err}", path.display())))?;
    println!("{out}");
    println!("written to {}", path.display());
    Ok(())
}

use prost::Message as _;
