//! Headless browsers driven over WebDriver, for tests of the real UI: Chromium through
//! chromedriver and Firefox ESR through geckodriver, the same test bodies in both.
//!
//! A browser test needs the release frontend (`dist/`), the browser and its driver.
//! [`Setup::find`] looks for them: when one is missing, the test prints one line saying
//! what and returns (plain `cargo test` on a fresh clone passes), unless
//! `LAB_REQUIRE_BROWSERS=1` (set by `cargo xtask test`, which installs and builds all
//! of them) makes that a failure. Where they are: `LAB_DIST_DIR` (default `dist/`),
//! `LAB_CHROME` and `LAB_CHROMEDRIVER` (default `/usr/bin/chromium`,
//! `/usr/bin/chromedriver`), `LAB_FIREFOX` and `LAB_GECKODRIVER` (default
//! `/usr/bin/firefox-esr`, `geckodriver` on `PATH` or in `~/.cargo/bin`).

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// How long a page gets for what a test waits for, unless the test says otherwise.
pub const WAIT: Duration = Duration::from_secs(30);

/// The browsers the UI is tested in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserKind {
    Chromium,
    Firefox,
}

impl BrowserKind {
    pub fn name(self) -> &'static str {
        match self {
            BrowserKind::Chromium => "Chromium",
            BrowserKind::Firefox => "Firefox",
        }
    }

    /// The browser binary and its WebDriver server, where the environment says.
    fn binaries(self) -> (PathBuf, PathBuf) {
        match self {
            BrowserKind::Chromium => (
                env_path("LAB_CHROME", "/usr/bin/chromium"),
                env_path("LAB_CHROMEDRIVER", "/usr/bin/chromedriver"),
            ),
            BrowserKind::Firefox => (
                env_path("LAB_FIREFOX", "/usr/bin/firefox-esr"),
                std::env::var_os("LAB_GECKODRIVER")
                    .map(PathBuf::from)
                    .unwrap_or_else(default_geckodriver),
            ),
        }
    }

    /// The environment variables that point at the binaries.
    fn env_keys(self) -> &'static str {
        match self {
            BrowserKind::Chromium => "LAB_CHROME and LAB_CHROMEDRIVER",
            BrowserKind::Firefox => "LAB_FIREFOX and LAB_GECKODRIVER",
        }
    }
}

fn env_path(key: &str, default: &str) -> PathBuf {
    std::env::var_os(key)
        .map(PathBuf::from)
        .unwrap_or_else(|| default.into())
}

/// `geckodriver` on `PATH`, else where `cargo install geckodriver` puts it.
fn default_geckodriver() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("geckodriver"))
        .find(|candidate| candidate.is_file());
    on_path.unwrap_or_else(|| {
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
            .unwrap_or_default();
        cargo_home.join("bin/geckodriver")
    })
}

/// Whether a missing frontend, browser or driver fails the test instead of skipping it.
fn browsers_required() -> bool {
    std::env::var_os("LAB_REQUIRE_BROWSERS").is_some_and(|v| v == "1")
}

/// Everything a browser test needs, found on this machine.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The built frontend the test server serves.
    pub dist: PathBuf,
    kind: BrowserKind,
    browser: PathBuf,
    driver: PathBuf,
}

impl Setup {
    /// The frontend, browser and driver for a test in `kind`; `None` (after printing
    /// why) when one is missing and `LAB_REQUIRE_BROWSERS=1` is not set.
    pub fn find(kind: BrowserKind) -> Option<Self> {
        match Self::locate(kind) {
            Ok(setup) => Some(setup),
            Err(reason) if browsers_required() => {
                panic!("{reason}, and LAB_REQUIRE_BROWSERS=1 requires the browser tests to run")
            }
            Err(reason) => {
                // Past the test harness's capture, so plain `cargo test` shows it; the
                // harness names each test's thread after the test.
                let thread = std::thread::current();
                let test = thread.name().filter(|name| *name != "main");
                let prefix = test.map(|name| format!("{name}: ")).unwrap_or_default();
                let _ = writeln!(std::io::stderr(), "{prefix}skipped: {reason}");
                None
            }
        }
    }

    fn locate(kind: BrowserKind) -> Result<Self, String> {
        let dist = std::env::var_os("LAB_DIST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let backend = Path::new(env!("CARGO_MANIFEST_DIR"));
                backend.parent().expect("the workspace").join("dist")
            });
        if !dist.join("index.html").is_file() {
            return Err(format!(
                "no built frontend in {} (run `cargo xtask test`, which builds it, or set LAB_DIST_DIR)",
                dist.display()
            ));
        }
        let (browser, driver) = kind.binaries();
        for binary in [&browser, &driver] {
            if !binary.is_file() {
                return Err(format!(
                    "{} needs {} (run `cargo xtask test`, which installs it, or set {})",
                    kind.name(),
                    binary.display(),
                    kind.env_keys()
                ));
            }
        }
        Ok(Self {
            dist,
            kind,
            browser,
            driver,
        })
    }

    /// Starts the driver and a headless session in a fresh profile.
    pub async fn start(&self) -> Browser {
        self.start_trusting(None).await
    }

    /// [`Self::start`], trusting the TLS certificate whose SPKI pin (base64 SHA-256) is
    /// `spki_pin`: Chromium by that pin alone, not by ignoring every certificate error;
    /// Firefox, which has no such switch, by accepting insecure certificates.
    pub async fn start_trusting(&self, spki_pin: Option<&str>) -> Browser {
        self.start_with(spki_pin, None).await
    }

    /// [`Self::start_trusting`], with QUIC on and forced for `quic_origin`
    /// (`host:port`): Chromium takes HTTP/3 from a certificate that does not chain to a
    /// known root only when told. Firefox gets HTTP/3 on and may follow `Alt-Svc`.
    pub async fn start_with(&self, spki_pin: Option<&str>, quic_origin: Option<&str>) -> Browser {
        let trust = match spki_pin {
            Some(pin) => Trust::Pin(pin),
            None => Trust::Nothing,
        };
        self.launch(trust, quic_origin).await
    }

    /// Starts the driver and a headless session whose browser trusts the CA in
    /// `ca_pem` as a person's does after `lab-backend trust`: in the certificate
    /// database it reads (Chromium: `$HOME/.pki/nssdb`, a fresh `HOME`; Firefox: its
    /// fresh profile's), with no certificate-error switch.
    pub async fn start_trusting_ca(&self, ca_pem: &str) -> Browser {
        self.launch(Trust::Ca(ca_pem), None).await
    }

    /// [`Self::start_trusting_ca`] with HTTP/3 on: Chromium forced onto QUIC for
    /// `quic_origin`; Firefox free to follow `Alt-Svc`, with its switch that turns
    /// HTTP/3 off while a locally added root is present turned off.
    pub async fn start_trusting_ca_with_quic(&self, ca_pem: &str, quic_origin: &str) -> Browser {
        self.launch(Trust::Ca(ca_pem), Some(quic_origin)).await
    }

    /// [`Self::start`] (Chromium), recording V8's CPU samples of every thread, the
    /// page's and its workers', into chromedriver's performance log
    /// ([`Browser::cpu_profiles`]).
    pub async fn start_sampling_every_thread(&self) -> Browser {
        self.launch_traced(Trust::Nothing, None, true).await
    }

    async fn launch(&self, trust: Trust<'_>, quic_origin: Option<&str>) -> Browser {
        self.launch_traced(trust, quic_origin, false).await
    }

    async fn launch_traced(
        &self,
        trust: Trust<'_>,
        quic_origin: Option<&str>,
        sample_cpu: bool,
    ) -> Browser {
        let spki_pin = match trust {
            Trust::Pin(pin) => Some(pin),
            _ => None,
        };
        let port = free_port();
        let profile = TempDir::new(self.kind);
        let mut driver = Command::new(&self.driver);
        driver.arg(format!("--port={port}"));
        let firefox_profile = profile.0.join("firefox-profile");
        if self.kind == BrowserKind::Firefox {
            std::fs::create_dir_all(&firefox_profile).expect("create the Firefox profile");
        }
        if let Trust::Ca(ca_pem) = trust {
            let db = match self.kind {
                // Chromium (and so chromedriver's child) reads $HOME/.pki/nssdb.
                BrowserKind::Chromium => {
                    let home = profile.0.join("home");
                    driver.env("HOME", &home);
                    home.join(".pki/nssdb")
                }
                BrowserKind::Firefox => firefox_profile.clone(),
            };
            trust_in_nss_database(&db, ca_pem);
        }
        let capabilities = match self.kind {
            BrowserKind::Chromium => {
                let mut args = vec![
                    "--headless".to_owned(),
                    "--no-sandbox".into(),
                    "--disable-gpu".into(),
                    "--no-first-run".into(),
                    "--disable-background-networking".into(),
                    "--disable-component-update".into(),
                    "--disable-sync".into(),
                    "--window-size=1280,1000".into(),
                    // The pin below takes effect only with a user data directory.
                    format!("--user-data-dir={}", profile.0.join("chromium").display()),
                ];
                if let Some(pin) = spki_pin {
                    args.push(format!("--ignore-certificate-errors-spki-list={pin}"));
                }
                // The HTTP/2 listener advertises HTTP/3 (Alt-Svc): off unless asked, as
                // the other tests measure the version they chose.
                args.push(match quic_origin {
                    Some(origin) => format!("--origin-to-force-quic-on={origin}"),
                    None => "--disable-quic".into(),
                });
                let mut options = json!({ "binary": self.browser, "args": args });
                let mut capabilities = json!({});
                if sample_cpu {
                    // Chromium's trace of V8's sampling profiler, every thread.
                    options["perfLoggingPrefs"] = json!({
                        "enableNetwork": false,
                        "enablePage": false,
                        "traceCategories": "disabled-by-default-v8.cpu_profiler,__metadata",
                    });
                    capabilities["goog:loggingPrefs"] = json!({ "performance": "ALL" });
                }
                capabilities["goog:chromeOptions"] = options;
                capabilities
            }
            BrowserKind::Firefox => {
                // geckodriver's default WebSocket port (9222) would collide between
                // parallel tests; no test uses WebDriver BiDi.
                driver.args(["--websocket-port", &free_port().to_string()]);
                json!({
                    "acceptInsecureCerts": spki_pin.is_some(),
                    "moz:firefoxOptions": {
                        "binary": self.browser,
                        "args": [
                            "-headless", "-no-remote", "-width", "1280", "-height", "1000",
                            "-profile", firefox_profile,
                        ],
                        // As Chromium's --disable-quic: the HTTP/2 listener advertises
                        // HTTP/3 (Alt-Svc), and these tests measure the version chosen;
                        // on when a test asks for QUIC (Firefox follows Alt-Svc alone).
                        "prefs": match quic_origin {
                            Some(_) => json!({
                                "network.http.http3.enable": true,
                                "network.http.http3.disable_when_third_party_roots_found": false,
                            }),
                            None => json!({ "network.http.http3.enable": false }),
                        },
                    }
                })
            }
        };
        // Its own process group, so that a test that panics takes the browser down with
        // the driver (see `Drop`).
        let driver = driver
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("start {}: {err}", self.driver.display()));
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("capabilities are an object")
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                // The driver is still starting.
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!(
                    "cannot start a {} session through {}: {err}",
                    self.kind.name(),
                    self.driver.display()
                ),
            }
        };
        Browser {
            client,
            kind: self.kind,
            driver,
            _profile: profile,
        }
    }
}

/// How a browser trusts the lab's certificate.
#[derive(Debug, Clone, Copy)]
enum Trust<'a> {
    /// Not at all: certificate errors stand.
    Nothing,
    /// By its SPKI pin (Chromium), or by accepting insecure certificates (Firefox).
    Pin(&'a str),
    /// By the CA (PEM) in the certificate database the browser reads.
    Ca(&'a str),
}

/// certutil where the test command puts it (`LAB_CERTUTIL`), else Debian's.
pub fn certutil() -> PathBuf {
    env_path("LAB_CERTUTIL", "/usr/bin/certutil")
}

/// A new NSS database in `db` holding the CA `ca_pem`, trusted to issue server
/// certificates (what `lab-backend trust` adds).
fn trust_in_nss_database(db: &Path, ca_pem: &str) {
    let certutil = certutil();
    assert!(
        certutil.is_file(),
        "no certutil at {} (run `cargo xtask test`, which installs it, or set LAB_CERTUTIL)",
        certutil.display()
    );
    let ca_file = db.join("lab-ca.pem");
    let certutil = lab_backend::trust_store::Certutil::at(certutil);
    certutil.create(db).expect("a certificate database");
    std::fs::write(&ca_file, ca_pem).expect("write the CA");
    certutil
        .add(db, "lab test CA", &ca_file)
        .expect("the CA in the certificate database");
}

/// The samples a page exported as CSV, read by column name.
#[derive(Debug)]
pub struct ExportedCsv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl ExportedCsv {
    fn parse(text: &str) -> Self {
        let mut lines = text.lines();
        let split = |line: &str| line.split(',').map(str::to_owned).collect::<Vec<_>>();
        let header = split(lines.next().expect("a CSV header"));
        Self {
            header,
            rows: lines.map(split).collect(),
        }
    }

    /// Column `name` of every sample ("" where a row has none).
    pub fn column(&self, name: &str) -> Vec<&str> {
        let index = self
            .header
            .iter()
            .position(|column| column == name)
            .unwrap_or_else(|| panic!("no {name} column in {:?}", self.header));
        self.rows
            .iter()
            .map(|row| row.get(index).map_or("", String::as_str))
            .collect()
    }

    /// Column `name` of every sample as numbers (`None` where empty).
    pub fn numbers(&self, name: &str) -> Vec<Option<f64>> {
        self.column(name)
            .into_iter()
            .map(|value| value.parse().ok())
            .collect()
    }
}

/// A WebDriver server and its headless browser session, both ended on drop.
pub struct Browser {
    pub client: Client,
    pub kind: BrowserKind,
    driver: Child,
    _profile: TempDir,
}

impl Browser {
    /// Waits for an element matching `css`, then returns its text.
    pub async fn text_of(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        element.text().await.expect("read element text")
    }

    /// Waits up to [`WAIT`] for an element matching `css`.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.wait_for_within(css, WAIT).await
    }

    /// Waits up to `timeout` for an element matching `css`.
    pub async fn wait_for_within(
        &self,
        css: &str,
        timeout: Duration,
    ) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(timeout)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|err| {
                panic!(
                    "{}: no element matches `{css}` within {timeout:?}: {err}",
                    self.kind.name()
                )
            })
    }

    /// The number shown by `[data-testid=testid]`: its leading digits, with grouping
    /// separators ("12 ms" is 12, "100,000" is 100000); `None` for "—" (nothing yet).
    pub async fn number_or_none(&self, testid: &str) -> Option<f64> {
        let text = self.text_of(&format!("[data-testid={testid}]")).await;
        if text.trim() == "—" {
            return None;
        }
        let digits: String = text
            .chars()
            .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '\u{202f}' | '\u{a0}'))
            .filter(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        Some(digits.parse().unwrap_or_else(|_| {
            panic!(
                "{}: {testid} shows {text:?}, not a number",
                self.kind.name()
            )
        }))
    }

    /// The number shown by `[data-testid=testid]` (see [`Self::number_or_none`]).
    pub async fn number_in(&self, testid: &str) -> f64 {
        self.number_or_none(testid)
            .await
            .unwrap_or_else(|| panic!("{}: {testid} shows no number", self.kind.name()))
    }

    /// The number in the results table's `row` for `protocol` (`grpc-web` or `rest`):
    /// `[data-testid=summary-{protocol}-{row}]`.
    pub async fn summary(&self, protocol: &str, row: &str) -> f64 {
        self.number_in(&format!("summary-{protocol}-{row}")).await
    }

    /// Asserts that the run made `requests` requests over `protocol` and that none
    /// failed, else shows the page's error for them.
    pub async fn assert_succeeded(&self, protocol: &str, requests: f64, what: &str) {
        if self.summary(protocol, "errors").await > 0.0 {
            let error = self
                .text_of(&format!("[data-testid=error-{protocol}]"))
                .await;
            panic!("{}: {what}: {error}", self.kind.name());
        }
        assert_eq!(
            self.summary(protocol, "requests").await,
            requests,
            "{}: {what}: {protocol} requests",
            self.kind.name()
        );
    }

    /// Waits for an element matching `css` and clicks it.
    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|err| panic!("click `{css}`: {err}"));
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("open the lab");
    }

    /// The attribute `name` of every element matching `css`, in document order.
    pub async fn attributes(&self, css: &str, name: &str) -> Vec<String> {
        let mut values = Vec::new();
        for element in self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("find elements")
        {
            values.push(
                element
                    .attr(name)
                    .await
                    .expect("read an attribute")
                    .unwrap_or_default(),
            );
        }
        values
    }

    /// Opens `url` in a browser that does not trust its certificate and goes past the
    /// warning as a person does: Chromium's "Advanced", then "Proceed to … (unsafe)"
    /// (where the page shows one).
    pub async fn open_past_the_certificate_warning(&self, url: &str) {
        // The navigation itself reports the insecure certificate; the warning page is
        // what the browser shows.
        let _ = self.client.goto(url).await;
        // No warning where this host's certificate was accepted already (Chromium
        // remembers the decision per host, whatever the port).
        if self
            .client
            .find(Locator::Css("#details-button"))
            .await
            .is_ok()
        {
            self.click("#details-button").await;
            self.click("#proceed-link").await;
        }
    }

    /// Opens the lab at `url` (its settings in the query), runs it and waits up to
    /// [`WAIT`] for the end.
    pub async fn run_lab(&self, url: &str) {
        self.run_lab_within(url, WAIT).await;
    }

    /// Opens the lab at `url`, runs it and waits up to `timeout` for the end.
    pub async fn run_lab_within(&self, url: &str, timeout: Duration) {
        self.goto(url).await;
        self.start_run().await;
        self.wait_for_within("[data-testid=progress][data-phase=finished]", timeout)
            .await;
    }

    /// Clicks Run on the page as it is and waits for that run's end.
    pub async fn run_again(&self) {
        self.start_run().await;
        self.wait_for("[data-testid=progress][data-phase=finished]")
            .await;
    }

    /// Presses the button `button` (a test id) once it is enabled and waits up to
    /// `timeout` for the progress line `progress` (a test id) to read finished: a sweep
    /// (`run-sweep`, `sweep-progress`) or a matrix (`run-matrix`, `matrix-progress`).
    pub async fn press_and_wait(&self, button: &str, progress: &str, timeout: Duration) {
        self.click(&format!("[data-testid={button}]:not([disabled])"))
            .await;
        self.wait_for_within(
            &format!("[data-testid={progress}][data-phase=finished]"),
            timeout,
        )
        .await;
    }

    /// Clicks Run once it is enabled. The progress bar's phase is marked stale first,
    /// so that an earlier run's "finished" does not pass for this one's.
    pub async fn start_run(&self) {
        let run = self.wait_for("[data-testid=run]:not([disabled])").await;
        self.client
            .execute(
                "document.querySelector('[data-testid=progress]').setAttribute('data-phase', 'stale')",
                vec![],
            )
            .await
            .expect("mark the progress bar stale");
        run.click().await.expect("click Run");
    }

    /// Waits up to 15 s for the page to have moved to `origin`; returns its URL.
    pub async fn wait_until_at(&self, origin: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let url = self.client.current_url().await.expect("the page's URL");
            if url.as_str().starts_with(origin) {
                return url.into();
            }
            assert!(Instant::now() < deadline, "the page stayed at {url}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to 10 s until the page has matched `total` of its requests to their
    /// Resource Timing entries (they arrive on their own schedule, some after the run
    /// ends).
    pub async fn wait_for_timings(&self, total: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let summary = self.wait_for("[data-testid=summary]").await;
            let mut matched = 0;
            for protocol in ["grpc-web", "rest"] {
                matched += summary
                    .attr(&format!("data-timed-{protocol}"))
                    .await
                    .expect("read the summary")
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
            if matched >= total {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: only {matched} of {total} requests got their Resource Timing entry",
                self.kind.name()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Clicks the export button `testid` and returns the file the page offered.
    async fn exported(&self, testid: &str) -> String {
        // Keep the Blob the page turns into a download.
        self.client
            .execute(
                "window.labExport = null; const original = URL.createObjectURL; \
                 URL.createObjectURL = blob => { window.labExport = blob; return original.call(URL, blob); };",
                vec![],
            )
            .await
            .expect("watch the page's downloads");
        self.click(&format!("[data-testid={testid}]")).await;
        let file = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1]; window.labExport.text().then(done);",
                vec![],
            )
            .await
            .expect("read the exported file");
        file.as_str().expect("the file as text").to_owned()
    }

    /// Clicks "Export CSV" and returns the file the page offered.
    pub async fn exported_csv(&self) -> ExportedCsv {
        ExportedCsv::parse(&self.exported("export-csv").await)
    }

    /// Clicks "Export JSON" and returns the document the page offered.
    pub async fn exported_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.exported("export-json").await).expect("the export is JSON")
    }

    /// Ends the session, then the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.driver.try_wait().is_ok_and(|status| status.is_none()) {
            // The session was not closed (a test failed): end the driver's whole
            // process group, which holds the browser it started.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.driver.id())])
                .status();
            let _ = self.driver.wait();
        }
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
    fn new(kind: BrowserKind) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "lab-{}-{}-{}",
            kind.name().to_lowercase(),
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
