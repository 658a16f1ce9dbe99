//! The documented maximum record count (`dataset::MAX_RECORDS`) works over both
//! protocols (issue 10, part 1b): for every shape, a fetch, an upload and a stream of
//! that many records succeed in the browser and carry the records the generator makes.
//!
//! One request per protocol and shape (~20 MB of JSON each at this size), in Chromium.

use std::time::Duration;

use lab_proto::dataset::MAX_RECORDS;
use lab_proto::v1::Shape;

use super::{PROTOCOLS, checksum_of, open_lab};
use crate::support::browser::BrowserKind;

/// A run of two requests of the maximum size, one per protocol, takes a few seconds;
/// this leaves room for a slow machine.
const RUN_WITHIN: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_of_the_maximum_count_succeed_over_both_protocols() {
    runs_of_the_maximum_count_succeed("fetch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_of_the_maximum_count_succeed_over_both_protocols() {
    runs_of_the_maximum_count_succeed("upload").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_of_the_maximum_count_succeed_over_both_protocols() {
    runs_of_the_maximum_count_succeed("stream").await;
}

async fn runs_of_the_maximum_count_succeed(workload: &str) {
    let Some((server, browser)) = open_lab(BrowserKind::Chromium).await else {
        return;
    };
    let seed = 11;
    for shape in [Shape::Telemetry, Shape::Log, Shape::Order] {
        let query = format!(
            "/?protocol=both&workload={workload}&shape={}&count={MAX_RECORDS}&seed={seed}&total=2&concurrency=1&interval=0",
            shape.key()
        );
        browser
            .run_lab_within(&server.url(&query), RUN_WITHIN)
            .await;
        let expected = checksum_of(shape, seed, MAX_RECORDS as usize);
        for protocol in PROTOCOLS {
            let what = format!(
                "{workload} of {MAX_RECORDS} {} over {protocol}",
                shape.key()
            );
            browser.assert_succeeded(protocol, 1.0, &what).await;
            assert_eq!(
                browser.summary(protocol, "records").await,
                f64::from(MAX_RECORDS),
                "{what}: records"
            );
            assert_eq!(
                browser
                    .text_of(&format!("[data-testid=summary-{protocol}-checksum]"))
                    .await,
                expected,
                "{what}: checksum"
            );
        }
    }
    browser.close().await;
}
