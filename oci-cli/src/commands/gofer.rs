//! `ward gofer` (hidden): the file server for one container, on the socket
//! at fd 3: its root (attach index 0) and the sources of its bind mounts
//! (`--mount SRC[:ro]`, attach index 1, 2, … in order), each opened
//! before the gofer confines itself.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use oci_cli::launch::{GoferMount, COMPONENT_FD};
use std::os::fd::{FromRawFd, OwnedFd};

#[derive(Args)]
pub struct GoferArgs {
    /// The directory to serve as the sandbox's root.
    #[arg(long)]
    root: PathBuf,
    /// Serve read-write: creates, writes, renames… are made beneath the
    /// root and the read-write mounts. Without it every change is EROFS.
    #[arg(long)]
    rw: bool,
    /// With --rw: the root itself stays read-only (only mounts change).
    #[arg(long, requires = "rw")]
    root_ro: bool,
    /// A bind mount's source to serve too, a directory or a regular file;
    /// ":ro" makes every change beneath it EROFS (":rw", the default, is
    /// read-write only under --rw). Repeat for each mount.
    #[arg(long = "mount", value_name = "SRC[:ro]")]
    mounts: Vec<OsString>,
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
    let mut sources = vec![gofer::Source::root(root, a.root_ro)];
    // Every source is held open before the pivot_root below makes the
    // host's paths unreachable.
    for arg in &a.mounts {
        let m = GoferMount::parse(arg);
        let source = gofer::open_source(&m.source, m.read_only)
            .with_context(|| format!("opening mount source {}", m.source.display()))?;
        sources.push(source);
    }
    if flags.confine {
        gofer::confine::enter_as(&a.root, a.rw).context("confining the gofer")?;
    }
    let access = if a.rw {
        gofer::Access::ReadWrite
    } else {
        gofer::Access::ReadOnly
    };
    gofer::serve_sources(sources, sock, access).context("serving")?;
    Ok(0)
}
