//! The instrument's timer: every listener serves the page cross-origin isolated, so
//! `performance.now()` moves in microsecond steps (Chromium 5 µs, Firefox 20 µs; 100 µs
//! and 1 ms otherwise), the page says which it got, and a decode of 100 telemetry
//! records, a few tens of microseconds, gets a verdict instead of "unclear".

use lab_backend::ListenerKind;

use super::trusted_ca::open;
use crate::support::browser::BrowserKind;

in_each_browser! {
    every_listener_serves_the_page_cross_origin_isolated => isolated_everywhere();
}

mod in_chromium {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_decode_of_100_records_gets_a_verdict_not_unclear() {
        super::decode_gets_a_verdict().await;
    }
}

async fn isolated_everywhere(kind: BrowserKind) {
    let Some((server, browser)) = open(kind).await else {
        return;
    };
    let finest = match kind {
        BrowserKind::Chromium => 0.005,
        BrowserKind::Firefox => 0.02,
    };
    for listener in [
        ListenerKind::Plain,
        ListenerKind::TlsHttp1,
        ListenerKind::TlsH2,
    ] {
        browser.goto(&format!("{}/", server.origin(listener))).await;
        let isolated = browser
            .client
            .execute("return self.crossOriginIsolated;", vec![])
            .await
            .expect("read crossOriginIsolated");
        assert_eq!(
            isolated.as_bool(),
            Some(true),
            "{}: {listener}",
            kind.name()
        );
        let note = browser
            .wait_for("[data-testid=timer-resolution][data-isolated=true]")
            .await;
        let step: f64 = note
            .attr("data-step-ms")
            .await
            .unwrap()
            .and_then(|s| s.parse().ok())
            .expect("the timer's step");
        assert!(
            step <= finest + 1e-9,
            "{}: {listener}: steps of {step} ms",
            kind.name()
        );
    }
    browser.close().await;
}

async fn decode_gets_a_verdict() {
    let Some((server, browser)) = open(BrowserKind::Chromium).await else {
        return;
    };
    let origin = server.origin(ListenerKind::TlsH2);
    browser
        .run_lab(&format!(
            "{origin}/?protocol=both&workload=fetch&shape=telemetry&count=100&total=200&concurrency=4"
        ))
        .await;
    let claim = browser.wait_for("[data-testid=claim-codec]").await;
    let verdict = claim
        .attr("data-verdict")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        ["holds", "does-not-hold", "no-practical-difference"].contains(&verdict.as_str()),
        "decode claim: {verdict}: {}",
        claim.text().await.unwrap()
    );
    // One estimate per row: the decode row shows the medians its interval is about.
    let ratio = browser.text_of("[data-testid=summary-ratio-decode]").await;
    assert!(ratio.contains('(') || ratio.ends_with('×'), "{ratio}");
    let line = browser.text_of("[data-testid=summary-line]").await;
    assert!(
        line.starts_with("gRPC-Web : REST on this run: wire bytes"),
        "{line}"
    );
    browser.close().await;
}
