//! The release build of the frontend into `dist/`, skipped when none of its inputs
//! changed since the last successful build (Trunk would rerun wasm-bindgen and wasm-opt
//! every time), and the bundle's sizes judged against its budget. The dev loop builds
//! elsewhere ([`DEV_DIST`]).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::bootstrap::WebTools;
use crate::bundle_budget::{self, BundleSizes};
use crate::command::Failure;

/// Inputs of the frontend build, relative to the workspace root.
const INPUTS: [&str; 10] = [
    "frontend",
    "instrument",
    "worker",
    "vendor",
    "proto",
    "index.html",
    "Trunk.toml",
    "Cargo.toml",
    "Cargo.lock",
    "package-lock.json",
];
const STAMP: &str = ".build-stamp";
/// Where `cargo xtask dev` (`trunk serve`) builds, relative to the workspace root: not
/// `dist/`, which the demo serves, so that the dev loop's debug bundle never replaces
/// the release one under a running demo.
pub const DEV_DIST: &str = "target/dev-dist";

/// Builds `dist/` in release mode if needed; returns its path.
pub fn release(root: &Path, tools: &WebTools) -> Result<PathBuf, Failure> {
    let dist = root.join("dist");
    let fingerprint = fingerprint(root).to_string();
    if std::fs::read_to_string(dist.join(STAMP)).ok().as_deref() == Some(fingerprint.as_str()) {
        eprintln!("frontend: dist/ is up to date");
        return Ok(dist);
    }
    // Not `--offline`: that reaches cargo too, and the std build (Debian route) must
    // fetch std's own dependencies once. Trunk downloads no tools either way: the
    // bootstrap installed the exact versions it asks for.
    tools
        .trunk(root)
        .args(["build", "--release"])
        .run_to_end()?;
    std::fs::write(dist.join(STAMP), fingerprint)
        .map_err(|err| Failure(format!("cannot write dist/{STAMP}: {err}")))?;
    Ok(dist)
}

/// A hash of every input file's path, size and modification time.
fn fingerprint(root: &Path) -> u64 {
    let mut hasher = DefaultHasher::new();
    for input in INPUTS {
        visit(&root.join(input), &mut hasher);
    }
    // A build with another panic strategy is another build.
    crate::bootstrap::immediate_abort().hash(&mut hasher);
    hasher.finish()
}

fn visit(path: &Path, hasher: &mut DefaultHasher) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        children.sort();
        for child in children {
            visit(&child, hasher);
        }
    } else {
        path.hash(hasher);
        meta.len().hash(hasher);
        meta.modified()
            .unwrap_or(SystemTime::UNIX_EPOCH)
            .hash(hasher);
    }
}

/// Prints each bundle file's size in `dist` (the wasm, the JS glue and their `.gz`
/// and `.br` copies), then each part's totals against its budget
/// ([`bundle_budget::Part`]). Over budget is a failure when
/// `enforced`, a note otherwise.
pub fn judge_budget(dist: &Path, enforced: bool) -> Result<(), Failure> {
    let mut files = Vec::new();
    files_under(dist, dist, &mut files)?;
    files.sort();
    for (name, bytes) in &files {
        if [".wasm", ".js"]
            .iter()
            .any(|extension| name.contains(extension))
        {
            println!("{name}: {bytes} bytes");
        }
    }
    let mut exceeded = Vec::new();
    for part in bundle_budget::Part::ALL {
        let (name, budget) = (part.name(), part.budget());
        let sizes = BundleSizes::from_files(
            files
                .iter()
                .filter(|(file, _)| bundle_budget::Part::of(file) == part)
                .map(|(file, bytes)| (file.as_str(), *bytes)),
        )
        .map_err(|err| Failure(format!("{name}: {err}")))?;
        let report = budget.report(name, &sizes);
        println!("{report}");
        if !budget.is_met_by(&sizes) {
            exceeded.push(report);
        }
    }
    if exceeded.is_empty() {
        Ok(())
    } else if enforced {
        Err(Failure(format!(
            "the frontend bundle exceeds its budget (docs/frontend-budget.md):\n{}",
            exceeded.join("\n")
        )))
    } else {
        println!(
            "note: over budget, reported only: rustup's prebuilt wasm32 std makes each part \
             ~35 KB larger than the std built from source that the budget is judged on"
        );
        Ok(())
    }
}

/// Every file under `dir` as (path relative to `dist`, with `/`; size in bytes).
fn files_under(dist: &Path, dir: &Path, files: &mut Vec<(String, u64)>) -> Result<(), Failure> {
    let entries = std::fs::read_dir(dir)
        .map_err(|err| Failure(format!("cannot read {}: {err}", dir.display())))?;
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if meta.is_dir() {
            files_under(dist, &path, files)?;
        } else if let Ok(relative) = path.strip_prefix(dist) {
            let name = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.push((name, meta.len()));
        }
    }
    Ok(())
}
