//! Running child processes with errors that name the command, and the xtask's one
//! error type.

use std::ffi::OsStr;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why a task stopped: a sentence the user can act on.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The workspace root (this crate lives in `<root>/xtask`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_owned()
}

/// A command about to run, remembered for error messages.
pub struct Step {
    command: Command,
}

/// `cargo` (the one that runs this xtask) in `dir`.
pub fn cargo(dir: &Path) -> Step {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Step::new(cargo).current_dir(dir)
}

impl Step {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            command: Command::new(program),
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.command.current_dir(dir);
        self
    }

    fn describe(&self) -> String {
        let mut text = self.command.get_program().to_string_lossy().into_owned();
        for arg in self.command.get_args() {
            text.push(' ');
            text.push_str(&arg.to_string_lossy());
        }
        text
    }

    /// Runs with inherited stdio; a non-zero exit is a [`Failure`].
    pub fn run_to_end(mut self) -> Result<(), Failure> {
        let shown = self.describe();
        eprintln!("+ {shown}");
        let status = self
            .command
            .status()
            .map_err(|err| Failure(format!("cannot start `{shown}`: {err}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(Failure(format!("`{shown}` failed ({status})")))
        }
    }

    /// Runs with inherited stderr, passing each stdout line through and to `inspect`.
    pub fn run_inspecting_stdout(mut self, mut inspect: impl FnMut(&str)) -> Result<(), Failure> {
        let shown = self.describe();
        eprintln!("+ {shown}");
        let mut child = self
            .command
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|err| Failure(format!("cannot start `{shown}`: {err}")))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            inspect(&line);
        }
        let status = child
            .wait()
            .map_err(|err| Failure(format!("`{shown}`: {err}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(Failure(format!("`{shown}` failed ({status})")))
        }
    }

    /// Runs quietly and returns trimmed stdout, or `None` if it could not run or failed.
    pub fn output(mut self) -> Option<String> {
        let output = self
            .command
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }
}
