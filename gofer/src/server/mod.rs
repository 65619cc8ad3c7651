//! The gofer server: serves one container's trees to one sentry (its root
//! and its bind mounts' sources, [`source`]), read-only unless started
//! read-write ([`Access::ReadWrite`]); a read-only source refuses changes
//! either way, and no link or rename crosses from one source to another.
//!
//! Owns the fid table and every host lookup made on the sentry's behalf.
//! Every lookup is one path component, relative to an fd inside a source,
//! through `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
//! RESOLVE_NO_SYMLINKS)` with `O_NOFOLLOW`: the server never follows a
//! symlink (the sentry resolves them with `readlink`), never walks `..`,
//! never reopens through `/proc/self/fd`, and never panics or stops
//! serving because of what arrives on the socket — a malformed request
//! gets an error reply. A read-only server answers every change `EROFS`;
//! the changes a read-write one makes are in [`write`].

mod source;
mod write;

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;
use tracing::{debug, warn};

use crate::protocol::{
    check_name, decode_request, encode_reply, peek_tag, Dirent, Fid, Reply, Request, HEADER_LEN,
    MAX_MESSAGE, NAME_MAX, PATH_MAX, PROTOCOL_VERSION,
};
use crate::raw;

use source::Held;
pub use source::{open_source, Source, SourceError};

/// Most fids one connection may hold; walks beyond fail with `ENFILE`.
pub const MAX_FIDS: usize = 1 << 20;

/// How every lookup resolves: inside the directory fd, no symlinks (so no
/// magic links either), no escape through `..` or absolute paths.
pub(super) const RESOLVE: u64 =
    libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS | libc::RESOLVE_NO_SYMLINKS;

/// Filesystems the gofer refuses to walk into. The sentry provides its own
/// `/proc` (listing only sandbox processes) and no `/sys` of the host; the
/// host's procfs and sysfs would leak host processes and kernel state, and
/// procfs is full of magic links. Other mounts under the root (`/dev`,
/// `/tmp`, …) are served like any directory.
pub(super) const PROC_SUPER_MAGIC: u64 = 0x9fa0;
pub(super) const SYSFS_MAGIC: u64 = 0x6265_6572;

/// Bytes a `Readdir` reply's entries may take: the message limit less the
/// header, the cookie, the eof flag and the count.
const READDIR_BUDGET: usize = MAX_MESSAGE - HEADER_LEN - 8 - 1 - 4;

/// Fixed part of a `linux_dirent64`: d_ino, d_off, d_reclen, d_type.
const DIRENT64_HEADER: usize = 8 + 8 + 2 + 1;

/// Largest `linux_dirent64` record: header, NAME_MAX bytes, NUL, padded to 8.
const DIRENT64_MAX: usize = (DIRENT64_HEADER + NAME_MAX + 1).next_multiple_of(8);

/// Encoded size of one directory entry in a reply, less its name.
const DIRENT_WIRE_HEADER: usize = 8 + 1 + 2;

// A reply entry is never longer than the linux_dirent64 it came from (header,
// name, NUL), so `n` bytes of getdents output encode in at most `n` bytes.
const _: () = assert!(DIRENT_WIRE_HEADER <= DIRENT64_HEADER + 1);
const _: () = assert!(READDIR_BUDGET >= DIRENT64_MAX);

/// Flags `Client::open` may pass through to the host, besides the access
/// mode (which must be `O_RDONLY`). `O_APPEND`, `O_EXCL` and `O_ASYNC` are
/// accepted because Linux accepts them on a read-only open, where they do
/// nothing the sentry could observe.
const OPEN_PASS_FLAGS: i32 = libc::O_DIRECTORY
    | libc::O_NOATIME
    | libc::O_NONBLOCK
    | libc::O_LARGEFILE
    | libc::O_CLOEXEC
    | libc::O_NOFOLLOW
    | libc::O_NOCTTY
    | libc::O_DIRECT
    | libc::O_SYNC
    | libc::O_DSYNC
    | libc::O_APPEND
    | libc::O_EXCL
    | libc::O_ASYNC;

/// The `O_TMPFILE` bit proper (`O_TMPFILE` includes `O_DIRECTORY`).
const TMPFILE_BIT: i32 = libc::O_TMPFILE & !libc::O_DIRECTORY;

/// A host errno.
type Errno = i32;

/// What a server may do to its tree, chosen when it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Every change (a write open, create, unlink, …) is `EROFS`.
    ReadOnly,
    /// Changes are made beneath the root, never through a symlink.
    ReadWrite,
}

/// Why the server stopped (a closed connection is not an error).
#[derive(Debug, Error)]
pub enum ServeError {
    #[error("open root {path}: {source}")]
    OpenRoot { path: PathBuf, source: io::Error },
    #[error("stat root: {0}")]
    StatRoot(io::Error),
    #[error("no root to serve")]
    NoRoot,
    #[error("root is not a directory (mode {mode:#o})")]
    RootNotDirectory { mode: u32 },
    #[error("receive request: {0}")]
    Recv(io::Error),
    #[error("send reply to tag {tag}: {source}")]
    Send { tag: u32, source: io::Error },
}

/// Opens `path` as a root to serve: an `O_PATH | O_DIRECTORY` fd. The path
/// comes from the operator and is trusted; nothing below it will be.
pub fn open_root(path: &Path) -> Result<OwnedFd, ServeError> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(path)
        .map(OwnedFd::from)
        .map_err(|source| ServeError::OpenRoot {
            path: path.to_owned(),
            source,
        })
}

/// Serves the directory `root` (an `O_PATH | O_DIRECTORY` fd, see
/// [`open_root`]) on the connected `SOCK_SEQPACKET` socket `sock` until the
/// peer closes it, which returns `Ok(())`.
pub fn serve(root: OwnedFd, sock: OwnedFd) -> Result<(), ServeError> {
    serve_as(root, sock, Access::ReadOnly)
}

/// [`serve`] with the given [`Access`]. A read-write server clears the
/// process's umask, so that files get exactly the modes asked for (the
/// sentry has applied the sandbox's umask).
pub fn serve_as(root: OwnedFd, sock: OwnedFd, access: Access) -> Result<(), ServeError> {
    serve_sources(vec![Source::root(root, false)], sock, access)
}

/// Serves `sources` on `sock` until the peer closes it: `Attach { index }`
/// gives a fid for `sources[index]`. The first is the root and must be a
/// directory (see [`open_root`]); the others come from [`open_source`]. A
/// read-only source refuses every change (`EROFS`) even when `access` is
/// [`Access::ReadWrite`]; a read-only server refuses them everywhere.
pub fn serve_sources(
    sources: Vec<Source>,
    sock: OwnedFd,
    access: Access,
) -> Result<(), ServeError> {
    let root = sources.first().ok_or(ServeError::NoRoot)?;
    let attr = raw::stat_fd(root.fd.as_fd()).map_err(ServeError::StatRoot)?;
    if !root.is_dir() || attr.mode & libc::S_IFMT != libc::S_IFDIR {
        return Err(ServeError::RootNotDirectory { mode: attr.mode });
    }
    if access == Access::ReadWrite {
        raw::clear_umask();
    }
    let mut server = Server::new(sources, access);
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut out = Vec::with_capacity(MAX_MESSAGE);
    loop {
        let got = match raw::recv_msg(sock.as_fd(), &mut buf) {
            Ok(g) => g,
            // The sentry died without closing first: the same as a close.
            Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => {
                debug!("peer reset the connection");
                return Ok(());
            }
            Err(e) => return Err(ServeError::Recv(e)),
        };
        // Descriptors from the client are never used; `got.fds` closes them.
        if got.len == 0
            && !got.truncated
            && raw::peer_closed(sock.as_fd()).map_err(ServeError::Recv)?
        {
            debug!("peer closed the connection");
            return Ok(());
        }
        let msg = buf.get(..got.len).unwrap_or_default();
        let tag = peek_tag(msg);
        // The donated fd, if any, is sent with the reply and closed here.
        let (reply, fd) = if got.truncated {
            debug!(tag, "request longer than {MAX_MESSAGE} bytes");
            (errno_reply(libc::EMSGSIZE), None)
        } else {
            server.handle(msg)
        };
        if let Err(e) = encode_reply(tag, &reply, &mut out) {
            warn!(tag, error = %e, "cannot encode reply");
            // An Error reply always encodes.
            let _ = encode_reply(tag, &errno_reply(libc::EIO), &mut out);
        }
        match raw::send_msg(sock.as_fd(), &out, fd.as_ref().map(AsFd::as_fd)) {
            Ok(()) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET)) => {
                debug!("peer closed the connection before the reply");
                return Ok(());
            }
            Err(source) => return Err(ServeError::Send { tag, source }),
        }
    }
}

fn errno_reply(errno: Errno) -> Reply {
    Reply::Error { errno }
}

fn errno_of(e: &io::Error) -> Errno {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// Where a non-directory node was found, so it can be reopened by name.
#[derive(Clone)]
pub(super) struct Parent {
    pub(super) fd: Arc<OwnedFd>,
    pub(super) name: CString,
}

/// An open directory stream kept between `Readdir` pages of one fid.
struct DirStream {
    fd: OwnedFd,
    /// The cookie the stream is positioned at.
    pos: u64,
}

/// What a fid refers to.
pub(super) struct Node {
    /// `O_PATH | O_NOFOLLOW` fd of the node itself.
    fd: Arc<OwnedFd>,
    /// `None` for the root.
    parent: Option<Parent>,
    dev: u64,
    ino: u64,
    /// `st_mode` at walk time; the file type of an inode never changes.
    mode: u32,
    dir: Option<DirStream>,
    /// The index of the source it is beneath.
    source: u32,
}

impl Node {
    pub(super) fn kind(&self) -> u32 {
        self.mode & libc::S_IFMT
    }

    pub(super) fn is_dir(&self) -> bool {
        self.kind() == libc::S_IFDIR
    }

    /// Opens the node itself with `flags` (which must include `O_NOFOLLOW`
    /// and `O_CLOEXEC`). A directory is reopened as "." of its own fd; any
    /// other node by its name in its parent. Either way the result must be
    /// the same inode, else the name was replaced since the walk: `ESTALE`.
    pub(super) fn reopen(&self, flags: i32) -> Result<OwnedFd, Errno> {
        let fd = match &self.parent {
            Some(parent) if !self.is_dir() => {
                raw::openat2(parent.fd.as_fd(), &parent.name, flags, RESOLVE)
            }
            _ => raw::openat2(self.fd.as_fd(), c".", flags, RESOLVE),
        }
        .map_err(|e| errno_of(&e))?;
        let attr = raw::stat_fd(fd.as_fd()).map_err(|e| errno_of(&e))?;
        if (attr.dev, attr.ino) != (self.dev, self.ino) {
            return Err(libc::ESTALE);
        }
        Ok(fd)
    }
}

/// The state of one connection.
struct Server {
    /// The served trees: the root first, then the bind mounts' sources.
    sources: Vec<Held>,
    access: Access,
    nodes: HashMap<Fid, Node>,
    next_fid: Fid,
    /// Set once the client has sent a matching `Version`; never cleared.
    negotiated: bool,
    /// Scratch buffer for `getdents64`.
    dents: Vec<u8>,
}

impl Server {
    fn new(sources: Vec<Source>, access: Access) -> Self {
        Server {
            sources: sources.into_iter().map(Held::from).collect(),
            access,
            nodes: HashMap::new(),
            next_fid: 1,
            negotiated: false,
            dents: vec![0; READDIR_BUDGET],
        }
    }

    /// Answers one message: a reply, and the fd it donates, if any.
    fn handle(&mut self, msg: &[u8]) -> (Reply, Option<OwnedFd>) {
        let (tag, req) = match decode_request(msg) {
            Ok(decoded) => decoded,
            Err(e) => {
                debug!(tag = peek_tag(msg), error = %e, "malformed request");
                return (errno_reply(e.errno()), None);
            }
        };
        if !self.negotiated && !matches!(req, Request::Version { .. }) {
            debug!(tag, "request before version handshake");
            return (errno_reply(libc::EPROTO), None);
        }
        let result = match req {
            Request::Version { version } => Ok(self.version(tag, version)),
            Request::Attach { index } => self.attach(tag, index),
            Request::Walk { fid, name } => self.walk(tag, fid, name),
            Request::Getattr { fid } => self.getattr(tag, fid),
            Request::Open { fid, flags } => {
                return match self.open(tag, fid, flags) {
                    Ok(fd) => (Reply::Open, Some(fd)),
                    Err(errno) => {
                        debug!(tag, errno, "open failed");
                        (errno_reply(errno), None)
                    }
                }
            }
            Request::Create {
                dir,
                name,
                flags,
                mode,
            } => {
                return match self.create(tag, dir, name, flags, mode) {
                    Ok((reply, fd)) => (reply, Some(fd)),
                    Err(errno) => {
                        debug!(tag, errno, "create failed");
                        (errno_reply(errno), None)
                    }
                }
            }
            Request::Mkdir { dir, name, mode } => self.mkdir(tag, dir, name, mode),
            Request::Symlink { dir, name, target } => self.symlink(tag, dir, name, target),
            Request::Link { fid, dir, name } => self.link(tag, fid, dir, name),
            Request::Mknod {
                dir,
                name,
                mode,
                rdev,
            } => self.mknod(tag, dir, name, mode, rdev),
            Request::Unlink { dir, name, flags } => self.unlink(tag, dir, name, flags),
            Request::Rename {
                old_dir,
                old_name,
                new_dir,
                new_name,
                flags,
            } => self.rename(tag, old_dir, old_name, new_dir, new_name, flags),
            Request::Setattr { fid, attr } => self.setattr(tag, fid, &attr),
            Request::Readdir { fid, cookie } => self.readdir(tag, fid, cookie),
            Request::Readlink { fid } => self.readlink(tag, fid),
            Request::Statfs { fid } => self.statfs(tag, fid),
            Request::Clunk { fid } => self.clunk(tag, fid),
        };
        match result {
            Ok(reply) => (reply, None),
            Err(errno) => {
                debug!(tag, errno, "request failed");
                (errno_reply(errno), None)
            }
        }
    }

    fn node(&self, fid: Fid) -> Result<&Node, Errno> {
        self.nodes.get(&fid).ok_or(libc::EBADF)
    }

    /// What may be done beneath `node`'s source: read-only when the
    /// server or the source is.
    fn access_of(&self, node: &Node) -> Access {
        let source_ro = usize::try_from(node.source)
            .ok()
            .and_then(|i| self.sources.get(i))
            .is_none_or(|s| s.read_only);
        if source_ro {
            Access::ReadOnly
        } else {
            self.access
        }
    }

    fn check_capacity(&self) -> Result<(), Errno> {
        if self.nodes.len() >= MAX_FIDS {
            return Err(libc::ENFILE);
        }
        Ok(())
    }

    fn insert(&mut self, node: Node) -> Result<Fid, Errno> {
        self.check_capacity()?;
        // Terminates: fewer than MAX_FIDS of the 2^32 - 1 fids are in use.
        loop {
            let fid = self.next_fid;
            self.next_fid = self.next_fid.checked_add(1).unwrap_or(1);
            if let std::collections::hash_map::Entry::Vacant(slot) = self.nodes.entry(fid) {
                slot.insert(node);
                return Ok(fid);
            }
        }
    }

    fn version(&mut self, tag: u32, version: u32) -> Reply {
        debug!(tag, version, "version");
        // Once agreed, the version holds for the connection: a later
        // Version request is answered but changes nothing.
        if version == PROTOCOL_VERSION {
            self.negotiated = true;
        } else {
            warn!(
                client = version,
                server = PROTOCOL_VERSION,
                "protocol version mismatch"
            );
        }
        Reply::Version {
            version: PROTOCOL_VERSION,
        }
    }

    fn attach(&mut self, tag: u32, index: u32) -> Result<Reply, Errno> {
        debug!(tag, index, "attach");
        let held = usize::try_from(index)
            .ok()
            .and_then(|i| self.sources.get(i))
            .ok_or(libc::EINVAL)?;
        let (fd, parent) = (Arc::clone(&held.fd), held.parent.clone());
        self.check_capacity()?;
        let attr = raw::stat_fd(fd.as_fd()).map_err(|e| errno_of(&e))?;
        let fid = self.insert(Node {
            fd,
            parent,
            dev: attr.dev,
            ino: attr.ino,
            mode: attr.mode,
            dir: None,
            source: index,
        })?;
        Ok(Reply::Attach { fid, attr })
    }

    fn walk(&mut self, tag: u32, fid: Fid, name: &[u8]) -> Result<Reply, Errno> {
        debug!(tag, fid, name = %String::from_utf8_lossy(name), "walk");
        let dir = self.node(fid)?;
        check_name(name).map_err(|e| e.errno())?;
        if !dir.is_dir() {
            return Err(libc::ENOTDIR);
        }
        self.check_capacity()?;
        let dir_fd = Arc::clone(&dir.fd);
        let source = dir.source;
        let name = CString::new(name).map_err(|_| libc::EINVAL)?;
        let fd = raw::openat2(
            dir_fd.as_fd(),
            &name,
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            RESOLVE,
        )
        .map_err(|e| errno_of(&e))?;
        refuse_host_pseudo_fs(fd.as_fd())?;
        let attr = raw::stat_fd(fd.as_fd()).map_err(|e| errno_of(&e))?;
        let fid = self.insert(Node {
            fd: Arc::new(fd),
            parent: Some(Parent { fd: dir_fd, name }),
            dev: attr.dev,
            ino: attr.ino,
            mode: attr.mode,
            dir: None,
            source,
        })?;
        Ok(Reply::Walk { fid, attr })
    }

    fn getattr(&mut self, tag: u32, fid: Fid) -> Result<Reply, Errno> {
        debug!(tag, fid, "getattr");
        let node = self.node(fid)?;
        let attr = raw::stat_fd(node.fd.as_fd()).map_err(|e| errno_of(&e))?;
        Ok(Reply::Getattr { attr })
    }

    fn open(&mut self, tag: u32, fid: Fid, flags: i32) -> Result<OwnedFd, Errno> {
        debug!(tag, fid, flags = format_args!("{flags:#o}"), "open");
        let node = self.node(fid)?;
        let writes = check_open_flags(flags, self.access_of(node))?;
        match node.kind() {
            libc::S_IFREG | libc::S_IFDIR => {}
            libc::S_IFLNK => return Err(libc::ELOOP),
            // As open(2) answers for a socket.
            libc::S_IFSOCK => return Err(libc::ENXIO),
            // Device nodes and FIFOs are never opened on the host: a device
            // would hand the sandbox host hardware (a disk, a tty), a FIFO
            // would block the gofer. The sentry implements both itself.
            _ => return Err(libc::EPERM),
        }
        if flags & libc::O_DIRECTORY != 0 && !node.is_dir() {
            return Err(libc::ENOTDIR);
        }
        if writes && node.is_dir() {
            return Err(libc::EISDIR);
        }
        // O_NONBLOCK always, so that a node swapped for a FIFO since the walk
        // cannot block the open; it is cleared again below unless asked for.
        // O_TRUNC waits until the node is known to be the one walked to.
        let host_flags = (flags & OPEN_PASS_FLAGS)
            | (flags & libc::O_ACCMODE)
            | libc::O_NOFOLLOW
            | libc::O_CLOEXEC
            | libc::O_NOCTTY
            | libc::O_NONBLOCK;
        let fd = node.reopen(host_flags)?;
        if flags & libc::O_TRUNC != 0 {
            // As Linux does, O_TRUNC truncates even a read-only open.
            if flags & libc::O_ACCMODE == libc::O_RDONLY {
                let w = node.reopen(
                    libc::O_WRONLY
                        | libc::O_NOFOLLOW
                        | libc::O_CLOEXEC
                        | libc::O_NOCTTY
                        | libc::O_NONBLOCK,
                )?;
                raw::ftruncate(w.as_fd(), 0).map_err(|e| errno_of(&e))?;
            } else {
                raw::ftruncate(fd.as_fd(), 0).map_err(|e| errno_of(&e))?;
            }
        }
        if flags & libc::O_NONBLOCK == 0 {
            let status = raw::get_status_flags(fd.as_fd()).map_err(|e| errno_of(&e))?;
            raw::set_status_flags(fd.as_fd(), status & !libc::O_NONBLOCK)
                .map_err(|e| errno_of(&e))?;
        }
        Ok(fd)
    }

    fn readdir(&mut self, tag: u32, fid: Fid, cookie: u64) -> Result<Reply, Errno> {
        debug!(tag, fid, cookie, "readdir");
        let node = self.nodes.get_mut(&fid).ok_or(libc::EBADF)?;
        if !node.is_dir() {
            return Err(libc::ENOTDIR);
        }
        // Cookie 0 starts over on a fresh open, like rewinddir(3).
        let mut stream = match node.dir.take() {
            Some(stream) if cookie != 0 => stream,
            _ => DirStream {
                fd: node.reopen(
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                )?,
                pos: 0,
            },
        };
        if stream.pos != cookie {
            raw::seek_dir(stream.fd.as_fd(), cookie).map_err(|e| errno_of(&e))?;
            stream.pos = cookie;
        }
        let mut entries = Vec::new();
        let mut used = 0;
        let mut eof = false;
        // Each record's encoding is smaller than its linux_dirent64, so
        // whatever getdents returns into `budget - used` bytes fits the reply.
        loop {
            let len = READDIR_BUDGET.saturating_sub(used);
            if len < DIRENT64_MAX {
                break;
            }
            let buf = self.dents.get_mut(..len).ok_or(libc::EIO)?;
            let n = match raw::getdents64(stream.fd.as_fd(), buf) {
                Ok(n) => n,
                // Hand out what was read; the next page meets the error again.
                Err(_) if !entries.is_empty() => break,
                Err(e) => return Err(errno_of(&e)),
            };
            if n == 0 {
                eof = true;
                break;
            }
            let records = buf.get(..n).ok_or(libc::EIO)?;
            if let Some(last) = parse_dirents(records, &mut entries, &mut used)? {
                stream.pos = last;
            }
        }
        // At the end the cookie is never used again; the stream is closed.
        let next = stream.pos;
        if !eof {
            node.dir = Some(stream);
        }
        debug!(tag, fid, count = entries.len(), eof, "readdir page");
        Ok(Reply::Readdir {
            cookie: next,
            eof,
            entries,
        })
    }

    fn readlink(&mut self, tag: u32, fid: Fid) -> Result<Reply, Errno> {
        debug!(tag, fid, "readlink");
        let node = self.node(fid)?;
        if node.kind() != libc::S_IFLNK {
            return Err(libc::EINVAL);
        }
        let target = raw::readlink_fd(node.fd.as_fd(), PATH_MAX).map_err(|e| errno_of(&e))?;
        Ok(Reply::Readlink { target })
    }

    fn statfs(&mut self, tag: u32, fid: Fid) -> Result<Reply, Errno> {
        debug!(tag, fid, "statfs");
        let node = self.node(fid)?;
        let stat = raw::fs_stat(node.fd.as_fd()).map_err(|e| errno_of(&e))?;
        Ok(Reply::Statfs { stat })
    }

    fn clunk(&mut self, tag: u32, fid: Fid) -> Result<Reply, Errno> {
        debug!(tag, fid, "clunk");
        self.nodes.remove(&fid).ok_or(libc::EBADF)?;
        Ok(Reply::Clunk)
    }
}

/// Refuses the host's procfs and sysfs (see [`PROC_SUPER_MAGIC`]).
fn refuse_host_pseudo_fs(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    match raw::fs_magic(fd).map_err(|e| errno_of(&e))? {
        PROC_SUPER_MAGIC | SYSFS_MAGIC => Err(libc::EACCES),
        _ => Ok(()),
    }
}

/// Checks the flags of an `Open`; returns whether it writes. A read-only
/// server refuses write access and `O_TRUNC` with `EROFS`; `O_CREAT` and
/// `O_TMPFILE` are never an `Open`'s (`Create` makes files), and flags the
/// gofer does not know are `EINVAL` (`O_PATH` among them: the sentry gets
/// real open files or nothing).
fn check_open_flags(flags: i32, access: Access) -> Result<bool, Errno> {
    let mode = flags & libc::O_ACCMODE;
    let writes = mode != libc::O_RDONLY || flags & libc::O_TRUNC != 0;
    if access == Access::ReadOnly && (writes || flags & (libc::O_CREAT | TMPFILE_BIT) != 0) {
        return Err(libc::EROFS);
    }
    if mode == libc::O_ACCMODE || flags & !(OPEN_PASS_FLAGS | libc::O_ACCMODE | libc::O_TRUNC) != 0
    {
        return Err(libc::EINVAL);
    }
    Ok(writes)
}

/// Appends the `linux_dirent64` records in `records` to `out`, adding their
/// encoded size to `used`; returns the `d_off` of the last one.
fn parse_dirents(
    records: &[u8],
    out: &mut Vec<Dirent>,
    used: &mut usize,
) -> Result<Option<u64>, Errno> {
    let mut rest = records;
    let mut last = None;
    while !rest.is_empty() {
        let (Some(ino), Some(off), Some(reclen), Some(&kind)) = (
            rest.get(0..8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_ne_bytes),
            rest.get(8..16)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_ne_bytes),
            rest.get(16..18)
                .and_then(|b| b.try_into().ok())
                .map(u16::from_ne_bytes),
            rest.get(18),
        ) else {
            return Err(libc::EIO);
        };
        let reclen = usize::from(reclen);
        let record = rest
            .get(..reclen)
            .filter(|_| reclen > DIRENT64_HEADER)
            .ok_or(libc::EIO)?;
        let name = record.get(DIRENT64_HEADER..).unwrap_or_default();
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        if name.is_empty() || name.len() > NAME_MAX {
            return Err(libc::EIO);
        }
        *used += DIRENT_WIRE_HEADER + name.len();
        out.push(Dirent {
            ino,
            kind,
            name: name.to_vec(),
        });
        last = Some(off);
        rest = rest.get(reclen..).unwrap_or_default();
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ino: u64, off: u64, kind: u8, name: &[u8]) -> Vec<u8> {
        let reclen = (DIRENT64_HEADER + name.len() + 1).next_multiple_of(8);
        let mut r = Vec::new();
        r.extend_from_slice(&ino.to_ne_bytes());
        r.extend_from_slice(&off.to_ne_bytes());
        r.extend_from_slice(&(reclen as u16).to_ne_bytes());
        r.push(kind);
        r.extend_from_slice(name);
        r.resize(reclen, 0);
        r
    }

    #[test]
    fn parse_dirents_reads_records_and_the_last_offset() {
        let mut buf = record(1, 10, libc::DT_DIR, b".");
        buf.extend(record(2, 20, libc::DT_REG, b"a-longer-name"));
        let mut out = Vec::new();
        let mut used = 0;
        assert_eq!(parse_dirents(&buf, &mut out, &mut used), Ok(Some(20)));
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].name, b"a-longer-name");
        assert_eq!(out[1].kind, libc::DT_REG);
        assert_eq!(used, 2 * DIRENT_WIRE_HEADER + 1 + 13);
        assert!(used <= buf.len());
    }

    #[test]
    fn parse_dirents_rejects_a_record_running_past_the_buffer() {
        let buf = record(1, 10, libc::DT_REG, b"name");
        for cut in 1..buf.len() {
            assert_eq!(
                parse_dirents(&buf[..cut], &mut Vec::new(), &mut 0),
                Err(libc::EIO),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn parse_dirents_rejects_a_zero_reclen() {
        let mut buf = record(1, 10, libc::DT_REG, b"name");
        buf[16..18].copy_from_slice(&0u16.to_ne_bytes());
        assert_eq!(parse_dirents(&buf, &mut Vec::new(), &mut 0), Err(libc::EIO));
    }

    #[test]
    fn write_access_is_erofs() {
        for flags in [
            libc::O_WRONLY,
            libc::O_RDWR,
            libc::O_RDONLY | libc::O_TRUNC,
            libc::O_RDONLY | libc::O_CREAT,
            libc::O_TMPFILE | libc::O_RDWR,
            libc::O_RDONLY | TMPFILE_BIT,
        ] {
            assert_eq!(
                check_open_flags(flags, Access::ReadOnly),
                Err(libc::EROFS),
                "{flags:#o}"
            );
        }
    }

    #[test]
    fn read_only_flags_pass_and_unknown_ones_are_einval() {
        let ro = Access::ReadOnly;
        assert_eq!(
            check_open_flags(libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOATIME, ro),
            Ok(false)
        );
        assert_eq!(
            check_open_flags(libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC, ro),
            Ok(false)
        );
        assert_eq!(check_open_flags(libc::O_PATH, ro), Err(libc::EINVAL));
        assert_eq!(check_open_flags(1 << 30, ro), Err(libc::EINVAL));
    }

    #[test]
    fn a_read_write_server_admits_write_opens_but_not_creat_or_path() {
        let rw = Access::ReadWrite;
        for flags in [
            libc::O_WRONLY,
            libc::O_RDWR | libc::O_APPEND,
            libc::O_RDONLY | libc::O_TRUNC,
        ] {
            assert_eq!(check_open_flags(flags, rw), Ok(true), "{flags:#o}");
        }
        for flags in [
            libc::O_RDWR | libc::O_CREAT,
            libc::O_TMPFILE | libc::O_RDWR,
            libc::O_PATH,
            libc::O_ACCMODE,
        ] {
            assert_eq!(check_open_flags(flags, rw), Err(libc::EINVAL), "{flags:#o}");
        }
    }
}
