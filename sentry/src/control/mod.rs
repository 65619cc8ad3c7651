//! The sandbox as a server of containers (`ward sentry --control`, used by
//! the OCI runtime): the sentry listens on a control socket that `ward`
//! made for it, makes containers (each its own gofer and tree, all sharing
//! this kernel, as the containers of one pod), holds each container's init
//! until `start`, starts exec'd processes, signals, lists and deletes.
//! Each container's init and each exec'd process has a host process
//! outside (the one `ward`'s pid file names) waiting on its connection for
//! the `Exited` message. The sandbox ends when its first process (pid 1,
//! the first container's init) ends.
//!
//! | module     | owns                                                  |
//! |------------|-------------------------------------------------------|
//! | `protocol` | the messages                                          |
//! | `wire`     | JSON over SOCK_SEQPACKET with SCM_RIGHTS fds          |
//! | `registry` | containers, start gates, exit waiters                 |
//! | `server`   | the accept loop and each request's handling           |
//! | `tree`     | a container's file tree from its spec                 |

pub mod protocol;
pub mod registry;
pub mod server;
pub mod tree;
pub mod wire;

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use crate::boot::BootError;
use crate::kernel::task::ExitStatus;
use crate::kernel::Kernel;
use crate::mm::MemoryFile;
use protocol::{Reply, Request};
use registry::registry;

/// How the server sandbox starts.
pub struct ServeConfig {
    /// The listening control socket.
    pub listener: OwnedFd,
    pub platform: String,
    /// Log every syscall (`--debug`).
    pub strace: bool,
}

/// Serves containers until the first container's init ends; its status.
pub fn serve(cfg: ServeConfig) -> Result<ExitStatus, BootError> {
    crate::fsimpl::proc::capture_host();
    let memfile = Arc::new(MemoryFile::new()?);
    crate::loader::vdso::init(&memfile);
    let (platform, why) = platform::select(&cfg.platform, memfile.fd())
        .map_err(|e| BootError::Platform(e.to_string()))?;
    tracing::debug!(
        platform = platform.name(),
        "platform chosen: {} ({why})",
        platform.name()
    );
    crate::kernel::exit_watch::observe(Box::new(|tg, status| registry().exited(tg, status)));

    // The first connection makes the first container: its tree is the
    // kernel's own.
    let (conn, spec, mut fds) = loop {
        let conn = wire::accept(cfg.listener.as_fd())
            .map_err(|e| BootError::Platform(format!("control socket: {e}")))?;
        match wire::recv::<Request>(conn.as_fd()) {
            Ok((Request::Create { spec }, fds)) => break (conn, spec, fds),
            Ok((other, _)) => {
                let message = format!("the sandbox has no container yet (got {other:?})");
                let _ = wire::send(conn.as_fd(), &Reply::Error { message }, &[]);
            }
            Err(e) => tracing::debug!("control socket: {e}"),
        }
    };
    let fail = |conn: &OwnedFd, message: String| {
        let _ = wire::send(
            conn.as_fd(),
            &Reply::Error {
                message: message.clone(),
            },
            &[],
        );
        BootError::Refused(message)
    };
    if fds.len() != 4 {
        return Err(fail(
            &conn,
            format!("expected 4 fds with create, got {}", fds.len()),
        ));
    }
    let gofer = fds.remove(0);
    let vfs = Arc::new(tree::build(&memfile, &spec, gofer).map_err(|m| fail(&conn, m))?);
    let kernel = Arc::new(Kernel::new(
        memfile.clone(),
        platform.clone(),
        vfs.clone(),
        cfg.strace,
    ));
    // Everything read from host paths has been read: close the walls.
    crate::confine::enter()?;
    memfile.enable_reuse();
    let _ = registry().kernel.set(kernel.clone());
    server::create_inner(&kernel, &conn, spec, &mut fds, true, Some(vfs))
        .map_err(|m| fail(&conn, m))?;
    drop(conn);
    let listener = cfg.listener;
    std::thread::Builder::new()
        .name("control".into())
        .spawn(move || server::accept_loop(listener))
        .map_err(|e| BootError::Platform(format!("starting the control thread: {e}")))?;

    let status = registry().wait_root_exit();
    // The sandbox ends with its first process: wait for every other task
    // (their ends are reported to their waiters) before saying so.
    crate::kernel::kernel::tasks().wait_all_gone();
    registry().tell_root_exit(status);
    Ok(status)
}
