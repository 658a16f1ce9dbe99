//! Stop ends every request of a run (issue 10, part 1): for each protocol and each
//! workload, a run stopped midway leaves no stream open on the backend within 2 s,
//! sends nothing more, and the page keeps what it measured. Stop ends a sweep too.
//!
//! What the backend still receives is read from `GET /api/v1/status` (live streams,
//! requests per route), as a user could check it, not from the test server's memory.

use std::time::{Duration, Instant};

use lab_backend::rest::ServerStatus;
use lab_proto::contract::{grpc, rest};

use super::open_lab;
use crate::support::TestServer;
use crate::support::browser::{Browser, BrowserKind, WAIT};

in_each_browser! {
    ends_grpc_web_fetches => stop_ends_everything("grpc-web", "fetch");
    ends_grpc_web_uploads => stop_ends_everything("grpc-web", "upload");
    ends_grpc_web_streams => stop_ends_everything("grpc-web", "stream");
    ends_rest_fetches => stop_ends_everything("rest", "fetch");
    ends_rest_uploads => stop_ends_everything("rest", "upload");
    ends_rest_streams => stop_ends_everything("rest", "stream");
    ends_a_sweep_midway_through_a_point => stop_ends_a_sweep();
}

/// Stop in the middle of a sweep's point ends the sweep: the point in flight is not
/// one of its points, no further point starts, the backend goes quiet.
async fn stop_ends_a_sweep(kind: BrowserKind) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    let what = format!("{} sweep", kind.name());
    let url = server.url(
        "/?protocol=both&workload=fetch&count=20&concurrency=4\
         &sweep=concurrency&values=1,4&per=50000&warmup=0",
    );
    browser.goto(&url).await;
    browser
        .click("[data-testid=run-sweep]:not([disabled])")
        .await;
    wait_for_requests(&browser, "grpc-web", 20.0).await;
    browser.click("[data-testid=stop]:not([disabled])").await;
    browser
        .wait_for("[data-testid=sweep-progress][data-phase=stopped]")
        .await;
    let mut last = status(&server).await;
    tokio::time::sleep(QUIET_FOR).await;
    let mut later = status(&server).await;
    for counts in [&mut last.requests, &mut later.requests] {
        counts.remove(rest::STATUS);
    }
    assert_eq!(later.requests, last.requests, "{what}: requests after Stop");
    let progress = browser.text_of("[data-testid=sweep-progress]").await;
    assert_eq!(progress, "Sweep stopped after 0 of 2 points", "{what}");
    assert!(
        browser
            .attributes("[data-testid=sweep-point]", "data-x")
            .await
            .is_empty(),
        "{what}: the unfinished point is not drawn"
    );
    browser
        .wait_for("[data-testid=run-sweep]:not([disabled])")
        .await;
    browser.close().await;
}

/// How long the backend may still hold a stream of the page after Stop.
const STREAMS_END_WITHIN: Duration = Duration::from_secs(2);
/// How long the request counts must then stay still.
const QUIET_FOR: Duration = Duration::from_millis(1_500);

/// The route a request of `workload` over `protocol` is counted under.
fn route(protocol: &str, workload: &str) -> &'static str {
    match (protocol, workload) {
        ("grpc-web", "fetch") => grpc::FETCH,
        ("grpc-web", "upload") => grpc::UPLOAD,
        ("grpc-web", "stream") => grpc::STREAM,
        ("rest", "fetch") => rest::RECORDS,
        ("rest", "upload") => rest::UPLOADS,
        ("rest", "stream") => rest::RECORDS_STREAM,
        _ => unreachable!("no route for {workload} over {protocol}"),
    }
}

async fn status(server: &TestServer) -> ServerStatus {
    reqwest::get(server.url(rest::STATUS))
        .await
        .expect("GET the status")
        .json()
        .await
        .expect("a status body")
}

/// Polls the page until it shows at least `at_least` requests over `protocol`.
async fn wait_for_requests(browser: &Browser, protocol: &str, at_least: f64) {
    let deadline = Instant::now() + WAIT;
    let testid = format!("summary-{protocol}-requests");
    loop {
        let done = browser.number_or_none(&testid).await.unwrap_or(0.0);
        if done >= at_least {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: {done} {protocol} requests done after {WAIT:?}, waited for {at_least}",
            browser.kind.name()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn stop_ends_everything(kind: BrowserKind, protocol: &str, workload: &str) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    let what = format!("{} {protocol} {workload}", kind.name());
    // Streams of 4 s (20 messages 200 ms apart): those in flight at Stop would outlive
    // the 2 s they get. Fetches and uploads: small and many, so some are in flight.
    let (sizes, done_before_stop) = match workload {
        "stream" => ("count=20&interval=200&total=1000", 1.0),
        _ => ("count=50&total=100000", 20.0),
    };
    let url = server.url(&format!(
        "/?protocol={protocol}&workload={workload}&concurrency=4&{sizes}"
    ));
    browser.client.goto(&url).await.expect("open the lab");
    browser.start_run().await;
    wait_for_requests(&browser, protocol, done_before_stop).await;
    browser.click("[data-testid=stop]:not([disabled])").await;
    let stopped_at = Instant::now();
    // Stop is a message to the engine's worker: once the page says it stopped, the
    // worker has cancelled every call and sent what was measured.
    browser
        .wait_for("[data-testid=progress][data-phase=stopped]")
        .await;

    // Within 2 s the backend produces no stream any more…
    let mut last = status(&server).await;
    while last.live_streams > 0 {
        assert!(
            stopped_at.elapsed() < STREAMS_END_WITHIN,
            "{what}: {} streams still live {:?} after Stop",
            last.live_streams,
            stopped_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        last = status(&server).await;
    }
    // …and from then on receives no request but these status calls.
    tokio::time::sleep(QUIET_FOR).await;
    let mut later = status(&server).await;
    for counts in [&mut last.requests, &mut later.requests] {
        counts.remove(rest::STATUS);
    }
    assert_eq!(
        later.requests, last.requests,
        "{what}: the backend received requests more than {QUIET_FOR:?} after Stop"
    );
    assert_eq!(later.live_streams, 0, "{what}: a stream started after Stop");

    // The page says it stopped and keeps what it measured.
    let text = browser.text_of("[data-testid=progress-text]").await;
    assert!(text.starts_with("Stopped"), "{what}: {text}");
    let measured = browser.summary(protocol, "requests").await;
    assert!(
        measured >= done_before_stop,
        "{what}: {measured} requests shown"
    );
    assert!(
        later.requests[route(protocol, workload)] as f64 >= measured,
        "{what}: the page shows {measured} requests, the backend saw {:?}",
        later.requests
    );
    assert_eq!(
        browser.summary(protocol, "errors").await,
        0.0,
        "{what}: Stop is not an error"
    );
    browser.wait_for("[data-testid=run]:not([disabled])").await;
    browser.close().await;
}
