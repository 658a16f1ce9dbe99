//! A service-to-service run started from the page (issue 23 §2): a person picks
//! "Service to service" and the lanes, runs, and the native runner's figures are drawn
//! in the same table and charts, named by their lanes and labelled as measured outside
//! the browser; Stop ends the backend's run (its live count back to 0), which keeps
//! what it measured.

use std::time::{Duration, Instant};

use super::open_lab;
use crate::support::TestServer;
use crate::support::browser::{Browser, BrowserKind, WAIT};

in_each_browser! {
    a_service_to_service_run_is_drawn_and_stop_ends_it => service_run();
}

async fn choose(browser: &Browser, select: &str, value: &str) {
    browser
        .wait_for(&format!("[data-testid={select}]:not([disabled])"))
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|err| panic!("choose {value} in {select}: {err}"));
}

/// Waits up to [`WAIT`] for the backend's live streams to be 0.
async fn nothing_left_running(server: &TestServer, what: &str) {
    let deadline = Instant::now() + WAIT;
    while server.status().await.live_streams != 0 {
        assert!(
            Instant::now() < deadline,
            "{what}: the service run still runs"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn service_run(kind: BrowserKind) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    let what = format!("{} service run", kind.name());
    browser
        .goto(&server.url(
            "/?protocol=both&workload=client-stream&shape=log&count=20&total=12&concurrency=2",
        ))
        .await;
    choose(&browser, "client", "service").await;
    choose(&browser, "grpc-lane", "tls").await;
    choose(&browser, "rest-lane", "http1").await;
    browser.start_run().await;
    browser
        .wait_for("[data-testid=progress][data-phase=finished]")
        .await;
    // Both client streams went through: a browser could send neither.
    for protocol in ["grpc-web", "rest"] {
        browser.assert_succeeded(protocol, 6.0, &what).await;
        assert!(
            browser.summary(protocol, "socket-bytes").await > 0.0,
            "{what}"
        );
    }
    assert_eq!(browser.summary("rest", "records").await, 120.0, "{what}");
    assert_eq!(
        browser
            .text_of("[data-testid=summary-ratio-checksum]")
            .await,
        "same data",
        "{what}"
    );
    let legend = browser.text_of("[data-testid=legend]").await;
    assert!(
        legend.contains("gRPC (HTTP/2, TLS)") && legend.contains("REST (HTTP/1.1, pool)"),
        "{what}: {legend}"
    );
    let outside = browser.text_of("[data-testid=measured-outside]").await;
    assert!(
        outside.starts_with("Measured outside the browser"),
        "{what}: {outside}"
    );
    assert!(
        browser
            .client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains("client=service&grpc=tls&rest=http1"),
        "{what}: the link reproduces the run"
    );
    if kind == BrowserKind::Chromium {
        // For the README (`target/screenshots/lab-service.png`).
        let panel = browser.wait_for("[data-testid=summary]").await;
        let shot = panel.screenshot().await.expect("screenshot");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lab-service.png"), shot).unwrap();
    }
    let requests = server.status().await.requests;
    assert_eq!(
        requests[lab_proto::contract::grpc::UPLOAD_STREAM],
        6,
        "{what}"
    );
    assert_eq!(
        requests[lab_proto::contract::rest::UPLOADS_STREAM],
        6,
        "{what}"
    );

    // A long one (40,000 requests), stopped midway: the backend's run ends, what it measured stays.
    choose(&browser, "workload", "stream").await;
    // Typed over the field's whole value (a cleared number field may keep its digits).
    let total = browser.wait_for("[data-testid=total]").await;
    total.click().await.unwrap();
    browser
        .client
        .execute("document.activeElement.select()", vec![])
        .await
        .unwrap();
    total.send_keys("40000").await.unwrap();
    browser
        .client
        .execute("document.activeElement.blur()", vec![])
        .await
        .unwrap();
    let typed = browser
        .client
        .execute(
            "return document.querySelector('[data-testid=total]').value",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(typed, "40000", "{what}");
    browser.start_run().await;
    let deadline = Instant::now() + WAIT;
    while browser
        .number_or_none("summary-grpc-web-requests")
        .await
        .unwrap_or(0.0)
        < 4.0
    {
        if Instant::now() > deadline {
            let page = browser
                .client
                .execute("return document.body.innerText.slice(0, 3000)", vec![])
                .await
                .unwrap();
            panic!("{what}: no figures drawn: {page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.click("[data-testid=stop]:not([disabled])").await;
    browser
        .wait_for("[data-testid=progress][data-phase=stopped]")
        .await;
    nothing_left_running(&server, &what).await;
    let done =
        browser.summary("grpc-web", "requests").await + browser.summary("rest", "requests").await;
    assert!(
        (4.0..40000.0).contains(&done),
        "{what}: {done} requests kept"
    );
    browser.close().await;
}
