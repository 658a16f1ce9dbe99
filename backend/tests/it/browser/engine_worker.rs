//! The engine runs in the page's Web Worker (issue 21 §2): a run's calls are the
//! worker's fetches, so the page's own performance timeline sees none of them, yet the
//! page shows every figure, sizes from the worker's Resource Timing entries included,
//! and exports every sample with its network timing and the worker's timer. Stop and
//! sweeps through the worker are in [`super::stop`] and [`super::sweeps`].

use crate::support::browser::BrowserKind;

in_each_browser! {
    a_run_s_calls_are_the_worker_s_and_the_page_shows_all_their_figures => calls_in_the_worker();
}

/// The page's own Resource Timing entries from now on, collected by the test.
const WATCH_THE_PAGE: &str = "
    window.pageFetches = [];
    new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) window.pageFetches.push(entry.name);
    }).observe({ type: 'resource' });
    return true;";

async fn calls_in_the_worker(kind: BrowserKind) {
    let Some((server, browser)) = super::open_lab(kind).await else {
        return;
    };
    let total: u32 = 200;
    browser
        .goto(&server.url(&format!(
            "/?protocol=both&workload=fetch&shape=order&count=20&total={total}&concurrency=8"
        )))
        .await;
    browser.wait_for("[data-testid=run]:not([disabled])").await;
    browser
        .client
        .execute(WATCH_THE_PAGE, vec![])
        .await
        .expect("observe the page's fetches");
    browser.start_run().await;
    browser
        .wait_for("[data-testid=progress][data-phase=finished]")
        .await;

    let seen = browser
        .client
        .execute("return window.pageFetches;", vec![])
        .await
        .expect("the page's fetches");
    let calls: Vec<&str> = seen
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|name| name.as_str())
        .filter(|name| name.contains("/api/v1/records") || name.contains("LabService"))
        .collect();
    assert!(
        calls.is_empty(),
        "{}: the page itself fetched {} of the run's calls, e.g. {:?}",
        kind.name(),
        calls.len(),
        calls.first()
    );

    for protocol in ["grpc-web", "rest"] {
        browser
            .assert_succeeded(protocol, f64::from(total / 2), "fetches from the worker")
            .await;
    }
    browser.wait_for_timings(u64::from(total)).await;
    let json = browser.exported_json().await;
    let step = json["timerStepMs"]
        .as_f64()
        .expect("the worker's timer step");
    assert!(
        step > 0.0 && step <= 0.02 + 1e-9,
        "{}: the worker's timer moves in {step} ms steps (isolated: {})",
        kind.name(),
        json["crossOriginIsolated"]
    );
    let csv = browser.exported_csv().await;
    let sizes = csv.numbers("encoded_body");
    assert_eq!(sizes.len(), total as usize, "{}: every sample", kind.name());
    assert!(
        sizes
            .iter()
            .all(|size| size.is_some_and(|bytes| bytes > 0.0)),
        "{}: a sample without its wire size: {sizes:?}",
        kind.name()
    );
    browser.close().await;
}
