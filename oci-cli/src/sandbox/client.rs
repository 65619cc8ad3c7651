//! One request on a sandbox's control socket, and the control socket's
//! path. Unix socket paths are limited to 107 bytes and state directories
//! can be deep (containerd's are), so a path is reached through a held
//! directory fd: "/proc/self/fd/N/control".

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use sentry::control::protocol::{Reply, Request};
use sentry::control::wire::{self, WireError};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connecting to the sandbox at {path}: {err}")]
    Connect { path: PathBuf, err: std::io::Error },
    #[error("{0}")]
    Wire(#[from] WireError),
    #[error("{0}")]
    Refused(String),
}

/// A short path for the socket `path`, valid while `dir` stays open.
pub fn short_path(path: &Path) -> std::io::Result<(OwnedFd, PathBuf)> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().unwrap_or_default();
    let fd: OwnedFd = std::fs::File::open(dir)?.into();
    let short = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())).join(name);
    Ok((fd, short))
}

/// A connection to the control socket at `path`.
pub fn connect(path: &Path) -> Result<OwnedFd, ClientError> {
    let err = |err| ClientError::Connect {
        path: path.to_path_buf(),
        err,
    };
    let (_dir, short) = short_path(path).map_err(err)?;
    wire::connect(&short).map_err(err)
}

/// Sends `req` with `fds` on `conn` and reads the reply; an `Error` reply
/// is `ClientError::Refused`.
pub fn call_on(conn: BorrowedFd<'_>, req: &Request, fds: &[BorrowedFd<'_>]) -> Result<Reply, ClientError> {
    wire::send(conn, req, fds)?;
    let (reply, _) = wire::recv::<Reply>(conn)?;
    match reply {
        Reply::Error { message } => Err(ClientError::Refused(message)),
        r => Ok(r),
    }
}

/// One request on a new connection.
pub fn call(path: &Path, req: &Request) -> Result<Reply, ClientError> {
    let conn = connect(path)?;
    call_on(conn.as_fd(), req, &[])
}
