//! Sweeps in the page: a count sweep draws a point per value and protocol, exports
//! what it drew, and its "What this shows" verdicts follow from the exported numbers;
//! two sweeps whose sizes differ (compression off and on) get different verdicts.

use std::time::Duration;

use lab_proto::v1::Shape;

use super::{PROTOCOLS, bytes_sent, open_lab};
use crate::support::browser::{Browser, BrowserKind, ExportedCsv};

/// A practical difference, as the page counts it (`run::claims::PRACTICAL`).
const PRACTICAL: f64 = 0.10;

/// The size verdict the page must give for these gRPC-Web : REST wire-byte ratios
/// (exact: every response of a point is the same message).
fn size_verdict(ratios: &[f64]) -> &'static str {
    let outcome = |r: f64| {
        if r < 1.0 / (1.0 + PRACTICAL) {
            "holds"
        } else if r > 1.0 + PRACTICAL {
            "does-not-hold"
        } else {
            "no-practical-difference"
        }
    };
    let first = outcome(ratios[0]);
    if ratios.iter().all(|r| outcome(*r) == first) {
        first
    } else {
        "depends"
    }
}

/// Opens the lab with `query`, runs its sweep and waits for the end.
async fn run_sweep(browser: &Browser, url: &str) {
    browser.goto(url).await;
    browser
        .press_and_wait("run-sweep", "sweep-progress", Duration::from_secs(90))
        .await;
}

/// The exported sweep's gRPC-Web : REST wire-byte ratio of each point, in order.
fn wire_ratios(csv: &ExportedCsv) -> Vec<f64> {
    csv.numbers("ratio_wire_bytes")
        .iter()
        .step_by(2)
        .map(|r| r.expect("every point has a wire-bytes ratio"))
        .collect()
}

pub(super) async fn count_sweep(kind: BrowserKind) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    let (shape, seed, counts) = (Shape::Order, 3, [1u32, 10, 100]);
    run_sweep(
        &browser,
        &server.url(&format!(
            "/?protocol=both&workload=fetch&shape={}&seed={seed}&concurrency=2&compression=off\
             &sweep=count&values=1,10,100&per=12&warmup=2",
            shape.key()
        )),
    )
    .await;
    let name = kind.name();
    // A point per value and protocol in each chart.
    for chart in [
        "sweep-p50",
        "sweep-p99",
        "sweep-wire-bytes",
        "sweep-throughput",
    ] {
        for protocol in PROTOCOLS {
            let xs = browser
                .attributes(
                    &format!(
                        "[data-testid={chart}] [data-testid=sweep-point][data-protocol={protocol}]"
                    ),
                    "data-x",
                )
                .await;
            assert_eq!(xs, ["1", "10", "100"], "{name}: {chart} {protocol}");
        }
    }

    let csv = browser.exported_csv().await;
    assert_eq!(csv.column("variable"), ["count"; 6], "{name}");
    assert_eq!(
        csv.column("value"),
        ["1", "1", "10", "10", "100", "100"],
        "{name}"
    );
    assert_eq!(
        csv.column("protocol"),
        ["grpc-web", "rest", "grpc-web", "rest", "grpc-web", "rest"],
        "{name}"
    );
    assert!(
        csv.column("requests").iter().all(|n| *n == "12"),
        "{name}: 12 measured each"
    );
    assert!(
        csv.column("errors").iter().all(|n| *n == "0"),
        "{name}: no errors"
    );
    // The medians drawn are the bodies the backend sends (measured apart from the app).
    let wire = csv.numbers("wire_bytes");
    for (i, count) in counts.into_iter().enumerate() {
        let (grpc_web, rest) = bytes_sent(&server, shape, count, seed).await;
        assert_eq!(
            wire[2 * i],
            Some(grpc_web as f64),
            "{name}: gRPC-Web at {count}"
        );
        assert_eq!(
            wire[2 * i + 1],
            Some(rest as f64),
            "{name}: REST at {count}"
        );
    }
    for (low, value, high) in [("p50_low_ms", "p50_ms", "p50_high_ms")] {
        let (low, value, high) = (csv.numbers(low), csv.numbers(value), csv.numbers(high));
        for i in 0..6 {
            assert!(
                low[i] <= value[i] && value[i] <= high[i],
                "{name}: row {i}: band around p50"
            );
        }
    }

    // The verdict follows from the exported numbers, and names each point's ratio.
    let ratios = wire_ratios(&csv);
    let claim = browser.wait_for("[data-testid=claim-smaller]").await;
    let verdict = claim
        .attr("data-verdict")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(verdict, size_verdict(&ratios), "{name}: ratios {ratios:?}");
    let summary = browser
        .text_of("[data-testid=claim-smaller] [data-testid=claim-summary]")
        .await;
    for count in counts {
        assert!(
            summary.contains(&format!("at {count}")),
            "{name}: {summary:?}"
        );
    }
    let latency = browser.wait_for("[data-testid=claim-latency]").await;
    assert_ne!(
        latency.attr("data-verdict").await.unwrap().as_deref(),
        Some("not-measured"),
        "{name}: both protocols ran"
    );
    if kind == BrowserKind::Chromium {
        photograph(&browser).await;
    }
    browser.close().await;
}

/// The sweep's panel and the claims, photographed for the README
/// (`target/screenshots/lab-sweep.png`, `lab-claims.png`).
async fn photograph(browser: &Browser) {
    browser
        .client
        .set_window_size(1400, 1600)
        .await
        .expect("resize the window");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    for (testid, file) in [("sweep", "lab-sweep.png"), ("claims", "lab-claims.png")] {
        let element = browser.wait_for(&format!("[data-testid={testid}]")).await;
        let shot = element.screenshot().await.expect("screenshot");
        std::fs::write(dir.join(file), shot).unwrap();
    }
}

/// Two sweeps of the same text-heavy records, compression off and on: the size verdict
/// changes with the bytes the exports show.
pub(super) async fn compression_changes_the_size_verdict(kind: BrowserKind) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    let mut verdicts = Vec::new();
    for compression in ["off", "on"] {
        run_sweep(
            &browser,
            &server.url(&format!(
                "/?protocol=both&workload=fetch&shape=log&seed=9&concurrency=2\
                 &compression={compression}&sweep=count&values=200,2000&per=6&warmup=1"
            )),
        )
        .await;
        let csv = browser.exported_csv().await;
        let ratios = wire_ratios(&csv);
        let verdict = browser
            .wait_for("[data-testid=claim-smaller]")
            .await
            .attr("data-verdict")
            .await
            .unwrap()
            .unwrap_or_default();
        println!("compression {compression}: wire ratios {ratios:?}, verdict {verdict}");
        assert_eq!(
            verdict,
            size_verdict(&ratios),
            "{}: compression {compression}",
            kind.name()
        );
        verdicts.push(verdict);
    }
    assert_ne!(
        verdicts[0],
        verdicts[1],
        "{}: compression changes the verdict",
        kind.name()
    );
    browser.close().await;
}
