//! The `lab-backend` command line: where it agrees to listen, and what it says when it
//! cannot.

use std::process::{Command, Output};
use std::time::Duration;

fn backend(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lab-backend"));
    command
        .args(args)
        .args(["--static-dir", "/nonexistent"])
        .env("RUST_LOG", "warn");
    command
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
fn the_default_address_is_loopback() {
    let help = backend(&["--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("[default: 127.0.0.1:8080]"), "{text}");
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
