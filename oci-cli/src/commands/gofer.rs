//! `ward gofer` (hidden): the file server for one root, on the socket at fd 3.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use oci_cli::launch::COMPONENT_FD;
use std::os::fd::{FromRawFd, OwnedFd};

#[derive(Args)]
pub struct GoferArgs {
    /// The directory to serve as the sandbox's root.
    #[arg(long)]
    root: PathBuf,
    /// Serve the root read-write: creates, writes, renames… are made
    /// beneath it. Without it every change is EROFS.
    #[arg(long)]
    rw: bool,
}

pub fn run(a: GoferArgs, flags: &oci_cli::launch::LogFlags) -> Result<i32> {
    // SAFETY: fcntl(F_GETFD) only queries whether the fd is open.
    if unsafe { libc::fcntl(COMPONENT_FD, libc::F_GETFD) } < 0 {
        anyhow::bail!("fd {COMPONENT_FD} is not open: the gofer must be started by ward");
    }
    // A terminal's ^C or hang-up is meant for the sandboxed program; the
    // gofer ends when the sentry closes its socket.
    oci_cli::signals::ignore(&[libc::SIGINT, libc::SIGQUIT, libc::SIGHUP]);
    // SAFETY: fd 3 is open (checked above) and was handed to this process to own.
    let sock = unsafe { OwnedFd::from_raw_fd(COMPONENT_FD) };
    if flags.confine {
        // Still single-threaded: the only moment the namespaces can be entered.
        gofer::confine::unshare().context("confining the gofer")?;
    }
    let root =
        gofer::open_root(&a.root).with_context(|| format!("opening root {}", a.root.display()))?;
    if flags.confine {
        gofer::confine::enter_as(&a.root, a.rw).context("confining the gofer")?;
    }
    let access = if a.rw {
        gofer::Access::ReadWrite
    } else {
        gofer::Access::ReadOnly
    };
    gofer::serve_as(root, sock, access).context("serving")?;
    Ok(0)
}
