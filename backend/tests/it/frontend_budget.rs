//! Measures the frontend against its budget (docs/frontend-budget.md). Not a timed
//! test: it is `#[ignore]`d and prints what it measured.
//!
//! `cargo xtask test` builds `dist/` first; then run
//! `cargo test -p lab-backend --test it frontend_budget -- --ignored --nocapture`.

use std::io::Write;

use crate::support::TestServer;
use crate::support::browser::{BrowserKind, Setup};

fn gzip_len(bytes: &[u8]) -> usize {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: see docs/frontend-budget.md"]
async fn measure_bundle_startup_and_sustained_rate() {
    let Some(setup) = Setup::find(BrowserKind::Chromium) else {
        return;
    };
    for entry in std::fs::read_dir(&setup.dist).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".wasm") || name.ends_with(".js") {
            let bytes = std::fs::read(&path).unwrap();
            println!(
                "bundle {name}: {} bytes raw, {} bytes gzip -9",
                bytes.len(),
                gzip_len(&bytes)
            );
        }
    }

    let server = TestServer::start(setup.dist.clone()).await;
    let browser = setup.start().await;
    for attempt in 1..=3 {
        browser.client.goto(&server.url("/")).await.unwrap();
        browser.wait_for("[data-testid=run]").await;
        let timing = browser
            .client
            .execute(
                "const nav = performance.getEntriesByType('navigation')[0];
                 const mounted = performance.getEntriesByName('lab-mounted')[0];
                 return [nav.domInteractive, mounted ? mounted.startTime : null];",
                vec![],
            )
            .await
            .unwrap();
        println!("startup #{attempt}: [domInteractive ms, app mounted ms] = {timing}");
    }

    let query = "protocol=both&workload=ping&total=20000&concurrency=16";
    browser.run_lab(&server.url(&format!("/?{query}"))).await;
    let progress = browser.text_of("[data-testid=progress-text]").await;
    let grpc = browser.text_of("[data-testid=summary-grpc-web-rps]").await;
    let rest = browser.text_of("[data-testid=summary-rest-rps]").await;
    println!(
        "sustained ping at concurrency 16 with live charts: {progress}; gRPC-Web {grpc} req/s, REST {rest} req/s"
    );
    browser.close().await;
}
