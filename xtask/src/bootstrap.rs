//! Installs what the build and the tests need and is missing (the wasm toolchain, Trunk
//! and its tools; Chromium, Firefox ESR and their WebDrivers; the benchmark's and the
//! test command's tools), and says exactly what to do when it cannot. Every check is
//! cheap, so a machine that has everything pays a few seconds.
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
/// Firefox's WebDriver, for the browser tests in Firefox ESR (installed with cargo:
/// Debian has no package for it).
const GECKODRIVER_VERSION: &str = "0.37.1";
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
    std: WasmStd,
}

/// Where the wasm32 standard library comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WasmStd {
    /// The active rustup toolchain's prebuilt `wasm32-unknown-unknown` target.
    Rustup,
    /// Built from Debian's `rust-web-src` with `-Zbuild-std` and the size flags.
    FromSource,
}

impl WasmStd {
    fn describe(self) -> &'static str {
        match self {
            Self::Rustup => "the active rustup toolchain",
            Self::FromSource => "Debian's rustc-web (std built from source)",
        }
    }
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

    /// Whether std is built from source with the size flags, as on the route the bundle
    /// budget is judged on; rustup's prebuilt std makes the bundle ~35 KB larger.
    pub fn std_built_from_source(&self) -> bool {
        self.std == WasmStd::FromSource
    }

    pub fn describe(&self) -> String {
        let panic = if immediate_abort() {
            ", panic=immediate-abort"
        } else {
            ""
        };
        format!(
            "wasm32 std from {}{panic}, trunk {TRUNK_VERSION}",
            self.std.describe()
        )
    }
}

/// Where the headless-browser tests find the browsers and their WebDrivers.
pub struct Browsers {
    pub chrome: PathBuf,
    pub chromedriver: PathBuf,
    pub firefox: PathBuf,
    pub geckodriver: PathBuf,
    pub certutil: PathBuf,
}

impl Browsers {
    pub fn describe(&self) -> String {
        format!(
            "{} with {}, {} with {}, {}",
            self.chrome.display(),
            self.chromedriver.display(),
            self.firefox.display(),
            self.geckodriver.display(),
            self.certutil.display()
        )
    }
}

/// A program the browser tests need: how a user names it, where it is looked for, and
/// the Debian package that provides it.
struct Program {
    /// The environment variable that names it (and that the tests read).
    env: &'static str,
    /// Where a system-wide install puts it (Debian's package, for the packaged ones).
    system_path: &'static str,
    /// Names looked up on `PATH`, preferred first.
    names: &'static [&'static str],
    /// Debian's package; `None` for one installed otherwise.
    package: Option<&'static str>,
}

const CHROME: Program = Program {
    env: "LAB_CHROME",
    system_path: "/usr/bin/chromium",
    names: &["chromium", "chromium-browser", "google-chrome"],
    package: Some("chromium"),
};
const CHROMEDRIVER: Program = Program {
    env: "LAB_CHROMEDRIVER",
    system_path: "/usr/bin/chromedriver",
    names: &["chromedriver"],
    package: Some("chromium-driver"),
};
const FIREFOX: Program = Program {
    env: "LAB_FIREFOX",
    system_path: "/usr/bin/firefox-esr",
    names: &["firefox-esr", "firefox"],
    package: Some("firefox-esr"),
};
/// NSS's certutil: `lab-backend trust` puts the lab's CA into browsers' certificate
/// databases with it, and the browser tests make their trusting profiles with it.
const CERTUTIL: Program = Program {
    env: "LAB_CERTUTIL",
    system_path: "/usr/bin/certutil",
    names: &["certutil"],
    package: Some("libnss3-tools"),
};
const GECKODRIVER: Program = Program {
    env: "LAB_GECKODRIVER",
    system_path: "/usr/bin/geckodriver",
    names: &["geckodriver"],
    package: None,
};

impl Program {
    /// The program named by its variable, else the system's, else the first on `PATH`.
    fn find(&self) -> Option<PathBuf> {
        std::env::var_os(self.env)
            .map(PathBuf::from)
            .or_else(|| {
                let system = Path::new(self.system_path);
                system.is_file().then(|| system.to_owned())
            })
            .or_else(|| self.names.iter().copied().find_map(which))
    }
}

/// Finds (or installs: Debian packages as root, geckodriver with cargo) Chromium,
/// Firefox and their WebDrivers. A variable naming a missing file is an error, not a
/// reason to look elsewhere.
pub fn browsers() -> Result<Browsers, Failure> {
    let programs = [CHROME, CHROMEDRIVER, FIREFOX, GECKODRIVER, CERTUTIL];
    for program in &programs {
        if let Some(named) = std::env::var_os(program.env)
            && !Path::new(&named).is_file()
        {
            return Err(Failure(format!(
                "{}={} is not a file: point it at {}, or unset it",
                program.env,
                named.to_string_lossy(),
                program.names[0]
            )));
        }
    }
    let missing: Vec<&Program> = programs
        .iter()
        .filter(|program| program.package.is_some() && program.find().is_none())
        .collect();
    if !missing.is_empty() {
        let packages: Vec<&str> = missing
            .iter()
            .filter_map(|program| program.package)
            .collect();
        apt_install(&packages, "the headless-browser tests").map_err(|Failure(why)| {
            let names: Vec<String> = missing
                .iter()
                .map(|program| format!("{}=<path of {}>", program.env, program.names[0]))
                .collect();
            Failure(format!("{why}; or set {}", names.join(" ")))
        })?;
    }
    let found = |program: &Program| program.find().unwrap_or_else(|| program.system_path.into());
    Ok(Browsers {
        chrome: found(&CHROME),
        chromedriver: found(&CHROMEDRIVER),
        firefox: found(&FIREFOX),
        geckodriver: geckodriver()?,
        certutil: found(&CERTUTIL),
    })
}

/// NSS's certutil, installed (Debian's libnss3-tools, as root) if missing.
pub fn certutil() -> Result<PathBuf, Failure> {
    if let Some(found) = CERTUTIL.find() {
        return Ok(found);
    }
    apt_install(&["libnss3-tools"], "`trust` and `untrust`")?;
    CERTUTIL
        .find()
        .ok_or_else(|| Failure("certutil is still missing after installing libnss3-tools".into()))
}

/// geckodriver: the one named or on `PATH`, else cargo's, installed if missing.
fn geckodriver() -> Result<PathBuf, Failure> {
    if let Some(found) = GECKODRIVER.find() {
        return Ok(found);
    }
    locked_cargo_tool("geckodriver", GECKODRIVER_VERSION).map_err(|Failure(why)| {
        Failure(format!(
            "{why}; install geckodriver (`cargo install geckodriver`) or set {}",
            GECKODRIVER.env
        ))
    })
}

/// Makes sure the wasm toolchain, Trunk, wasm-bindgen and wasm-opt are present.
pub fn web_tools(root: &Path) -> Result<WebTools, Failure> {
    let (std, wasm_env) = wasm_std(root)?;
    let path = tool_path(root)?;
    locked_cargo_tool("trunk", TRUNK_VERSION)?;
    let bindgen = wasm_bindgen_version(root)?;
    // Not `--locked`: one of the CLI's locked dependencies is missing from the registry.
    let install = ["install", "wasm-bindgen-cli", "--version", bindgen.as_str()];
    ensure_cargo_tool("wasm-bindgen", &bindgen, &install, &path)?;
    ensure_node_tools(root)?;
    Ok(WebTools {
        path,
        wasm_env,
        std,
    })
}

/// Environment variables for the wasm build.
type WasmEnv = Vec<(&'static str, &'static str)>;

/// Where the wasm32 std comes from and the environment that selects it.
fn wasm_std(root: &Path) -> Result<(WasmStd, WasmEnv), Failure> {
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
        return Ok((WasmStd::Rustup, Vec::new()));
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
    Ok((WasmStd::FromSource, env))
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
/// `@bufbuild/buf`, which lints the contract, and `axe-core`, which the browser tests
/// run in the page to check its accessibility.
fn ensure_node_tools(root: &Path) -> Result<(), Failure> {
    let bin = root.join("node_modules/.bin");
    let works = |tool: &str| {
        Step::new(bin.join(tool))
            .arg("--version")
            .output()
            .is_some()
    };
    let axe = root.join("node_modules/axe-core/axe.min.js").is_file();
    if works("wasm-opt") && works("terser") && works("buf") && axe {
        return Ok(());
    }
    if which("npm").is_none() {
        return Err(Failure(
            "wasm-opt, terser, buf and axe-core come from npm: install Node.js 18+ with npm and try again"
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
    locked_cargo_tool("oha", OHA_VERSION)
}

/// `cargo-deny`, installed with cargo if missing.
pub fn cargo_deny() -> Result<PathBuf, Failure> {
    locked_cargo_tool("cargo-deny", CARGO_DENY_VERSION)
}

/// The binary of crate `name` (binary of the same name) at `version` in cargo's bin
/// directory, installed there with `cargo install --locked` if missing.
fn locked_cargo_tool(name: &str, version: &str) -> Result<PathBuf, Failure> {
    let path = tool_path(Path::new("."))?;
    let install = ["install", name, "--version", version, "--locked"];
    ensure_cargo_tool(name, version, &install, &path)?;
    Ok(cargo_home().join("bin").join(name))
}

/// `h2load` (Debian's nghttp2-client) for the benchmark's HTTP/2 cells.
pub fn h2load() -> Result<PathBuf, Failure> {
    if let Some(found) = which("h2load") {
        return Ok(found);
    }
    apt_install(&["nghttp2-client"], "the HTTP/2 benchmark").map(|()| "/usr/bin/h2load".into())
}
