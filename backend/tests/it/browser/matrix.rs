//! "Compare HTTP versions" in a browser that trusts the lab's CA: one click runs the
//! workload on every TLS listener of loopback and an emulated network, each cell in a
//! frame of its own origin; the table fills every cell, the exports carry it, and the
//! HTTP/2-against-HTTP/1.1 verdict follows from the exported ratios.

use std::time::Duration;

use lab_proto::contract::network;

use super::trusted_ca::open;
use crate::support::TestServer;
use crate::support::browser::{Browser, BrowserKind};

in_each_browser! {
    the_matrix_fills_every_cell_and_its_verdict_follows_from_its_ratios => matrix_in_one_click();
}

/// The claims' margin: a difference under 10% is no practical difference.
const PRACTICAL: f64 = 1.10;

/// Where one ratio of p50 latencies (HTTP/2 : HTTP/1.1) puts the claim, as the page
/// decides it: lower is better.
fn outcome(ratio: f64, low: f64, high: f64) -> &'static str {
    if low <= 1.0 && 1.0 <= high {
        return if low >= 1.0 / PRACTICAL && high <= PRACTICAL {
            "no-practical-difference"
        } else {
            "unclear"
        };
    }
    if (1.0 / PRACTICAL..=PRACTICAL).contains(&ratio) {
        "no-practical-difference"
    } else if ratio < 1.0 {
        "holds"
    } else {
        "does-not-hold"
    }
}

/// Opens the page on the plain listener with issue 20's §1 workload (fetches of 10
/// orders, concurrency 16) and a matrix of `networks`, `per` measured requests per
/// protocol and cell after `warmup`, presses "Compare HTTP versions" and waits for the
/// matrix to finish.
async fn run_matrix(
    browser: &Browser,
    server: &TestServer,
    networks: &[&str],
    per: u32,
    warmup: u32,
) {
    let query = format!(
        "protocol=both&workload=fetch&shape=order&count=10&concurrency=16&matrix={}&mper={per}&mwarmup={warmup}",
        networks.join(",")
    );
    let page = server.origin(lab_backend::ListenerKind::Plain);
    browser.goto(&format!("{page}/?{query}")).await;
    for net in networks {
        browser
            .wait_for(&format!("[data-testid=matrix-net-{net}]:checked"))
            .await;
    }
    browser
        .press_and_wait("run-matrix", "matrix-progress", Duration::from_secs(600))
        .await;
}

async fn matrix_in_one_click(kind: BrowserKind) {
    let Some((server, browser)) = open(kind).await else {
        return;
    };
    let networks = [network::LOOPBACK, network::CUSTOM];
    run_matrix(&browser, &server, &networks, 48, 8).await;

    // Every cell: three TLS listeners (HTTP/3 where the browser falls back is still
    // measured, and says so) on each network, each protocol's four figures.
    let states = browser
        .attributes("[data-testid=matrix-row]", "data-state")
        .await;
    assert_eq!(
        states.len(),
        3 * networks.len(),
        "{}: {states:?}",
        kind.name()
    );
    assert!(
        states.iter().all(|s| s == "measured"),
        "{}: {states:?}",
        kind.name()
    );
    let filled = browser
        .attributes("[data-testid=matrix-row]", "data-filled")
        .await;
    assert!(
        filled.iter().all(|f| f == "true"),
        "{}: {filled:?}",
        kind.name()
    );

    let csv = browser.exported_csv().await;
    let values = csv.column("value");
    assert_eq!(
        values.len(),
        2 * 3 * networks.len(),
        "a line per cell and protocol"
    );
    let connections = csv.numbers("connections_opened");
    for (value, opened) in values.iter().zip(&connections) {
        let opened = opened.unwrap_or_else(|| panic!("{value}: no connection count"));
        let most = if value.starts_with("tls-http1@") {
            6.0
        } else {
            2.0
        };
        if !value.starts_with("quic-h3@") {
            assert!(
                opened <= most,
                "{}: {value} opened {opened} connections",
                kind.name()
            );
        }
    }
    // The verdict, from the exported HTTP/2 : HTTP/1.1 ratios alone.
    let (ratios, lows, highs) = (
        csv.numbers("p50_vs_http1"),
        csv.numbers("p50_vs_http1_low"),
        csv.numbers("p50_vs_http1_high"),
    );
    let mut outcomes = Vec::new();
    for (i, value) in values.iter().enumerate() {
        if value.starts_with("tls-h2@") {
            let (r, low, high) = (
                ratios[i].expect("a ratio"),
                lows[i].unwrap(),
                highs[i].unwrap(),
            );
            assert!(low <= r && r <= high, "{value}: {r} outside ({low}–{high})");
            outcomes.push(outcome(r, low, high));
        }
    }
    assert_eq!(outcomes.len(), 2 * networks.len());
    let expected = if outcomes.iter().all(|o| *o == outcomes[0]) {
        outcomes[0]
    } else {
        "depends"
    };
    let verdict = browser
        .wait_for("[data-testid=matrix-verdict]")
        .await
        .attr("data-verdict")
        .await
        .unwrap();
    assert_eq!(
        verdict.as_deref(),
        Some(expected),
        "{}: outcomes {outcomes:?}",
        kind.name()
    );
    let claim = browser
        .wait_for("[data-testid=claim-multiplexing]")
        .await
        .attr("data-verdict")
        .await
        .unwrap();
    assert_eq!(claim.as_deref(), Some(expected), "the claims panel agrees");

    let json = browser.exported_json().await;
    assert_eq!(
        json["cells"].as_array().map(Vec::len),
        Some(3 * networks.len())
    );
    assert_eq!(
        json["pointsCsv"].as_str().map(|c| c.lines().count()),
        Some(1 + values.len())
    );
    if kind == BrowserKind::Chromium {
        // For the README (`target/screenshots/lab-matrix.png`).
        let panel = browser.wait_for("[data-testid=matrix]").await;
        let shot = panel.screenshot().await.expect("screenshot");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lab-matrix.png"), shot).unwrap();
    }
    let url = browser.client.current_url().await.unwrap();
    assert!(
        url.as_str().contains("matrix=loopback,custom"),
        "the URL reproduces the matrix: {url}"
    );
    browser.close().await;
}

/// The figures of docs/http-versions.md's matrix section: the §1 workload (fetches of
/// 10 orders, "Both", concurrency 16) as a matrix of loopback and one emulated network
/// at a time, in each browser trusting the lab's CA; prints each cell's p50s and its
/// ratio to HTTP/1.1. A measurement, not a test: `cargo test -p lab-backend --test it
/// measure_the_matrix -- --ignored --nocapture` (after `cargo xtask test` has built
/// `dist/`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: see docs/http-versions.md"]
async fn measure_the_matrix() {
    use lab_backend::link::LinkProfile;
    use lab_backend::local_ca::LocalCa;

    use crate::support::browser::Setup;

    println!(
        "| browser | network | cell | used | connections | gRPC-Web p50 | REST p50 | gRPC-Web : HTTP/1.1 | REST : HTTP/1.1 |"
    );
    println!("|---|---|---|---|---:|---:|---:|---:|---:|");
    for kind in [BrowserKind::Chromium, BrowserKind::Firefox] {
        for net in ["lighthouse-mobile", "intercontinental"] {
            let Some(setup) = Setup::find(kind) else {
                return;
            };
            let ca = LocalCa::generate().expect("a CA");
            let link = LinkProfile::parse(net).unwrap().expect("a link");
            let server =
                TestServer::with_network_beside_issued_by(setup.dist.clone(), link, &ca).await;
            let browser = setup.start_trusting_ca(ca.cert_pem()).await;
            run_matrix(&browser, &server, &[network::LOOPBACK, net], 96, 16).await;
            let csv = browser.exported_csv().await;
            let (values, hops, connections) = (
                csv.column("value"),
                csv.column("next_hop"),
                csv.column("connections_opened"),
            );
            let (p50, versus) = (csv.numbers("p50_ms"), csv.numbers("p50_vs_http1"));
            let (low, high) = (
                csv.numbers("p50_vs_http1_low"),
                csv.numbers("p50_vs_http1_high"),
            );
            let ratio = |i: usize| match (versus[i], low[i], high[i]) {
                (Some(r), Some(l), Some(h)) => format!("{r:.2} ({l:.2}–{h:.2})"),
                _ => "—".to_owned(),
            };
            // Two lines per cell: gRPC-Web's, then REST's.
            for i in (0..values.len()).step_by(2) {
                let (cell, network) = values[i].split_once('@').unwrap();
                println!(
                    "| {} | {network} | {cell} | {} | {} | {:.0} ms | {:.0} ms | {} | {} |",
                    kind.name(),
                    hops[i],
                    connections[i],
                    p50[i].unwrap_or(f64::NAN),
                    p50[i + 1].unwrap_or(f64::NAN),
                    ratio(i),
                    ratio(i + 1)
                );
            }
            let verdict = browser
                .wait_for("[data-testid=matrix-verdict]")
                .await
                .text()
                .await
                .unwrap();
            println!("<!-- {} {net}: {verdict} -->", kind.name());
            browser.close().await;
        }
    }
}
