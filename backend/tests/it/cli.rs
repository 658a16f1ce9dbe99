//! The `lab-backend` command line: where it agrees to listen, what it says when it
//! cannot, the TLS certificate (issued once by the lab's CA, reused, or one's own), and
//! `trust`/`untrust` against throw-away browser databases.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lab_backend::trust_store::Certutil;
use lab_backend::{certificate, local_ca};

/// The backend with the plain listener only (the TLS ones' default ports could be
/// taken by a lab running on this machine).
fn backend(args: &[&str]) -> Command {
    let mut command = backend_with_tls(args);
    command.arg("--no-tls");
    command
}

/// The backend with every listener, the TLS ones on ephemeral ports.
fn backend_with_tls(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lab-backend"));
    command
        .args(args)
        .args(["--static-dir", "/nonexistent"])
        .args([
            "--tls-http1-addr",
            "127.0.0.1:0",
            "--tls-h2-addr",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "warn");
    command
}

/// A new empty directory of this test process.
fn temp_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "lab-cli-{}-{name}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the backend for at most `within`; kills it if it is still serving by then.
fn run_briefly(mut command: Command, within: Duration) -> (Option<Output>, String) {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            return (Some(output), stderr);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    (None, String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn a_non_loopback_address_needs_public() {
    let (exited, stderr) = run_briefly(backend(&["--addr", "0.0.0.0:0"]), Duration::from_secs(5));
    let output = exited.expect("the backend served a non-loopback address without --public");
    assert!(!output.status.success());
    assert!(
        stderr.contains("0.0.0.0:0 is not a loopback address") && stderr.contains("--public"),
        "{stderr}"
    );

    // With the flag it serves (and is stopped right away: no traffic is sent to it).
    let (exited, stdout) = run_briefly(
        backend(&["--addr", "0.0.0.0:0", "--public"]),
        Duration::from_secs(2),
    );
    assert!(exited.is_none(), "the backend exited with --public");
    assert!(
        stdout.starts_with("The lab is at http://0.0.0.0:"),
        "{stdout}"
    );
}

#[test]
fn the_default_addresses_are_loopback() {
    let help = backend(&["--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    for default in ["127.0.0.1:8080", "127.0.0.1:8443", "127.0.0.1:8444"] {
        assert!(text.contains(&format!("[default: {default}]")), "{text}");
    }
}

#[test]
fn a_non_loopback_tls_address_needs_public_too() {
    let dir = temp_dir("public");
    let mut command = Command::new(env!("CARGO_BIN_EXE_lab-backend"));
    command
        .args(["--addr", "127.0.0.1:0", "--tls-http1-addr", "127.0.0.1:0"])
        .args(["--tls-h2-addr", "0.0.0.0:0", "--static-dir", "/nonexistent"])
        .arg("--tls-dir")
        .arg(&dir)
        .env("RUST_LOG", "warn");
    let (exited, stderr) = run_briefly(command, Duration::from_secs(5));
    let output = exited.expect("the backend served a non-loopback address without --public");
    assert!(!output.status.success());
    assert!(
        stderr.contains("0.0.0.0:0 is not a loopback address"),
        "{stderr}"
    );
}

#[test]
fn a_busy_port_says_how_to_pick_another() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (exited, stderr) = run_briefly(backend(&["--addr", &addr]), Duration::from_secs(5));
    assert!(!exited.expect("the backend did not exit").status.success());
    assert!(
        stderr.contains(&format!("{addr} is already in use")) && stderr.contains("--addr"),
        "{stderr}"
    );
}

/// What the backend printed when serving with its certificate in `dir`.
fn serve_with_tls_dir(dir: &Path) -> String {
    let (exited, stdout) = run_briefly(
        backend_with_tls(&["--addr", "127.0.0.1:0", "--tls-dir", dir.to_str().unwrap()]),
        Duration::from_secs(3),
    );
    assert!(exited.is_none(), "the backend exited: {exited:?}");
    stdout
}

/// The SPKI pin the backend announced.
fn announced_pin(stdout: &str) -> &str {
    stdout
        .split("SPKI pin: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("no pin announced: {stdout}"))
}

#[test]
fn a_missing_certificate_is_created_then_the_saved_one_is_reused() {
    let dir = temp_dir("reuse").join("nested");
    let first = serve_with_tls_dir(&dir);
    assert!(
        first.contains(&format!(
            "TLS certificate: issued now by the lab's CA, in {}",
            dir.display()
        )),
        "{first}"
    );
    for line in [
        "The lab is at http://127.0.0.1:",
        "HTTP/1.1 over TLS at https://127.0.0.1:",
        "HTTP/2 over TLS at https://127.0.0.1:",
        "--ignore-certificate-errors-spki-list=",
        "trust the lab's CA once: `cargo xtask trust`",
    ] {
        assert!(first.contains(line), "{line:?} missing from: {first}");
    }
    let pin = announced_pin(&first).to_owned();
    assert_eq!(pin.len(), 44, "{pin}");
    let saved = std::fs::read(dir.join(certificate::CERT_FILE)).unwrap();
    assert!(saved.starts_with(b"-----BEGIN CERTIFICATE-----"));
    // The chain ends with the CA saved beside it.
    let ca = std::fs::read_to_string(dir.join(local_ca::CA_CERT_FILE)).unwrap();
    assert!(String::from_utf8_lossy(&saved).ends_with(&ca));
    #[cfg(unix)]
    for key in [certificate::KEY_FILE, local_ca::CA_KEY_FILE] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key} is readable by others: {mode:o}");
    }

    let second = serve_with_tls_dir(&dir);
    assert!(
        second.contains(&format!(
            "TLS certificate: issued by the lab's CA, in {}",
            dir.display()
        )),
        "{second}"
    );
    assert_eq!(
        announced_pin(&second),
        pin,
        "a restart changed the certificate"
    );
    assert_eq!(
        std::fs::read(dir.join(certificate::CERT_FILE)).unwrap(),
        saved
    );
}

#[test]
fn no_tls_serves_the_plain_listener_only() {
    let dir = temp_dir("no-tls");
    let (exited, stdout) = run_briefly(
        backend(&["--addr", "127.0.0.1:0", "--tls-dir", dir.to_str().unwrap()]),
        Duration::from_secs(2),
    );
    assert!(exited.is_none(), "the backend exited: {exited:?}");
    assert!(
        stdout.starts_with("The lab is at http://127.0.0.1:"),
        "{stdout}"
    );
    assert!(!stdout.contains("https://"), "{stdout}");
    assert!(!stdout.contains("SPKI"), "{stdout}");
    // Nothing was generated.
    assert!(!dir.join(certificate::CERT_FILE).exists());
}

/// The backend with one's own certificate files.
fn backend_with_own_certificate(cert: &Path, key: &Path) -> Command {
    let mut command = backend_with_tls(&["--addr", "127.0.0.1:0"]);
    command
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key);
    command
}

/// Runs the backend with one's own certificate files; it must exit with one line.
fn refused_tls_files(cert: &Path, key: &Path) -> String {
    let (exited, stderr) = run_briefly(
        backend_with_own_certificate(cert, key),
        Duration::from_secs(5),
    );
    let output = exited.expect("the backend served with unusable certificate files");
    assert!(!output.status.success());
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    stderr
}

#[test]
fn unreadable_or_mismatched_certificate_files_get_a_one_line_error() {
    let dir = temp_dir("bad-files");
    let (a, b) = (
        certificate::generate().unwrap(),
        certificate::generate().unwrap(),
    );
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let (cert_a, key_a, key_b) = (
        write("a.pem", &a.cert),
        write("a.key", &a.key),
        write("b.key", &b.key),
    );
    let missing = dir.join("missing.pem");
    let garbage = write("garbage.pem", "not PEM at all");

    let stderr = refused_tls_files(&missing, &key_a);
    assert!(
        stderr.starts_with(&format!(
            "error: cannot read certificate {}: ",
            missing.display()
        )),
        "{stderr}"
    );
    let stderr = refused_tls_files(&cert_a, &missing);
    assert!(
        stderr.starts_with(&format!("error: cannot read key {}: ", missing.display())),
        "{stderr}"
    );
    let stderr = refused_tls_files(&cert_a, &key_b);
    // One line of error (after the log's warning about the missing UI).
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert_eq!(
        stderr.trim_end().lines().last().unwrap(),
        format!(
            "error: the key {} does not belong to the certificate {}",
            key_b.display(),
            cert_a.display()
        )
    );
    let stderr = refused_tls_files(&garbage, &key_a);
    // One line of error (after the log's warning about the missing UI).
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert_eq!(
        stderr.trim_end().lines().last().unwrap(),
        format!(
            "error: certificate {} holds no certificate in PEM form",
            garbage.display()
        )
    );

    // The pair that belongs together serves, with the certificate's own pin.
    let (exited, stdout) = run_briefly(
        backend_with_own_certificate(&cert_a, &key_a),
        Duration::from_secs(3),
    );
    assert!(exited.is_none(), "the backend exited: {exited:?}");
    assert!(
        stdout.contains(&format!("TLS certificate: {};", cert_a.display())),
        "{stdout}"
    );
    let own = lab_backend::certificate::Certificate::load(&cert_a, &key_a).unwrap();
    assert_eq!(announced_pin(&stdout), own.spki_pin());
}

#[test]
fn a_half_saved_certificate_is_reported_not_replaced() {
    let dir = temp_dir("half");
    std::fs::write(dir.join(certificate::CERT_FILE), "kept").unwrap();
    let (exited, stderr) = run_briefly(
        backend_with_tls(&["--addr", "127.0.0.1:0", "--tls-dir", dir.to_str().unwrap()]),
        Duration::from_secs(5),
    );
    assert!(!exited.expect("the backend served").status.success());
    assert!(
        stderr.contains("exists but") && stderr.contains(certificate::KEY_FILE),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(certificate::CERT_FILE)).unwrap(),
        "kept"
    );
}

#[test]
fn a_bad_network_profile_gets_a_one_line_error() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["--link", "5g"],
            "error: --link 5g: unknown link profile \"5g\": use loopback, lighthouse-mobile,",
        ),
        (
            &["--link", "rtt=100"],
            "error: --link rtt=100: rtt \"100\": a duration such as 100ms or 0.25s",
        ),
        (
            &["--link", "intercontinental", "--link", "intercontinental"],
            "error: --link: intercontinental is offered twice",
        ),
        (
            &["--link", "rtt=1ms;rtt=2ms,down=1mbit"],
            "error: --link: custom is offered twice (one custom profile at most)",
        ),
    ];
    for (args, expected) in cases {
        let mut command = backend(&["--addr", "127.0.0.1:0"]);
        command.args(args);
        let (exited, stderr) = run_briefly(command, Duration::from_secs(5));
        let output = exited.unwrap_or_else(|| panic!("{args:?}: the backend kept running"));
        assert!(!output.status.success(), "{args:?}");
        assert!(stderr.starts_with(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn each_network_gets_listeners_on_the_next_hundred_ports() {
    // A free port whose +100 and +200 are very likely free too (nothing else of this
    // test binary listens on fixed ports).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .min(65_000);
    let addr = format!("127.0.0.1:{port}");
    let (exited, stdout) = run_briefly(
        backend(&[
            "--addr",
            &addr,
            "--link",
            "lighthouse-mobile",
            "--link",
            "rtt=100ms,down=8mbit",
        ]),
        Duration::from_secs(2),
    );
    assert!(exited.is_none(), "the backend exited: {exited:?}");
    assert!(
        stdout.starts_with(&format!("The lab is at http://{addr}/")),
        "{stdout}"
    );
    let mobile = format!(
        "  lighthouse-mobile: rtt=150ms, down=1638.4kbit, up=750kbit: http://127.0.0.1:{}\n",
        port + 100
    );
    let custom = format!(
        "  custom: rtt=100ms, down=8mbit, up=unlimited: http://127.0.0.1:{}\n",
        port + 200
    );
    assert!(stdout.contains(&mobile), "{stdout}");
    assert!(stdout.contains(&custom), "{stdout}");
    // `--link loopback`: no emulated network at all.
    let (exited, stdout) = run_briefly(
        backend(&["--addr", "127.0.0.1:0", "--link", "loopback"]),
        Duration::from_secs(2),
    );
    assert!(exited.is_none(), "the backend exited: {exited:?}");
    assert!(!stdout.contains("Emulated"), "{stdout}");
}

#[test]
fn a_busy_udp_port_for_http3_says_how_to_pick_another_or_go_without() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = temp_dir("busy-udp");
    let mut command = backend_with_tls(&["--addr", "127.0.0.1:0", "--h3-addr", &addr]);
    command
        .arg("--tls-dir")
        .arg(&dir)
        .args(["--link", "loopback"]);
    let (exited, stderr) = run_briefly(command, Duration::from_secs(5));
    assert!(!exited.expect("the backend did not exit").status.success());
    // One line of error (after the log's warning about the missing UI).
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert_eq!(
        stderr.trim_end().lines().last().unwrap(),
        format!(
            "error: UDP {addr} is already in use: pick another address with --h3-addr \
             127.0.0.1:<port> (or LAB_H3_ADDR), or pass --no-h3"
        )
    );
}

#[test]
fn the_startup_message_says_how_to_start_chromium_over_http3() {
    let dir = temp_dir("h3-message");
    let stdout = serve_with_tls_dir(&dir);
    let pin = announced_pin(&stdout);
    let quic = stdout
        .lines()
        .find_map(|line| line.strip_prefix("HTTP/3 over QUIC at https://"))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no QUIC listener announced: {stdout}"))
        .to_owned();
    let command = stdout
        .lines()
        .find(|line| line.trim_start().starts_with("chromium "))
        .unwrap_or_else(|| panic!("no Chromium command line: {stdout}"));
    assert!(
        command.contains(&format!("--origin-to-force-quic-on={quic},"))
            && command.contains(&format!("--ignore-certificate-errors-spki-list={pin}"))
            && command.contains("--user-data-dir=")
            && command.ends_with(&format!(" https://{quic}/")),
        "{command}"
    );

    // Without HTTP/3: neither the listener nor the command.
    let mut command = backend_with_tls(&["--addr", "127.0.0.1:0", "--no-h3"]);
    command.arg("--tls-dir").arg(&dir);
    let (exited, stdout) = run_briefly(command, Duration::from_secs(3));
    assert!(exited.is_none(), "the backend exited: {exited:?}");
    assert!(stdout.contains("HTTP/2 over TLS at"), "{stdout}");
    assert!(!stdout.contains("QUIC"), "{stdout}");
}

#[test]
fn a_self_signed_certificate_of_an_earlier_version_is_replaced_by_one_the_ca_issues() {
    let dir = temp_dir("reissue");
    let old = certificate::generate().unwrap();
    std::fs::write(dir.join(certificate::CERT_FILE), &old.cert).unwrap();
    std::fs::write(dir.join(certificate::KEY_FILE), &old.key).unwrap();
    let stdout = serve_with_tls_dir(&dir);
    assert!(
        stdout.contains("issued now by the lab's CA, replacing one it had not issued"),
        "{stdout}"
    );
    let now = std::fs::read_to_string(dir.join(certificate::CERT_FILE)).unwrap();
    let ca = std::fs::read_to_string(dir.join(local_ca::CA_CERT_FILE)).unwrap();
    assert!(now.ends_with(&ca) && now != old.cert);
}

/// A throw-away home with an empty Firefox profile database (as a first start of
/// Firefox leaves it) and no Chromium database yet.
fn home_with_browsers(certutil: &Path) -> PathBuf {
    let home = temp_dir("home");
    let firefox = home.join(".config/mozilla/firefox");
    let profile = firefox.join("abcd.lab-test");
    std::fs::create_dir_all(&profile).unwrap();
    std::fs::write(
        firefox.join("profiles.ini"),
        "[Profile0]\nName=lab-test\nIsRelative=1\nPath=abcd.lab-test\nDefault=1\n",
    )
    .unwrap();
    // What Firefox's first start leaves: an empty database.
    Certutil::at(certutil.to_owned()).create(&profile).unwrap();
    home
}

/// `lab-backend trust|untrust` with its data in `dir`, its browsers under `home`.
fn trust_command(verb: &str, dir: &Path, home: &Path, certutil: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lab-backend"));
    command
        .args([verb, "--tls-dir"])
        .arg(dir)
        .env("HOME", home)
        .env("RUST_LOG", "warn");
    match certutil {
        Some(certutil) => command.env("LAB_CERTUTIL", certutil),
        None => command.env("LAB_CERTUTIL", home.join("no-certutil-here")),
    };
    command.output().unwrap()
}

/// The trust-store name of the CA saved in `dir`.
fn ca_nickname(dir: &Path) -> String {
    let ca = local_ca::LocalCa::load(
        &dir.join(local_ca::CA_CERT_FILE),
        &dir.join(local_ca::CA_KEY_FILE),
    )
    .unwrap();
    ca.nickname()
}

/// The nicknames of the certificates in the NSS database `db`.
fn nss_listing(certutil: &Path, db: &Path) -> String {
    let output = Command::new(certutil)
        .arg("-L")
        .arg("-d")
        .arg(format!("sql:{}", db.display()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// certutil where the test command puts it (`LAB_CERTUTIL`) or Debian does; `None`
/// (the test says so and passes) outside `cargo xtask test` without it.
fn certutil() -> Option<PathBuf> {
    let path = crate::support::browser::certutil();
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("LAB_REQUIRE_BROWSERS").is_none_or(|v| v != "1"),
        "no certutil at {}, and LAB_REQUIRE_BROWSERS=1",
        path.display()
    );
    eprintln!("skipped: no certutil at {}", path.display());
    None
}

#[test]
fn trust_adds_the_ca_to_each_browser_database_and_untrust_removes_it() {
    let Some(certutil) = certutil() else { return };
    let (dir, home) = (temp_dir("trust-data"), home_with_browsers(&certutil));
    let trusted = trust_command("trust", &dir, &home, Some(&certutil));
    let stdout = String::from_utf8_lossy(&trusted.stdout);
    assert!(
        trusted.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    assert!(
        stdout.contains("can vouch for 127.0.0.1, ::1 and localhost only"),
        "{stdout}"
    );
    let chromium = home.join(".pki/nssdb");
    let firefox = home.join(".config/mozilla/firefox/abcd.lab-test");
    for db in [&chromium, &firefox] {
        assert!(
            stdout.contains(&format!("added to {}", db.display())),
            "{stdout}"
        );
        let listing = nss_listing(&certutil, db);
        assert!(
            listing.contains("gRPC-Web vs REST lab local CA") && listing.contains("C,,"),
            "{}: {listing}",
            db.display()
        );
    }
    // The CA it added is the one that issues the listeners' certificate.
    assert!(dir.join(local_ca::CA_CERT_FILE).is_file());
    // Twice is harmless.
    let again = trust_command("trust", &dir, &home, Some(&certutil));
    assert!(String::from_utf8_lossy(&again.stdout).contains("already trusts it"));

    let removed = trust_command("untrust", &dir, &home, Some(&certutil));
    let stdout = String::from_utf8_lossy(&removed.stdout);
    assert!(removed.status.success(), "{stdout}");
    for db in [&chromium, &firefox] {
        let line = format!("removed \"{}\" from {}", ca_nickname(&dir), db.display());
        assert!(stdout.contains(&line), "{line:?} missing from: {stdout}");
        assert!(!nss_listing(&certutil, db).contains("gRPC-Web vs REST lab"));
    }
    let nothing = trust_command("untrust", &dir, &home, Some(&certutil));
    assert!(String::from_utf8_lossy(&nothing.stdout).contains("nothing changed"));

    // A CA of another data directory (an earlier install) goes too.
    let other = temp_dir("trust-other");
    trust_command("trust", &other, &home, Some(&certutil));
    assert!(nss_listing(&certutil, &chromium).contains(&ca_nickname(&other)));
    let removed = trust_command("untrust", &dir, &home, Some(&certutil));
    assert!(removed.status.success());
    assert!(!nss_listing(&certutil, &chromium).contains("gRPC-Web vs REST lab"));
}

#[test]
fn trust_refuses_in_one_line_without_certutil_and_changes_nothing() {
    let (dir, home) = (temp_dir("no-certutil-data"), temp_dir("no-certutil-home"));
    let refused = trust_command("trust", &dir, &home, None);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: certutil not found: install NSS's tools (Debian, Ubuntu: apt-get install libnss3-tools"),
        "{stderr}"
    );
    assert!(!home.join(".pki").exists(), "a database was made");
}

#[test]
fn trust_says_when_firefox_has_no_profile() {
    let Some(certutil) = certutil() else { return };
    let (dir, home) = (temp_dir("no-firefox-data"), temp_dir("no-firefox-home"));
    let trusted = trust_command("trust", &dir, &home, Some(&certutil));
    let stdout = String::from_utf8_lossy(&trusted.stdout);
    assert!(trusted.status.success(), "{stdout}");
    assert!(stdout.contains("Firefox: no profile found"), "{stdout}");
    assert!(
        stdout.contains("created the empty certificate database"),
        "{stdout}"
    );
    assert!(nss_listing(&certutil, &home.join(".pki/nssdb")).contains("gRPC-Web vs REST lab"));
}
