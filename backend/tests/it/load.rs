//! Bounded load on the backend binary in its own process, on 127.0.0.1 only: mixed
//! traffic over native gRPC, gRPC-Web and REST, and streams dropped by their clients.
//! Each test stops by itself after a fixed number of requests. The soak (10 minutes,
//! not in CI) is `cargo xtask soak`.

use std::time::Duration;

use crate::support::load::{self, BackendProcess, LoadReport, Until};

const CONNECTIONS: usize = 64;

/// Requests (or dropped streams) before memory is looked at: the allocator's working
/// set grows over the first rounds of a new kind of load, then stays level.
const WARM_UP_REQUESTS: usize = 20_000;

/// The tests of this file run one at a time: each compares the backend's memory at two
/// points, and a neighbour's load would move its allocator's high-water mark.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn describe(report: &LoadReport) -> String {
    format!(
        "{} requests, {} errors, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        report.requests,
        report.errors,
        report.requests_per_second(),
        report.p_ms(0.5),
        report.p_ms(0.99),
        report.max_ms(),
    )
}

/// The warm-up's report and the working set it needed (the highest resident size).
async fn warm_up(backend: &BackendProcess) -> (LoadReport, u64) {
    let load = load::run(backend.addr, CONNECTIONS, Until::Requests(WARM_UP_REQUESTS));
    backend.peak_rss_during(load).await
}

/// Memory after a run may exceed the warmed-up level by at most this share.
const MEMORY_TOLERANCE: f64 = 0.10;

/// `level` is the warmed-up working set: the highest resident size sampled during the
/// warm-up. Freed memory goes back to the allocator, not always to the system, so the
/// size at one instant moves by a few percent either way with no trend (measured over
/// eight rounds of 1,000 dropped streams: 22.9, 22.7, 22.3, 22.2, 22.1, 21.7, 21.6,
/// 21.1 MiB); a leak shows as growth beyond the working set.
fn assert_memory_returned(what: &str, level: u64, now: u64) {
    eprintln!(
        "{what}: resident {:.1} MiB, warmed-up level {:.1} MiB",
        mib(now),
        mib(level)
    );
    assert!(
        now as f64 <= level as f64 * (1.0 + MEMORY_TOLERANCE),
        "{what}: resident memory {:.1} MiB is over {:.0}% above its warmed-up level of {:.1} MiB",
        mib(now),
        MEMORY_TOLERANCE * 100.0,
        mib(level),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_thousand_mixed_requests_at_64_connections_without_errors_or_memory_growth() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let backend = BackendProcess::start(&[]);
    let (warm_up, level) = warm_up(&backend).await;
    assert_eq!(warm_up.errors, 0, "warm-up: {:?}", warm_up.first_errors);

    let report = load::run(backend.addr, CONNECTIONS, Until::Requests(100_000)).await;
    eprintln!("load: {}", describe(&report));
    assert_eq!(report.requests, 100_000);
    assert_eq!(report.errors, 0, "first errors: {:?}", report.first_errors);
    assert_memory_returned("after 100,000 requests", level, backend.rss_bytes());
    assert_eq!(backend.status().await.live_streams, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_streams_dropped_midway_leave_no_producer_and_no_memory_behind() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let backend = BackendProcess::start(&[]);
    let (warm_up, level) = backend
        .peak_rss_during(load::drop_streams_midway(backend.addr, 2_000))
        .await;
    warm_up.unwrap();
    let wait = Duration::from_secs(5);
    assert_eq!(backend.wait_for_no_live_streams(wait).await, 0);

    load::drop_streams_midway(backend.addr, 1_000)
        .await
        .unwrap();
    let live = backend.wait_for_no_live_streams(wait).await;
    assert_eq!(
        live, 0,
        "{live} producers still running 5 s after their clients left"
    );
    assert_memory_returned("after 1,000 dropped streams", level, backend.rss_bytes());

    // And streams still work.
    let report = load::run(backend.addr, 3, Until::Requests(300)).await;
    assert_eq!(report.errors, 0, "{:?}", report.first_errors);
}

/// Mixed load (streams included) through an emulated link: the delay lines and the
/// shared bandwidth hold every connection's bytes for a while, and must neither lose
/// nor keep any.
#[tokio::test(flavor = "multi_thread")]
async fn mixed_load_over_an_emulated_link_without_errors_or_memory_growth() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let backend = BackendProcess::start(&["--link", "rtt=10ms,down=200mbit,up=200mbit"]);
    let linked = backend.network_addr("custom").await;
    let (warm_up, level) = backend
        .peak_rss_during(load::run(linked, CONNECTIONS, Until::Requests(5_000)))
        .await;
    assert_eq!(warm_up.errors, 0, "warm-up: {:?}", warm_up.first_errors);

    let report = load::run(linked, CONNECTIONS, Until::Requests(20_000)).await;
    eprintln!("load over the link: {}", describe(&report));
    assert_eq!(report.requests, 20_000);
    assert_eq!(report.errors, 0, "first errors: {:?}", report.first_errors);
    // Every request crossed the link: one round trip at least.
    assert!(
        report.p_ms(0.5) >= 10.0,
        "median {} ms on a 10 ms link",
        report.p_ms(0.5)
    );
    assert_memory_returned(
        "after 20,000 requests over the link",
        level,
        backend.rss_bytes(),
    );
    assert_eq!(
        backend
            .wait_for_no_live_streams(Duration::from_secs(5))
            .await,
        0
    );
}

/// `cargo xtask soak [--minutes N]`: mixed load including streams on a release backend,
/// memory and latency printed every minute. Not part of the test command.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a 10-minute soak: run it with `cargo xtask soak`"]
async fn soak() {
    let minutes: u32 = std::env::var("LAB_SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(10);
    let _alone = ONE_AT_A_TIME.lock().await;
    let backend = BackendProcess::start(&[]);
    let (warm_up, level) = warm_up(&backend).await;
    println!(
        "soak: {minutes} min, {CONNECTIONS} connections, ping/fetch/upload/stream over gRPC, gRPC-Web and REST"
    );
    println!(
        "warm-up: {}; working set {:.1} MiB",
        describe(&warm_up),
        mib(level)
    );
    println!(
        "| minute | requests | errors | req/s | p50 ms | p99 ms | max ms | resident MiB | live streams |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut errors = 0;
    for minute in 1..=minutes {
        let report = load::run(
            backend.addr,
            CONNECTIONS,
            Until::Elapsed(Duration::from_secs(60)),
        )
        .await;
        errors += report.errors;
        println!(
            "| {minute} | {} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {:.1} | {} |",
            report.requests,
            report.errors,
            report.requests_per_second(),
            report.p_ms(0.5),
            report.p_ms(0.99),
            report.max_ms(),
            mib(backend.rss_bytes()),
            backend.status().await.live_streams,
        );
        if !report.first_errors.is_empty() {
            println!("  first errors: {:?}", report.first_errors);
        }
    }
    assert_eq!(errors, 0);
    assert_memory_returned("after the soak", level, backend.rss_bytes());
}
