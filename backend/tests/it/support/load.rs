//! Mixed traffic for the load test and the soak command: a backend in its own process
//! (so its memory can be read from `/proc`) and workers that each hold one connection
//! of one transport and cycle through the workloads, checking every answer.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use lab_backend::rest::ServerStatus;
use lab_proto::contract::rest;
use lab_proto::dataset;
use lab_proto::v1::{FetchRequest, PingRequest, Record, Shape, StreamRequest, UploadRequest};

use super::clients::{self, GrpcClient, GrpcWebClient, Transport};

/// The transports of mixed load: those of the lab's page (gRPC-Web binary, REST) and
/// native gRPC.
const MIXED: [Transport; 3] = [Transport::Grpc, Transport::GrpcWeb, Transport::Rest];

/// The `lab-backend` binary, started on 127.0.0.1:0 and killed when dropped.
pub struct BackendProcess {
    child: Child,
    pub addr: SocketAddr,
}

impl BackendProcess {
    /// Starts the backend built for this test run, with extra command-line `args`.
    pub fn start(args: &[&str]) -> Self {
        let empty = std::env::temp_dir().join("lab-no-frontend");
        let mut child = Command::new(env!("CARGO_BIN_EXE_lab-backend"))
            // The plain listener only (and the networks a test asks for): the load test
            // measures it.
            .args(["--addr", "127.0.0.1:0", "--no-tls", "--link", "loopback"])
            .arg("--static-dir")
            .arg(&empty)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start lab-backend");
        let stdout = child.stdout.take().unwrap();
        let addr = read_announced_addr(stdout);
        Self { child, addr }
    }

    /// The backend's resident memory, from `/proc/<pid>/status`.
    pub fn rss_bytes(&self) -> u64 {
        rss_bytes(self.child.id())
    }

    /// Runs `work` while sampling the backend's resident memory every 50 ms; returns
    /// its output and the highest sample: the working set that `work` needed.
    pub async fn peak_rss_during<T>(&self, work: impl Future<Output = T>) -> (T, u64) {
        let pid = self.child.id();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let sampler = tokio::spawn(async move {
            let mut peak = rss_bytes(pid);
            loop {
                tokio::select! {
                    _ = &mut stopped => return peak.max(rss_bytes(pid)),
                    () = tokio::time::sleep(Duration::from_millis(50)) => {
                        peak = peak.max(rss_bytes(pid));
                    }
                }
            }
        });
        let output = work.await;
        let _ = stop.send(());
        (output, sampler.await.expect("the memory sampler panicked"))
    }

    pub async fn status(&self) -> ServerStatus {
        reqwest::get(format!("http://{}{}", self.addr, rest::STATUS))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The plain listener of the emulated network `name` (`custom`, a preset's name).
    pub async fn network_addr(&self, name: &str) -> SocketAddr {
        let status = self.status().await;
        let listener = status
            .listeners
            .iter()
            .find(|l| l.name == "plain" && l.network.name == name)
            .unwrap_or_else(|| panic!("no plain listener on the {name} network"));
        listener
            .url
            .trim_start_matches("http://")
            .parse()
            .expect("a listener's address")
    }

    /// Waits up to `within` for the backend to produce no stream; returns how many
    /// were still live at the end.
    pub async fn wait_for_no_live_streams(&self, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        loop {
            let live = self.status().await.live_streams;
            if live == 0 || Instant::now() > deadline {
                return live;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for BackendProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status"))
        .expect("read /proc/<pid>/status (Linux only)");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status");
    kib * 1024
}

/// Reads "The lab is at http://ADDR/" from the backend's standard output, then keeps
/// draining it on a thread so the backend never writes into a closed pipe.
fn read_announced_addr(stdout: std::process::ChildStdout) -> SocketAddr {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let addr = loop {
        let Some(Ok(line)) = lines.next() else {
            panic!("the backend exited without announcing its address: {seen:?}");
        };
        if let Some(addr) = line
            .trim()
            .strip_prefix("The lab is at http://")
            .and_then(|rest| rest.trim_end_matches('/').parse().ok())
        {
            break addr;
        }
        seen.push(line);
    };
    std::thread::spawn(move || lines.for_each(drop));
    addr
}

/// What a run of mixed load measured.
pub struct LoadReport {
    pub requests: usize,
    pub errors: usize,
    /// The first few error messages, for the assertion message.
    pub first_errors: Vec<String>,
    /// Latency of every successful request, in microseconds.
    pub latency_us: Histogram<u64>,
    pub elapsed: Duration,
}

impl LoadReport {
    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub fn p_ms(&self, quantile: f64) -> f64 {
        self.latency_us.value_at_quantile(quantile) as f64 / 1_000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.latency_us.max() as f64 / 1_000.0
    }
}

/// When a run ends.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    Requests(usize),
    Elapsed(Duration),
}

/// Sends mixed traffic to `addr` from `connections` workers (transports in turn: native
/// gRPC, gRPC-Web, REST, each worker on its own connection; each cycling through ping,
/// fetch, upload and a 5-message stream) until `until`.
pub async fn run(addr: SocketAddr, connections: usize, until: Until) -> LoadReport {
    let issued = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|worker| {
            let issued = issued.clone();
            let transport = MIXED[worker % MIXED.len()];
            tokio::spawn(async move {
                let mut client = WorkerClient::new(transport, addr);
                let mut report = WorkerReport::default();
                loop {
                    let index = issued.fetch_add(1, Ordering::Relaxed);
                    let more = match until {
                        Until::Requests(total) => index < total,
                        Until::Elapsed(limit) => started.elapsed() < limit,
                    };
                    if !more {
                        return report;
                    }
                    let call_started = Instant::now();
                    match client.call(index).await {
                        Ok(()) => report.record(call_started.elapsed()),
                        Err(err) => report.fail(format!("{transport:?}: {err}")),
                    }
                }
            })
        })
        .collect();

    let mut total = LoadReport {
        requests: 0,
        errors: 0,
        first_errors: Vec::new(),
        latency_us: latency_histogram(),
        elapsed: Duration::ZERO,
    };
    for worker in workers {
        let report = worker.await.expect("a load worker panicked");
        total.requests += report.latency_us.len() as usize + report.errors;
        total.errors += report.errors;
        total.first_errors.extend(
            report
                .first_errors
                .into_iter()
                .take(5usize.saturating_sub(total.first_errors.len())),
        );
        total.latency_us.add(&report.latency_us).unwrap();
    }
    total.elapsed = started.elapsed();
    total
}

/// Microseconds from 1 µs to 10 minutes, 3 significant digits (longer saturates).
fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).unwrap()
}

struct WorkerReport {
    latency_us: Histogram<u64>,
    errors: usize,
    first_errors: Vec<String>,
}

impl Default for WorkerReport {
    fn default() -> Self {
        Self {
            latency_us: latency_histogram(),
            errors: 0,
            first_errors: Vec::new(),
        }
    }
}

impl WorkerReport {
    fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.latency_us.saturating_record(us);
    }

    fn fail(&mut self, message: String) {
        self.errors += 1;
        if self.first_errors.len() < 5 {
            self.first_errors.push(message);
        }
    }
}

/// One connection of one transport.
enum WorkerClient {
    Grpc(GrpcClient),
    GrpcWeb(GrpcWebClient),
    /// A client and the server's address, `http://host:port`.
    Rest(reqwest::Client, String),
}

const SHAPES: [Shape; 3] = [Shape::Telemetry, Shape::Log, Shape::Order];
const FETCH_COUNT: u32 = 10;
const STREAM_COUNT: u32 = 5;

impl WorkerClient {
    fn new(transport: Transport, addr: SocketAddr) -> Self {
        match transport {
            Transport::Grpc => Self::Grpc(clients::grpc(addr)),
            Transport::GrpcWeb => Self::GrpcWeb(clients::grpc_web(addr)),
            Transport::Rest => Self::Rest(
                reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .build()
                    .unwrap(),
                format!("http://{addr}"),
            ),
            Transport::GrpcWebText => panic!("the mixed load speaks {MIXED:?}"),
        }
    }

    /// Request number `index` of the run: ping, fetch, upload and stream in turn, each
    /// answer checked against what was asked.
    async fn call(&mut self, index: usize) -> Result<(), String> {
        const KINDS: usize = 4;
        let shape = SHAPES[(index / KINDS) % SHAPES.len()];
        let seed = index as u64;
        match index % KINDS {
            0 => self.ping().await,
            1 => {
                let records = self.fetch(shape, seed).await?;
                expect_len("fetch", records.len(), FETCH_COUNT)
            }
            2 => {
                let records = dataset::generate(shape, seed, FETCH_COUNT as usize);
                let expected = lab_proto::checksum(&records);
                let (count, checksum) = self.upload(records).await?;
                if (count, checksum) == (u64::from(FETCH_COUNT), expected) {
                    Ok(())
                } else {
                    Err(format!(
                        "upload answered count {count}, checksum {checksum:#x}"
                    ))
                }
            }
            _ => self.stream(shape, seed).await,
        }
    }

    async fn ping(&mut self) -> Result<(), String> {
        match self {
            Self::Grpc(c) => c.ping(PingRequest {}).await.map(drop).map_err(status_text),
            Self::GrpcWeb(c) => c.ping(PingRequest {}).await.map(drop).map_err(status_text),
            Self::Rest(c, base) => {
                rest_json::<serde_json::Value>(c.get(format!("{base}{}", rest::PING)))
                    .await
                    .map(drop)
            }
        }
    }

    async fn fetch(&mut self, shape: Shape, seed: u64) -> Result<Vec<Record>, String> {
        let request = FetchRequest {
            shape: shape.into(),
            count: FETCH_COUNT,
            seed,
        };
        match self {
            Self::Grpc(c) => c
                .fetch(request)
                .await
                .map(|r| r.into_inner().records)
                .map_err(status_text),
            Self::GrpcWeb(c) => c
                .fetch(request)
                .await
                .map(|r| r.into_inner().records)
                .map_err(status_text),
            Self::Rest(c, base) => {
                let url = rest::records_url(rest::RECORDS, shape, FETCH_COUNT, seed);
                rest_json::<lab_proto::v1::FetchResponse>(c.get(format!("{base}{url}")))
                    .await
                    .map(|r| r.records)
            }
        }
    }

    async fn upload(&mut self, records: Vec<Record>) -> Result<(u64, u32), String> {
        let request = UploadRequest { records };
        let answer = match self {
            Self::Grpc(c) => c
                .upload(request)
                .await
                .map(|r| r.into_inner())
                .map_err(status_text)?,
            Self::GrpcWeb(c) => c
                .upload(request)
                .await
                .map(|r| r.into_inner())
                .map_err(status_text)?,
            Self::Rest(c, base) => {
                rest_json::<lab_proto::v1::UploadResponse>(
                    c.post(format!("{base}{}", rest::UPLOADS)).json(&request),
                )
                .await?
            }
        };
        Ok((answer.count, answer.checksum))
    }

    async fn stream(&mut self, shape: Shape, seed: u64) -> Result<(), String> {
        let request = StreamRequest {
            shape: shape.into(),
            count: STREAM_COUNT,
            seed,
            interval_ms: 0,
        };
        let received = self.read_stream(request, usize::MAX).await?;
        expect_len("stream", received, STREAM_COUNT)
    }

    /// Opens a server stream and reads up to `at_most` messages (then drops the rest);
    /// returns how many arrived.
    async fn read_stream(&self, request: StreamRequest, at_most: usize) -> Result<usize, String> {
        let opened = match self {
            Self::Grpc(c) => c.clone().stream(request).await,
            Self::GrpcWeb(c) => c.clone().stream(request).await,
            Self::Rest(c, base) => {
                let shape = Shape::try_from(request.shape).unwrap_or_default();
                let url = rest::stream_url(shape, request.count, request.seed, request.interval_ms);
                let mut response = c
                    .get(format!("{base}{url}"))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!("HTTP {}", response.status()));
                }
                // SSE: one `data: {...}` line per message.
                let (mut received, mut pending) = (0, String::new());
                while received < at_most {
                    let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? else {
                        break;
                    };
                    pending.push_str(&String::from_utf8_lossy(&chunk));
                    let complete = pending.rfind('\n').map_or(0, |at| at + 1);
                    received += pending[..complete]
                        .lines()
                        .filter(|line| line.starts_with("data: {"))
                        .count();
                    pending.drain(..complete);
                }
                return Ok(received.min(at_most));
            }
        };
        let mut stream = opened.map_err(status_text)?.into_inner();
        let mut received = 0;
        while received < at_most && stream.message().await.map_err(status_text)?.is_some() {
            received += 1;
        }
        Ok(received)
    }
}

fn expect_len(what: &str, received: usize, expected: u32) -> Result<(), String> {
    if received == expected as usize {
        Ok(())
    } else {
        Err(format!(
            "{what} answered {received} items instead of {expected}"
        ))
    }
}

fn status_text(status: tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

async fn rest_json<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> Result<T, String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
    }
    serde_json::from_slice(&body).map_err(|e| format!("invalid JSON: {e}"))
}

/// Opens `count` streams of 10,000 records, 64 at a time over the three transports,
/// reads two messages of each and drops it mid-way.
pub async fn drop_streams_midway(addr: SocketAddr, count: usize) -> Result<(), String> {
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..64)
        .map(|worker| {
            let next = next.clone();
            let transport = MIXED[worker % MIXED.len()];
            tokio::spawn(async move {
                let client = WorkerClient::new(transport, addr);
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    open_read_two_and_drop(&client).await?;
                }
                Ok::<_, String>(())
            })
        })
        .collect();
    for worker in workers {
        worker.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

async fn open_read_two_and_drop(client: &WorkerClient) -> Result<(), String> {
    let request = StreamRequest {
        shape: Shape::Log.into(),
        count: 10_000,
        seed: 7,
        interval_ms: 2,
    };
    match client.read_stream(request, 2).await? {
        2 => Ok(()),
        received => Err(format!("the stream ended after {received} messages")),
    }
}
