//! What every test of the binary starts from: the process, with nothing from the ambient
//! environment (a developer's `AWS_*`, `DATABASE_URL`, `SMTP_URL` or `CAFE_REPORT_*` must
//! not reach a test), and the components the tests run.

#![allow(dead_code)] // each test binary uses a part

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Variables a process needs to run at all; nothing else is passed on.
const KEPT: [&str; 4] = ["PATH", "HOME", "TMPDIR", "LANG"];

/// `program` with a cleared environment but for [`KEPT`].
pub fn clean_command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    command.env_clear();
    for name in KEPT {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
}

/// The `cafe-report` binary under test, with a cleared environment.
pub fn cafe_report() -> Command {
    clean_command(binary())
}

/// The binary under test.
pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_cafe-report"))
}

/// The components `cargo xtask components` built.
pub fn components_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/components")
}

/// The binary over a fresh data directory under `dir` and the built components, run
/// from `dir`: what most tests start from.
pub fn in_dir(dir: &Path) -> Command {
    let mut command = run_from(dir, &dir.join("data"));
    command.env("CAFE_REPORT_COMPONENTS_DIR", components_dir());
    command
}

/// The binary run from `cwd` over the data directory `data`, finding its components as
/// a user's would (no `CAFE_REPORT_COMPONENTS_DIR`).
pub fn run_from(cwd: &Path, data: &Path) -> Command {
    let mut command = cafe_report();
    command.current_dir(cwd).env("CAFE_REPORT_DATA_DIR", data);
    command
}

/// One task's entry in `components list --json`'s output.
pub fn listed_task<'a>(listed: &'a serde_json::Value, task: &str) -> &'a serde_json::Value {
    listed
        .as_array()
        .expect("components list --json prints an array")
        .iter()
        .find(|entry| entry["task"] == task)
        .unwrap_or_else(|| panic!("{task} is not listed: {listed}"))
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
