//! The real UI in headless browsers against a real backend on 127.0.0.1.
//!
//! The main flows run in Chromium and in Firefox ESR, one test per browser sharing the
//! body (see [`in_each_browser`]); [`stop`] checks that Stop ends every request,
//! [`max_size`] that the documented maximum record count works over both protocols,
//! [`sweeps`] the sweeps and the claims panel, [`cut_bodies`] responses delivered in
//! pieces, [`engine_worker`] the run's engine in the page's Web Worker,
//! [`http_versions`] each listener's HTTP version, [`networks`] the emulated links,
//! [`trusted_ca`] the TLS listeners in browsers that trust the lab's CA, [`matrix`] the
//! HTTP-version × network matrix run from one page, [`timer`] cross-origin isolation
//! and the timer it gives, [`content_policy`] the page under its
//! Content-Security-Policy, [`layout`] the answer first on a laptop and a phone and
//! axe-core's accessibility rules, [`custom_shape`] a person's own payload,
//! [`service_run`] a service-to-service run started from the page.
//! Without a built frontend or a browser, each test says so in one line and passes
//! (see [`crate::support::browser::Setup::find`]).

use lab_proto::dataset;
use lab_proto::v1::Shape;

use crate::support::TestServer;
use crate::support::browser::{Browser, BrowserKind, Setup};

/// Declares, for each `name => body(args…);`, one `#[tokio::test]` in Chromium
/// (`chromium::name`) and one in Firefox (`firefox::name`) that call
/// `body(kind, args…)`, an `async fn` of the invoking module: a failure names its
/// browser.
macro_rules! in_each_browser {
    ($($name:ident => $body:ident($($arg:expr),* $(,)?);)+) => {
        in_each_browser!(@in chromium Chromium; $($name => $body($($arg),*);)+);
        in_each_browser!(@in firefox Firefox; $($name => $body($($arg),*);)+);
    };
    (@in $module:ident $kind:ident; $($name:ident => $body:ident($($arg:expr),*);)+) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$body($crate::support::browser::BrowserKind::$kind $(, $arg)*).await
                }
            )+
        }
    };
}

mod client_overhead;
mod content_policy;
mod custom_shape;
mod cut_bodies;
mod engine_worker;
mod http_versions;
mod layout;
mod matrix;
mod max_size;
mod networks;
mod service_run;
mod stop;
mod sweeps;
mod timer;
mod trusted_ca;

use cut_bodies::{cut_after_the_trailer_flag, cut_at_random_places};
use sweeps::{compression_changes_the_size_verdict, count_sweep};

in_each_browser! {
    every_grpc_web_fetch_has_its_sizes => grpc_web_sizes();
    a_paced_run_shows_intervals_and_latency_from_the_intended_start => paced_run();
    both_protocols_carry_the_generated_records => same_records_over_both();
    each_protocol_choice_runs_and_reports_what_the_backend_sent => each_protocol_choice();
    the_stream_workload_compares_grpc_web_streams_with_sse => stream_workload();
    a_count_sweep_draws_each_point_exports_it_and_its_verdict_follows => count_sweep();
    compression_changes_the_size_verdict_of_a_sweep => compression_changes_the_size_verdict();
    every_stream_of_both_protocols_has_its_network_timing => stream_timings();
    responses_cut_inside_the_trailer_frame_read_the_same => cut_after_the_trailer_flag();
    responses_cut_at_random_places_read_the_same => cut_at_random_places();
    the_echo_workload_runs_over_a_websocket_and_grpc_web_says_it_cannot => echo_workload();
}

/// A backend serving the built frontend and a browser of `kind`; `None` when the
/// test is skipped for want of either.
async fn open_lab(kind: BrowserKind) -> Option<(TestServer, Browser)> {
    let setup = Setup::find(kind)?;
    let server = TestServer::start(setup.dist.clone()).await;
    Some((server, setup.start().await))
}

/// A "Both" run of nested records: each protocol's first response carries the records
/// the backend generates for the settings, checked here independently by checksum,
/// and the page says the two protocols moved the same data.
async fn same_records_over_both(kind: BrowserKind) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    let (shape, count, seed) = (Shape::Order, 25, 2026);
    let query = format!(
        "protocol=both&workload=fetch&shape={}&count={count}&seed={seed}&total=4&concurrency=2",
        shape.key()
    );
    run_lab(&browser, &server, &query).await;
    let expected = dataset::generate(shape, seed, count);
    let expected_checksum = format!("{:08x}", lab_proto::checksum(&expected));
    for protocol in PROTOCOLS {
        browser.assert_succeeded(protocol, 2.0, "a Both run").await;
        let checksum = browser
            .text_of(&format!("[data-testid=summary-{protocol}-checksum]"))
            .await;
        assert_eq!(
            checksum,
            expected_checksum,
            "{}: {protocol} returned other records",
            kind.name()
        );
    }
    assert_eq!(
        browser
            .text_of("[data-testid=summary-ratio-checksum]")
            .await,
        "same data"
    );
    browser.close().await;
}

/// The keys of the protocols in `data-testid`s and URLs.
const PROTOCOLS: [&str; 2] = ["grpc-web", "rest"];

/// What the page shows as the checksum of `count` records of `shape` from `seed`.
fn checksum_of(shape: Shape, seed: u64, count: usize) -> String {
    format!(
        "{:08x}",
        lab_proto::checksum(&dataset::generate(shape, seed, count))
    )
}

/// Body bytes the backend sends for a fetch, measured here with plain HTTP clients
/// (no compression), independently of the app.
async fn bytes_sent(server: &TestServer, shape: Shape, count: u32, seed: u64) -> (usize, usize) {
    use lab_proto::contract::{grpc, rest};
    let request = lab_proto::v1::FetchRequest {
        shape: shape.into(),
        count,
        seed,
    };
    let rest_path = rest::records_url(rest::RECORDS, shape, count, seed);
    bodies_sent(server, &rest_path, grpc::FETCH, &request).await
}

/// Body bytes of a gRPC-Web call of `method` with `request` and of a REST GET of
/// `rest_path` (no compression), with plain HTTP clients.
async fn bodies_sent(
    server: &TestServer,
    rest_path: &str,
    method: &str,
    request: &impl prost::Message,
) -> (usize, usize) {
    use lab_proto::contract::COMPRESSION_SWITCH;
    let http = reqwest::Client::new();
    let rest = http
        .get(server.url(rest_path))
        .header(COMPRESSION_SWITCH, "off")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len();
    let framed = crate::support::clients::grpc_web_frame(&request.encode_to_vec());
    let grpc_web = http
        .post(server.url(method))
        .header("content-type", "application/grpc-web+proto")
        .header(COMPRESSION_SWITCH, "off")
        .body(framed)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len();
    (grpc_web, rest)
}

/// The number in attribute `name` of the element matching `css`.
async fn attr_number(browser: &Browser, css: &str, name: &str) -> f64 {
    let element = browser.wait_for(css).await;
    element
        .attr(name)
        .await
        .unwrap()
        .unwrap_or_default()
        .parse()
        .unwrap_or_else(|_| panic!("{css} has no numeric {name}"))
}

async fn run_lab(browser: &Browser, server: &TestServer, query: &str) {
    browser.run_lab(&server.url(&format!("/?{query}"))).await;
}

/// Each protocol choice sends its requests over the protocols it names, and the page
/// shows, per protocol, what the backend sent (measured here apart from the app).
async fn each_protocol_choice(kind: BrowserKind) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    let (grpc_web_bytes, rest_bytes) = bytes_sent(&server, Shape::Log, 40, 3).await;
    for (choice, grpc_web_requests, rest_requests) in
        [("grpc-web", 24, 0), ("rest", 0, 24), ("both", 12, 12)]
    {
        let query = format!(
            "protocol={choice}&workload=fetch&shape=log&count=40&seed=3&total=24&concurrency=4"
        );
        run_lab(&browser, &server, &query).await;
        // Resource Timing entries may arrive after the last call: wait for all of them.
        browser
            .wait_for(&format!(
                "[data-testid=summary][data-timed-grpc-web=\"{grpc_web_requests}\"][data-timed-rest=\"{rest_requests}\"]"
            ))
            .await;
        for (protocol, expected, sent) in [
            ("grpc-web", grpc_web_requests, grpc_web_bytes),
            ("rest", rest_requests, rest_bytes),
        ] {
            let requests = browser
                .number_or_none(&format!("summary-{protocol}-requests"))
                .await;
            if expected == 0 {
                assert_eq!(requests, None, "{choice}: {protocol} sent requests");
                continue;
            }
            browser
                .assert_succeeded(protocol, expected as f64, choice)
                .await;
            assert!(browser.summary(protocol, "p50").await > 0.0);
            assert!(browser.summary(protocol, "decode").await >= 0.0);
            let wire = attr_number(
                &browser,
                &format!("[data-testid=size-{protocol}-wire]"),
                "data-bytes",
            )
            .await;
            assert_eq!(
                wire, sent as f64,
                "{choice}: {protocol} wire bytes shown vs sent"
            );
            let line =
                format!("[data-testid=chart-latency-over-time] polyline[data-protocol={protocol}]");
            assert!(attr_number(&browser, &line, "data-points").await >= 1.0);
            browser
                .wait_for("[data-testid=chart-latency-histogram] rect")
                .await;
        }
    }
    browser.close().await;
}

/// 2,000 gRPC-Web fetches at concurrency 16: the browser's Resource Timing has the
/// body sizes of every one (the client reads each fetch to its end; see
/// vendor/tonic-web-wasm-client/PATCH.md), and the page reports none without.
async fn grpc_web_sizes(kind: BrowserKind) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    let total = 2_000;
    let query = format!(
        "protocol=grpc-web&workload=fetch&shape=telemetry&count=10&total={total}&concurrency=16"
    );
    browser
        .run_lab_within(
            &server.url(&format!("/?{query}")),
            std::time::Duration::from_secs(120),
        )
        .await;
    browser
        .assert_succeeded("grpc-web", total as f64, "2,000 fetches")
        .await;
    browser.wait_for_timings(total).await;
    let incomplete = browser.text_of("[data-testid=incomplete-entries]").await;
    assert!(incomplete.is_empty(), "{}: {incomplete}", kind.name());
    let csv = browser.exported_csv().await;
    let without: Vec<usize> = (csv.numbers("encoded_body").iter().enumerate())
        .filter(|(_, size)| size.is_none_or(|bytes| bytes == 0.0))
        .map(|(seq, _)| seq)
        .collect();
    assert!(
        without.is_empty(),
        "{}: {} of {total} gRPC-Web fetches without body sizes, e.g. sample {:?}",
        kind.name(),
        without.len(),
        without.first()
    );
    browser.close().await;
}

/// A "Both" run at a target rate: the results give the typical gRPC-Web : REST ratio
/// of wire bytes with its interval (every response of a protocol has the same size,
/// so the estimate is their exact ratio, measured here apart from the app), and the
/// latency from each request's intended start, never less than its own latency.
async fn paced_run(kind: BrowserKind) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    let (grpc_web_bytes, rest_bytes) = bytes_sent(&server, Shape::Order, 200, 5).await;
    let query = "protocol=both&workload=fetch&shape=order&count=200&seed=5&total=40\
                 &concurrency=2&rate=100&compression=off";
    run_lab(&browser, &server, query).await;
    browser
        .wait_for("[data-testid=summary][data-timed-grpc-web=\"20\"][data-timed-rest=\"20\"]")
        .await;
    let interval = browser
        .text_of("[data-testid=summary-ratio-wire-bytes]")
        .await;
    let estimate: f64 = interval
        .split('×')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}: wire-bytes interval {interval:?}", kind.name()));
    let sent = grpc_web_bytes as f64 / rest_bytes as f64;
    assert!(
        (estimate - sent).abs() <= 0.005 + sent * 0.005,
        "{}: shown {interval:?}, sent {grpc_web_bytes} : {rest_bytes}",
        kind.name()
    );
    let latency_interval = browser.text_of("[data-testid=summary-ratio-p50]").await;
    assert!(
        latency_interval.contains('(') && latency_interval.contains('–'),
        "{}: latency interval {latency_interval:?}",
        kind.name()
    );
    for protocol in PROTOCOLS {
        browser
            .assert_succeeded(protocol, 20.0, "a paced run")
            .await;
        let own = browser.summary(protocol, "p50").await;
        // The client's share: measured, and part of the latency.
        let client = browser.summary(protocol, "client").await;
        let mean = browser.summary(protocol, "mean").await;
        assert!(
            client < mean,
            "{}: {protocol} client share {client} ms of a mean {mean} ms",
            kind.name()
        );
        let from_due = browser.summary(protocol, "scheduled-p50").await;
        assert!(
            from_due >= own,
            "{}: {protocol} p50 {own} ms, from the intended start {from_due} ms",
            kind.name()
        );
    }
    let csv = browser.exported_csv().await;
    let e2e = csv.numbers("e2e_ms");
    for (i, scheduled) in csv.numbers("scheduled_ms").into_iter().enumerate() {
        let own = e2e[i];
        assert!(
            scheduled
                .zip(own)
                .is_some_and(|(from_due, own)| from_due >= own),
            "{}: sample {i}: from the intended start {scheduled:?}, its own {own:?}",
            kind.name()
        );
    }
    browser.close().await;
}

/// A longer "Both" run with compression, photographed for the README
/// (`target/screenshots/lab-both.png`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_both_run_with_compression_completes_and_is_photographed() {
    let Some((server, browser)) = open_lab(BrowserKind::Chromium).await else {
        return;
    };
    let query = "protocol=both&workload=fetch&shape=order&count=100&compression=on&total=3000&concurrency=16";
    // 3,000 requests take 14-25 s alone and longer beside the other tests on 2 cores.
    browser
        .run_lab_within(
            &server.url(&format!("/?{query}")),
            std::time::Duration::from_secs(120),
        )
        .await;
    for protocol in PROTOCOLS {
        browser
            .assert_succeeded(protocol, 1_500.0, "a long run")
            .await;
    }
    browser
        .client
        .set_window_size(1400, 2300)
        .await
        .expect("resize the window");
    let shot = browser.client.screenshot().await.expect("screenshot");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lab-both.png"), shot).unwrap();
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_offers_the_runs_samples_and_summary_as_json_and_csv() {
    let Some((server, browser)) = open_lab(BrowserKind::Chromium).await else {
        return;
    };
    let query = "protocol=both&workload=fetch&shape=order&count=5&total=6&concurrency=2";
    run_lab(&browser, &server, query).await;
    // Keep every Blob the page turns into a download.
    browser
        .client
        .execute(
            "window.labExports = []; const original = URL.createObjectURL; \
             URL.createObjectURL = blob => { window.labExports.push(blob); return original.call(URL, blob); };",
            vec![],
        )
        .await
        .unwrap();
    for button in ["export-json", "export-csv"] {
        browser.click(&format!("[data-testid={button}]")).await;
    }
    let files = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             Promise.all(window.labExports.map(b => b.text().then(t => [b.type, t]))).then(done);",
            vec![],
        )
        .await
        .unwrap();
    let files: Vec<(String, String)> = serde_json::from_value(files).unwrap();
    let [(json_type, json), (csv_type, csv)] = &files[..] else {
        panic!("expected two downloads, got {files:?}");
    };
    assert_eq!(
        (json_type.as_str(), csv_type.as_str()),
        ("application/json", "text/csv")
    );

    let export: serde_json::Value = serde_json::from_str(json).unwrap();
    assert!(
        export["config"].as_str().unwrap().contains("protocol=both"),
        "{}",
        export["config"]
    );
    for protocol in PROTOCOLS {
        let summary = export["summary"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["protocol"] == protocol)
            .unwrap_or_else(|| panic!("no {protocol} summary in {export}"));
        assert_eq!(
            (summary["requests"].as_u64(), summary["errors"].as_u64()),
            (Some(3), Some(0))
        );
        assert!(
            summary["latencyMs"]["p50"].as_f64().unwrap() > 0.0,
            "{summary}"
        );
    }
    // The CSV: a header and one row per request, the same rows as in the JSON.
    assert_eq!(export["samplesCsv"].as_str().unwrap(), csv.as_str());
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("seq,protocol,start_ms,e2e_ms")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 6, "{csv}");
    for protocol in PROTOCOLS {
        let count = rows
            .iter()
            .filter(|row| row.split(',').nth(1) == Some(protocol))
            .count();
        assert_eq!(count, 3, "{protocol} rows in {csv}");
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_restart_shows_errors_then_recovers_without_a_reload() {
    let Some((server, browser)) = open_lab(BrowserKind::Chromium).await else {
        return;
    };
    let addr = server.addr;
    let dist = server.state.config.static_dir.clone();
    run_lab(
        &browser,
        &server,
        "protocol=both&workload=ping&total=4&concurrency=1",
    )
    .await;
    // A mark in the page's JavaScript world: a reload would wipe it.
    browser
        .client
        .execute("window.labTestMark = 'same page'", vec![])
        .await
        .unwrap();
    for protocol in PROTOCOLS {
        browser
            .assert_succeeded(protocol, 2.0, "before the restart")
            .await;
    }

    // Down: every request of the run fails, each protocol says so.
    drop(server);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    browser.run_again().await;
    for protocol in PROTOCOLS {
        let error = browser
            .text_of(&format!("[data-testid=error-{protocol}]"))
            .await;
        assert!(
            error.contains("2 of 2 requests failed"),
            "{protocol}: {error}"
        );
        assert_eq!(browser.summary(protocol, "errors").await, 2.0);
    }

    // Back on the same address: the next run succeeds on the same page.
    let server = TestServer::with_config_at(lab_backend::Config::new(dist), addr).await;
    browser.run_again().await;
    for protocol in PROTOCOLS {
        browser
            .assert_succeeded(protocol, 2.0, "after the restart")
            .await;
        let errors = browser
            .client
            .find_all(fantoccini::Locator::Css(&format!(
                "[data-testid=error-{protocol}]"
            )))
            .await
            .unwrap();
        assert!(errors.is_empty(), "{protocol}: the error is still shown");
    }
    let mark = browser
        .client
        .execute("return window.labTestMark", vec![])
        .await
        .unwrap();
    assert_eq!(
        mark,
        serde_json::json!("same page"),
        "the page was reloaded"
    );
    drop(server);
    browser.close().await;
}

/// Streams over gRPC-Web and SSE both deliver their first message long before the
/// last, and end: the backend holds no stream afterwards.
async fn stream_workload(kind: BrowserKind) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    let query =
        "protocol=both&workload=stream&shape=telemetry&count=20&total=4&concurrency=2&interval=5";
    run_lab(&browser, &server, query).await;
    for protocol in PROTOCOLS {
        browser.assert_succeeded(protocol, 2.0, "streams").await;
        let first = browser.summary(protocol, "first-message").await;
        // 20 messages 5 ms apart take ~95 ms; the first comes long before the last.
        let total = browser.summary(protocol, "mean").await;
        assert!(
            first > 0.0 && first < total,
            "{protocol}: first {first} ms of {total} ms"
        );
    }
    assert_eq!(server.state.live_streams.current(), 0);
    browser.close().await;
}

/// A "Both" stream run: every stream of either protocol is paired with its Resource
/// Timing entry, so the export has its sizes on the wire and decoded, its time to
/// first byte and its server time (REST streams are fetches read as they arrive, as
/// gRPC-Web's are, and measured alike).
async fn stream_timings(kind: BrowserKind) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    let total: u32 = 40;
    let query = format!(
        "protocol=both&workload=stream&shape=telemetry&count=20&total={total}&concurrency=4&interval=2"
    );
    run_lab(&browser, &server, &query).await;
    for protocol in PROTOCOLS {
        browser
            .assert_succeeded(protocol, f64::from(total / 2), "streams")
            .await;
    }
    browser.wait_for_timings(u64::from(total)).await;
    let csv = browser.exported_csv().await;
    let protocols = csv.column("protocol");
    for protocol in PROTOCOLS {
        let rows: Vec<usize> = (0..protocols.len())
            .filter(|&row| protocols[row] == protocol)
            .collect();
        assert_eq!(
            rows.len(),
            total as usize / 2,
            "{}: {protocol} rows",
            kind.name()
        );
        // Sizes are never 0; a time may round to 0 on loopback (Firefox gives whole ms).
        for (column, least) in [
            ("encoded_body", 1.0),
            ("decoded_body", 1.0),
            ("ttfb_ms", 0.0),
            ("server_ms", 0.0),
        ] {
            let values = csv.numbers(column);
            let missing: Vec<usize> = (rows.iter().copied())
                .filter(|&row| values[row].is_none_or(|value| value < least))
                .collect();
            assert!(
                missing.is_empty(),
                "{}: {protocol} streams without {column}: samples {missing:?}",
                kind.name()
            );
        }
    }
    assert_eq!(server.state.live_streams.current(), 0);
    // Both protocols' streams measured: the streaming claim has its evidence.
    let claim = browser.wait_for("[data-testid=claim-streaming]").await;
    assert_ne!(
        claim.attr("data-verdict").await.unwrap().as_deref(),
        Some("not-measured"),
        "{}",
        kind.name()
    );
    let evidence = claim.text().await.unwrap();
    assert!(
        evidence.contains("first message after"),
        "{}: {evidence}",
        kind.name()
    );
    browser.close().await;
}

/// The bidirectional echo: REST's WebSocket answers every record, one round trip per
/// message (the backend counts the sockets), and gRPC-Web's side says it cannot.
async fn echo_workload(kind: BrowserKind) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    let before = server.status().await.requests;
    run_lab(
        &browser,
        &server,
        "protocol=both&workload=echo&shape=log&count=20&seed=2&total=6&concurrency=2",
    )
    .await;
    browser
        .assert_succeeded("rest", 3.0, "echo over a WebSocket")
        .await;
    assert_eq!(browser.summary("rest", "records").await, 60.0);
    let grpc_web = browser.text_of("[data-testid=error-grpc-web]").await;
    assert!(
        grpc_web.contains("not possible in a browser"),
        "{}: {grpc_web}",
        kind.name()
    );
    let after = server.status().await.requests;
    let echo = lab_proto::contract::rest::ECHO;
    assert_eq!(after[echo] - before.get(echo).copied().unwrap_or(0), 3);
    assert_eq!(
        after[lab_proto::contract::grpc::ECHO],
        0,
        "no gRPC-Web request"
    );
    assert_eq!(server.status().await.live_streams, 0);
    browser.close().await;
}
