//! `ward do [--platform P] [--cwd DIR] [--env K=V]… [--root DIR] [--rw-root] [--] CMD [ARG…]`:
//! run a program sandboxed over the host root (or `--root DIR`), with the
//! caller's cwd and environment by default. The root is served read-only
//! by the gofer under a writable overlay in sandbox memory: the run may
//! write anywhere and the host never changes. `--rw-root` instead serves
//! the root read-write and mounts it as "/" itself: writes go through to
//! the host.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use oci_cli::launch::{run_do, DoRequest, LogFlags};

#[derive(Args)]
#[command(
    about = "Run a program in a sandbox over the host's root (or --root), its writes kept in memory unless --rw-root"
)]
pub struct DoArgs {
    /// How app code runs: systrap or ptrace; auto (the default) is systrap
    /// where the kernel and CPU support it (`--debug` says which ran, and why).
    #[arg(long, default_value = "auto", value_parser = clap::builder::PossibleValuesParser::new(sentry::PLATFORM_NAMES))]
    platform: String,
    /// Working directory inside the sandbox (default: the current one).
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// Set an environment variable (repeatable); the caller's environment is kept.
    #[arg(long = "env", value_name = "K=V")]
    env: Vec<OsString>,
    /// The directory to serve as the sandbox's root (default: the host's "/").
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Write through to the root (the host's, or --root's) instead of the
    /// in-memory overlay.
    #[arg(long)]
    rw_root: bool,
    /// The program and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    cmd: Vec<OsString>,
}

pub fn run(a: DoArgs, flags: &LogFlags) -> Result<i32> {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    for kv in &a.env {
        let b = kv.as_bytes();
        let Some(eq) = b.iter().position(|&c| c == b'=') else {
            bail!("--env {}: expected K=V", kv.to_string_lossy());
        };
        if eq == 0 {
            bail!("--env {}: empty variable name", kv.to_string_lossy());
        }
        let k = OsString::from(std::ffi::OsStr::from_bytes(&b[..eq]));
        let v = OsString::from(std::ffi::OsStr::from_bytes(&b[eq + 1..]));
        env.retain(|(ek, _)| *ek != k);
        env.push((k, v));
    }
    let root = match a.root {
        Some(r) => std::fs::canonicalize(&r).with_context(|| format!("--root {}", r.display()))?,
        None => PathBuf::from("/"),
    };
    // The caller's cwd means nothing inside another root: there it is "/".
    let cwd = match a.cwd {
        Some(c) => c,
        None if root != std::path::Path::new("/") => PathBuf::from("/"),
        None => std::env::current_dir().context("reading the current directory")?,
    };
    if !cwd.is_absolute() {
        bail!("--cwd {}: must be an absolute path", cwd.display());
    }
    let req = DoRequest {
        argv: a.cmd,
        env,
        cwd,
        platform: a.platform,
        root,
        rw_root: a.rw_root,
    };
    run_do(&req, flags)
}
