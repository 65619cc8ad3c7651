//! The gofer client, used by the sentry to reach its files.
//!
//! Owns the sentry's end of the socket: one request in flight at a time,
//! behind a mutex, each reply matched to its request by tag and opcode.
//! It must never trust the gofer more than the protocol allows: every reply
//! is decoded strictly (see [`crate::protocol::decode_reply`]), descriptors
//! that arrive with the wrong reply are closed, and after a socket or
//! protocol failure the connection is marked broken rather than resynced.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};

use thiserror::Error;

use crate::protocol::{
    decode_reply, encode_request, Attr, Dirent, Fid, FsStat, Reply, Request, SetAttr, MAX_MESSAGE,
    NAME_MAX, PROTOCOL_VERSION,
};
use crate::raw;

/// Why a gofer call failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The host errno of the failed operation.
    #[error("gofer replied errno {0}")]
    Errno(i32),
    /// The socket failed or the gofer went away.
    #[error("gofer socket: {0}")]
    Io(#[from] io::Error),
    /// The gofer sent something the protocol does not allow.
    #[error("gofer protocol: {0}")]
    Protocol(String),
}

impl ClientError {
    /// The errno to give the application: the gofer's own for
    /// [`ClientError::Errno`], `EIO` for anything else.
    pub fn errno(&self) -> i32 {
        match self {
            ClientError::Errno(e) => *e,
            ClientError::Io(_) | ClientError::Protocol(_) => libc::EIO,
        }
    }
}

/// A connection to one gofer.
pub struct Client {
    inner: Mutex<Inner>,
}

struct Inner {
    sock: OwnedFd,
    next_tag: u32,
    /// Set after a failure that may have desynchronised the stream.
    broken: bool,
    out: Vec<u8>,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// Takes the connected `SOCK_SEQPACKET` socket `sock` and performs the
    /// version handshake.
    pub fn new(sock: OwnedFd) -> Result<Client, ClientError> {
        let client = Client {
            inner: Mutex::new(Inner {
                sock,
                next_tag: 1,
                broken: false,
                out: Vec::with_capacity(MAX_MESSAGE),
                buf: vec![0; MAX_MESSAGE],
            }),
        };
        match client.call(&Request::Version {
            version: PROTOCOL_VERSION,
        })? {
            (Reply::Version { version }, _) if version == PROTOCOL_VERSION => Ok(client),
            (Reply::Version { version }, _) => Err(ClientError::Protocol(format!(
                "version mismatch: this client speaks protocol {PROTOCOL_VERSION}, the gofer speaks {version}"
            ))),
            (other, _) => Err(unexpected("version", &other)),
        }
    }

    /// A new fid for the served root, and its attributes.
    pub fn attach(&self) -> Result<(Fid, Attr), ClientError> {
        self.attach_source(0)
    }

    /// A new fid for the served source `index` (0 the root, i the i-th
    /// extra source: a directory or a regular file), and its attributes;
    /// an index the gofer does not serve is `Errno(EINVAL)`.
    pub fn attach_source(&self, index: u32) -> Result<(Fid, Attr), ClientError> {
        match self.call(&Request::Attach { index })? {
            (Reply::Attach { fid, attr }, _) => Ok((fid, attr)),
            (other, _) => Err(unexpected("attach", &other)),
        }
    }

    /// Looks up one path component `name` in the directory `dir`. `name` is
    /// never "", "." or "..", and never contains '/' or NUL (the gofer
    /// answers `EINVAL`); a symlink is returned as itself, never followed.
    pub fn walk(&self, dir: Fid, name: &[u8]) -> Result<(Fid, Attr), ClientError> {
        if name.len() > NAME_MAX {
            return Err(ClientError::Errno(libc::ENAMETOOLONG));
        }
        match self.call(&Request::Walk { fid: dir, name })? {
            (Reply::Walk { fid, attr }, _) => Ok((fid, attr)),
            (other, _) => Err(unexpected("walk", &other)),
        }
    }

    /// Fresh attributes of `fid`.
    pub fn getattr(&self, fid: Fid) -> Result<Attr, ClientError> {
        match self.call(&Request::Getattr { fid })? {
            (Reply::Getattr { attr }, _) => Ok(attr),
            (other, _) => Err(unexpected("getattr", &other)),
        }
    }

    /// Opens `fid` on the host and returns the fd (close-on-exec). `flags`
    /// is an access mode plus `O_DIRECTORY`, `O_NOATIME`, `O_NONBLOCK`,
    /// `O_TRUNC`, `O_APPEND`, …; write access to a read-only gofer is
    /// `EROFS`, a symlink `ELOOP`.
    pub fn open(&self, fid: Fid, flags: i32) -> Result<OwnedFd, ClientError> {
        match self.call(&Request::Open { fid, flags })? {
            (Reply::Open, fds) => one_fd("open", fds),
            (other, _) => Err(unexpected("open", &other)),
        }
    }

    /// Creates the regular file `name` (which must not exist) in the
    /// directory `dir` with permission bits `mode`, opened with `flags`:
    /// its new fid, attributes and host fd.
    pub fn create(
        &self,
        dir: Fid,
        name: &[u8],
        flags: i32,
        mode: u32,
    ) -> Result<(Fid, Attr, OwnedFd), ClientError> {
        check_len(name)?;
        match self.call(&Request::Create {
            dir,
            name,
            flags,
            mode,
        })? {
            (Reply::Create { fid, attr }, fds) => match one_fd("create", fds) {
                Ok(fd) => Ok((fid, attr, fd)),
                Err(e) => {
                    let _ = self.clunk(fid);
                    Err(e)
                }
            },
            (other, _) => Err(unexpected("create", &other)),
        }
    }

    /// The directory `name` in `dir`, with permission bits `mode`.
    pub fn mkdir(&self, dir: Fid, name: &[u8], mode: u32) -> Result<(), ClientError> {
        check_len(name)?;
        match self.call(&Request::Mkdir { dir, name, mode })? {
            (Reply::Mkdir, _) => Ok(()),
            (other, _) => Err(unexpected("mkdir", &other)),
        }
    }

    /// The symlink `name` in `dir`, reading `target`.
    pub fn symlink(&self, dir: Fid, name: &[u8], target: &[u8]) -> Result<(), ClientError> {
        check_len(name)?;
        match self.call(&Request::Symlink { dir, name, target })? {
            (Reply::Symlink, _) => Ok(()),
            (other, _) => Err(unexpected("symlink", &other)),
        }
    }

    /// A new name `name` in `dir` for the non-directory `fid`.
    pub fn link(&self, fid: Fid, dir: Fid, name: &[u8]) -> Result<(), ClientError> {
        check_len(name)?;
        match self.call(&Request::Link { fid, dir, name })? {
            (Reply::Link, _) => Ok(()),
            (other, _) => Err(unexpected("link", &other)),
        }
    }

    /// The node `name` in `dir` of type and permissions `mode` (the gofer
    /// makes FIFOs only).
    pub fn mknod(&self, dir: Fid, name: &[u8], mode: u32, rdev: u64) -> Result<(), ClientError> {
        check_len(name)?;
        match self.call(&Request::Mknod {
            dir,
            name,
            mode,
            rdev,
        })? {
            (Reply::Mknod, _) => Ok(()),
            (other, _) => Err(unexpected("mknod", &other)),
        }
    }

    /// Removes `name` from `dir`: a directory with `AT_REMOVEDIR` in
    /// `flags`, anything else without.
    pub fn unlink(&self, dir: Fid, name: &[u8], flags: i32) -> Result<(), ClientError> {
        check_len(name)?;
        match self.call(&Request::Unlink { dir, name, flags })? {
            (Reply::Unlink, _) => Ok(()),
            (other, _) => Err(unexpected("unlink", &other)),
        }
    }

    /// renameat2 of `old_name` in `old_dir` to `new_name` in `new_dir`.
    pub fn rename(
        &self,
        old_dir: Fid,
        old_name: &[u8],
        new_dir: Fid,
        new_name: &[u8],
        flags: u32,
    ) -> Result<(), ClientError> {
        check_len(old_name)?;
        check_len(new_name)?;
        match self.call(&Request::Rename {
            old_dir,
            old_name,
            new_dir,
            new_name,
            flags,
        })? {
            (Reply::Rename, _) => Ok(()),
            (other, _) => Err(unexpected("rename", &other)),
        }
    }

    /// Applies `attr` to `fid`; its attributes afterwards.
    pub fn setattr(&self, fid: Fid, attr: SetAttr) -> Result<Attr, ClientError> {
        match self.call(&Request::Setattr { fid, attr })? {
            (Reply::Setattr { attr }, _) => Ok(attr),
            (other, _) => Err(unexpected("setattr", &other)),
        }
    }

    /// The whole directory `fid`, in host order, "." and ".." included;
    /// fetched a page at a time.
    pub fn readdir(&self, fid: Fid) -> Result<Vec<Dirent>, ClientError> {
        let mut all = Vec::new();
        let mut cookie = 0;
        loop {
            match self.call(&Request::Readdir { fid, cookie })? {
                (
                    Reply::Readdir {
                        cookie: next,
                        eof,
                        entries,
                    },
                    _,
                ) => {
                    // A non-final page always makes progress; anything else
                    // would loop forever.
                    if !eof && (entries.is_empty() || next == 0) {
                        return Err(ClientError::Protocol(
                            "readdir page made no progress".into(),
                        ));
                    }
                    all.extend(entries);
                    if eof {
                        return Ok(all);
                    }
                    cookie = next;
                }
                (other, _) => return Err(unexpected("readdir", &other)),
            }
        }
    }

    /// The raw target of the symlink `fid`.
    pub fn readlink(&self, fid: Fid) -> Result<Vec<u8>, ClientError> {
        match self.call(&Request::Readlink { fid })? {
            (Reply::Readlink { target }, _) => Ok(target),
            (other, _) => Err(unexpected("readlink", &other)),
        }
    }

    /// The counts of the host file system `fid` lives on.
    pub fn statfs(&self, fid: Fid) -> Result<FsStat, ClientError> {
        match self.call(&Request::Statfs { fid })? {
            (Reply::Statfs { stat }, _) => Ok(stat),
            (other, _) => Err(unexpected("statfs", &other)),
        }
    }

    /// Releases `fid`.
    pub fn clunk(&self, fid: Fid) -> Result<(), ClientError> {
        match self.call(&Request::Clunk { fid })? {
            (Reply::Clunk, _) => Ok(()),
            (other, _) => Err(unexpected("clunk", &other)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves `Inner` usable:
        // every call either completes or marks the connection broken.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends `req`, waits for its reply. An `Error` reply becomes
    /// `ClientError::Errno`; descriptors are returned beside the reply.
    fn call(&self, req: &Request<'_>) -> Result<(Reply, Vec<OwnedFd>), ClientError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        if inner.broken {
            return Err(ClientError::Protocol(
                "connection broken by an earlier failure".into(),
            ));
        }
        let tag = inner.next_tag;
        inner.next_tag = inner.next_tag.wrapping_add(1);
        encode_request(tag, req, &mut inner.out).map_err(|e| ClientError::Errno(e.errno()))?;
        let result = inner.round_trip(tag);
        if matches!(result, Err(ClientError::Io(_) | ClientError::Protocol(_))) {
            inner.broken = true;
        }
        match result? {
            (Reply::Error { errno }, _) => Err(ClientError::Errno(errno)),
            ok => Ok(ok),
        }
    }
}

impl Inner {
    fn round_trip(&mut self, tag: u32) -> Result<(Reply, Vec<OwnedFd>), ClientError> {
        raw::send_msg(self.sock.as_fd(), &self.out, None)?;
        let got = raw::recv_msg(self.sock.as_fd(), &mut self.buf)?;
        if got.len == 0 && raw::peer_closed(self.sock.as_fd())? {
            return Err(ClientError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "gofer closed the connection",
            )));
        }
        if got.truncated {
            return Err(ClientError::Protocol(format!(
                "reply longer than {MAX_MESSAGE} bytes"
            )));
        }
        if got.fds_truncated {
            return Err(ClientError::Protocol("reply carried too many fds".into()));
        }
        let msg = self.buf.get(..got.len).unwrap_or_default();
        let (reply_tag, reply) =
            decode_reply(msg).map_err(|e| ClientError::Protocol(e.to_string()))?;
        if reply_tag != tag {
            return Err(ClientError::Protocol(format!(
                "reply tag {reply_tag} does not match request tag {tag}"
            )));
        }
        if !got.fds.is_empty() && !matches!(reply, Reply::Open | Reply::Create { .. }) {
            return Err(ClientError::Protocol(format!(
                "unexpected fd with reply {}",
                reply_name(&reply)
            )));
        }
        Ok((reply, got.fds))
    }
}

fn reply_name(reply: &Reply) -> &'static str {
    match reply {
        Reply::Version { .. } => "version",
        Reply::Attach { .. } => "attach",
        Reply::Walk { .. } => "walk",
        Reply::Getattr { .. } => "getattr",
        Reply::Open => "open",
        Reply::Readdir { .. } => "readdir",
        Reply::Readlink { .. } => "readlink",
        Reply::Clunk => "clunk",
        Reply::Create { .. } => "create",
        Reply::Mkdir => "mkdir",
        Reply::Symlink => "symlink",
        Reply::Link => "link",
        Reply::Mknod => "mknod",
        Reply::Unlink => "unlink",
        Reply::Rename => "rename",
        Reply::Setattr { .. } => "setattr",
        Reply::Statfs { .. } => "statfs",
        Reply::Error { .. } => "error",
    }
}

/// `ENAMETOOLONG` for a name no request can carry.
fn check_len(name: &[u8]) -> Result<(), ClientError> {
    if name.len() > NAME_MAX {
        return Err(ClientError::Errno(libc::ENAMETOOLONG));
    }
    Ok(())
}

/// The one descriptor an `Open` or `Create` reply must carry.
fn one_fd(request: &str, mut fds: Vec<OwnedFd>) -> Result<OwnedFd, ClientError> {
    match (fds.pop(), fds.is_empty()) {
        (Some(fd), true) => Ok(fd),
        (None, _) => Err(ClientError::Protocol(format!(
            "{request} reply carried no fd"
        ))),
        (Some(_), false) => Err(ClientError::Protocol(format!(
            "{request} reply carried more than one fd"
        ))),
    }
}

fn unexpected(request: &str, reply: &Reply) -> ClientError {
    ClientError::Protocol(format!(
        "{} reply to a {request} request",
        reply_name(reply)
    ))
}
