//! The page answers first: during a run, the answer line and the top of the first chart
//! are on the first screen of a laptop (1366×768) and within the first two of a phone
//! (390×844; Firefox headless goes no narrower than 500), where nothing scrolls
//! sideways; no sweep chart is drawn before a sweep; a row's name opens its definition;
//! a chart's bars and points carry their values;
//! and axe-core finds no WCAG 2 A/AA violation after a run and after a sweep.

use std::time::Duration;

use serde_json::Value;

use super::open_lab;
use crate::support::browser::{Browser, BrowserKind};

in_each_browser! {
    on_a_laptop_the_answer_and_the_first_chart_are_on_the_first_screen => answer_first(1366, 768, 1.0);
    on_a_phone_they_are_within_two_screens_and_nothing_scrolls_sideways => answer_first(390, 844, 2.0);
    axe_finds_no_violation_after_a_run_and_after_a_sweep => accessible();
}

/// Where things are, measured in the page.
const GEOMETRY: &str = "const top = s => document.querySelector(s).getBoundingClientRect().top + scrollY; \
    return { answer: top('[data-testid=summary-line]'), chart: top('.charts .chart'), \
             height: innerHeight, width: innerWidth, scrollWidth: document.documentElement.scrollWidth, \
             sweepCharts: document.querySelectorAll('[data-testid=sweep-p50]').length };";

async fn answer_first(kind: BrowserKind, width: u32, height: u32, screens: f64) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    browser
        .client
        .set_window_size(width, height)
        .await
        .expect("resize the window");
    // Long and paced, so that it is still running when measured.
    let query =
        "protocol=both&workload=fetch&shape=order&count=10&total=2000&concurrency=2&rate=40";
    browser.goto(&server.url(&format!("/?{query}"))).await;
    browser.start_run().await;
    browser
        .wait_for("[data-testid=progress][data-phase=running]")
        .await;
    let at = browser
        .client
        .execute(GEOMETRY, vec![])
        .await
        .expect("measure the page");
    let number = |key: &str| at[key].as_f64().unwrap_or_else(|| panic!("{key}: {at}"));
    let what = format!("{} at {width}×{height}: {at}", kind.name());
    // Headless Firefox keeps a window at least 500 pixels wide (measured): there the
    // phone is as narrow as it gets.
    let narrowest = match kind {
        BrowserKind::Firefox => f64::from(width).max(500.0),
        BrowserKind::Chromium => f64::from(width),
    };
    assert!(
        number("width") <= narrowest,
        "the window is wider than asked: {what}"
    );
    let fold = screens * number("height");
    assert!(number("answer") + 20.0 <= fold, "the answer line: {what}");
    assert!(number("chart") + 20.0 <= fold, "the first chart: {what}");
    assert!(
        number("scrollWidth") <= number("width"),
        "the page scrolls sideways: {what}"
    );
    assert_eq!(
        number("sweepCharts"),
        0.0,
        "sweep charts before a sweep: {what}"
    );
    browser.click("[data-testid=stop]").await;
    // Every number's definition is one click away: a row's name opens its section.
    let definition = browser.wait_for("#m-client-decode").await;
    assert!(
        !definition.is_displayed().await.unwrap(),
        "closed until asked for"
    );
    browser
        .click("[data-testid=summary] a[href='#m-client-decode']")
        .await;
    assert!(
        definition.is_displayed().await.unwrap(),
        "{}: the row's link opens its definition",
        kind.name()
    );
    browser.close().await;
}

/// axe-core's WCAG 2 A and AA rules on the page as it stands: the violations, by rule
/// and the elements they name.
async fn axe_violations(browser: &Browser) -> Vec<String> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../node_modules/axe-core/axe.min.js");
    let axe = std::fs::read_to_string(&script).unwrap_or_else(|err| {
        panic!(
            "{}: {err}: `cargo xtask bootstrap` installs axe-core",
            script.display()
        )
    });
    browser
        .client
        .execute(&format!("if (!window.axe) {{ {axe} }}"), vec![])
        .await
        .expect("load axe-core");
    let result = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } })\
                .then(r => done(r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))))\
                .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .expect("run axe-core");
    match result {
        Value::Array(items) => items
            .into_iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect(),
        other => panic!("axe-core answered {other}"),
    }
}

async fn accessible(kind: BrowserKind) {
    let Some((server, browser)) = open_lab(kind).await else {
        return;
    };
    let query = "protocol=both&workload=fetch&shape=order&count=10&total=40&concurrency=4\
                 &sweep=count&values=1,10&per=10&warmup=2";
    browser.run_lab(&server.url(&format!("/?{query}"))).await;
    let after_run = axe_violations(&browser).await;
    assert!(
        after_run.is_empty(),
        "{}: after a run: {after_run:#?}",
        kind.name()
    );
    // Hovering a bar or a point shows its values: each carries them as its title (the
    // browser's tooltip), and a line chart says its latest values in words.
    let charts = browser
        .client
        .execute(
            "const titles = s => [...document.querySelectorAll(s)].map(t => t.textContent); \
             return { bars: titles('[data-testid=chart-latency-histogram] rect title'), \
                      points: titles('[data-testid=chart-latency-over-time] circle title'), \
                      label: document.querySelector('[data-testid=chart-latency-over-time] svg').getAttribute('aria-label') };",
            vec![],
        )
        .await
        .expect("read the charts");
    let texts = |key: &str| -> Vec<String> {
        charts[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {charts}"))
            .iter()
            .map(|t| t.as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (bars, points) = (texts("bars"), texts("points"));
    assert!(!bars.is_empty() && !points.is_empty(), "{charts}");
    let protocol = |t: &str| t.starts_with("gRPC-Web: ") || t.starts_with("REST: ");
    for bar in &bars {
        assert!(
            protocol(bar) && bar.contains(" requests from ") && bar.ends_with(" ms"),
            "{bar}"
        );
    }
    for point in &points {
        assert!(
            protocol(point) && point.contains(" ms at ") && point.ends_with(" s"),
            "{point}"
        );
    }
    let label = charts["label"].as_str().unwrap_or_default();
    assert!(label.contains(": latest gRPC-Web "), "{label}");
    // The histogram in words, and its values one Tab away: focused, → steps to the
    // first bar and ← from there to the last, and the readout line says each.
    let histogram = browser
        .wait_for("[data-testid=chart-latency-histogram] svg")
        .await;
    let described = histogram
        .attr("aria-label")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        described.contains("gRPC-Web: 20 requests, median ")
            && described.contains("REST: 20 requests, median "),
        "{}: {described}",
        kind.name()
    );
    let readout = "[data-testid=chart-latency-histogram-readout]";
    histogram
        .send_keys(&fantoccini::key::Key::Right.to_string())
        .await
        .expect("focus the histogram and press →");
    assert_eq!(browser.text_of(readout).await, bars[0], "{}", kind.name());
    histogram
        .send_keys(&fantoccini::key::Key::Left.to_string())
        .await
        .expect("press ←");
    assert_eq!(
        browser.text_of(readout).await,
        bars[0],
        "{}: ← at the first bar stays there",
        kind.name()
    );
    histogram
        .send_keys(&fantoccini::key::Key::End.to_string())
        .await
        .expect("press End");
    assert_eq!(
        &browser.text_of(readout).await,
        bars.last().unwrap(),
        "{}",
        kind.name()
    );
    browser
        .press_and_wait("run-sweep", "sweep-progress", Duration::from_secs(90))
        .await;
    let after_sweep = axe_violations(&browser).await;
    assert!(
        after_sweep.is_empty(),
        "{}: after a sweep: {after_sweep:#?}",
        kind.name()
    );
    browser.close().await;
}
