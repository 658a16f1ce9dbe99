//! The real UI in headless Chromium against a real backend on 127.0.0.1.

mod support;

use lab_proto::dataset;
use lab_proto::v1::Shape;
use support::TestServer;
use support::browser::{Browser, dist_dir};

/// On load, the WASM app fetches one workload over gRPC-Web and over REST; both must
/// show the records the backend generates for it, checked here independently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_fetches_the_same_records_over_grpc_web_and_rest() {
    let server = TestServer::start(dist_dir()).await;
    let browser = Browser::start().await;
    browser
        .client
        .goto(&server.url("/"))
        .await
        .expect("open the lab");

    let verdict = browser
        .wait_for("[data-testid=parity-verdict]:not([data-state=pending])")
        .await;
    let panel = browser.wait_for("[data-testid=parity]").await;
    let attr = |name: &'static str| {
        let panel = panel.clone();
        async move {
            panel
                .attr(name)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("parity panel lacks {name}"))
        }
    };
    let shape = Shape::from_slug(&attr("data-shape").await).expect("a known shape");
    let count: usize = attr("data-count").await.parse().unwrap();
    let seed: u64 = attr("data-seed").await.parse().unwrap();
    let expected = dataset::generate(shape, seed, count);
    let expected_checksum = format!("{:08x}", lab_proto::checksum(&expected));

    for protocol in ["grpc-web", "rest"] {
        let status = browser
            .text_of(&format!("[data-testid=parity-{protocol}-status]"))
            .await;
        assert_eq!(status, "ok", "{protocol} failed in the browser");
        let shown_count = browser
            .text_of(&format!("[data-testid=parity-{protocol}-count]"))
            .await;
        assert_eq!(shown_count, count.to_string(), "{protocol} record count");
        let checksum = browser
            .text_of(&format!("[data-testid=parity-{protocol}-checksum]"))
            .await;
        assert_eq!(
            checksum, expected_checksum,
            "{protocol} returned other records"
        );
    }
    assert_eq!(
        verdict.attr("data-state").await.unwrap().as_deref(),
        Some("match")
    );
    browser.close().await;
}
