//! A person's own payload in the page (issue 22), in Chromium and Firefox: choose "Your
//! own…", paste a JSON response, use it, correct a type in the inferred schema, run
//! "Both" — and every size the page shows is what the backend sends for that shape,
//! fetched here apart from the app; both protocols carried the same records. A link to
//! a shape the backend does not have says so; pasted markup stays text.

use std::time::Duration;

use lab_proto::contract::custom;
use lab_proto::contract::{grpc, rest};

use super::{attr_number, bodies_sent, open_lab};
use crate::support::TestServer;
use crate::support::browser::{Browser, BrowserKind};

in_each_browser! {
    a_pasted_sample_with_a_corrected_type_runs_over_both_protocols => pasted_sample();
    a_link_to_a_shape_the_backend_lacks_says_so_and_pasted_markup_stays_text => missing_and_markup();
}

const SAMPLE: &str = r#"[{"orderId": 12, "customer": "Ada", "total": 19.5, "lines": [{"sku": "A-1", "qty": 2}], "status": "paid"},
 {"orderId": 13, "customer": "Grace", "total": 7.25, "lines": [], "status": "open"}]"#;

/// Sets a text box's value as pasting does (one `input` event with the whole text).
async fn paste(browser: &Browser, testid: &str, text: &str) {
    browser.wait_for(&format!("[data-testid={testid}]")).await;
    browser
        .client
        .execute(
            "const box = document.querySelector(`[data-testid=${arguments[0]}]`);\
             box.focus(); box.value = arguments[1];\
             box.dispatchEvent(new InputEvent('input', {bubbles: true, inputType: 'insertFromPaste'}));",
            vec![testid.into(), text.into()],
        )
        .await
        .expect("paste");
}

/// Chooses "Your own…" in the shape list, as a person does.
async fn choose_your_own(browser: &Browser) {
    let select = browser.wait_for("[data-testid=shape]").await;
    select
        .select_by_value("custom")
        .await
        .expect("choose Your own");
}

/// The shape the page registered last (its sizes line names it).
async fn registered_after(browser: &Browser, previous: &str) -> String {
    let css = if previous.is_empty() {
        "[data-testid=custom-sizes]".to_owned()
    } else {
        format!("[data-testid=custom-sizes]:not([data-shape=\"{previous}\"])")
    };
    browser
        .wait_for(&css)
        .await
        .attr("data-shape")
        .await
        .unwrap()
        .expect("the sizes line names its shape")
}

/// Body bytes of a fetch of the custom shape `id`, with plain clients (no compression).
async fn bytes_sent(server: &TestServer, id: &str, count: u32, seed: u64) -> (usize, usize) {
    let request = lab_proto::v1::FetchCustomRequest {
        shape_id: id.to_owned(),
        count,
        seed,
    };
    let rest_path = rest::keyed_records_url(rest::RECORDS, &custom::key(id), count, seed);
    bodies_sent(server, &rest_path, grpc::FETCH_CUSTOM, &request).await
}

/// The value of the text box `testid`, as the person sees it.
async fn value_of(browser: &Browser, testid: &str) -> String {
    browser
        .wait_for(&format!("[data-testid={testid}]"))
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn pasted_sample(kind: BrowserKind) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    let (count, seed) = (30, 4);
    browser
        .goto(&server.url(&format!(
            "/?protocol=both&workload=fetch&count={count}&seed={seed}&total=8&concurrency=2&compression=off"
        )))
        .await;
    choose_your_own(&browser).await;
    paste(&browser, "custom-source", SAMPLE).await;
    browser.click("[data-testid=custom-use]").await;
    let inferred = registered_after(&browser, "").await;
    let schema = value_of(&browser, "custom-proto").await;
    assert!(
        schema.contains("int32 orderId = 1;"),
        "{}: inferred {schema}",
        kind.name()
    );
    // The person knows order ids outgrow 32 bits: corrected, and used.
    paste(
        &browser,
        "custom-proto",
        &schema.replace("int32 orderId", "int64 orderId"),
    )
    .await;
    browser.click("[data-testid=custom-use-schema]").await;
    let corrected = registered_after(&browser, &inferred).await;
    let shape = server
        .state
        .shapes
        .get(&corrected)
        .expect("the page registered it");
    assert!(shape.proto.contains("int64 orderId"), "{}", shape.proto);
    assert!(
        shape.sample.is_some(),
        "the corrected schema keeps the sample's values"
    );

    browser.run_again().await;
    assert!(
        browser
            .client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains(&custom::key(&corrected)),
        "{}: the link names the shape",
        kind.name()
    );
    browser
        .wait_for("[data-testid=summary][data-timed-grpc-web=\"4\"][data-timed-rest=\"4\"]")
        .await;
    let (grpc_web_bytes, rest_bytes) = bytes_sent(&server, &corrected, count, seed).await;
    for (protocol, sent) in [("grpc-web", grpc_web_bytes), ("rest", rest_bytes)] {
        browser
            .assert_succeeded(protocol, 4.0, "a custom shape")
            .await;
        assert_eq!(
            browser.summary(protocol, "records").await,
            f64::from(count * 4)
        );
        let wire = attr_number(
            &browser,
            &format!("[data-testid=size-{protocol}-wire]"),
            "data-bytes",
        )
        .await;
        assert_eq!(
            wire,
            sent as f64,
            "{}: {protocol} wire bytes shown vs sent",
            kind.name()
        );
    }
    assert_eq!(
        browser
            .text_of("[data-testid=summary-ratio-checksum]")
            .await,
        "same data",
        "{}",
        kind.name()
    );
    let note = browser.text_of("[data-testid=custom-decode-note]").await;
    assert!(note.contains("by reflection"), "{note}");
    // The export carries the schema itself.
    let json = browser.exported_json().await;
    assert_eq!(json["customShape"]["id"], corrected.as_str());
    assert!(
        json["customShape"]["proto"]
            .as_str()
            .unwrap()
            .contains("int64 orderId")
    );

    // Uploads and streams of the shape: the same records over both protocols.
    for workload in ["upload", "stream"] {
        browser
            .run_lab(&server.url(&format!(
                "/?protocol=both&workload={workload}&shape={}&count={count}&seed={seed}&total=4&concurrency=2",
                custom::key(&corrected)
            )))
            .await;
        for protocol in ["grpc-web", "rest"] {
            browser.assert_succeeded(protocol, 2.0, workload).await;
        }
        assert_eq!(
            browser
                .text_of("[data-testid=summary-ratio-checksum]")
                .await,
            "same data",
            "{}: {workload}",
            kind.name()
        );
    }

    // The headline use: a count sweep of the shape, whose verdicts name it.
    browser
        .goto(&server.url(&format!(
            "/?protocol=both&workload=fetch&shape={}&seed={seed}&concurrency=2&compression=off\
             &sweep=count&values=1,10,100&per=6&warmup=1",
            custom::key(&corrected)
        )))
        .await;
    browser.wait_for("[data-testid=custom-sizes]").await;
    browser
        .press_and_wait("run-sweep", "sweep-progress", Duration::from_secs(90))
        .await;
    let points = browser
        .attributes(
            "[data-testid=sweep-wire-bytes] [data-testid=sweep-point]",
            "data-x",
        )
        .await;
    assert_eq!(points.len(), 6, "{}: {points:?}", kind.name());
    let claims = browser.text_of("[data-testid=claims]").await;
    assert!(
        claims.contains(&format!("your shape {}", &corrected[..6])),
        "{}: {claims}",
        kind.name()
    );
    let json = browser.exported_json().await;
    assert_eq!(
        json["customShape"]["id"],
        corrected.as_str(),
        "the sweep's export"
    );
    browser.close().await;
}

async fn missing_and_markup(kind: BrowserKind) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    browser
        .goto(&server.url(&format!("/?shape={}", custom::key("0123456789abcdef"))))
        .await;
    let error = browser.text_of("[data-testid=custom-error]").await;
    assert!(
        error.contains("0123456789abcdef") && error.contains("Register it again"),
        "{}: {error}",
        kind.name()
    );
    // A sample whose keys and values are markup: inferred, shown as text, never run.
    let hostile = r#"{"<img src=x onerror=\"window.__xss=1\">": "</textarea><script>window.__xss=2</script>"}"#;
    paste(&browser, "custom-source", hostile).await;
    browser.click("[data-testid=custom-use]").await;
    registered_after(&browser, "").await;
    let schema = value_of(&browser, "custom-proto").await;
    assert!(
        schema.contains("<img src=x onerror="),
        "{}: {schema}",
        kind.name()
    );
    let source = value_of(&browser, "custom-source").await;
    assert_eq!(
        source,
        hostile,
        "{}: the pasted text is kept as it was",
        kind.name()
    );
    let injected = browser
        .client
        .execute(
            "return [window.__xss === undefined, document.querySelectorAll('[data-testid=custom-shape] img, [data-testid=custom-shape] script').length];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(injected, serde_json::json!([true, 0]), "{}", kind.name());
    browser.close().await;
}
