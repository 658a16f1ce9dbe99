//! `cargo xtask`: the lab's commands and the bootstrap behind them.
//!
//! - `cargo xtask demo [--addr ADDR]`: bootstrap, build the frontend (release), start
//!   the backend serving it and both APIs.
//! - `cargo xtask test`: bootstrap (browsers included), build the frontend, check the
//!   bundle against its size budget, then format check, `buf lint` of the contract,
//!   clippy, `cargo deny` (licences, duplicates, sources) and every test of the
//!   workspace, the load tests and the browser tests in Chromium and Firefox included
//!   (here they fail instead of skipping when a browser or `dist/` is missing).
//! - `cargo xtask dev`: bootstrap, then `trunk serve` with hot reload into its own
//!   directory, `target/dev-dist/` (API calls go to a backend on 127.0.0.1:8080, see
//!   Trunk.toml).
//! - `cargo xtask build`: the release frontend into `dist/`, with its sizes (raw, gzip,
//!   brotli) and the budget.
//! - `cargo xtask bench`: load benchmark of the release backend, into `docs/benchmark.md`.
//! - `cargo xtask soak [--minutes N]`: mixed load with streams for N minutes (default
//!   10), memory and p99 every minute; not part of `test`.
//! - `cargo xtask trust` / `cargo xtask untrust`: add the lab's local CA to this user's
//!   browsers (Chromium's and Firefox's NSS databases), or remove it; `lab-backend
//!   trust|untrust` of the release backend, certutil installed first.
//! - `cargo xtask bootstrap`: install what is missing, nothing else.

mod bench;
mod bench_native;
mod bootstrap;
mod bundle_budget;
mod command;
mod frontend_build;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::command::{Failure, Step, workspace_root};

/// The feature that builds the custom shapes' worker (`lab-custom-worker`) and its codec:
/// the test command checks and tests that code too.
const CUSTOM_SHAPES: &str = "lab-worker/custom-shapes";

#[derive(Debug, Parser)]
#[command(about = "Build, run and test the gRPC-Web vs REST lab")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Build the frontend and start the lab (UI + REST + gRPC-Web + gRPC).
    Demo {
        /// Address to serve on.
        #[arg(long, env = "LAB_ADDR", default_value = "127.0.0.1:8080")]
        addr: String,
    },
    /// Run every test: unit, integration, headless Chromium and Firefox, bundle budget.
    Test,
    /// Build the frontend (release) into dist/ and print the bundle's sizes and budget.
    Build,
    /// Hot-reloading frontend (`trunk serve`, into target/dev-dist) against a running
    /// backend.
    Dev,
    /// Load-benchmark the release backend (oha, h2load) into docs/benchmark.md.
    Bench,
    /// The native runner's figures (every workload, shape size, HTTP version and
    /// network; the streaming modes; CPU per request; against h2load) into
    /// docs/native.md.
    BenchNative,
    /// The lab's client next to a bare fetch loop in headless Chromium, against the
    /// release backend: the table for docs/client-overhead.md.
    BenchClient,
    /// Mixed load with streams on the release backend for N minutes (loopback only),
    /// memory and latency printed every minute.
    Soak {
        /// How long to run.
        #[arg(long, default_value_t = 10)]
        minutes: u32,
    },
    /// Add the lab's local certificate authority to this user's browsers (Chromium's NSS
    /// database and each Firefox profile's), so every https:// listener opens without a
    /// warning. Honours LAB_TLS_DIR.
    Trust,
    /// Remove the lab's local certificate authority from this user's browsers.
    Untrust,
    /// Install missing build tools and exit.
    Bootstrap {
        /// Also install the browsers and drivers the tests use.
        #[arg(long)]
        browser: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// Totals of cargo test's `test result:` lines over all test binaries.
#[derive(Debug, Default)]
struct TestSummary {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl TestSummary {
    /// Adds `test result: ok. 5 passed; 0 failed; 1 ignored; ...`; other lines pass.
    fn add(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(count)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(count) = count.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => self.passed += count,
                "failed" => self.failed += count,
                "ignored" => self.ignored += count,
                _ => {}
            }
        }
    }
}

fn run(task: Task) -> Result<(), Failure> {
    let root = workspace_root();
    match task {
        Task::Bootstrap { browser } => {
            let tools = bootstrap::web_tools(&root)?;
            if browser {
                println!("bootstrap: browsers {}", bootstrap::browsers()?.describe());
            }
            println!("bootstrap: ready ({})", tools.describe());
            Ok(())
        }
        Task::Demo { addr } => {
            let tools = bootstrap::web_tools(&root)?;
            let dist = frontend_build::release(&root, &tools)?;
            command::cargo(&root)
                .args(["run", "--release", "--package", "lab-backend", "--"])
                .args(["--addr", &addr, "--static-dir"])
                .arg(&dist)
                .run_to_end()
        }
        Task::Test => {
            let tools = bootstrap::web_tools(&root)?;
            let browsers = bootstrap::browsers()?;
            let dist = frontend_build::release(&root, &tools)?;
            // First, as it is cheap and deterministic for a toolchain.
            frontend_build::judge_budget(&dist, tools.std_built_from_source())?;
            command::cargo(&root)
                .args(["fmt", "--all", "--check"])
                .run_to_end()?;
            Step::new(root.join("node_modules/.bin/buf"))
                .current_dir(root.join("proto"))
                .arg("lint")
                .run_to_end()?;
            command::cargo(&root)
                .args([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    // The custom shapes' worker and its codec, which no default build has.
                    "--features",
                    CUSTOM_SHAPES,
                    "--",
                    "-D",
                    "warnings",
                ])
                .run_to_end()?;
            // cargo-deny reads every crate of the lock file, those of other platforms
            // too, which no build here downloads.
            command::cargo(&root)
                .args(["fetch", "--locked"])
                .run_to_end()?;
            // Licences, duplicate crates and sources of the dependency tree (deny.toml).
            Step::new(bootstrap::cargo_deny()?)
                .current_dir(&root)
                .args(["deny", "--offline", "check", "licenses", "bans", "sources"])
                .run_to_end()?;
            let mut summary = TestSummary::default();
            let outcome = command::cargo(&root)
                .args([
                    "test",
                    "--workspace",
                    "--all-targets",
                    "--features",
                    CUSTOM_SHAPES,
                ])
                .env("LAB_DIST_DIR", &dist)
                .env("LAB_CHROME", &browsers.chrome)
                .env("LAB_CHROMEDRIVER", &browsers.chromedriver)
                .env("LAB_FIREFOX", &browsers.firefox)
                .env("LAB_GECKODRIVER", &browsers.geckodriver)
                .env("LAB_CERTUTIL", &browsers.certutil)
                // Plain `cargo test` skips the browser tests when a browser or dist/ is
                // missing; the test command must run them.
                .env("LAB_REQUIRE_BROWSERS", "1")
                .run_inspecting_stdout(|line| summary.add(line));
            // One closing line for the whole workspace, after cargo's per-binary ones.
            println!(
                "\ntests: {} passed, {} failed, {} skipped",
                summary.passed, summary.failed, summary.ignored
            );
            outcome
        }
        Task::Trust | Task::Untrust => {
            let verb = if matches!(task, Task::Trust) {
                "trust"
            } else {
                "untrust"
            };
            let certutil = bootstrap::certutil()?;
            command::cargo(&root)
                .args([
                    "run",
                    "--quiet",
                    "--release",
                    "--package",
                    "lab-backend",
                    "--",
                ])
                .arg(verb)
                .env("LAB_CERTUTIL", certutil)
                .run_to_end()
        }
        Task::Bench => bench::run(&root),
        Task::BenchNative => bench_native::run(&root),
        Task::BenchClient => {
            let tools = bootstrap::web_tools(&root)?;
            let browsers = bootstrap::browsers()?;
            let dist = frontend_build::release(&root, &tools)?;
            command::cargo(&root)
                .args(["build", "--release", "--package", "lab-backend"])
                .run_to_end()?;
            let table = root.join("target/bench/client-overhead.md");
            std::fs::create_dir_all(root.join("target/bench"))
                .map_err(|err| Failure(format!("cannot create target/bench: {err}")))?;
            command::cargo(&root)
                .args(["test", "--package", "lab-backend", "--test", "it"])
                .args(["--", "--ignored", "--exact"])
                .args([
                    "browser::client_overhead::measure_client_overhead",
                    "--nocapture",
                ])
                .env("LAB_DIST_DIR", &dist)
                .env("LAB_CHROME", &browsers.chrome)
                .env("LAB_CHROMEDRIVER", &browsers.chromedriver)
                .env("LAB_REQUIRE_BROWSERS", "1")
                .env("LAB_BENCH_BACKEND", root.join("target/release/lab-backend"))
                .env("LAB_BENCH_WRITE", &table)
                .run_to_end()?;
            println!("bench-client: the table is in {}", table.display());
            Ok(())
        }
        Task::Soak { minutes } => command::cargo(&root)
            .args([
                "test",
                "--release",
                "--package",
                "lab-backend",
                "--test",
                "it",
            ])
            .args(["--", "--ignored", "--exact", "load::soak", "--nocapture"])
            .env("LAB_SOAK_MINUTES", minutes.to_string())
            .run_to_end(),
        Task::Build => {
            let tools = bootstrap::web_tools(&root)?;
            let dist = frontend_build::release(&root, &tools)?;
            frontend_build::judge_budget(&dist, false)
        }
        Task::Dev => {
            let tools = bootstrap::web_tools(&root)?;
            println!("dev: start the backend in another terminal: cargo run -p lab-backend");
            tools
                .trunk(&root)
                .arg("serve")
                .arg("--dist")
                .arg(root.join(frontend_build::DEV_DIST))
                .run_to_end()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TestSummary;

    #[test]
    fn summary_adds_up_every_test_binary() {
        let mut summary = TestSummary::default();
        summary.add("test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        summary.add("running 3 tests");
        summary
            .add("test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out");
        assert_eq!((summary.passed, summary.failed, summary.ignored), (7, 1, 1));
    }
}
