//! Drives the real runner binary: every case must pass natively (so the
//! cases themselves are sound), and every case must pass under this
//! build's `ward do`, on each platform.

use std::path::PathBuf;
use std::process::{Command, Output};

const RUNNER: &str = env!("CARGO_BIN_EXE_ward-syscall-tests");

/// This build's ward binary: the test executable is
/// `target/<profile>/deps/conformance-…`, ward is `target/<profile>/ward`.
fn ward_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own executable");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from target/<profile>/deps");
    profile_dir.join("ward")
}

fn run_runner(args: &[&str], ward: Option<&PathBuf>) -> Output {
    let mut cmd = Command::new(RUNNER);
    cmd.args(args);
    match ward {
        Some(ward) => cmd.env("WARD_BIN", ward),
        None => cmd.env_remove("WARD_BIN"),
    };
    cmd.output().expect("the runner starts")
}

fn show(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    stdout.into_owned()
}

#[test]
fn every_case_passes_natively() {
    let output = run_runner(&["--native-only", "--quiet"], None);
    let stdout = show(&output);

    let fail_native: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("FAIL-NATIVE"))
        .collect();
    assert!(
        fail_native.is_empty(),
        "bad cases:\n{}",
        fail_native.join("\n")
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(" passed, 0 failed") && !last.starts_with("0 passed"),
        "unexpected totals line: {last:?}"
    );
    assert!(
        output.status.success(),
        "runner exited with {}",
        output.status
    );
}

/// Runs every case under `ward do --platform PLATFORM` and requires all to pass.
fn every_case_passes_under(platform: &str) {
    let ward = ward_binary();
    assert!(
        ward.is_file(),
        "build ward first: cargo build --workspace (no ward at {})",
        ward.display()
    );
    let runtime = format!("{} do --platform {platform}", ward.display());
    let output = run_runner(&["--quiet", "--runtime", &runtime], Some(&ward));
    let stdout = show(&output);

    assert!(
        output.status.success(),
        "cases fail under {runtime} (runner exited with {}):\n{}",
        output.status,
        stdout
            .lines()
            .filter(|l| l.starts_with("FAIL"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_case_passes_under_ward_ptrace() {
    every_case_passes_under("ptrace");
}

#[test]
fn every_case_passes_under_ward_systrap() {
    every_case_passes_under("systrap");
}
