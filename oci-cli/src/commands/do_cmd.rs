//! `ward do [--platform P] [--cwd DIR] [--env K=V]… [--rw-root] [--] CMD [ARG…]`: run a
//! program sandboxed over the host root, with the caller's cwd and
//! environment by default. The root is the host's, read-only, under a
//! writable overlay in sandbox memory: the run may write anywhere and the
//! host never changes (`--rw-root`, writing through, is refused until the
//! gofer can write).

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use oci_cli::launch::{run_do, DoRequest, LogFlags};

#[derive(Args)]
#[command(about = "Run a program in a sandbox over the host's root, its writes kept in memory")]
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
    /// Write through to the host's root instead of the in-memory overlay.
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
    if a.rw_root {
        bail!("--rw-root needs a writable gofer (not yet supported)");
    }
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
    let cwd = match a.cwd {
        Some(c) => c,
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
        root: PathBuf::from("/"),
    };
    run_do(&req, flags)
}
