//! Drives the runner's escape suite: every attack that is real natively
//! must escape natively (so the attacks themselves are sound), and every
//! attack must be held under this build's `ward do`, on each platform
//! (known failures are listed loudly but do not fail).

use std::path::PathBuf;
use std::process::{Command, Output};

const RUNNER: &str = env!("CARGO_BIN_EXE_ward-syscall-tests");

/// This build's ward binary: the test executable is
/// `target/<profile>/deps/escapes-…`, ward is `target/<profile>/ward`.
fn ward_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own executable");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from target/<profile>/deps");
    profile_dir.join("ward")
}

fn run_runner(args: &[&str]) -> (Output, String) {
    let output = Command::new(RUNNER)
        .arg("--escapes")
        .args(args)
        .env_remove("WARD_BIN")
        .output()
        .expect("the runner starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    (output, stdout)
}

fn failures(stdout: &str) -> String {
    stdout
        .lines()
        .filter(|l| l.starts_with("FAIL"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn totals_line(stdout: &str) -> &str {
    stdout.lines().last().unwrap_or_default()
}

#[test]
fn escape_attacks_work_natively() {
    let (output, stdout) = run_runner(&["--native-only", "--quiet"]);
    assert!(
        output.status.success(),
        "attacks that do not work natively (runner exited with {}):\n{}",
        output.status,
        failures(&stdout)
    );
    assert!(
        totals_line(&stdout).ends_with(" 0 failed"),
        "unexpected totals line: {:?}",
        totals_line(&stdout)
    );
}

/// Runs every attack natively and under `ward do --platform PLATFORM`.
fn every_escape_is_held_under(platform: &str) {
    let ward = ward_binary();
    assert!(
        ward.is_file(),
        "build ward first: cargo build --workspace (no ward at {})",
        ward.display()
    );
    let runtime = format!("{} do --platform {platform}", ward.display());
    let (output, stdout) = run_runner(&["--quiet", "--runtime", &runtime]);
    assert!(
        output.status.success(),
        "escapes under {runtime} (runner exited with {}):\n{}",
        output.status,
        failures(&stdout)
    );
    assert!(
        totals_line(&stdout).ends_with(" 0 failed"),
        "unexpected totals line: {:?}",
        totals_line(&stdout)
    );
}

#[test]
fn every_escape_is_held_under_ward_ptrace() {
    every_escape_is_held_under("ptrace");
}

#[test]
fn every_escape_is_held_under_ward_systrap() {
    every_escape_is_held_under("systrap");
}
