//! The lab's own cost next to the browser's limit (docs/client-overhead.md): in the
//! same headless Chromium and page, a bare JavaScript `fetch` loop and the lab's runs of
//! the same requests (ping and a small fetch, each protocol, concurrency 1 and 16),
//! their requests/s and the ratio lab : bare. Not a timed test: it is `#[ignore]`d and
//! prints (and, with `LAB_BENCH_WRITE`, writes) what it measured.
//!
//! `cargo xtask bench-client` builds the release backend and frontend and runs it
//! against that backend (`LAB_BENCH_BACKEND`); without it the backend is the test
//! process's (a debug build of our code), and the page says so in the output.
//!
//! Two bare loops per workload: the REST request itself (a GET), and the gRPC-Web
//! request itself (a POST of the same framed protobuf the lab sends, read to its end).
//! The issue's floors compare each protocol's lab run with the bare loop of its own
//! request: what is left is the lab's client code (encoding, decoding, recording,
//! Resource Timing pairing, charts redrawn four times a second).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lab_proto::contract::{COMPRESSION_SWITCH, grpc, rest};
use lab_proto::v1::{FetchRequest, Shape};

use crate::support::TestServer;
use crate::support::browser::{Browser, BrowserKind, Setup};

/// Requests per measured round, by concurrency; each cell is measured `ROUNDS` times,
/// bare and lab alternating, and the median taken.
const REQUESTS: [(u32, u32); 2] = [(1, 1_000), (16, 4_000)];
const ROUNDS: usize = 3;
/// The small fetch: 10 telemetry records.
const FETCH: (Shape, u32, u64) = (Shape::Telemetry, 10, 1);

/// The backend under measurement: the release binary if `LAB_BENCH_BACKEND` names it,
/// else the test process's own.
enum Backend {
    Release { child: Child, base: String },
    InProcess(Box<TestServer>),
}

impl Backend {
    async fn start(dist: &std::path::Path) -> Self {
        let Some(binary) = std::env::var_os("LAB_BENCH_BACKEND") else {
            return Self::InProcess(Box::new(TestServer::start(dist.to_owned()).await));
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let child = Command::new(&binary)
            .args(["--addr", &format!("127.0.0.1:{port}"), "--no-tls"])
            .args(["--link", "loopback"])
            .arg("--static-dir")
            .arg(dist)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("start {binary:?}: {err}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the backend did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self::Release {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn url(&self, path: &str) -> String {
        match self {
            Self::Release { base, .. } => format!("{base}{path}"),
            Self::InProcess(server) => server.url(path),
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Self::Release { .. } => "the release backend (`cargo xtask bench-client`)",
            Self::InProcess(_) => {
                "the test process's backend (a debug build of our code: run `cargo xtask bench-client` for the release one)"
            }
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Self::Release { child, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A workload as the lab's URL names it, and the bare requests equal to its calls.
struct Workload {
    name: &'static str,
    query: String,
    rest_path: String,
    grpc_path: &'static str,
    grpc_body: Vec<u8>,
}

fn framed(message: &impl prost::Message) -> Vec<u8> {
    let payload = message.encode_to_vec();
    let mut frame = vec![0];
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&payload);
    frame
}

fn workloads() -> [Workload; 2] {
    let (shape, count, seed) = FETCH;
    [
        Workload {
            name: "ping",
            query: "workload=ping".into(),
            rest_path: rest::PING.into(),
            grpc_path: grpc::PING,
            grpc_body: framed(&lab_proto::v1::PingRequest::default()),
        },
        Workload {
            name: "fetch 10 telemetry records",
            query: format!(
                "workload=fetch&shape={}&count={count}&seed={seed}",
                shape.key()
            ),
            rest_path: rest::records_url(rest::RECORDS, shape, count, seed),
            grpc_path: grpc::FETCH,
            grpc_body: framed(&FetchRequest {
                shape: shape.into(),
                count,
                seed,
            }),
        },
    ]
}

/// Requests/s of a bare loop in the page: `concurrency` workers `fetch` `path` (a POST
/// of `body` when given, as gRPC-Web sends it) and read each body to its end.
async fn bare_loop(
    browser: &Browser,
    path: &str,
    body: Option<&[u8]>,
    concurrency: u32,
    total: u32,
) -> f64 {
    let script = "
        const [path, body, concurrency, total, switchHeader, done] = arguments;
        const init = body === null
            ? { cache: 'no-store', headers: { [switchHeader]: 'off' } }
            : { method: 'POST', cache: 'no-store', body: new Uint8Array(body),
                headers: { 'content-type': 'application/grpc-web+proto',
                           'x-grpc-web': '1', [switchHeader]: 'off' } };
        let next = 0;
        const worker = async () => {
            while (next < total) {
                next += 1;
                const response = await fetch(path, init);
                await response.arrayBuffer();
                if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
            }
        };
        const start = performance.now();
        Promise.all(Array.from({ length: concurrency }, worker))
            .then(() => done(total * 1000 / (performance.now() - start)),
                  err => done(`failed: ${err}`));";
    let result = browser
        .client
        .execute_async(
            script,
            vec![
                path.into(),
                body.map_or(serde_json::Value::Null, |b| b.into()),
                concurrency.into(),
                total.into(),
                COMPRESSION_SWITCH.into(),
            ],
        )
        .await
        .expect("run the bare loop");
    result
        .as_f64()
        .unwrap_or_else(|| panic!("bare loop of {path}: {result}"))
}

/// Requests/s of the lab's own run of `url` (the results table's figure), and its
/// client share (mean ms of end to end beyond the fetch's own duration).
async fn lab_run(browser: &Browser, url: &str, protocol: &str) -> (f64, Option<f64>) {
    browser.run_lab_within(url, Duration::from_secs(120)).await;
    assert_eq!(browser.summary(protocol, "errors").await, 0.0, "{url}");
    (
        browser.summary(protocol, "rps").await,
        browser
            .number_or_none(&format!("summary-{protocol}-client"))
            .await,
    )
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: see docs/client-overhead.md"]
async fn measure_client_overhead() {
    let Some(setup) = Setup::find(BrowserKind::Chromium) else {
        return;
    };
    let backend = Backend::start(&setup.dist).await;
    let browser = setup.start().await;
    browser.goto(&backend.url("/")).await;
    browser.wait_for("[data-testid=run]").await;

    let mut table = String::from(
        "| workload | concurrency | protocol | bare fetch loop, req/s | the lab, req/s | lab : bare | floor | lab's client share (mean) |\n\
         |---|---:|---|---:|---:|---:|---|---:|\n",
    );
    for workload in workloads() {
        for (concurrency, total) in REQUESTS {
            for (protocol, label) in [("rest", "REST"), ("grpc-web", "gRPC-Web")] {
                let (mut bare, mut lab, mut client) = (Vec::new(), Vec::new(), Vec::new());
                let lab_url = backend.url(&format!(
                    "/?protocol={protocol}&{}&total={total}&concurrency={concurrency}&compression=off",
                    workload.query
                ));
                for _ in 0..ROUNDS {
                    // The bare loop runs in the lab's page, as loaded, between runs.
                    browser.goto(&backend.url("/")).await;
                    browser.wait_for("[data-testid=run]").await;
                    let rate = match protocol {
                        "rest" => {
                            bare_loop(&browser, &workload.rest_path, None, concurrency, total).await
                        }
                        _ => {
                            bare_loop(
                                &browser,
                                workload.grpc_path,
                                Some(&workload.grpc_body),
                                concurrency,
                                total,
                            )
                            .await
                        }
                    };
                    bare.push(rate);
                    let (rate, client_ms) = lab_run(&browser, &lab_url, protocol).await;
                    lab.push(rate);
                    client.extend(client_ms);
                }
                let ratios: Vec<f64> = bare.iter().zip(&lab).map(|(b, l)| l / b).collect();
                let (bare, lab, ratio) = (median(bare), median(lab), median(ratios.clone()));
                let client = if client.is_empty() {
                    "—".to_owned()
                } else {
                    format!("{:.2} ms", median(client))
                };
                let floor = match (concurrency, protocol) {
                    (16, "rest") => format!(
                        "≥ 0.95: {}",
                        if ratio >= 0.95 { "met" } else { "**not met**" }
                    ),
                    (16, _) => format!(
                        "≥ 0.90: {}",
                        if ratio >= 0.90 { "met" } else { "**not met**" }
                    ),
                    _ => "—".into(),
                };
                println!(
                    "{} c={concurrency} {label}: bare {bare:.0}/s, lab {lab:.0}/s, ratio {ratio:.3} (rounds {ratios:.3?})",
                    workload.name
                );
                table += &format!(
                    "| {} | {concurrency} | {label} | {bare:.0} | {lab:.0} | {ratio:.2} | {floor} | {client} |\n",
                    workload.name
                );
            }
        }
    }
    let browser_version = browser
        .client
        .execute("return navigator.userAgent", vec![])
        .await
        .unwrap();
    let report = format!(
        "Measured against {}, headless Chromium ({browser_version}), plain HTTP/1.1 on \
         loopback, compression off; medians of {ROUNDS} rounds, bare and lab alternating.\n\n{table}",
        backend.describe()
    );
    println!("{report}");
    if let Some(path) = std::env::var_os("LAB_BENCH_WRITE") {
        std::fs::write(&path, report).unwrap_or_else(|err| panic!("write {path:?}: {err}"));
    }
    browser.close().await;
}

/// A Chrome DevTools Protocol command through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp(&'static str, serde_json::Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.0, "params": self.1 });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Where the main thread's time went during `protocol`'s run, from a sampling profile
/// (100 µs): idle, the browser's own work ("(program)", GC), the wasm module, the JS
/// glue, other JS; the top wasm functions by self time (unnamed in a release build).
async fn profile_run(browser: &Browser, url: &str) -> String {
    let cdp = |cmd, params| browser.client.issue_cmd(Cdp(cmd, params));
    browser.goto(url).await;
    browser.wait_for("[data-testid=run]").await;
    cdp("Profiler.enable", serde_json::json!({})).await.unwrap();
    cdp(
        "Profiler.setSamplingInterval",
        serde_json::json!({ "interval": 100 }),
    )
    .await
    .unwrap();
    cdp("Profiler.start", serde_json::json!({})).await.unwrap();
    browser.start_run().await;
    browser
        .wait_for_within(
            "[data-testid=progress][data-phase=finished]",
            Duration::from_secs(120),
        )
        .await;
    let stopped = cdp("Profiler.stop", serde_json::json!({})).await.unwrap();
    let profile = &stopped["profile"];
    let nodes = profile["nodes"].as_array().expect("profile nodes");
    let (samples, deltas) = (
        profile["samples"].as_array().unwrap(),
        profile["timeDeltas"].as_array().unwrap(),
    );
    // Self time per node id: each sample's delta belongs to the node it hit.
    let mut self_us = std::collections::HashMap::<i64, f64>::new();
    for (sample, delta) in samples.iter().zip(deltas.iter().skip(1).chain([&0.into()])) {
        *self_us.entry(sample.as_i64().unwrap()).or_default() += delta.as_f64().unwrap_or(0.0);
    }
    let mut categories = std::collections::BTreeMap::<&str, f64>::new();
    let mut functions = std::collections::HashMap::<String, f64>::new();
    for node in nodes {
        let us = self_us
            .get(&node["id"].as_i64().unwrap())
            .copied()
            .unwrap_or(0.0);
        let frame = &node["callFrame"];
        let (name, script) = (
            frame["functionName"].as_str().unwrap_or(""),
            frame["url"].as_str().unwrap_or(""),
        );
        let category = match name {
            "(idle)" => "idle",
            "(program)" => "browser (program)",
            "(garbage collector)" => "garbage collector",
            "(root)" => "idle",
            _ if script.ends_with(".wasm")
                || name.starts_with("$")
                || name.contains("wasm-function") =>
            {
                "wasm (app + libraries)"
            }
            _ if script.contains("lab-frontend") => "JS glue (wasm-bindgen)",
            _ => "other JS (browser APIs, promises)",
        };
        *categories.entry(category).or_default() += us;
        if category.starts_with("wasm") || category.starts_with("JS glue") {
            *functions.entry(format!("{name} ({category})")).or_default() += us;
        }
    }
    let total: f64 = categories.values().sum();
    let busy = total - categories.get("idle").copied().unwrap_or(0.0);
    let mut report = format!(
        "main thread {:.0} ms, busy {:.0} ms:\n",
        total / 1e3,
        busy / 1e3
    );
    for (category, us) in &categories {
        report += &format!(
            "  {category}: {:.0} ms ({:.0}% of busy)\n",
            us / 1e3,
            100.0 * us / busy.max(1.0)
        );
    }
    let mut top: Vec<_> = functions.into_iter().collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (name, us) in top.into_iter().take(12) {
        report += &format!("    {:.1} ms  {name}\n", us / 1e3);
    }
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: see docs/client-overhead.md"]
async fn profile_the_lab_s_client() {
    let Some(setup) = Setup::find(BrowserKind::Chromium) else {
        return;
    };
    let backend = Backend::start(&setup.dist).await;
    let browser = setup.start().await;
    for protocol in ["rest", "grpc-web"] {
        let url = backend.url(&format!(
            "/?protocol={protocol}&workload=ping&total=4000&concurrency=16&compression=off"
        ));
        let report = profile_run(&browser, &url).await;
        let rps = browser.summary(protocol, "rps").await;
        println!("{protocol}, ping at concurrency 16, {rps:.0} req/s; {report}");
    }
    browser.close().await;
}
