//! The gofer wire protocol: message types and their encoding, nothing else.
//!
//! Owns the byte layout of every request and reply exchanged between the
//! sentry (client) and the gofer (server) over a `SOCK_SEQPACKET` socket.
//! This module is pure: it never touches a file descriptor, never allocates
//! in proportion to a length it has not checked against the bytes actually
//! received, and never panics on any input. Everything that comes off the
//! wire goes through [`decode_request`] or [`decode_reply`].
//!
//! # Framing
//!
//! One request is one message; one reply is one message (an `Open` or
//! `Create` reply carries the opened file as an `SCM_RIGHTS` descriptor
//! beside it). All
//! integers are little-endian and fixed-width. Every message starts with a
//! 12-byte header:
//!
//! | offset | size | field                                           |
//! |-------:|-----:|-------------------------------------------------|
//! | 0      | 2    | magic, [`MAGIC`]                                |
//! | 2      | 1    | opcode (requests `0x01..`, replies `0x81..`)    |
//! | 3      | 1    | reserved, must be 0                             |
//! | 4      | 4    | tag, echoed unchanged in the reply              |
//! | 8      | 4    | payload length, must equal message length − 12 |
//!
//! A message is at most [`MAX_MESSAGE`] bytes. Names are at most
//! [`NAME_MAX`] bytes, symlink targets at most [`PATH_MAX`] bytes. A payload
//! must be consumed exactly: trailing bytes are an error.

use thiserror::Error;

/// A handle on a node the gofer has walked to, chosen by the server.
pub type Fid = u32;

/// Version of this protocol; the client and server must agree exactly.
pub const PROTOCOL_VERSION: u32 = 4;

/// First two bytes of every message ("GW" in little-endian order).
pub const MAGIC: u16 = 0x5747;

/// Size of the fixed header in front of every payload.
pub const HEADER_LEN: usize = 12;

/// Largest message, header included, either side will send or accept.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Longest directory entry name (Linux `NAME_MAX`).
pub const NAME_MAX: usize = 255;

/// Longest symlink target a reply may carry (Linux `PATH_MAX`).
pub const PATH_MAX: usize = 4096;

/// Encoded size of an [`Attr`].
pub const ATTR_LEN: usize = 132;

/// Smallest encoded [`Dirent`]: ino, kind, name length and a 1-byte name.
const DIRENT_MIN_LEN: usize = 8 + 1 + 2 + 1;

/// Largest errno value the kernel uses (`MAX_ERRNO`).
const MAX_ERRNO: i32 = 4095;

/// Request opcodes.
mod op {
    pub const VERSION: u8 = 0x01;
    pub const ATTACH: u8 = 0x02;
    pub const WALK: u8 = 0x03;
    pub const GETATTR: u8 = 0x04;
    pub const OPEN: u8 = 0x05;
    pub const READDIR: u8 = 0x06;
    pub const READLINK: u8 = 0x07;
    pub const CLUNK: u8 = 0x08;
    pub const CREATE: u8 = 0x09;
    pub const MKDIR: u8 = 0x0a;
    pub const SYMLINK: u8 = 0x0b;
    pub const LINK: u8 = 0x0c;
    pub const MKNOD: u8 = 0x0d;
    pub const UNLINK: u8 = 0x0e;
    pub const RENAME: u8 = 0x0f;
    pub const SETATTR: u8 = 0x10;
    pub const STATFS: u8 = 0x11;
    /// A reply's opcode is its request's opcode with this bit set.
    pub const REPLY: u8 = 0x80;
    pub const ERROR: u8 = 0xff;
}

/// What `fstatat`/`statx` tell about a node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attr {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    pub blksize: i64,
    pub blocks: i64,
    pub atime_sec: i64,
    pub atime_nsec: i64,
    pub mtime_sec: i64,
    pub mtime_nsec: i64,
    pub ctime_sec: i64,
    pub ctime_nsec: i64,
    /// Birth time; 0, 0 when the host filesystem does not report it.
    pub btime_sec: i64,
    pub btime_nsec: i64,
}

/// One directory entry, as `getdents64` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirent {
    pub ino: u64,
    /// `DT_*` type of the entry (`DT_UNKNOWN` when the host does not say).
    pub kind: u8,
    pub name: Vec<u8>,
}

/// The attribute changes of a `Setattr` request: each `Some` is applied.
/// Times are explicit (`tv_nsec` below 10^9): the sentry resolves
/// `UTIME_NOW` itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// Permission bits only (07777).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Regular files only.
    pub size: Option<u64>,
    pub atime: Option<(i64, i64)>,
    pub mtime: Option<(i64, i64)>,
}

/// `SetAttr` field bits on the wire.
mod valid {
    pub const MODE: u32 = 1;
    pub const UID: u32 = 2;
    pub const GID: u32 = 4;
    pub const SIZE: u32 = 8;
    pub const ATIME: u32 = 16;
    pub const MTIME: u32 = 32;
    pub const ALL: u32 = 63;
}

/// A request from the sentry to the gofer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// Handshake; must be the first request on a connection.
    Version {
        version: u32,
    },
    /// Get a new fid for a served source: 0 the root, i the i-th extra
    /// source (a bind mount's); an index out of range is `EINVAL`.
    Attach {
        index: u32,
    },
    /// Look up one name in the directory `fid`; yields a new fid.
    Walk {
        fid: Fid,
        name: &'a [u8],
    },
    Getattr {
        fid: Fid,
    },
    /// Open the node read-only; the reply donates the host fd.
    Open {
        fid: Fid,
        flags: i32,
    },
    /// One page of the directory, starting after `cookie` (0: from the start).
    Readdir {
        fid: Fid,
        cookie: u64,
    },
    Readlink {
        fid: Fid,
    },
    /// Release a fid.
    Clunk {
        fid: Fid,
    },
    /// Create the regular file `name` in the directory `dir` (never an
    /// existing one: `O_EXCL` is implied) and open it with `flags`; the
    /// reply names it with a new fid and donates the host fd.
    Create {
        dir: Fid,
        name: &'a [u8],
        flags: i32,
        mode: u32,
    },
    Mkdir {
        dir: Fid,
        name: &'a [u8],
        mode: u32,
    },
    /// A new symlink `name` in `dir` reading `target`.
    Symlink {
        dir: Fid,
        name: &'a [u8],
        target: &'a [u8],
    },
    /// A new name `name` in `dir` for the non-directory `fid`.
    Link {
        fid: Fid,
        dir: Fid,
        name: &'a [u8],
    },
    /// A FIFO (the only node type the gofer makes this way).
    Mknod {
        dir: Fid,
        name: &'a [u8],
        mode: u32,
        rdev: u64,
    },
    /// `unlinkat(dir, name, flags)`: `flags` is 0 or `AT_REMOVEDIR`.
    Unlink {
        dir: Fid,
        name: &'a [u8],
        flags: i32,
    },
    /// `renameat2` with `RENAME_NOREPLACE` or `RENAME_EXCHANGE` in `flags`.
    Rename {
        old_dir: Fid,
        old_name: &'a [u8],
        new_dir: Fid,
        new_name: &'a [u8],
        flags: u32,
    },
    /// chmod, chown, truncate and utimes of `fid`; the reply carries the
    /// node's attributes afterwards.
    Setattr {
        fid: Fid,
        attr: SetAttr,
    },
    /// The counts of the host file system `fid` lives on (its `fstatfs`).
    Statfs {
        fid: Fid,
    },
}

/// A host file system's counts, as `fstatfs` gives them: blocks of
/// `bsize` bytes, inodes, and the longest name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FsStat {
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: u64,
}

/// A reply from the gofer; [`Reply::Error`] may answer any request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Version {
        version: u32,
    },
    Attach {
        fid: Fid,
        attr: Attr,
    },
    Walk {
        fid: Fid,
        attr: Attr,
    },
    Getattr {
        attr: Attr,
    },
    /// Sent together with exactly one `SCM_RIGHTS` descriptor.
    Open,
    /// `cookie` resumes after the last entry; `eof` says nothing follows.
    Readdir {
        cookie: u64,
        eof: bool,
        entries: Vec<Dirent>,
    },
    Readlink {
        target: Vec<u8>,
    },
    Clunk,
    /// Sent together with exactly one `SCM_RIGHTS` descriptor.
    Create {
        fid: Fid,
        attr: Attr,
    },
    Mkdir,
    Symlink,
    Link,
    Mknod,
    Unlink,
    Rename,
    Setattr {
        attr: Attr,
    },
    Statfs {
        stat: FsStat,
    },
    /// The request failed with this (positive) host errno.
    Error {
        errno: i32,
    },
}

/// Why a message could not be decoded.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("message of {len} bytes is shorter than the {HEADER_LEN}-byte header")]
    ShortHeader { len: usize },
    #[error("message of {len} bytes exceeds the {MAX_MESSAGE}-byte limit")]
    TooLarge { len: usize },
    #[error("bad magic {found:#06x}")]
    BadMagic { found: u16 },
    #[error("reserved header byte is {found}, not 0")]
    Reserved { found: u8 },
    #[error("header declares {declared} payload bytes but the message carries {actual}")]
    LengthMismatch { declared: u32, actual: usize },
    #[error("unknown opcode {opcode:#04x}")]
    UnknownOpcode { opcode: u8 },
    #[error("payload truncated reading {field}")]
    Truncated { field: &'static str },
    #[error("{extra} trailing bytes after the payload")]
    Trailing { extra: usize },
    #[error("bad value {value} for {field}")]
    BadValue { field: &'static str, value: u64 },
    #[error("bad name in {field}")]
    BadName { field: &'static str },
}

impl DecodeError {
    /// The errno a server answers this malformed request with.
    pub fn errno(&self) -> i32 {
        match self {
            DecodeError::TooLarge { .. } => libc::EMSGSIZE,
            _ => libc::EPROTO,
        }
    }
}

/// Why a message could not be encoded.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum EncodeError {
    #[error("name of {len} bytes is longer than {NAME_MAX}")]
    NameTooLong { len: usize },
    #[error("symlink target of {len} bytes is longer than {PATH_MAX}")]
    TargetTooLong { len: usize },
    #[error("message of {len} bytes exceeds the {MAX_MESSAGE}-byte limit")]
    TooLarge { len: usize },
    #[error("bad value for {field}")]
    BadValue { field: &'static str },
}

impl EncodeError {
    /// The errno that best describes the failure to the caller.
    pub fn errno(&self) -> i32 {
        match self {
            EncodeError::NameTooLong { .. } | EncodeError::TargetTooLong { .. } => {
                libc::ENAMETOOLONG
            }
            EncodeError::TooLarge { .. } => libc::EMSGSIZE,
            EncodeError::BadValue { .. } => libc::EINVAL,
        }
    }
}

/// Why a name given to `Walk` is not a single path component.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum NameError {
    #[error("empty name")]
    Empty,
    #[error("name is \".\" or \"..\"")]
    Dot,
    #[error("name contains '/'")]
    Slash,
    #[error("name contains NUL")]
    Nul,
    #[error("name of {len} bytes is longer than {NAME_MAX}")]
    TooLong { len: usize },
}

impl NameError {
    /// The errno a server answers a walk to this name with.
    pub fn errno(&self) -> i32 {
        match self {
            NameError::TooLong { .. } => libc::ENAMETOOLONG,
            _ => libc::EINVAL,
        }
    }
}

/// Checks that `name` is exactly one ordinary path component.
pub fn check_name(name: &[u8]) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name == b"." || name == b".." {
        return Err(NameError::Dot);
    }
    if name.contains(&b'/') {
        return Err(NameError::Slash);
    }
    if name.contains(&0) {
        return Err(NameError::Nul);
    }
    if name.len() > NAME_MAX {
        return Err(NameError::TooLong { len: name.len() });
    }
    Ok(())
}

/// The tag of a message, or 0 when it is too short to carry one; used to
/// address an error reply to a request that does not decode.
pub fn peek_tag(msg: &[u8]) -> u32 {
    match msg.get(4..8) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// Appends the encoding of `req` under `tag` to `out` (cleared first).
pub fn encode_request(tag: u32, req: &Request<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let opcode = match req {
        Request::Version { .. } => op::VERSION,
        Request::Attach { .. } => op::ATTACH,
        Request::Walk { .. } => op::WALK,
        Request::Getattr { .. } => op::GETATTR,
        Request::Open { .. } => op::OPEN,
        Request::Readdir { .. } => op::READDIR,
        Request::Readlink { .. } => op::READLINK,
        Request::Clunk { .. } => op::CLUNK,
        Request::Create { .. } => op::CREATE,
        Request::Mkdir { .. } => op::MKDIR,
        Request::Symlink { .. } => op::SYMLINK,
        Request::Link { .. } => op::LINK,
        Request::Mknod { .. } => op::MKNOD,
        Request::Unlink { .. } => op::UNLINK,
        Request::Rename { .. } => op::RENAME,
        Request::Setattr { .. } => op::SETATTR,
        Request::Statfs { .. } => op::STATFS,
    };
    let mut w = Writer::start(out, opcode, tag);
    match *req {
        Request::Version { version } => w.u32(version),
        Request::Attach { index } => w.u32(index),
        Request::Walk { fid, name } => {
            w.u32(fid);
            w.name(name)?;
        }
        Request::Create {
            dir,
            name,
            flags,
            mode,
        } => {
            w.u32(dir);
            w.name(name)?;
            w.i32(flags);
            w.u32(mode);
        }
        Request::Mkdir { dir, name, mode } => {
            w.u32(dir);
            w.name(name)?;
            w.u32(mode);
        }
        Request::Symlink { dir, name, target } => {
            let len = u16::try_from(target.len())
                .ok()
                .filter(|&l| usize::from(l) <= PATH_MAX)
                .ok_or(EncodeError::TargetTooLong { len: target.len() })?;
            w.u32(dir);
            w.name(name)?;
            w.u16(len);
            w.bytes(target);
        }
        Request::Link { fid, dir, name } => {
            w.u32(fid);
            w.u32(dir);
            w.name(name)?;
        }
        Request::Mknod {
            dir,
            name,
            mode,
            rdev,
        } => {
            w.u32(dir);
            w.name(name)?;
            w.u32(mode);
            w.u64(rdev);
        }
        Request::Unlink { dir, name, flags } => {
            w.u32(dir);
            w.name(name)?;
            w.i32(flags);
        }
        Request::Rename {
            old_dir,
            old_name,
            new_dir,
            new_name,
            flags,
        } => {
            w.u32(old_dir);
            w.name(old_name)?;
            w.u32(new_dir);
            w.name(new_name)?;
            w.u32(flags);
        }
        Request::Setattr { fid, attr } => {
            w.u32(fid);
            w.setattr(&attr)?;
        }
        Request::Getattr { fid }
        | Request::Readlink { fid }
        | Request::Clunk { fid }
        | Request::Statfs { fid } => w.u32(fid),
        Request::Open { fid, flags } => {
            w.u32(fid);
            w.i32(flags);
        }
        Request::Readdir { fid, cookie } => {
            w.u32(fid);
            w.u64(cookie);
        }
    }
    w.finish()
}

/// Appends the encoding of `reply` under `tag` to `out` (cleared first).
pub fn encode_reply(tag: u32, reply: &Reply, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let opcode = match reply {
        Reply::Version { .. } => op::VERSION | op::REPLY,
        Reply::Attach { .. } => op::ATTACH | op::REPLY,
        Reply::Walk { .. } => op::WALK | op::REPLY,
        Reply::Getattr { .. } => op::GETATTR | op::REPLY,
        Reply::Open => op::OPEN | op::REPLY,
        Reply::Readdir { .. } => op::READDIR | op::REPLY,
        Reply::Readlink { .. } => op::READLINK | op::REPLY,
        Reply::Clunk => op::CLUNK | op::REPLY,
        Reply::Create { .. } => op::CREATE | op::REPLY,
        Reply::Mkdir => op::MKDIR | op::REPLY,
        Reply::Symlink => op::SYMLINK | op::REPLY,
        Reply::Link => op::LINK | op::REPLY,
        Reply::Mknod => op::MKNOD | op::REPLY,
        Reply::Unlink => op::UNLINK | op::REPLY,
        Reply::Rename => op::RENAME | op::REPLY,
        Reply::Setattr { .. } => op::SETATTR | op::REPLY,
        Reply::Statfs { .. } => op::STATFS | op::REPLY,
        Reply::Error { .. } => op::ERROR,
    };
    let mut w = Writer::start(out, opcode, tag);
    match reply {
        Reply::Version { version } => w.u32(*version),
        Reply::Attach { fid, attr } | Reply::Walk { fid, attr } | Reply::Create { fid, attr } => {
            w.u32(*fid);
            w.attr(attr);
        }
        Reply::Getattr { attr } | Reply::Setattr { attr } => w.attr(attr),
        Reply::Open
        | Reply::Clunk
        | Reply::Mkdir
        | Reply::Symlink
        | Reply::Link
        | Reply::Mknod
        | Reply::Unlink
        | Reply::Rename => {}
        Reply::Readdir {
            cookie,
            eof,
            entries,
        } => {
            w.u64(*cookie);
            w.u8(u8::from(*eof));
            let count = u32::try_from(entries.len())
                .map_err(|_| EncodeError::TooLarge { len: usize::MAX })?;
            w.u32(count);
            for e in entries {
                let len = u16::try_from(e.name.len())
                    .ok()
                    .filter(|&l| usize::from(l) <= NAME_MAX)
                    .ok_or(EncodeError::NameTooLong { len: e.name.len() })?;
                w.u64(e.ino);
                w.u8(e.kind);
                w.u16(len);
                w.bytes(&e.name);
            }
        }
        Reply::Readlink { target } => {
            let len = u32::try_from(target.len())
                .ok()
                .filter(|&l| usize::try_from(l).is_ok_and(|l| l <= PATH_MAX))
                .ok_or(EncodeError::TargetTooLong { len: target.len() })?;
            w.u32(len);
            w.bytes(target);
        }
        Reply::Statfs { stat } => {
            for v in [
                stat.bsize,
                stat.blocks,
                stat.bfree,
                stat.bavail,
                stat.files,
                stat.ffree,
                stat.namelen,
            ] {
                w.u64(v);
            }
        }
        Reply::Error { errno } => w.i32(*errno),
    }
    w.finish()
}

/// Decodes one request message; returns its tag and the request.
pub fn decode_request(msg: &[u8]) -> Result<(u32, Request<'_>), DecodeError> {
    let (opcode, tag, mut r) = Reader::open(msg)?;
    let req = match opcode {
        op::VERSION => Request::Version {
            version: r.u32("version")?,
        },
        op::ATTACH => Request::Attach {
            index: r.u32("attach index")?,
        },
        op::WALK => {
            let fid = r.u32("walk fid")?;
            let name = r.name("walk name")?;
            Request::Walk { fid, name }
        }
        op::CREATE => Request::Create {
            dir: r.u32("create dir")?,
            name: r.name("create name")?,
            flags: r.i32("create flags")?,
            mode: r.u32("create mode")?,
        },
        op::MKDIR => Request::Mkdir {
            dir: r.u32("mkdir dir")?,
            name: r.name("mkdir name")?,
            mode: r.u32("mkdir mode")?,
        },
        op::SYMLINK => {
            let dir = r.u32("symlink dir")?;
            let name = r.name("symlink name")?;
            let len = usize::from(r.u16("symlink target length")?);
            if len > PATH_MAX {
                return Err(DecodeError::BadValue {
                    field: "symlink target length",
                    value: len as u64,
                });
            }
            let target = r.bytes(len, "symlink target")?;
            Request::Symlink { dir, name, target }
        }
        op::LINK => Request::Link {
            fid: r.u32("link fid")?,
            dir: r.u32("link dir")?,
            name: r.name("link name")?,
        },
        op::MKNOD => Request::Mknod {
            dir: r.u32("mknod dir")?,
            name: r.name("mknod name")?,
            mode: r.u32("mknod mode")?,
            rdev: r.u64("mknod rdev")?,
        },
        op::UNLINK => Request::Unlink {
            dir: r.u32("unlink dir")?,
            name: r.name("unlink name")?,
            flags: r.i32("unlink flags")?,
        },
        op::RENAME => Request::Rename {
            old_dir: r.u32("rename old dir")?,
            old_name: r.name("rename old name")?,
            new_dir: r.u32("rename new dir")?,
            new_name: r.name("rename new name")?,
            flags: r.u32("rename flags")?,
        },
        op::SETATTR => Request::Setattr {
            fid: r.u32("setattr fid")?,
            attr: r.setattr()?,
        },
        op::GETATTR => Request::Getattr {
            fid: r.u32("getattr fid")?,
        },
        op::OPEN => Request::Open {
            fid: r.u32("open fid")?,
            flags: r.i32("open flags")?,
        },
        op::READDIR => Request::Readdir {
            fid: r.u32("readdir fid")?,
            cookie: r.u64("readdir cookie")?,
        },
        op::READLINK => Request::Readlink {
            fid: r.u32("readlink fid")?,
        },
        op::CLUNK => Request::Clunk {
            fid: r.u32("clunk fid")?,
        },
        op::STATFS => Request::Statfs {
            fid: r.u32("statfs fid")?,
        },
        opcode => return Err(DecodeError::UnknownOpcode { opcode }),
    };
    r.end()?;
    Ok((tag, req))
}

/// Decodes one reply message; returns its tag and the reply.
///
/// Stricter than the server needs to be: names must be single path
/// components and errnos in the kernel's range, so that a compromised gofer
/// cannot hand the sentry a directory entry such as `../x`.
pub fn decode_reply(msg: &[u8]) -> Result<(u32, Reply), DecodeError> {
    let (opcode, tag, mut r) = Reader::open(msg)?;
    let reply = match opcode {
        o if o == op::VERSION | op::REPLY => Reply::Version {
            version: r.u32("version")?,
        },
        o if o == op::ATTACH | op::REPLY => Reply::Attach {
            fid: r.u32("attach fid")?,
            attr: r.attr()?,
        },
        o if o == op::WALK | op::REPLY => Reply::Walk {
            fid: r.u32("walk fid")?,
            attr: r.attr()?,
        },
        o if o == op::GETATTR | op::REPLY => Reply::Getattr { attr: r.attr()? },
        o if o == op::OPEN | op::REPLY => Reply::Open,
        o if o == op::STATFS | op::REPLY => Reply::Statfs {
            stat: FsStat {
                bsize: r.u64("statfs bsize")?,
                blocks: r.u64("statfs blocks")?,
                bfree: r.u64("statfs bfree")?,
                bavail: r.u64("statfs bavail")?,
                files: r.u64("statfs files")?,
                ffree: r.u64("statfs ffree")?,
                namelen: r.u64("statfs namelen")?,
            },
        },
        o if o == op::READDIR | op::REPLY => {
            let cookie = r.u64("readdir cookie")?;
            let eof = match r.u8("readdir eof")? {
                0 => false,
                1 => true,
                v => {
                    return Err(DecodeError::BadValue {
                        field: "readdir eof",
                        value: u64::from(v),
                    })
                }
            };
            let count = r.u32("readdir count")?;
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            if count > r.remaining() / DIRENT_MIN_LEN {
                return Err(DecodeError::Truncated {
                    field: "readdir entries",
                });
            }
            let mut entries = Vec::with_capacity(count);
            for _ in 0..count {
                let ino = r.u64("dirent ino")?;
                let kind = r.u8("dirent kind")?;
                let len = r.u16("dirent name length")?;
                let name = r.bytes(usize::from(len), "dirent name")?;
                // "." and ".." are legitimate here: getdents reports them.
                let dots = name == b"." || name == b"..";
                if !dots && check_name(name).is_err() {
                    return Err(DecodeError::BadName {
                        field: "dirent name",
                    });
                }
                entries.push(Dirent {
                    ino,
                    kind,
                    name: name.to_vec(),
                });
            }
            Reply::Readdir {
                cookie,
                eof,
                entries,
            }
        }
        o if o == op::READLINK | op::REPLY => {
            let len = r.u32("readlink length")?;
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if len > PATH_MAX {
                return Err(DecodeError::BadValue {
                    field: "readlink length",
                    value: len as u64,
                });
            }
            let target = r.bytes(len, "readlink target")?;
            if target.contains(&0) {
                return Err(DecodeError::BadName {
                    field: "readlink target",
                });
            }
            Reply::Readlink {
                target: target.to_vec(),
            }
        }
        o if o == op::CLUNK | op::REPLY => Reply::Clunk,
        o if o == op::CREATE | op::REPLY => Reply::Create {
            fid: r.u32("create fid")?,
            attr: r.attr()?,
        },
        o if o == op::MKDIR | op::REPLY => Reply::Mkdir,
        o if o == op::SYMLINK | op::REPLY => Reply::Symlink,
        o if o == op::LINK | op::REPLY => Reply::Link,
        o if o == op::MKNOD | op::REPLY => Reply::Mknod,
        o if o == op::UNLINK | op::REPLY => Reply::Unlink,
        o if o == op::RENAME | op::REPLY => Reply::Rename,
        o if o == op::SETATTR | op::REPLY => Reply::Setattr { attr: r.attr()? },
        op::ERROR => {
            let errno = r.i32("errno")?;
            if !(1..=MAX_ERRNO).contains(&errno) {
                return Err(DecodeError::BadValue {
                    field: "errno",
                    value: errno as u32 as u64,
                });
            }
            Reply::Error { errno }
        }
        opcode => return Err(DecodeError::UnknownOpcode { opcode }),
    };
    r.end()?;
    Ok((tag, reply))
}

/// Builds one message in a caller-owned buffer.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    fn start(out: &'a mut Vec<u8>, opcode: u8, tag: u32) -> Self {
        out.clear();
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.push(opcode);
        out.push(0);
        out.extend_from_slice(&tag.to_le_bytes());
        // Payload length, patched in `finish`.
        out.extend_from_slice(&[0; 4]);
        Writer { out }
    }

    fn u8(&mut self, v: u8) {
        self.out.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.out.extend_from_slice(v);
    }

    /// A name: its u16 length, then its bytes.
    fn name(&mut self, name: &[u8]) -> Result<(), EncodeError> {
        let len = u16::try_from(name.len())
            .ok()
            .filter(|&l| usize::from(l) <= NAME_MAX)
            .ok_or(EncodeError::NameTooLong { len: name.len() })?;
        self.u16(len);
        self.bytes(name);
        Ok(())
    }

    /// The field bits, then every field (0 where unset).
    fn setattr(&mut self, a: &SetAttr) -> Result<(), EncodeError> {
        for (sec, nsec) in [a.atime, a.mtime].into_iter().flatten() {
            if !(0..1_000_000_000).contains(&nsec) || sec == i64::MIN {
                return Err(EncodeError::BadValue {
                    field: "setattr time",
                });
            }
        }
        let bit = |set: bool, b: u32| if set { b } else { 0 };
        self.u32(
            bit(a.mode.is_some(), valid::MODE)
                | bit(a.uid.is_some(), valid::UID)
                | bit(a.gid.is_some(), valid::GID)
                | bit(a.size.is_some(), valid::SIZE)
                | bit(a.atime.is_some(), valid::ATIME)
                | bit(a.mtime.is_some(), valid::MTIME),
        );
        self.u32(a.mode.unwrap_or(0));
        self.u32(a.uid.unwrap_or(0));
        self.u32(a.gid.unwrap_or(0));
        self.u64(a.size.unwrap_or(0));
        let (asec, ansec) = a.atime.unwrap_or((0, 0));
        let (msec, mnsec) = a.mtime.unwrap_or((0, 0));
        self.i64(asec);
        self.i64(ansec);
        self.i64(msec);
        self.i64(mnsec);
        Ok(())
    }

    fn attr(&mut self, a: &Attr) {
        self.u64(a.dev);
        self.u64(a.ino);
        self.u32(a.mode);
        self.u64(a.nlink);
        self.u32(a.uid);
        self.u32(a.gid);
        self.u64(a.rdev);
        self.i64(a.size);
        self.i64(a.blksize);
        self.i64(a.blocks);
        for t in [
            a.atime_sec,
            a.atime_nsec,
            a.mtime_sec,
            a.mtime_nsec,
            a.ctime_sec,
            a.ctime_nsec,
            a.btime_sec,
            a.btime_nsec,
        ] {
            self.i64(t);
        }
    }

    fn finish(self) -> Result<(), EncodeError> {
        let len = self.out.len();
        if len > MAX_MESSAGE {
            return Err(EncodeError::TooLarge { len });
        }
        // Cannot fail: MAX_MESSAGE fits in a u32.
        let payload = u32::try_from(len - HEADER_LEN).map_err(|_| EncodeError::TooLarge { len })?;
        self.out[8..HEADER_LEN].copy_from_slice(&payload.to_le_bytes());
        Ok(())
    }
}

/// Reads one message's payload; every read is bounds-checked.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Checks the header and returns the opcode, the tag and a reader over
    /// the payload.
    fn open(msg: &'a [u8]) -> Result<(u8, u32, Reader<'a>), DecodeError> {
        if msg.len() > MAX_MESSAGE {
            return Err(DecodeError::TooLarge { len: msg.len() });
        }
        let (header, payload) = msg
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(DecodeError::ShortHeader { len: msg.len() })?;
        let [m0, m1, opcode, reserved, t0, t1, t2, t3, l0, l1, l2, l3] = *header;
        let magic = u16::from_le_bytes([m0, m1]);
        if magic != MAGIC {
            return Err(DecodeError::BadMagic { found: magic });
        }
        if reserved != 0 {
            return Err(DecodeError::Reserved { found: reserved });
        }
        let declared = u32::from_le_bytes([l0, l1, l2, l3]);
        if usize::try_from(declared).ok() != Some(payload.len()) {
            return Err(DecodeError::LengthMismatch {
                declared,
                actual: payload.len(),
            });
        }
        let tag = u32::from_le_bytes([t0, t1, t2, t3]);
        Ok((opcode, tag, Reader { buf: payload }))
    }

    fn remaining(&self) -> usize {
        self.buf.len()
    }

    fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::Truncated { field });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let (head, tail) = self
            .buf
            .split_first_chunk::<N>()
            .ok_or(DecodeError::Truncated { field })?;
        self.buf = tail;
        Ok(*head)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        self.array::<1>(field).map(|[b]| b)
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        self.array(field).map(u16::from_le_bytes)
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        self.array(field).map(u32::from_le_bytes)
    }
    fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        self.array(field).map(i32::from_le_bytes)
    }
    fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        self.array(field).map(u64::from_le_bytes)
    }
    fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        self.array(field).map(i64::from_le_bytes)
    }

    /// A name as [`Writer::name`] writes it: at most [`NAME_MAX`] bytes
    /// (whether it is one component is the server's check).
    fn name(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = usize::from(self.u16(field)?);
        if len > NAME_MAX {
            return Err(DecodeError::BadValue {
                field,
                value: len as u64,
            });
        }
        self.bytes(len, field)
    }

    /// A `SetAttr` as [`Writer::setattr`] writes it. Unknown field bits,
    /// a set field's out-of-range time, or an unset field that is not 0
    /// are errors, so that the encoding stays canonical.
    fn setattr(&mut self) -> Result<SetAttr, DecodeError> {
        let bits = self.u32("setattr valid")?;
        if bits & !valid::ALL != 0 {
            return Err(DecodeError::BadValue {
                field: "setattr valid",
                value: u64::from(bits),
            });
        }
        let mode = self.u32("setattr mode")?;
        let uid = self.u32("setattr uid")?;
        let gid = self.u32("setattr gid")?;
        let size = self.u64("setattr size")?;
        let atime = (self.i64("setattr atime")?, self.i64("setattr atime")?);
        let mtime = (self.i64("setattr mtime")?, self.i64("setattr mtime")?);
        fn pick<T: Default + PartialEq>(
            bits: u32,
            bit: u32,
            v: T,
            field: &'static str,
        ) -> Result<Option<T>, DecodeError> {
            if bits & bit != 0 {
                Ok(Some(v))
            } else if v == T::default() {
                Ok(None)
            } else {
                Err(DecodeError::BadValue {
                    field,
                    value: u64::from(bit),
                })
            }
        }
        let out = SetAttr {
            mode: pick(bits, valid::MODE, mode, "setattr mode")?,
            uid: pick(bits, valid::UID, uid, "setattr uid")?,
            gid: pick(bits, valid::GID, gid, "setattr gid")?,
            size: pick(bits, valid::SIZE, size, "setattr size")?,
            atime: pick(bits, valid::ATIME, atime, "setattr atime")?,
            mtime: pick(bits, valid::MTIME, mtime, "setattr mtime")?,
        };
        for (sec, nsec) in [out.atime, out.mtime].into_iter().flatten() {
            if !(0..1_000_000_000).contains(&nsec) || sec == i64::MIN {
                return Err(DecodeError::BadValue {
                    field: "setattr time",
                    value: nsec as u64,
                });
            }
        }
        Ok(out)
    }

    fn attr(&mut self) -> Result<Attr, DecodeError> {
        Ok(Attr {
            dev: self.u64("attr dev")?,
            ino: self.u64("attr ino")?,
            mode: self.u32("attr mode")?,
            nlink: self.u64("attr nlink")?,
            uid: self.u32("attr uid")?,
            gid: self.u32("attr gid")?,
            rdev: self.u64("attr rdev")?,
            size: self.i64("attr size")?,
            blksize: self.i64("attr blksize")?,
            blocks: self.i64("attr blocks")?,
            atime_sec: self.i64("attr atime")?,
            atime_nsec: self.i64("attr atime")?,
            mtime_sec: self.i64("attr mtime")?,
            mtime_nsec: self.i64("attr mtime")?,
            ctime_sec: self.i64("attr ctime")?,
            ctime_nsec: self.i64("attr ctime")?,
            btime_sec: self.i64("attr btime")?,
            btime_nsec: self.i64("attr btime")?,
        })
    }

    fn end(self) -> Result<(), DecodeError> {
        match self.buf.len() {
            0 => Ok(()),
            extra => Err(DecodeError::Trailing { extra }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_attr() -> Attr {
        Attr {
            dev: 0x0803,
            ino: 1234567,
            mode: 0o100644,
            nlink: 2,
            uid: 1000,
            gid: 100,
            rdev: 0,
            size: 4096,
            blksize: 4096,
            blocks: 8,
            atime_sec: 1_700_000_000,
            atime_nsec: 1,
            mtime_sec: -5,
            mtime_nsec: 999_999_999,
            ctime_sec: 3,
            ctime_nsec: 4,
            btime_sec: 0,
            btime_nsec: 0,
        }
    }

    fn all_requests() -> Vec<Request<'static>> {
        vec![
            Request::Version {
                version: PROTOCOL_VERSION,
            },
            Request::Attach { index: 0 },
            Request::Attach { index: 2 },
            Request::Walk {
                fid: 7,
                name: b"etc",
            },
            Request::Getattr { fid: 1 },
            Request::Open {
                fid: 2,
                flags: libc::O_RDONLY | libc::O_DIRECTORY,
            },
            Request::Readdir {
                fid: 3,
                cookie: u64::MAX,
            },
            Request::Readlink { fid: 4 },
            Request::Statfs { fid: 5 },
            Request::Clunk { fid: u32::MAX },
            Request::Create {
                dir: 5,
                name: b"new",
                flags: libc::O_RDWR | libc::O_APPEND,
                mode: 0o644,
            },
            Request::Mkdir {
                dir: 5,
                name: b"d",
                mode: 0o755,
            },
            Request::Symlink {
                dir: 5,
                name: b"l",
                target: b"../x",
            },
            Request::Link {
                fid: 6,
                dir: 5,
                name: b"hard",
            },
            Request::Mknod {
                dir: 5,
                name: b"fifo",
                mode: libc::S_IFIFO | 0o600,
                rdev: 0,
            },
            Request::Unlink {
                dir: 5,
                name: b"gone",
                flags: libc::AT_REMOVEDIR,
            },
            Request::Rename {
                old_dir: 5,
                old_name: b"a",
                new_dir: 7,
                new_name: b"b",
                flags: libc::RENAME_NOREPLACE,
            },
            Request::Setattr {
                fid: 8,
                attr: SetAttr {
                    mode: Some(0o600),
                    uid: None,
                    gid: Some(100),
                    size: Some(0),
                    atime: Some((-1, 999_999_999)),
                    mtime: None,
                },
            },
            Request::Setattr {
                fid: 8,
                attr: SetAttr::default(),
            },
        ]
    }

    fn all_replies() -> Vec<Reply> {
        vec![
            Reply::Version {
                version: PROTOCOL_VERSION,
            },
            Reply::Attach {
                fid: 1,
                attr: sample_attr(),
            },
            Reply::Walk {
                fid: 2,
                attr: sample_attr(),
            },
            Reply::Getattr {
                attr: sample_attr(),
            },
            Reply::Open,
            Reply::Readdir {
                cookie: 42,
                eof: true,
                entries: vec![
                    Dirent {
                        ino: 1,
                        kind: libc::DT_DIR,
                        name: b".".to_vec(),
                    },
                    Dirent {
                        ino: 2,
                        kind: libc::DT_DIR,
                        name: b"..".to_vec(),
                    },
                    Dirent {
                        ino: 3,
                        kind: libc::DT_REG,
                        name: b"file".to_vec(),
                    },
                ],
            },
            Reply::Readlink {
                target: b"../../etc/passwd".to_vec(),
            },
            Reply::Clunk,
            Reply::Statfs {
                stat: FsStat {
                    bsize: 4096,
                    blocks: 1 << 40,
                    bfree: 3,
                    bavail: 2,
                    files: u64::MAX,
                    ffree: 0,
                    namelen: 255,
                },
            },
            Reply::Create {
                fid: 9,
                attr: sample_attr(),
            },
            Reply::Mkdir,
            Reply::Symlink,
            Reply::Link,
            Reply::Mknod,
            Reply::Unlink,
            Reply::Rename,
            Reply::Setattr {
                attr: sample_attr(),
            },
            Reply::Error {
                errno: libc::ENOENT,
            },
        ]
    }

    #[test]
    fn every_request_round_trips() {
        let mut buf = Vec::new();
        for (tag, req) in all_requests().into_iter().enumerate() {
            let tag = tag as u32 + 100;
            encode_request(tag, &req, &mut buf).expect("encode");
            assert_eq!(decode_request(&buf), Ok((tag, req)));
        }
    }

    #[test]
    fn every_reply_round_trips() {
        let mut buf = Vec::new();
        for (tag, reply) in all_replies().into_iter().enumerate() {
            let tag = tag as u32 + 7;
            encode_reply(tag, &reply, &mut buf).expect("encode");
            assert_eq!(decode_reply(&buf), Ok((tag, reply)));
        }
    }

    #[test]
    fn attr_encodes_to_its_fixed_size() {
        let mut buf = Vec::new();
        encode_reply(
            0,
            &Reply::Getattr {
                attr: sample_attr(),
            },
            &mut buf,
        )
        .expect("encode");
        assert_eq!(buf.len(), HEADER_LEN + ATTR_LEN);
    }

    #[test]
    fn request_truncated_at_every_offset_is_rejected() {
        let mut buf = Vec::new();
        for req in all_requests() {
            encode_request(1, &req, &mut buf).expect("encode");
            for cut in 0..buf.len() {
                assert!(
                    decode_request(&buf[..cut]).is_err(),
                    "{req:?} cut at {cut} decoded"
                );
            }
        }
    }

    #[test]
    fn reply_truncated_at_every_offset_is_rejected() {
        let mut buf = Vec::new();
        for reply in all_replies() {
            encode_reply(1, &reply, &mut buf).expect("encode");
            for cut in 0..buf.len() {
                assert!(
                    decode_reply(&buf[..cut]).is_err(),
                    "{reply:?} cut at {cut} decoded"
                );
            }
        }
    }

    /// Truncates the payload but fixes up the declared length, so that the
    /// field readers (not the length check) must catch the short payload.
    #[test]
    fn payload_truncated_with_consistent_header_is_rejected() {
        let mut buf = Vec::new();
        for req in all_requests() {
            encode_request(1, &req, &mut buf).expect("encode");
            for cut in HEADER_LEN..buf.len() {
                let mut short = buf[..cut].to_vec();
                let len = (cut - HEADER_LEN) as u32;
                short[8..12].copy_from_slice(&len.to_le_bytes());
                assert!(
                    matches!(decode_request(&short), Err(DecodeError::Truncated { .. })),
                    "{req:?} cut at {cut}"
                );
            }
        }
        for reply in all_replies() {
            encode_reply(1, &reply, &mut buf).expect("encode");
            for cut in HEADER_LEN..buf.len() {
                let mut short = buf[..cut].to_vec();
                let len = (cut - HEADER_LEN) as u32;
                short[8..12].copy_from_slice(&len.to_le_bytes());
                assert!(decode_reply(&short).is_err(), "{reply:?} cut at {cut}");
            }
        }
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut buf = Vec::new();
        encode_request(1, &Request::Getattr { fid: 1 }, &mut buf).expect("encode");
        buf.push(0);
        let len = (buf.len() - HEADER_LEN) as u32;
        buf[8..12].copy_from_slice(&len.to_le_bytes());
        assert_eq!(
            decode_request(&buf),
            Err(DecodeError::Trailing { extra: 1 })
        );
    }

    #[test]
    fn bad_magic_is_rejected() {
        let mut buf = Vec::new();
        encode_request(1, &Request::Attach { index: 0 }, &mut buf).expect("encode");
        buf[0] ^= 0xff;
        assert!(matches!(
            decode_request(&buf),
            Err(DecodeError::BadMagic { .. })
        ));
    }

    #[test]
    fn nonzero_reserved_byte_is_rejected() {
        let mut buf = Vec::new();
        encode_request(1, &Request::Attach { index: 0 }, &mut buf).expect("encode");
        buf[3] = 1;
        assert_eq!(
            decode_request(&buf),
            Err(DecodeError::Reserved { found: 1 })
        );
    }

    #[test]
    fn unknown_and_reply_opcodes_are_not_requests() {
        let mut buf = Vec::new();
        encode_request(1, &Request::Attach { index: 0 }, &mut buf).expect("encode");
        for opcode in [0x00, 0x12, 0x82, 0xff] {
            buf[2] = opcode;
            assert_eq!(
                decode_request(&buf),
                Err(DecodeError::UnknownOpcode { opcode })
            );
        }
    }

    #[test]
    fn oversized_message_is_rejected_with_emsgsize() {
        let buf = vec![0u8; MAX_MESSAGE + 1];
        let err = decode_request(&buf).expect_err("oversized");
        assert_eq!(err.errno(), libc::EMSGSIZE);
    }

    #[test]
    fn walk_name_longer_than_name_max_does_not_encode() {
        let name = vec![b'a'; NAME_MAX + 1];
        let err = encode_request(
            1,
            &Request::Walk {
                fid: 1,
                name: &name,
            },
            &mut Vec::new(),
        )
        .expect_err("too long");
        assert_eq!(err.errno(), libc::ENAMETOOLONG);
    }

    #[test]
    fn walk_name_longer_than_name_max_does_not_decode() {
        let mut buf = Vec::new();
        let name = [b'a'; NAME_MAX];
        encode_request(
            1,
            &Request::Walk {
                fid: 1,
                name: &name,
            },
            &mut buf,
        )
        .expect("encode");
        // Claim one more byte of name, and carry it.
        buf.push(b'a');
        let at = HEADER_LEN + 4;
        buf[at..at + 2].copy_from_slice(&((NAME_MAX + 1) as u16).to_le_bytes());
        let payload = (buf.len() - HEADER_LEN) as u32;
        buf[8..12].copy_from_slice(&payload.to_le_bytes());
        assert!(matches!(
            decode_request(&buf),
            Err(DecodeError::BadValue { .. })
        ));
    }

    #[test]
    fn setattr_with_an_unset_field_that_is_not_zero_is_rejected() {
        let mut buf = Vec::new();
        let req = Request::Setattr {
            fid: 1,
            attr: SetAttr::default(),
        };
        encode_request(1, &req, &mut buf).expect("encode");
        // fid, valid, then mode: a mode without its bit.
        let at = HEADER_LEN + 4 + 4;
        buf[at] = 0o7;
        assert!(matches!(
            decode_request(&buf),
            Err(DecodeError::BadValue { .. })
        ));
    }

    #[test]
    fn setattr_times_outside_a_second_do_not_encode_or_decode() {
        let attr = SetAttr {
            mtime: Some((1, 1_000_000_000)),
            ..SetAttr::default()
        };
        let err = encode_request(1, &Request::Setattr { fid: 1, attr }, &mut Vec::new())
            .expect_err("bad nsec");
        assert_eq!(err.errno(), libc::EINVAL);
        let mut buf = Vec::new();
        let ok = SetAttr {
            mtime: Some((1, 0)),
            ..SetAttr::default()
        };
        encode_request(1, &Request::Setattr { fid: 1, attr: ok }, &mut buf).expect("encode");
        // The mtime nsec is the last field.
        let at = buf.len() - 8;
        buf[at..].copy_from_slice(&(-1i64).to_le_bytes());
        assert!(matches!(
            decode_request(&buf),
            Err(DecodeError::BadValue { .. })
        ));
    }

    #[test]
    fn symlink_target_longer_than_path_max_does_not_encode() {
        let target = vec![b'a'; PATH_MAX + 1];
        let req = Request::Symlink {
            dir: 1,
            name: b"l",
            target: &target,
        };
        let err = encode_request(1, &req, &mut Vec::new()).expect_err("too long");
        assert_eq!(err.errno(), libc::ENAMETOOLONG);
    }

    #[test]
    fn every_name_field_of_a_change_is_length_checked() {
        let long = vec![b'a'; NAME_MAX + 1];
        let reqs = [
            Request::Create {
                dir: 1,
                name: &long,
                flags: 0,
                mode: 0,
            },
            Request::Mkdir {
                dir: 1,
                name: &long,
                mode: 0,
            },
            Request::Unlink {
                dir: 1,
                name: &long,
                flags: 0,
            },
            Request::Rename {
                old_dir: 1,
                old_name: b"a",
                new_dir: 1,
                new_name: &long,
                flags: 0,
            },
        ];
        for req in reqs {
            let err = encode_request(1, &req, &mut Vec::new()).expect_err("too long");
            assert_eq!(err.errno(), libc::ENAMETOOLONG, "{req:?}");
        }
    }

    #[test]
    fn readdir_reply_with_slash_in_name_is_rejected() {
        let mut buf = Vec::new();
        let reply = Reply::Readdir {
            cookie: 0,
            eof: true,
            entries: vec![Dirent {
                ino: 1,
                kind: 0,
                name: b"a/b".to_vec(),
            }],
        };
        encode_reply(1, &reply, &mut buf).expect("encode");
        assert!(matches!(
            decode_reply(&buf),
            Err(DecodeError::BadName { .. })
        ));
    }

    #[test]
    fn readdir_reply_with_huge_count_is_rejected_without_allocating() {
        let mut buf = Vec::new();
        let reply = Reply::Readdir {
            cookie: 0,
            eof: false,
            entries: vec![],
        };
        encode_reply(1, &reply, &mut buf).expect("encode");
        let at = HEADER_LEN + 8 + 1;
        buf[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_reply(&buf),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn error_reply_outside_errno_range_is_rejected() {
        let mut buf = Vec::new();
        for errno in [0, -1, 4096, i32::MIN] {
            encode_reply(1, &Reply::Error { errno }, &mut buf).expect("encode");
            assert!(decode_reply(&buf).is_err(), "errno {errno} accepted");
        }
    }

    #[test]
    fn check_name_accepts_only_single_components() {
        assert_eq!(check_name(b"passwd"), Ok(()));
        assert_eq!(check_name(b"..."), Ok(()));
        assert_eq!(check_name(b""), Err(NameError::Empty));
        assert_eq!(check_name(b"."), Err(NameError::Dot));
        assert_eq!(check_name(b".."), Err(NameError::Dot));
        assert_eq!(check_name(b"a/b"), Err(NameError::Slash));
        assert_eq!(check_name(b"a\0b"), Err(NameError::Nul));
        assert_eq!(
            check_name(&[b'x'; NAME_MAX + 1]),
            Err(NameError::TooLong { len: NAME_MAX + 1 })
        );
    }

    #[test]
    fn peek_tag_reads_the_tag_or_zero() {
        let mut buf = Vec::new();
        encode_request(0xdead_beef, &Request::Attach { index: 0 }, &mut buf).expect("encode");
        assert_eq!(peek_tag(&buf), 0xdead_beef);
        assert_eq!(peek_tag(&buf[..7]), 0);
    }

    /// Deterministic pseudo-random garbage, with a valid header half the
    /// time so the payload decoders see it too: nothing may panic.
    #[test]
    fn random_garbage_never_panics() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for i in 0..20_000 {
            let len = (next() % 300) as usize;
            let mut msg: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if i % 2 == 0 && msg.len() >= HEADER_LEN {
                msg[0..2].copy_from_slice(&MAGIC.to_le_bytes());
                msg[2] = (next() % 0x13) as u8 | if i % 4 == 0 { 0x80 } else { 0 };
                msg[3] = 0;
                let payload = (msg.len() - HEADER_LEN) as u32;
                msg[8..12].copy_from_slice(&payload.to_le_bytes());
            }
            // The encoding is canonical: whatever decodes re-encodes to the
            // very same bytes.
            let mut again = Vec::new();
            if let Ok((tag, req)) = decode_request(&msg) {
                encode_request(tag, &req, &mut again).expect("re-encode request");
                assert_eq!(again, msg);
            }
            if let Ok((tag, reply)) = decode_reply(&msg) {
                encode_reply(tag, &reply, &mut again).expect("re-encode reply");
                assert_eq!(again, msg);
            }
        }
    }
}
