//! Installs what the build needs and is missing, and says exactly what to do when it
//! cannot. Every check is cheap, so a machine that has everything pays a few seconds.
//!
//! The wasm32 standard library comes from one of two places:
//! - the active rustup toolchain, when it has the `wasm32-unknown-unknown` target (an
//!   ordinary laptop): used as is, apt is never touched;
//! - otherwise, on Debian, the `rustc-web` compiler with its library source: std is
//!   built for wasm32 with `-Zbuild-std` (rustup cannot download the target offline).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::command::{Failure, Step};

/// Trunk release pinned here; 0.22 needs a newer rustc than these machines have.
const TRUNK_VERSION: &str = "0.21.14";
/// The HTTP load generator of `cargo xtask bench`.
const OHA_VERSION: &str = "1.16.0";
/// cargo-deny, for the licence and duplicate check of the test command.
const CARGO_DENY_VERSION: &str = "0.20.2";
/// Debian packages behind the `rustc-web` route.
const DEBIAN_WASM_PACKAGES: [&str; 4] = ["rustc-web", "cargo-web", "rust-web-src", "lld-19"];
/// The rustup name under which the Debian compiler is linked.
const DEBIAN_TOOLCHAIN: &str = "debian-web";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Set to `1` to build the wasm with `-Cpanic=immediate-abort` (std built from source
/// only): ~53 KB less wasm, but a panic traps without its message in the console.
pub const IMMEDIATE_ABORT_ENV: &str = "LAB_WASM_IMMEDIATE_ABORT";

/// Whether [`IMMEDIATE_ABORT_ENV`] asks for `panic=immediate-abort`.
pub fn immediate_abort() -> bool {
    std::env::var_os(IMMEDIATE_ABORT_ENV).is_some_and(|value| value == "1")
}

/// The tools that build the frontend, ready to use.
pub struct WebTools {
    /// `PATH` with cargo's bin directory and `node_modules/.bin` (wasm-opt) in front.
    path: OsString,
    /// Extra environment for the wasm build (empty on the rustup route).
    wasm_env: WasmEnv,
    route: &'static str,
}

impl WebTools {
    /// `trunk` with the environment the wasm build needs.
    pub fn trunk(&self, root: &Path) -> Step {
        let mut step = Step::new("trunk").current_dir(root).env("PATH", &self.path);
        for (key, value) in &self.wasm_env {
            step = step.env(key, value);
        }
        step
    }

    pub fn describe(&self) -> String {
        let panic = if immediate_abort() {
            ", panic=immediate-abort"
        } else {
            ""
        };
        format!(
            "wasm32 std from {}{panic}, trunk {TRUNK_VERSION}",
            self.route
        )
    }
}

/// Where the headless-browser tests find Chromium and its WebDriver.
pub struct Browser {
    pub chrome: PathBuf,
    pub chromedriver: PathBuf,
}

/// Makes sure the wasm toolchain, Trunk, wasm-bindgen and wasm-opt are present.
pub fn web_tools(root: &Path) -> Result<WebTools, Failure> {
    let (route, wasm_env) = wasm_std(root)?;
    let path = tool_path(root)?;
    ensure_cargo_tool(
        "trunk",
        TRUNK_VERSION,
        &["install", "trunk", "--version", TRUNK_VERSION, "--locked"],
        &path,
    )?;
    let bindgen = wasm_bindgen_version(root)?;
    // Not `--locked`: one of the CLI's locked dependencies is missing from the registry.
    let install = ["install", "wasm-bindgen-cli", "--version", bindgen.as_str()];
    ensure_cargo_tool("wasm-bindgen", &bindgen, &install, &path)?;
    ensure_node_tools(root)?;
    Ok(WebTools {
        path,
        wasm_env,
        route,
    })
}

/// Finds (or installs, on Debian as root) Chromium and chromedriver.
pub fn browser() -> Result<Browser, Failure> {
    if let (Some(chrome), Some(chromedriver)) = (
        std::env::var_os("LAB_CHROME"),
        std::env::var_os("LAB_CHROMEDRIVER"),
    ) {
        return Ok(Browser {
            chrome: chrome.into(),
            chromedriver: chromedriver.into(),
        });
    }
    let debian = Browser {
        chrome: "/usr/bin/chromium".into(),
        chromedriver: "/usr/bin/chromedriver".into(),
    };
    if debian.chrome.is_file() && debian.chromedriver.is_file() {
        return Ok(debian);
    }
    if let (Some(chrome), Some(chromedriver)) = (
        ["chromium", "chromium-browser", "google-chrome"]
            .into_iter()
            .find_map(which),
        which("chromedriver"),
    ) {
        return Ok(Browser {
            chrome,
            chromedriver,
        });
    }
    apt_install(
        &["chromium", "chromium-driver"],
        "the headless-browser tests",
    )
    .map(|()| debian)
}

/// Environment variables for the wasm build.
type WasmEnv = Vec<(&'static str, &'static str)>;

/// Where the wasm32 std comes from (for messages) and the environment that selects it.
fn wasm_std(root: &Path) -> Result<(&'static str, WasmEnv), Failure> {
    let sysroot = Step::new("rustc")
        .current_dir(root)
        .args(["--print", "sysroot"])
        .output();
    let has_target = |sysroot: String| {
        Path::new(&sysroot)
            .join("lib/rustlib")
            .join(WASM_TARGET)
            .join("lib")
            .is_dir()
    };
    if sysroot.is_some_and(has_target) {
        if immediate_abort() {
            return Err(Failure(format!(
                "{IMMEDIATE_ABORT_ENV}=1 needs a std compiled with that panic strategy, i.e. \
                 built from source (the Debian route), not rustup's prebuilt {WASM_TARGET} std"
            )));
        }
        return Ok(("the active rustup toolchain", Vec::new()));
    }
    if !Path::new("/usr/bin/apt-get").exists() {
        return Err(Failure(format!(
            "the active Rust toolchain has no {WASM_TARGET} standard library: \
             run `rustup target add {WASM_TARGET}` and try again"
        )));
    }
    apt_install(&DEBIAN_WASM_PACKAGES, "the WebAssembly build")?;
    let linked = Step::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .ok_or_else(|| {
            Failure(format!(
                "rustup is needed to select Debian's compiler for the wasm build; \
             or run `rustup target add {WASM_TARGET}` where rustup can download"
            ))
        })?;
    if !linked
        .lines()
        .any(|line| line.split_whitespace().next() == Some(DEBIAN_TOOLCHAIN))
    {
        Step::new("rustup")
            .args(["toolchain", "link", DEBIAN_TOOLCHAIN, "/usr"])
            .run_to_end()?;
    }
    let mut env = vec![
        ("RUSTUP_TOOLCHAIN", DEBIAN_TOOLCHAIN),
        ("RUSTC_BOOTSTRAP", "1"),
        ("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort"),
        // Since std is compiled here anyway: its size-over-speed algorithms (smaller
        // sorts, formatting) take ~5 KB off the wasm. rustup's prebuilt std (the other
        // route) lacks them, so its bundle is that much larger.
        ("CARGO_UNSTABLE_BUILD_STD_FEATURES", "optimize_for_size"),
        ("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", "wasm-ld-19"),
    ];
    // Also for size (~30 KB of wasm, ~9 KB gzip): derived `Debug` prints type and
    // variant names only, and panics say what failed but not at which source line
    // (no file paths in the bundle). The page never shows a derived `Debug` with fields.
    let rustflags = if immediate_abort() {
        "-Zfmt-debug=shallow -Zlocation-detail=none -Zunstable-options -Cpanic=immediate-abort"
    } else {
        "-Zfmt-debug=shallow -Zlocation-detail=none"
    };
    env.push(("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", rustflags));
    Ok(("Debian's rustc-web (std built from source)", env))
}

/// Installs missing Debian packages; refuses with the exact command when not root.
fn apt_install(packages: &[&str], purpose: &str) -> Result<(), Failure> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| {
            let status = Step::new("dpkg-query")
                .args(["-W", "-f=${Status}", package])
                .output();
            status.as_deref() != Some("install ok installed")
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let command = format!("apt-get install -y {}", missing.join(" "));
    if !Path::new("/usr/bin/apt-get").exists() {
        return Err(Failure(format!(
            "{purpose} needs {}; install them and try again",
            missing.join(", ")
        )));
    }
    if Step::new("id").arg("-u").output().as_deref() != Some("0") {
        return Err(Failure(format!(
            "{purpose} needs Debian packages that are missing; run as root: \
             `apt-get update && {command}`"
        )));
    }
    eprintln!("bootstrap: installing {} for {purpose}", missing.join(", "));
    Step::new("apt-get").args(["update", "-q"]).run_to_end()?;
    Step::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-q"])
        .args(&missing)
        .run_to_end()
}

/// `PATH` with `$CARGO_HOME/bin` and the repo's `node_modules/.bin` in front.
fn tool_path(root: &Path) -> Result<OsString, Failure> {
    let mut dirs = vec![cargo_home().join("bin"), root.join("node_modules/.bin")];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).map_err(|err| Failure(format!("cannot build PATH: {err}")))
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
        })
}

/// Installs `binary` with `cargo install` unless `binary --version` already says `version`.
fn ensure_cargo_tool(
    binary: &str,
    version: &str,
    install: &[&str],
    path: &OsString,
) -> Result<(), Failure> {
    let found = Step::new(binary)
        .env("PATH", path)
        .arg("--version")
        .output();
    if found
        .as_deref()
        .and_then(|text| text.split_whitespace().nth(1))
        == Some(version)
    {
        return Ok(());
    }
    eprintln!("bootstrap: installing {binary} {version} (a few minutes, once)");
    // Same cargo as this xtask's, and rustup's RUSTUP_TOOLCHAIN is inherited: without it,
    // a dependency's own `rust-toolchain` file would make rustup fetch another toolchain.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Step::new(cargo).args(install).run_to_end()
}

/// The wasm-bindgen version in Cargo.lock, checked against Trunk.toml's.
fn wasm_bindgen_version(root: &Path) -> Result<String, Failure> {
    let read = |name: &str| {
        std::fs::read_to_string(root.join(name))
            .map_err(|err| Failure(format!("cannot read {name}: {err}")))
    };
    let lock = read("Cargo.lock")?;
    let locked = lock
        .split("[[package]]")
        .find(|package| package.contains("name = \"wasm-bindgen\"\n"))
        .and_then(|package| {
            package
                .lines()
                .find_map(|line| line.strip_prefix("version = \""))
        })
        .and_then(|rest| rest.strip_suffix('"'))
        .ok_or_else(|| Failure("Cargo.lock has no wasm-bindgen: run `cargo fetch`".into()))?;
    let trunk = read("Trunk.toml")?;
    let wanted = format!("wasm_bindgen = \"{locked}\"");
    if !trunk.lines().any(|line| line.trim() == wanted) {
        return Err(Failure(format!(
            "Trunk.toml must pin the wasm-bindgen of Cargo.lock: set `{wanted}` under [tools]"
        )));
    }
    Ok(locked.to_owned())
}

/// The npm packages of package.json: `binaryen` for wasm-opt (Debian's is too old to
/// produce a valid module), `terser`, which minifies the JS glue (Trunk.toml's hook),
/// and `@bufbuild/buf`, which lints the contract.
fn ensure_node_tools(root: &Path) -> Result<(), Failure> {
    let bin = root.join("node_modules/.bin");
    let works = |tool: &str| {
        Step::new(bin.join(tool))
            .arg("--version")
            .output()
            .is_some()
    };
    if works("wasm-opt") && works("terser") && works("buf") {
        return Ok(());
    }
    if which("npm").is_none() {
        return Err(Failure(
            "wasm-opt, terser and buf come from npm: install Node.js 18+ with npm and try again"
                .into(),
        ));
    }
    Step::new("npm")
        .current_dir(root)
        .args(["ci", "--no-audit", "--no-fund"])
        .run_to_end()
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `oha` for the benchmark, installed with cargo if missing.
pub fn oha() -> Result<PathBuf, Failure> {
    let path = tool_path(Path::new("."))?;
    let install = ["install", "oha", "--version", OHA_VERSION, "--locked"];
    ensure_cargo_tool("oha", OHA_VERSION, &install, &path)?;
    Ok(cargo_home().join("bin/oha"))
}

/// `cargo-deny`, installed with cargo if missing.
pub fn cargo_deny() -> Result<PathBuf, Failure> {
    let path = tool_path(Path::new("."))?;
    let install = [
        "install",
        "cargo-deny",
        "--version",
        CARGO_DENY_VERSION,
        "--locked",
    ];
    ensure_cargo_tool("cargo-deny", CARGO_DENY_VERSION, &install, &path)?;
    Ok(cargo_home().join("bin/cargo-deny"))
}

/// `h2load` (Debian's nghttp2-client) for the benchmark's HTTP/2 cells.
pub fn h2load() -> Result<PathBuf, Failure> {
    if let Some(found) = which("h2load") {
        return Ok(found);
    }
    apt_install(&["nghttp2-client"], "the HTTP/2 benchmark").map(|()| "/usr/bin/h2load".into())
}
