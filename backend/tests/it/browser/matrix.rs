//! "Compare HTTP versions" in a browser that trusts the lab's CA: one click runs the
//! workload on every TLS listener of loopback and an emulated network, each cell in a
//! frame of its own origin; the table fills every cell, the exports carry it, and the
//! HTTP/2-against-HTTP/1.1 verdict follows from the exported ratios.

use std::time::Duration;

use lab_proto::contract::network;

use super::trusted_ca::open;
use crate::support::browser::BrowserKind;

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

async fn matrix_in_one_click(kind: BrowserKind) {
    let Some((server, browser)) = open(kind).await else {
        return;
    };
    let networks = [network::LOOPBACK, network::CUSTOM];
    let query = format!(
        "protocol=both&workload=fetch&shape=order&count=10&concurrency=16&matrix={}&mper=48&mwarmup=8",
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
        .click("[data-testid=run-matrix]:not([disabled])")
        .await;
    browser
        .wait_for_within(
            "[data-testid=matrix-progress][data-phase=finished]",
            Duration::from_secs(400),
        )
        .await;

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
    let url = browser.client.current_url().await.unwrap();
    assert!(
        url.as_str().contains("matrix=loopback,custom"),
        "the URL reproduces the matrix: {url}"
    );
    browser.close().await;
}
