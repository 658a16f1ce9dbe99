//! Headless Chromium driven over WebDriver (chromedriver), for tests of the real UI.
//!
//! The tests need the release frontend (`dist/`) and Chromium with chromedriver;
//! `cargo xtask test` provides both and passes their paths in `LAB_DIST_DIR`,
//! `LAB_CHROME` and `LAB_CHROMEDRIVER`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

fn env_path(key: &str, default: &str) -> PathBuf {
    std::env::var_os(key)
        .map(PathBuf::from)
        .unwrap_or_else(|| default.into())
}

/// The built frontend; panics with the command to run when it is missing.
pub fn dist_dir() -> PathBuf {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../dist");
    let dist = env_path("LAB_DIST_DIR", default);
    assert!(
        dist.join("index.html").is_file(),
        "no built frontend in {}: run the tests with `cargo xtask test`, which builds it",
        dist.display()
    );
    dist
}

/// A chromedriver process and a headless Chromium session, both ended on drop.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
}

impl Browser {
    pub async fn start() -> Self {
        let chrome = env_path("LAB_CHROME", "/usr/bin/chromium");
        let chromedriver = env_path("LAB_CHROMEDRIVER", "/usr/bin/chromedriver");
        assert!(
            chrome.is_file() && chromedriver.is_file(),
            "Chromium ({}) and chromedriver ({}) are needed: run `cargo xtask test`, which installs them",
            chrome.display(),
            chromedriver.display()
        );
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = TempDir::new();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chrome,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.0.display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(err) if Instant::now() < deadline => {
                    let _ = err;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("cannot start a Chromium session through chromedriver: {err}"),
            }
        };
        Self {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Waits up to `timeout` for an element matching `css`, then returns its text.
    pub async fn text_of(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        element.text().await.expect("read element text")
    }

    /// Waits for an element matching `css`.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("no element matches `{css}` within 30 s: {err}"))
    }

    /// The leading number in the text of `[data-testid=testid]` ("12 ms" is 12).
    pub async fn number_in(&self, testid: &str) -> f64 {
        let text = self.text_of(&format!("[data-testid={testid}]")).await;
        let digits: String = text
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        digits
            .parse()
            .unwrap_or_else(|_| panic!("{testid} shows {text:?}, not a number"))
    }

    /// Waits for an element matching `css` and clicks it.
    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|err| panic!("click `{css}`: {err}"));
    }

    /// Opens the lab at `url` (its settings in the query), runs it and waits for the end.
    pub async fn run_lab(&self, url: &str) {
        self.client.goto(url).await.expect("open the lab");
        self.run_again().await;
    }

    /// Clicks Run on the page as it is and waits for that run's end (the progress bar's
    /// phase is marked stale first, so an earlier run's "finished" does not count).
    pub async fn run_again(&self) {
        let run = self.wait_for("[data-testid=run]:not([disabled])").await;
        self.client
            .execute(
                "document.querySelector('[data-testid=progress]').setAttribute('data-phase', 'stale')",
                vec![],
            )
            .await
            .expect("mark the progress bar stale");
        run.click().await.expect("click Run");
        self.wait_for("[data-testid=progress][data-phase=finished]")
            .await;
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh browser profile directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "lab-chromium-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("create a browser profile directory");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
