//! Helpers for the integration tests of the real `ward` binary: building its
//! command lines, running the same program natively for comparison,
//! temporary directories, and compiling small C programs with `cc`.
//!
//! Nothing here sleeps or measures time: every helper runs a process to
//! completion and hands back what it printed and how it ended.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

pub mod bundle;
pub mod host_procs;
pub mod peers;
pub mod strace_log;

/// The `ward` binary Cargo built for these tests.
pub const WARD: &str = env!("CARGO_BIN_EXE_ward");

/// `ward ARGS…`, ready for more arguments or settings.
pub fn ward<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(WARD);
    cmd.args(args);
    cmd
}

/// Runs `argv` natively and under ward; both must print the same.
pub fn same_as_native(argv: &[&str]) {
    let want = run(&mut native(argv.iter().copied()));
    assert!(
        want.status.success(),
        "native run failed: {}",
        describe(&want)
    );
    let got = run(&mut ward_do(argv.iter().copied()));
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&want.stdout),
        "under ward: {}",
        describe(&got)
    );
    assert_eq!(got.status.code(), want.status.code(), "{}", describe(&got));
}

/// `ward do ARGS…`, ready for more arguments or settings.
pub fn ward_do<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(WARD);
    cmd.arg("do").args(args);
    cmd
}

/// `ARGV` run natively, outside any sandbox.
pub fn native<I, S>(argv: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut argv = argv.into_iter();
    let program = argv.next().expect("a native command needs a program");
    let mut cmd = Command::new(program);
    cmd.args(argv);
    cmd
}

/// Runs `cmd` to completion, capturing stdout and stderr.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"))
}

/// The status a shell reports: the exit code, or 128+N after signal N.
pub fn shell_code(out: &Output) -> i32 {
    match (out.status.code(), out.status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => unreachable!("a finished process has a code or a signal"),
    }
}

/// Everything about a finished run, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Says on the test's output why a test did nothing.
pub fn skip(reason: &str) {
    eprintln!("skipped: {reason}");
}

/// Whether `program` is on the host's PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// A name no other test, or other run of this test binary, uses.
pub fn unique_name(tag: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "ward-test-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(unique_name(tag));
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// An executable compiled from C; its directory goes away with it.
pub struct CProgram {
    _dir: TempDir,
    path: PathBuf,
}

impl CProgram {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Compiles `source` with the host's `cc` into a fresh temporary directory.
pub fn compile_c(name: &str, source: &str) -> CProgram {
    let dir = TempDir::new(name);
    let src = dir.path().join(format!("{name}.c"));
    let path = dir.path().join(name);
    fs::write(&src, source).unwrap_or_else(|e| panic!("writing {}: {e}", src.display()));
    let out = Command::new("cc")
        .args(["-O0", "-Wall", "-o"])
        .arg(&path)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("running cc (scripts/test-all installs gcc): {e}"));
    assert!(
        out.status.success(),
        "cc failed on {name}.c\n{}",
        describe(&out)
    );
    CProgram { _dir: dir, path }
}
