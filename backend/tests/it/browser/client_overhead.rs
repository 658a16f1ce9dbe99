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
//! request itself (a POST of the same framed protobuf the lab sends, read to its end),
//! each run twice: in a dedicated worker (the kind of global the lab's engine runs in)
//! and on the page's main thread. The floors compare each protocol's lab run with the
//! worker's bare loop of its own request, like for like: what is left is the lab's
//! client code (encoding, decoding, recording, Resource Timing pairing, the progress
//! posted to the page); the page's loop is reported beside it.

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

/// Where a bare loop runs: the page's main thread, or a dedicated worker of the page,
/// the kind of global the lab's engine runs in since issue 21.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Global {
    Page,
    Worker,
}

/// The bare loop, as JavaScript: `concurrency` workers `fetch` `url` (a POST of `body`
/// when given, as gRPC-Web sends it), read each body to its end, and resolve to the
/// requests/s.
const BARE_LOOP: &str = "
    async function bareLoop(url, body, concurrency, total, switchHeader) {
        const init = body === null
            ? { cache: 'no-store', headers: { [switchHeader]: 'off' } }
            : { method: 'POST', cache: 'no-store', body: new Uint8Array(body),
                headers: { 'content-type': 'application/grpc-web+proto',
                           'x-grpc-web': '1', [switchHeader]: 'off' } };
        let next = 0;
        const worker = async () => {
            while (next < total) {
                next += 1;
                const response = await fetch(url, init);
                await response.arrayBuffer();
                if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
            }
        };
        const start = performance.now();
        await Promise.all(Array.from({ length: concurrency }, worker));
        return total * 1000 / (performance.now() - start);
    }";

/// Requests/s of a bare loop of `path` in `global` of the lab's page (see
/// [`BARE_LOOP`]). A worker's loop is started from a `blob:` script, which the lab's
/// Content-Security-Policy refuses: the measurement's browser bypasses it
/// ([`bypass_csp`]).
async fn bare_loop(
    browser: &Browser,
    global: Global,
    path: &str,
    body: Option<&[u8]>,
    concurrency: u32,
    total: u32,
) -> f64 {
    let run = match global {
        Global::Page => "bareLoop(...args).then(done, err => done(`failed: ${err}`));",
        Global::Worker => {
            "const code = BARE_LOOP + '; onmessage = (e) => bareLoop(...e.data)'
                 + '.then(postMessage, (err) => postMessage(\"failed: \" + err));';
             const worker = new Worker(URL.createObjectURL(
                 new Blob([code], { type: 'text/javascript' })));
             worker.onmessage = (e) => { worker.terminate(); done(e.data); };
             worker.onerror = (e) => done(`failed: the worker: ${e.message}`);
             worker.postMessage(args);"
        }
    };
    let script = format!(
        "const BARE_LOOP = {source}; eval(BARE_LOOP);
         const done = arguments[arguments.length - 1];
         const [path, body, concurrency, total, switchHeader] = arguments;
         const args = [location.origin + path, body, concurrency, total, switchHeader];
         {run}",
        source = serde_json::to_string(BARE_LOOP).unwrap()
    );
    let result = browser
        .client
        .execute_async(
            &script,
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
        .unwrap_or_else(|| panic!("bare loop of {path} in the {global:?}: {result}"))
}

/// Lets the measurement's page start a `blob:` worker for the bare loop: the lab's own
/// policy allows only its scripts (docs/security.md). Chromium only (DevTools protocol).
async fn bypass_csp(browser: &Browser) {
    browser
        .client
        .issue_cmd(cdp_command(
            "Page.setBypassCSP",
            serde_json::json!({ "enabled": true }),
        ))
        .await
        .expect("Page.setBypassCSP");
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
    bypass_csp(&browser).await;
    browser.goto(&backend.url("/")).await;
    browser.wait_for("[data-testid=run]").await;

    let mut table = String::from(
        "| workload | concurrency | protocol | bare loop in a worker, req/s | bare loop in the page, req/s | the lab (engine in its worker), req/s | lab : worker's bare | floor | lab : page's bare | lab's client share (mean) |\n\
         |---|---:|---|---:|---:|---:|---:|---|---:|---:|\n",
    );
    for workload in workloads() {
        for (concurrency, total) in REQUESTS {
            for (protocol, label) in [("rest", "REST"), ("grpc-web", "gRPC-Web")] {
                let (mut in_worker, mut in_page, mut lab, mut client) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                let lab_url = backend.url(&format!(
                    "/?protocol={protocol}&{}&total={total}&concurrency={concurrency}&compression=off",
                    workload.query
                ));
                let (path, body) = match protocol {
                    "rest" => (workload.rest_path.as_str(), None),
                    _ => (workload.grpc_path, Some(workload.grpc_body.as_slice())),
                };
                for _ in 0..ROUNDS {
                    // The bare loops run in the lab's page, as loaded, between runs.
                    browser.goto(&backend.url("/")).await;
                    browser.wait_for("[data-testid=run]").await;
                    for (global, rates) in [
                        (Global::Worker, &mut in_worker),
                        (Global::Page, &mut in_page),
                    ] {
                        rates.push(
                            bare_loop(&browser, global, path, body, concurrency, total).await,
                        );
                    }
                    let (rate, client_ms) = lab_run(&browser, &lab_url, protocol).await;
                    lab.push(rate);
                    client.extend(client_ms);
                }
                let ratios = |bare: &[f64]| -> Vec<f64> {
                    bare.iter().zip(&lab).map(|(b, l)| l / b).collect()
                };
                let (to_worker, to_page) = (ratios(&in_worker), ratios(&in_page));
                let (ratio, page_ratio) = (median(to_worker.clone()), median(to_page));
                let (in_worker, in_page, lab) = (median(in_worker), median(in_page), median(lab));
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
                    "{} c={concurrency} {label}: bare {in_worker:.0}/s (worker), {in_page:.0}/s (page), lab {lab:.0}/s, ratio {ratio:.3} (rounds {to_worker:.3?}), to the page's {page_ratio:.3}",
                    workload.name
                );
                table += &format!(
                    "| {} | {concurrency} | {label} | {in_worker:.0} | {in_page:.0} | {lab:.0} | {ratio:.2} | {floor} | {page_ratio:.2} | {client} |\n",
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

/// A chromedriver extension command: a POST of `body` to `session/{id}/{path}`.
#[derive(Debug)]
struct DriverCommand(&'static str, serde_json::Value);

impl fantoccini::wd::WebDriverCompatibleCommand for DriverCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.0
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.1.to_string()))
    }
}

/// A Chrome DevTools Protocol command through chromedriver's `goog/cdp/execute`.
fn cdp_command(cmd: &'static str, params: serde_json::Value) -> DriverCommand {
    DriverCommand(
        "goog/cdp/execute",
        serde_json::json!({ "cmd": cmd, "params": params }),
    )
}

/// Adds a sampling profile's `samples` to `self_us`, each node id's self time: a
/// sample's time is the delta to the next sample (`timeDeltas[i]` is the time before
/// sample `i`; the last sample gets none).
fn add_self_times(
    self_us: &mut std::collections::HashMap<i64, f64>,
    samples: &[serde_json::Value],
    deltas: &[serde_json::Value],
) {
    for (sample, delta) in samples.iter().zip(deltas.iter().skip(1)) {
        *self_us.entry(sample.as_i64().unwrap_or(-1)).or_default() +=
            delta.as_f64().unwrap_or(0.0).max(0.0);
    }
}

/// Where the main thread's time went during `protocol`'s run, from a sampling profile
/// (100 µs): idle, the browser's own work ("(program)", GC), the wasm module, the JS
/// glue, other JS; the top wasm functions by self time (unnamed in a release build).
async fn profile_run(browser: &Browser, url: &str) -> String {
    let cdp = |cmd, params| browser.client.issue_cmd(cdp_command(cmd, params));
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
    let mut self_us = std::collections::HashMap::<i64, f64>::new();
    add_self_times(&mut self_us, samples, deltas);
    summarize("main thread", nodes, &self_us)
}

/// A thread's self time by kind — idle, the browser's own work ("(program)", GC), the
/// wasm modules, their JS glue, other JS — and the top wasm and glue functions (unnamed
/// in a release build), from a sampling profile's `nodes` and each node id's self time.
fn summarize(
    thread: &str,
    nodes: &[serde_json::Value],
    self_us: &std::collections::HashMap<i64, f64>,
) -> String {
    let mut categories = std::collections::BTreeMap::<&str, f64>::new();
    let mut functions = std::collections::HashMap::<String, f64>::new();
    for node in nodes {
        let us = self_us
            .get(&node["id"].as_i64().unwrap_or(-1))
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
            _ if script.contains("lab-frontend") || script.contains("lab-worker") => {
                "JS glue (wasm-bindgen)"
            }
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
        "{thread} {:.0} ms, busy {:.0} ms:\n",
        total / 1e3,
        busy / 1e3
    );
    for (category, us) in &categories {
        let (of, whole) = match *category {
            "idle" => ("all", total),
            _ => ("busy", busy),
        };
        report += &format!(
            "  {category}: {:.0} ms ({:.0}% of {of})\n",
            us / 1e3,
            100.0 * us / whole.max(1.0)
        );
    }
    let mut top: Vec<_> = functions.into_iter().collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (name, us) in top.into_iter().take(12) {
        report += &format!("    {:.1} ms  {name}\n", us / 1e3);
    }
    report
}

/// Each sampled thread's profile from the trace in chromedriver's performance log
/// (`Profile` and `ProfileChunk` events of `disabled-by-default-v8.cpu_profiler`),
/// summarized as [`summarize`] does, named by the trace's thread names.
async fn thread_profiles(browser: &Browser) -> Vec<(String, f64, String)> {
    use std::collections::HashMap;
    let log = browser
        .client
        // chromedriver's performance log: the trace events recorded since the last read.
        .issue_cmd(DriverCommand(
            "se/log",
            serde_json::json!({ "type": "performance" }),
        ))
        .await
        .expect("read the performance log");
    let events: Vec<serde_json::Value> = log
        .as_array()
        .expect("log entries")
        .iter()
        .filter_map(|entry| serde_json::from_str(entry["message"].as_str()?).ok())
        .map(|message: serde_json::Value| message["message"]["params"].clone())
        .collect();
    let mut names = HashMap::<(i64, i64), String>::new();
    let mut threads = HashMap::<String, (i64, i64)>::new();
    // Per profile id: its nodes and each node's self time.
    let mut profiles = HashMap::<String, (Vec<serde_json::Value>, HashMap<i64, f64>)>::new();
    for event in &events {
        let (pid, tid) = (
            event["pid"].as_i64().unwrap_or(0),
            event["tid"].as_i64().unwrap_or(0),
        );
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        match event["name"].as_str().unwrap_or_default() {
            "thread_name" => {
                names.insert(
                    (pid, tid),
                    event["args"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            "Profile" => {
                threads.insert(id, (pid, tid));
            }
            "ProfileChunk" => {
                let data = &event["args"]["data"];
                let (nodes, self_us) = profiles.entry(id.clone()).or_default();
                threads.entry(id).or_insert((pid, tid));
                if let Some(more) = data["cpuProfile"]["nodes"].as_array() {
                    nodes.extend(more.iter().cloned());
                }
                let none = Vec::new();
                add_self_times(
                    self_us,
                    data["cpuProfile"]["samples"].as_array().unwrap_or(&none),
                    data["timeDeltas"].as_array().unwrap_or(&none),
                );
            }
            _ => {}
        }
    }
    let mut out: Vec<(String, f64, String)> = profiles
        .into_iter()
        .map(|(id, (nodes, self_us))| {
            let thread = threads
                .get(&id)
                .and_then(|key| names.get(key))
                .cloned()
                .unwrap_or_else(|| format!("thread of profile {id}"));
            let total: f64 = self_us.values().sum();
            let report = summarize(&thread, &nodes, &self_us);
            (thread, total, report)
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
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

/// The worker that runs the engine, and the page's main thread beside it, during 4,000
/// pings at concurrency 16 per protocol: V8's samples of every thread from Chromium's
/// trace (chromedriver's performance log), so the worker is profiled as the page was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: see docs/client-overhead.md"]
async fn profile_the_lab_s_worker() {
    let Some(setup) = Setup::find(BrowserKind::Chromium) else {
        return;
    };
    let backend = Backend::start(&setup.dist).await;
    let browser = setup.start_sampling_every_thread().await;
    for protocol in ["rest", "grpc-web"] {
        browser
            .goto(&backend.url(&format!(
                "/?protocol={protocol}&workload=ping&total=4000&concurrency=16&compression=off"
            )))
            .await;
        browser.wait_for("[data-testid=run]:not([disabled])").await;
        // What was recorded before the run is read and dropped.
        let _ = thread_profiles(&browser).await;
        browser.start_run().await;
        browser
            .wait_for_within(
                "[data-testid=progress][data-phase=finished]",
                Duration::from_secs(120),
            )
            .await;
        let rps = browser.summary(protocol, "rps").await;
        // chromedriver hands over the trace when the page navigates.
        browser.goto("about:blank").await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        println!("{protocol}, ping at concurrency 16, {rps:.0} req/s:");
        for (thread, _, report) in thread_profiles(&browser).await.into_iter().take(4) {
            println!("[{thread}]\n{report}");
        }
    }
    browser.close().await;
}
