//! The release build of the frontend, skipped when none of its inputs changed since
//! the last successful build (Trunk would rerun wasm-bindgen and wasm-opt every time).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::bootstrap::WebTools;
use crate::command::Failure;

/// Inputs of the frontend build, relative to the workspace root.
const INPUTS: [&str; 7] = [
    "frontend",
    "proto",
    "index.html",
    "Trunk.toml",
    "Cargo.toml",
    "Cargo.lock",
    "package-lock.json",
];
const STAMP: &str = ".build-stamp";

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

/// Prints the size of the wasm module and JS glue in `dist`.
pub fn report_sizes(dist: &Path) -> Result<(), Failure> {
    let entries = std::fs::read_dir(dist)
        .map_err(|err| Failure(format!("cannot read {}: {err}", dist.display())))?;
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".wasm") || name.ends_with(".js") {
            let bytes = entry.metadata().map(|m| m.len()).unwrap_or(0);
            println!("{name}: {bytes} bytes");
        }
    }
    Ok(())
}
