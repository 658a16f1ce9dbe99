//! `cargo xtask bench`: a load benchmark of the release backend on loopback, with
//! standard tools, writing its table to `docs/benchmark.md`.
//!
//! - `oha` (HTTP/1.1): the bare `/healthz` baseline, REST, and gRPC-Web;
//! - `h2load` (h2c, prior knowledge): the same baseline over HTTP/2, and native gRPC;
//! - `h2load` over TLS: the same on the backend's TLS listeners, HTTP/1.1 (ALPN
//!   `http/1.1`) and HTTP/2 (ALPN `h2`), where the browser's HTTP/2 lives.
//!
//! Every cell runs for a fixed time at 1 and at 64 connections, each right after a run
//! of its baseline, so the protocols are compared as ratios of two runs seconds apart on
//! the same machine rather than as absolute numbers; three rounds, and the report gives
//! their medians, which a noisy neighbour moves less than any single run.
//!
//! A second pass reads the server's own CPU time per request from `/proc` over a fixed
//! number of requests: what a protocol costs the server, apart from the load generator
//! that shares its cores. Its figure per protocol, the µs of server CPU a request adds
//! over the bare baseline, is the one a change is judged by; requests/s are reported
//! for reference only (on two shared cores their ratios move between runs as much as
//! any floor's distance).

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lab_proto::contract::{grpc, rest};
use lab_proto::v1::{FetchRequest, Shape};
use prost::Message;

use crate::command::{Failure, Step, cargo};

/// How long each cell runs.
const CELL_SECONDS: u64 = 3;
/// Every cell is measured this many times; the report shows medians.
const ROUNDS: usize = 3;
const CONNECTIONS: [u32; 2] = [1, 64];
/// By how much a change may raise a protocol's added server CPU per request before its
/// commit has to say why.
const CPU_BUDGET_SLACK: f64 = 0.10;

/// One load test: what to send and over which transport.
struct Workload {
    name: &'static str,
    /// Path and query of the REST request.
    rest_path: String,
    /// The gRPC method path.
    grpc_method: &'static str,
    grpc_message: Vec<u8>,
    /// Requests per server-CPU reading: about a second of load at 64 connections.
    cpu_requests: u64,
}

/// The load generator, listener and HTTP version of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    /// `oha` over HTTP/1.1.
    Oha,
    /// `h2load --h1`.
    H2loadHttp1,
    /// `h2load` over h2c (prior knowledge).
    H2c,
    /// `h2load --h1` on the TLS listener that offers only HTTP/1.1.
    TlsHttp1,
    /// `h2load` on the TLS listener that offers HTTP/2 (ALPN `h2`).
    TlsH2,
}

impl Driver {
    /// Whether h2load speaks HTTP/1.1 (`--h1`).
    fn http1(self) -> bool {
        matches!(self, Self::Oha | Self::H2loadHttp1 | Self::TlsHttp1)
    }

    /// The origin of the listener this driver loads.
    fn origin(self, server: &Server) -> String {
        match self {
            Self::Oha | Self::H2loadHttp1 | Self::H2c => format!("http://{}", server.addr),
            Self::TlsHttp1 => format!("https://{}", server.tls_http1_addr),
            Self::TlsH2 => format!("https://{}", server.tls_h2_addr),
        }
    }
}

/// The body of a POST cell: a framed gRPC message, sent as gRPC-Web or native gRPC.
#[derive(Debug, Clone)]
struct Post {
    file: PathBuf,
    /// Native gRPC (`application/grpc`, `te: trailers`), else gRPC-Web.
    native: bool,
}

/// Where the load generators are, and their scratch directory.
struct Tools {
    oha: PathBuf,
    h2load: PathBuf,
    scratch: PathBuf,
}

impl Tools {
    /// Runs one cell: `body` makes it a gRPC(-Web) POST, otherwise a GET.
    fn measure(
        &self,
        driver: Driver,
        workload: &'static str,
        protocol: &'static str,
        connections: u32,
        url: &str,
        body: Option<&Post>,
    ) -> Result<Cell, Failure> {
        settle();
        eprintln!("bench: {workload} / {protocol} / {connections} connection(s)");
        let cell = match driver {
            Driver::Oha => oha_cell(&self.oha, connections, url, body.map(|b| b.file.as_path()))?,
            _ => h2load_cell(
                &self.h2load,
                &self.scratch,
                driver.http1(),
                connections,
                url,
                body,
            )?,
        };
        Ok(Cell {
            workload,
            protocol,
            connections,
            ..cell
        })
    }
}

/// One measured cell.
#[derive(Debug)]
struct Cell {
    workload: &'static str,
    protocol: &'static str,
    connections: u32,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    total: u64,
    /// Requests/s as a share of the same round's baseline (same tool, HTTP version and
    /// connections); `None` for the baselines themselves.
    vs_baseline: Option<f64>,
}

/// One row per baseline (tool and connections) from its runs in a round: medians of
/// the figures, errors and requests summed.
fn baseline_rows(runs: &[Cell]) -> Vec<Cell> {
    let mut rows: Vec<Cell> = Vec::new();
    for run in runs {
        let same = |r: &&Cell| r.protocol == run.protocol && r.connections == run.connections;
        if !rows.iter().any(|r| same(&r)) {
            rows.push(median_cell(&runs.iter().filter(same).collect::<Vec<_>>()));
        }
    }
    rows
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// One cell per measurement, each figure the median of the rounds.
fn medians(rounds: &[Vec<Cell>]) -> Vec<Cell> {
    (0..rounds[0].len())
        .map(|i| median_cell(&rounds.iter().map(|round| &round[i]).collect::<Vec<_>>()))
        .collect()
}

/// Several runs of one measurement as one cell: the median of each figure, errors and
/// requests summed.
fn median_cell(all: &[&Cell]) -> Cell {
    let of = |figure: fn(&Cell) -> f64| median(all.iter().map(|c| figure(c)).collect());
    let ratios: Vec<f64> = all.iter().filter_map(|c| c.vs_baseline).collect();
    Cell {
        requests_per_second: of(|c| c.requests_per_second),
        p50_ms: of(|c| c.p50_ms),
        p99_ms: of(|c| c.p99_ms),
        errors: all.iter().map(|c| c.errors).sum(),
        total: all.iter().map(|c| c.total).sum(),
        vs_baseline: (!ratios.is_empty()).then(|| median(ratios)),
        ..*all[0]
    }
}

fn workloads() -> Vec<Workload> {
    let fetch = |shape: Shape, count: u32| FetchRequest {
        shape: shape.into(),
        count,
        seed: 1,
    };
    vec![
        Workload {
            name: "ping",
            rest_path: rest::PING.into(),
            grpc_method: grpc::PING,
            grpc_message: Vec::new(),
            cpu_requests: 100_000,
        },
        Workload {
            name: "fetch 10 telemetry",
            rest_path: rest::records_url(rest::RECORDS, Shape::Telemetry, 10, 1),
            grpc_method: grpc::FETCH,
            grpc_message: fetch(Shape::Telemetry, 10).encode_to_vec(),
            cpu_requests: 100_000,
        },
        Workload {
            name: "fetch 1000 orders",
            rest_path: rest::records_url(rest::RECORDS, Shape::Order, 1000, 1),
            grpc_method: grpc::FETCH,
            grpc_message: fetch(Shape::Order, 1000).encode_to_vec(),
            cpu_requests: 5_000,
        },
    ]
}

/// Runs the benchmark and writes `docs/benchmark.md`.
pub fn run(root: &Path) -> Result<(), Failure> {
    let oha = crate::bootstrap::oha()?;
    let h2load = crate::bootstrap::h2load()?;
    cargo(root)
        .args(["build", "--release", "--package", "lab-backend"])
        .run_to_end()?;
    let scratch = root.join("target/bench");
    std::fs::create_dir_all(&scratch)
        .map_err(|err| Failure(format!("cannot create {}: {err}", scratch.display())))?;

    let server = Server::start(root)?;
    let tools = Tools {
        oha,
        h2load,
        scratch,
    };
    let healthz = |driver: Driver| format!("{}/healthz", driver.origin(&server));
    let baselines = [
        (Driver::Oha, "HTTP/1.1 /healthz"),
        (Driver::H2loadHttp1, "HTTP/1.1 /healthz · h2load"),
        (Driver::H2c, "h2c /healthz"),
        (Driver::TlsHttp1, "TLS HTTP/1.1 /healthz"),
        (Driver::TlsH2, "TLS h2 /healthz"),
    ];
    let mut plan = Vec::new();
    let cpu_baseline = |driver, protocol| CpuRun {
        driver,
        workload: "baseline",
        protocol,
        url: healthz(driver),
        body: None,
        requests: 100_000,
    };
    let mut cpu_plan = vec![
        cpu_baseline(Driver::H2loadHttp1, "HTTP/1.1 /healthz"),
        cpu_baseline(Driver::H2c, "h2c /healthz"),
        cpu_baseline(Driver::TlsHttp1, "TLS HTTP/1.1 /healthz"),
        cpu_baseline(Driver::TlsH2, "TLS h2 /healthz"),
    ];
    for workload in workloads() {
        // One file per workload: the plan is measured after all of them are written.
        let file = tools
            .scratch
            .join(format!("{}.bin", workload.name.replace(' ', "-")));
        std::fs::write(&file, grpc_frame(&workload.grpc_message))
            .map_err(|err| Failure(format!("cannot write {}: {err}", file.display())))?;
        let web = Post {
            file: file.clone(),
            native: false,
        };
        let native = Post { file, native: true };
        // What each driver measures: the protocol as the requests/s table names it, and
        // the body (gRPC) or none (REST's GET).
        let cells = [
            (Driver::Oha, "REST", None),
            (Driver::Oha, "gRPC-Web", Some(&web)),
            (Driver::H2loadHttp1, "REST · h2load", None),
            (Driver::H2loadHttp1, "gRPC-Web · h2load", Some(&web)),
            (Driver::H2c, "gRPC (h2c)", Some(&native)),
            (Driver::TlsHttp1, "REST · TLS HTTP/1.1", None),
            (Driver::TlsHttp1, "gRPC-Web · TLS HTTP/1.1", Some(&web)),
            (Driver::TlsH2, "REST · TLS h2", None),
            (Driver::TlsH2, "gRPC-Web · TLS h2", Some(&web)),
            (Driver::TlsH2, "gRPC · TLS h2", Some(&native)),
        ];
        for (driver, protocol, body) in cells {
            let origin = driver.origin(&server);
            let url = match body {
                Some(_) => format!("{origin}{}", workload.grpc_method),
                None => format!("{origin}{}", workload.rest_path),
            };
            // The server-CPU pass uses h2load only, whose own cost is small and even;
            // its table needs no tool's name.
            if driver != Driver::Oha {
                cpu_plan.push(CpuRun {
                    driver,
                    workload: workload.name,
                    protocol: protocol.trim_end_matches(" · h2load"),
                    url: url.clone(),
                    body: body.cloned(),
                    requests: workload.cpu_requests,
                });
            }
            plan.push((driver, workload.name, protocol, url, body.cloned()));
        }
    }
    // Rounds; in each, every cell is measured right after a run of its baseline (same
    // tool, HTTP version and connections) and its ratio is taken to that run: a pair
    // seconds apart. The report shows the median of the rounds.
    let mut rounds = Vec::new();
    for round in 1..=ROUNDS {
        println!("bench: round {round} of {ROUNDS}");
        let (mut cells, mut baseline_runs) = (Vec::new(), Vec::new());
        for connections in CONNECTIONS {
            for (driver, label) in baselines {
                for (_, workload, protocol, url, body) in plan.iter().filter(|p| p.0 == driver) {
                    let base = tools.measure(
                        driver,
                        "baseline",
                        label,
                        connections,
                        &healthz(driver),
                        None,
                    )?;
                    let body = body.as_ref();
                    let mut cell =
                        tools.measure(driver, workload, protocol, connections, url, body)?;
                    cell.vs_baseline = Some(cell.requests_per_second / base.requests_per_second);
                    cells.push(cell);
                    baseline_runs.push(base);
                }
            }
        }
        cells.extend(baseline_rows(&baseline_runs));
        rounds.push(cells);
    }
    let mut cells = medians(&rounds);
    // Reported as baselines first, then by workload, connections and protocol.
    let rank = |cell: &Cell| {
        let entry = plan
            .iter()
            .position(|p| p.1 == cell.workload && p.2 == cell.protocol);
        let workload = plan.iter().position(|p| p.1 == cell.workload);
        (entry.is_some(), workload, cell.connections, entry)
    };
    cells.sort_by_key(rank);
    let cpu_cells = cpu_pass(&tools, &server, &cpu_plan)?;
    drop(server);

    let report = report(&cells, &cpu_cells);
    let path = root.join("docs/benchmark.md");
    std::fs::write(&path, &report)
        .map_err(|err| Failure(format!("cannot write {}: {err}", path.display())))?;
    println!("{report}");
    println!("written to {}", path.display());
    Ok(())
}

/// A gRPC length-prefixed message: flag 0 (uncompressed), big-endian length, payload.
pub(crate) fn grpc_frame(message: &[u8]) -> Vec<u8> {
    let mut framed = vec![0];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(message);
    framed
}

/// One `oha` cell; the caller names it.
fn oha_cell(oha: &Path, connections: u32, url: &str, body: Option<&Path>) -> Result<Cell, Failure> {
    let mut step = Step::new(oha)
        .args([
            "--no-tui",
            "--output-format",
            "json",
            "-z",
            &format!("{CELL_SECONDS}s"),
        ])
        .args(["-c", &connections.to_string()]);
    if let Some(body) = body {
        step = step
            .args([
                "-m",
                "POST",
                "-H",
                "content-type: application/grpc-web+proto",
                "-D",
            ])
            .arg(body);
    }
    let output = step
        .arg(url)
        .output()
        .ok_or_else(|| Failure(format!("oha failed against {url}")))?;
    let json: serde_json::Value = serde_json::from_str(&output)
        .map_err(|err| Failure(format!("unreadable oha output: {err}")))?;
    let seconds = |pointer: &str| {
        json.pointer(pointer)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(f64::NAN)
    };
    let statuses = json
        .pointer("/statusCodeDistribution")
        .and_then(|v| v.as_object())
        .cloned()
        .unwrap_or_default();
    let count = |ok: bool| -> u64 {
        statuses
            .iter()
            .filter(|(code, _)| (code.as_str() == "200") == ok)
            .filter_map(|(_, n)| n.as_u64())
            .sum()
    };
    let failed_connections: u64 = json
        .pointer("/errorDistribution")
        .and_then(|v| v.as_object())
        .map(|errors| {
            errors
                .iter()
                // Requests cut off by the end of the cell are not the server's errors.
                .filter(|(kind, _)| kind.as_str() != "aborted due to deadline")
                .filter_map(|(_, n)| n.as_u64())
                .sum()
        })
        .unwrap_or(0);
    Ok(Cell {
        workload: "",
        protocol: "",
        connections,
        requests_per_second: seconds("/summary/requestsPerSec"),
        p50_ms: seconds("/latencyPercentiles/p50") * 1e3,
        p99_ms: seconds("/latencyPercentiles/p99") * 1e3,
        errors: count(false) + failed_connections,
        total: count(true) + count(false),
        vs_baseline: None,
    })
}

/// One `h2load` cell (`http1`: `--h1`, else h2c); the caller names it.
fn h2load_cell(
    h2load: &Path,
    scratch: &Path,
    http1: bool,
    connections: u32,
    url: &str,
    body: Option<&Post>,
) -> Result<Cell, Failure> {
    let log = scratch.join("h2load.log");
    let _ = std::fs::remove_file(&log);
    let output = h2load_step(h2load, http1, connections, body)
        .args(["-D", &CELL_SECONDS.to_string(), "--warm-up-time=1"])
        .arg(format!("--log-file={}", log.display()))
        .arg(url)
        .output()
        .ok_or_else(|| Failure(format!("h2load failed against {url}")))?;
    // "finished in 5.00s, 12345.60 req/s, 1.23MB/s"
    let requests_per_second = output
        .lines()
        .find_map(|line| line.strip_prefix("finished in "))
        .and_then(|rest| rest.split(", ").nth(1))
        .and_then(|rate| rate.trim_end_matches(" req/s").parse().ok())
        .ok_or_else(|| Failure(format!("h2load printed no rate:\n{output}")))?;
    // Errors come from h2load's summary, not from the log: the request in flight when
    // the warm-up ends is logged with status 0 although it succeeded.
    let (done, errors) = h2load_counts(&output)?;
    // Per request: start (µs since epoch), HTTP status, duration (µs).
    let text =
        std::fs::read_to_string(&log).map_err(|err| Failure(format!("no h2load log: {err}")))?;
    let mut latencies = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        if let Some(Ok(micros)) = fields.get(2).map(|m| m.parse::<f64>()) {
            latencies.push(micros / 1e3);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len().max(1));
        latencies.get(rank - 1).copied().unwrap_or(f64::NAN)
    };
    Ok(Cell {
        workload: "",
        protocol: "",
        connections,
        requests_per_second,
        p50_ms: quantile(0.5),
        p99_ms: quantile(0.99),
        errors,
        total: done,
        vs_baseline: None,
    })
}

/// `h2load` with one thread and one request per connection in flight (`http1`:
/// `--h1`, else HTTP/2: h2c for `http://`, ALPN `h2` for `https://`); `body` makes it
/// a gRPC(-Web) POST. h2load does not verify certificates.
fn h2load_step(h2load: &Path, http1: bool, connections: u32, body: Option<&Post>) -> Step {
    let mut step = Step::new(h2load).args(["-c", &connections.to_string(), "-t", "1", "-m", "1"]);
    if http1 {
        step = step.arg("--h1");
    }
    if let Some(body) = body {
        let headers: &[&str] = if body.native {
            &["-H", "content-type: application/grpc", "-H", "te: trailers"]
        } else {
            &["-H", "content-type: application/grpc-web+proto"]
        };
        step = step.args(headers).arg("-d").arg(&body.file);
    }
    step
}

/// Requests done and failed, from h2load's summary line
/// "requests: 14102 total, 14102 started, 14102 done, 14100 succeeded, 2 failed, ...".
pub(crate) fn h2load_counts(output: &str) -> Result<(u64, u64), Failure> {
    output
        .lines()
        .find_map(|line| line.strip_prefix("requests: "))
        .and_then(|rest| {
            let count = |label: &str| {
                rest.split(", ")
                    .find_map(|part| part.strip_suffix(label))
                    .and_then(|n| n.trim().parse::<u64>().ok())
            };
            Some((count(" done")?, count(" failed")?))
        })
        .ok_or_else(|| Failure(format!("h2load printed no request counts:\n{output}")))
}

/// The server's CPU time per request, in microseconds, over a fixed number of
/// requests at 64 connections (h2load): the cost of a protocol to the server alone,
/// whatever the load generator spends beside it on the same cores.
struct CpuCell {
    workload: &'static str,
    protocol: &'static str,
    micros_per_request: f64,
    /// What a request costs beyond a baseline request of the same HTTP version: the
    /// judged figure.
    added_micros: Option<f64>,
    /// The baseline's CPU per request (same HTTP version) divided by this one's.
    vs_baseline: Option<f64>,
}

/// Runs `requests` through h2load and reads the server's user + system CPU time from
/// `/proc` around it.
fn server_cpu_per_request(
    tools: &Tools,
    server: &Server,
    http1: bool,
    url: &str,
    body: Option<&Post>,
    requests: u64,
) -> Result<f64, Failure> {
    let run = |requests: u64| {
        h2load_step(&tools.h2load, http1, 64, body)
            .args(["-n", &requests.to_string()])
            .arg(url)
            .output()
            .ok_or_else(|| Failure(format!("h2load failed against {url}")))
    };
    settle();
    // Unmeasured: after a workload of large responses the server is slower for a
    // moment (its allocator returning memory), which would be charged to this one.
    run(requests / 5)?;
    let before = server.cpu_seconds()?;
    let output = run(requests)?;
    let after = server.cpu_seconds()?;
    let (done, failed) = h2load_counts(&output)?;
    if done != requests || failed > 0 {
        return Err(Failure(format!(
            "server CPU run against {url}: {done} of {requests} requests done, {failed} failed"
        )));
    }
    Ok((after - before) / requests as f64 * 1e6)
}

/// One entry of the server-CPU pass.
struct CpuRun {
    /// An h2load driver: listener and HTTP version.
    driver: Driver,
    workload: &'static str,
    protocol: &'static str,
    url: String,
    body: Option<Post>,
    requests: u64,
}

impl CpuRun {
    fn is_baseline(&self) -> bool {
        self.workload == "baseline"
    }

    fn measure(&self, tools: &Tools, server: &Server) -> Result<f64, Failure> {
        eprintln!("bench: server CPU / {} / {}", self.workload, self.protocol);
        server_cpu_per_request(
            tools,
            server,
            self.driver.http1(),
            &self.url,
            self.body.as_ref(),
            self.requests,
        )
    }
}

/// Measures every entry of `plan` [`ROUNDS`] times, each run right after a run of the
/// baseline of its HTTP version, as in the requests/s rounds: medians of the runs and of
/// the pairs' differences and ratios; a baseline row is the median of all its runs.
fn cpu_pass(tools: &Tools, server: &Server, plan: &[CpuRun]) -> Result<Vec<CpuCell>, Failure> {
    let mut runs = vec![Vec::new(); plan.len()];
    let mut added = vec![Vec::new(); plan.len()];
    let mut ratios = vec![Vec::new(); plan.len()];
    for round in 1..=ROUNDS {
        println!("bench: server CPU per request, round {round} of {ROUNDS}");
        for (i, entry) in plan.iter().enumerate().filter(|(_, e)| !e.is_baseline()) {
            let b = plan
                .iter()
                .position(|p| p.is_baseline() && p.driver == entry.driver)
                .ok_or_else(|| Failure("no baseline for the server CPU pass".into()))?;
            let base = plan[b].measure(tools, server)?;
            let micros = entry.measure(tools, server)?;
            runs[b].push(base);
            runs[i].push(micros);
            added[i].push(micros - base);
            ratios[i].push(base / micros);
        }
    }
    Ok(plan
        .iter()
        .zip(runs.into_iter().zip(added.into_iter().zip(ratios)))
        .map(|(entry, (runs, (added, ratios)))| CpuCell {
            workload: entry.workload,
            protocol: entry.protocol,
            micros_per_request: median(runs),
            added_micros: (!added.is_empty()).then(|| median(added)),
            vs_baseline: (!ratios.is_empty()).then(|| median(ratios)),
        })
        .collect())
}

fn report(cells: &[Cell], cpu_cells: &[CpuCell]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Benchmark: server CPU, requests/s and latency per protocol\n"
    );
    let _ = writeln!(
        out,
        "Produced by `cargo xtask bench` against the release backend on 127.0.0.1. \
         Machine: {} cores, {}.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        kernel()
    );
    cpu_section(&mut out, cpu_cells);
    rate_section(&mut out, cells);
    out
}

/// The judged figure: server CPU per request, and what each protocol adds to its
/// baseline.
fn cpu_section(out: &mut String, cpu_cells: &[CpuCell]) {
    let _ = writeln!(
        out,
        "## Server CPU per request: the judged figure\n\n\
         The server's own user + system CPU time (from `/proc`) over a fixed number of \
         requests (100,000; 5,000 for the large fetch) sent by h2load at 64 connections \
         (over HTTP/1.1, h2c, and TLS: HTTP/1.1 and h2), \
         each preceded by 20% as many unmeasured ones; {ROUNDS} rounds in which every run \
         follows a run of the baseline of its HTTP version (the bare `/healthz` route); \
         medians. Unlike requests/s it does not depend on what the load generator spends \
         on the same cores; it still moves by 5–10% between runs of this benchmark on \
         this machine. It counts the kernel's work in the server's system calls; network \
         processing the kernel books as softirq time may be left out.\n\n\
         **Added µs** is the median over the pairs of the protocol's CPU per request \
         minus its baseline's: what the protocol itself (routing, framing, encoding, \
         its layers) costs the server on each request. This is the figure a change is \
         judged by: a change that raises one by more than {:.0}% needs a reason in its \
         commit. \"vs baseline\" is the median of the baseline's CPU per request divided \
         by the protocol's: the share of the baseline's rate a server with all cores to \
         itself would reach.\n",
        CPU_BUDGET_SLACK * 100.0
    );
    let _ = writeln!(
        out,
        "| workload | protocol | µs per request | added µs over baseline | vs baseline |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|");
    for cell in cpu_cells {
        let added = cell
            .added_micros
            .map_or("—".to_owned(), |micros| format!("{micros:+.2}"));
        let ratio = cell
            .vs_baseline
            .map_or("—".to_owned(), |r| format!("{:.0}%", r * 100.0));
        let _ = writeln!(
            out,
            "| {} | {} | {:.2} | {added} | {ratio} |",
            cell.workload, cell.protocol, cell.micros_per_request
        );
    }
    let _ = writeln!(out);
}

/// Requests/s and latency, for reference, and the requests that failed.
fn rate_section(out: &mut String, cells: &[Cell]) {
    let _ = writeln!(
        out,
        "## Requests/s and latency, for reference\n\n\
         {CELL_SECONDS} s per cell after a 1 s pause, h2load with 1 s of warm-up; logging \
         at `warn`; {ROUNDS} rounds; in each, every cell runs right after a run of its \
         baseline and its ratio is taken to that run; every figure below is the median of \
         the rounds, errors and requests summed, and a baseline row is the median of all \
         its runs. REST and gRPC-Web are driven over HTTP/1.1 with keep-alive twice: by \
         `oha`, and by `h2load --h1` (marked \"· h2load\"); native gRPC by `h2load` over \
         h2c. On the TLS listeners (TLS 1.3, the backend's ECDSA P-256 certificate), \
         `h2load --h1` drives the one that offers only HTTP/1.1 and plain `h2load` the \
         one that offers HTTP/2 (ALPN `h2`), where a browser's HTTP/2 arrives; TLS \
         handshakes happen once per connection, before the warm-up ends. Every client \
         keeps one request per connection in flight. \"vs baseline\" \
         divides by the bare `/healthz` route measured just before with the same tool, \
         HTTP version and connections.\n\n\
         Client and server share this machine's cores. oha spends more CPU on each \
         response body than the server spends producing it, so with bodies (and at 64 \
         connections) oha's ratios measure oha; the lighter C client h2load measures the \
         server. On this machine the ratios at 64 connections move between runs as much \
         as a floor would be from them: no requests/s floor is judged, only errors.\n"
    );
    let _ = writeln!(
        out,
        "| workload | protocol | conns | req/s | vs baseline | p50 ms | p99 ms | errors / requests |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|");
    let mut failed = Vec::new();
    for cell in cells {
        let ratio = cell
            .vs_baseline
            .map_or("—".to_owned(), |r| format!("{:.0}%", r * 100.0));
        if cell.errors > 0 {
            failed.push(format!(
                "{} / {} / {}: {} errors",
                cell.workload, cell.protocol, cell.connections, cell.errors
            ));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {ratio} | {:.3} | {:.3} | {} / {} |",
            cell.workload,
            cell.protocol,
            cell.connections,
            cell.requests_per_second,
            cell.p50_ms,
            cell.p99_ms,
            cell.errors,
            cell.total
        );
    }
    let _ = writeln!(out);
    if failed.is_empty() {
        let _ = writeln!(out, "No request failed.");
    } else {
        let _ = writeln!(out, "Requests failed: {}.", failed.join("; "));
    }
}

/// A pause between cells, so connections the last client left behind are gone
/// before the next one starts.
fn settle() {
    std::thread::sleep(Duration::from_secs(1));
}

pub(crate) fn kernel() -> String {
    Step::new("uname")
        .arg("-sr")
        .output()
        .unwrap_or_else(|| "unknown OS".into())
}

/// The release backend on free loopback ports (plain and both TLS listeners), stopped
/// on drop.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    tls_http1_addr: SocketAddr,
    pub(crate) tls_h2_addr: SocketAddr,
    child: Child,
    /// The unit of `/proc/<pid>/stat`'s CPU times.
    ticks_per_second: f64,
}

impl Server {
    fn start(root: &Path) -> Result<Self, Failure> {
        Self::start_with_links(root, &[])
    }

    /// The same, also offering the emulated networks `links` (each on its own
    /// listeners, at the loopback ports + 100 × n).
    pub(crate) fn start_with_links(root: &Path, links: &[&str]) -> Result<Self, Failure> {
        // Free ports, not the fixed defaults, which a demo beside it may hold.
        let free = || {
            TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|err| Failure(err.to_string()))
        };
        let (addr, tls_http1_addr, tls_h2_addr) = (free()?, free()?, free()?);
        let binary: PathBuf = root.join("target/release/lab-backend");
        let child = Command::new(&binary)
            .args(["--addr", &addr.to_string()])
            .args(["--tls-http1-addr", &tls_http1_addr.to_string()])
            .args(["--tls-h2-addr", &tls_h2_addr.to_string()])
            // Its own certificate: the user's saved one stays untouched.
            .arg("--tls-dir")
            .arg(root.join("target/bench/tls"))
            .arg("--static-dir")
            .arg(root.join("dist"))
            // Loopback only unless asked: the networks' listeners take more ports.
            .args([
                "--link",
                &if links.is_empty() {
                    "loopback".to_owned()
                } else {
                    links.join(";")
                },
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .map_err(|err| Failure(format!("cannot start {}: {err}", binary.display())))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        // The TLS listeners are bound before the plain one starts accepting.
        while TcpStream::connect(addr).is_err() {
            if Instant::now() > deadline {
                return Err(Failure(format!(
                    "the backend did not listen on {addr} within 10 s"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self {
            addr,
            tls_http1_addr,
            tls_h2_addr,
            child,
            ticks_per_second: clock_ticks_per_second(),
        })
    }

    /// User + system CPU seconds the backend has used (Linux `/proc`).
    pub(crate) fn cpu_seconds(&self) -> Result<f64, Failure> {
        let path = format!("/proc/{}/stat", self.child.id());
        let stat = std::fs::read_to_string(&path)
            .map_err(|err| Failure(format!("cannot read {path}: {err}")))?;
        // Fields after the parenthesised command name: utime and stime are the 12th
        // and 13th, in clock ticks.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
        match (ticks(11), ticks(12)) {
            (Some(user), Some(system)) => Ok((user + system) / self.ticks_per_second),
            _ => Err(Failure(format!("unexpected {path}: {stat}"))),
        }
    }
}

/// `sysconf(_SC_CLK_TCK)` through `getconf`; 100 on every common Linux.
fn clock_ticks_per_second() -> f64 {
    Step::new("getconf")
        .arg("CLK_TCK")
        .output()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
