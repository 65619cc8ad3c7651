//! `ward sentry` (hidden): the sandbox's kernel process. Started by `ward`
//! with the gofer socket at fd 3, the caller's stdio at 0–2, the program as
//! its arguments and the program's environment as its own.

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use oci_cli::launch::{LogFlags, COMPONENT_FD};

#[derive(Args)]
pub struct SentryArgs {
    #[arg(long, default_value = "auto")]
    platform: String,
    #[arg(long, default_value = "/")]
    cwd: PathBuf,
    #[arg(long, default_value_t = 0)]
    uid: u32,
    #[arg(long, default_value_t = 0)]
    gid: u32,
    /// The gofer is read-write: mount its tree as "/" with no overlay.
    #[arg(long)]
    rw_root: bool,
    /// Serve containers on the control socket listening at fd 3 (the OCI
    /// runtime's sandbox) instead of running one program.
    #[arg(long)]
    control: bool,
    /// Stay in the network namespace ward joined for the sandbox (an OCI
    /// bundle's network namespace path) rather than a new empty one.
    #[arg(long)]
    joined_netns: bool,
    #[arg(
        required_unless_present = "control",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    argv: Vec<OsString>,
}

fn take_fd(fd: i32) -> Result<OwnedFd> {
    // SAFETY: fcntl(F_GETFD) only queries; it tells whether `fd` is open.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        anyhow::bail!("fd {fd} is not open: the sentry must be started by ward");
    }
    // SAFETY: `fd` is open (checked above) and handed to this process to own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A panic on any sentry thread (a task's, the clock's…) stops the whole
/// sandbox at once (DESIGN.md invariant 4: never a half-alive sandbox): the
/// message goes to the log and to ward's stderr, then the sentry aborts,
/// and its stubs and the gofer die with it.
fn install_panic_hook(stderr: &OwnedFd) -> Result<()> {
    let out = stderr.try_clone().context("duplicating stderr")?;
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        tracing::error!(thread = name, "sentry panic: {info}");
        let line =
            format!("ward: the sentry failed on thread {name}: {info}; the sandbox is stopped\n");
        let _ = std::fs::File::from(out.try_clone().unwrap_or_else(|_| std::process::abort()))
            .write_all(line.as_bytes());
        std::process::abort();
    }));
    Ok(())
}

pub fn run(a: SentryArgs, flags: &LogFlags) -> Result<i32> {
    if flags.confine {
        sentry::confine::enable();
    }
    if a.joined_netns {
        sentry::confine::keep_network_namespace();
    }
    // Still single-threaded: the only moment the namespaces can be entered.
    sentry::confine::unshare_namespaces().context("confining the sentry")?;
    if a.control {
        return serve(a, flags);
    }
    let gofer = take_fd(COMPONENT_FD).context("gofer socket")?;
    // Our own copy of stderr: fd 2 itself goes to the sandbox, and is closed
    // with it, before we may need to report why the sandbox could not start.
    let own_stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .context("duplicating stderr")?;
    install_panic_hook(&own_stderr)?;
    let stdio = [take_fd(0)?, take_fd(1)?, take_fd(2)?];
    let envp: Vec<Vec<u8>> = std::env::vars_os()
        .map(|(k, v)| {
            let mut e = k.into_vec();
            e.push(b'=');
            e.extend_from_slice(v.as_bytes());
            e
        })
        .collect();
    let cfg = sentry::SandboxConfig {
        argv: a.argv.into_iter().map(|s| s.into_vec()).collect(),
        envp,
        cwd: a.cwd.into_os_string().into_vec(),
        stdio,
        gofer,
        platform: a.platform,
        strace: flags.debug,
        uid: a.uid,
        gid: a.gid,
        bounding: sentry::kernel::creds::CAP_FULL,
        rw_root: a.rw_root,
    };
    oci_cli::signals::block(&oci_cli::signals::INTO_SANDBOX).context("blocking signals")?;
    oci_cli::signals::watch(&oci_cli::signals::INTO_SANDBOX, |sig, _| {
        sentry::signal_init(sig);
    })
    .context("starting the signal thread")?;
    match sentry::run(cfg) {
        Ok(status) => {
            tracing::debug!(?status, "sandbox init exited");
            Ok(status.shell_code())
        }
        Err(e) => {
            let code = e.exit_code();
            let mut err = std::fs::File::from(own_stderr);
            let _ = writeln!(err, "ward: {e}");
            Ok(code)
        }
    }
}

/// The OCI runtime's sandbox: containers made and started over the
/// control socket; exits when the first container's init ends, with its
/// status.
fn serve(a: SentryArgs, flags: &LogFlags) -> Result<i32> {
    let listener = take_fd(COMPONENT_FD).context("control socket")?;
    let own_stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .context("duplicating stderr")?;
    install_panic_hook(&own_stderr)?;
    oci_cli::signals::block(&oci_cli::signals::INTO_SANDBOX).context("blocking signals")?;
    oci_cli::signals::watch(&oci_cli::signals::INTO_SANDBOX, |sig, _| {
        sentry::signal_init(sig);
    })
    .context("starting the signal thread")?;
    let cfg = sentry::control::ServeConfig {
        listener,
        platform: a.platform,
        strace: flags.debug,
    };
    match sentry::control::serve(cfg) {
        Ok(status) => Ok(status.shell_code()),
        Err(e) => {
            if e.reported() {
                tracing::debug!("{e}");
            } else {
                let mut err = std::fs::File::from(own_stderr);
                let _ = writeln!(err, "ward: {e}");
            }
            Ok(e.exit_code())
        }
    }
}
