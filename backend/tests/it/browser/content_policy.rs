//! The page under its Content-Security-Policy in Chromium: a run, a sweep, the matrix
//! (its frames are other listeners' pages) and both exports raise no
//! `securitypolicyviolation`, so the policy forbids nothing the lab does, and the lab
//! runs only its own code.

use std::time::Duration;

use lab_backend::ListenerKind;

use super::trusted_ca::open;
use crate::support::browser::BrowserKind;

mod in_chromium {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_run_a_sweep_the_matrix_and_the_exports_raise_no_csp_violation() {
        super::no_violation().await;
    }
}

async fn no_violation() {
    let Some((server, browser)) = open(BrowserKind::Chromium).await else {
        return;
    };
    let query = "protocol=both&workload=fetch&shape=order&count=10&total=40&concurrency=4\
                 &sweep=count&values=1,10&per=10&warmup=2&matrix=loopback&mper=10&mwarmup=2";
    let page = server.origin(ListenerKind::Plain);
    browser.goto(&format!("{page}/?{query}")).await;
    browser.wait_for("[data-testid=run]:not([disabled])").await;
    // The page's policy is in force and the app runs under it (its loader is inline).
    browser
        .client
        .execute(
            "window.labViolations = []; document.addEventListener('securitypolicyviolation', \
             e => window.labViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));",
            vec![],
        )
        .await
        .expect("listen for violations");
    browser.start_run().await;
    browser
        .wait_for("[data-testid=progress][data-phase=finished]")
        .await;
    let timeout = Duration::from_secs(120);
    browser
        .press_and_wait("run-sweep", "sweep-progress", timeout)
        .await;
    browser
        .press_and_wait("run-matrix", "matrix-progress", timeout)
        .await;
    let rows = browser
        .attributes("[data-testid=matrix-row]", "data-state")
        .await;
    assert!(rows.iter().all(|s| s == "measured"), "{rows:?}");
    let json = browser.exported_json().await;
    assert!(json["pointsCsv"].is_string());
    let csv = browser.exported_csv().await;
    assert!(!csv.column("value").is_empty());
    let violations = browser
        .client
        .execute("return window.labViolations;", vec![])
        .await
        .expect("read the violations");
    assert_eq!(violations, serde_json::json!([]), "CSP violations");
    // The listener does see what the policy forbids: an inline script injected as
    // markup (what a pasted payload might try) is blocked and reported.
    let blocked = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             document.addEventListener('securitypolicyviolation', () => done(window.labViolations.length)); \
             const s = document.createElement('script'); s.textContent = 'window.labRan = true'; \
             document.body.appendChild(s);",
            vec![],
        )
        .await
        .expect("inject a script");
    assert_eq!(blocked, serde_json::json!(1), "one violation reported");
    let ran = browser
        .client
        .execute("return window.labRan === true;", vec![])
        .await
        .unwrap();
    assert_eq!(
        ran,
        serde_json::json!(false),
        "the injected script did not run"
    );
    browser.close().await;
}
