//! ward's gofer: the file server that gives the sentry its files, and the
//! wire protocol between them.
//!
//! The gofer is a separate, separately confined process (`ward gofer`) that
//! serves ONE container: its root directory and the sources of its bind
//! mounts (directories or single files, `ward gofer --mount SRC[:ro]`),
//! each attached by index, over a unix `SOCK_SEQPACKET` socket; read-only
//! unless started read-write (`ward gofer --rw`), and a read-only source
//! always. The sentry walks, stats, reads directories and reads links
//! through [`Client`]; an `open` donates the host fd over `SCM_RIGHTS`, and
//! the sentry then reads it directly with no extra hop.
//!
//! This crate owns the protocol ([`protocol`]), the server ([`serve`]) and
//! the client ([`Client`]). It must never import the sentry, never follow a
//! symlink on the host, never resolve a path outside a served source, and
//! never crash on what arrives from the socket.
//!
//! | module     | owns                                                     |
//! |------------|----------------------------------------------------------|
//! | `protocol` | message types and their byte encoding (pure)             |
//! | `server`   | the fid table and every host lookup; `server/source` the |
//! |            | served trees, opened before confinement; `server/write`  |
//! |            | the changes a read-write server makes beneath them       |
//! | `client`   | the sentry's end: one request in flight, strict replies  |
//! | `raw`      | the unsafe edge: one safe wrapper per host syscall       |

mod client;
pub mod confine;
pub mod protocol;
mod raw;
mod server;

pub use client::{Client, ClientError};
pub use protocol::{Attr, Dirent, Fid, FsStat, SetAttr, PROTOCOL_VERSION};
pub use server::{
    open_root, open_source, serve, serve_as, serve_sources, Access, ServeError, Source,
    SourceError, MAX_FIDS,
};

/// A connected `AF_UNIX` `SOCK_SEQPACKET` pair, both ends close-on-exec:
/// one for [`serve`], one for [`Client::new`]. Whoever passes an end to a
/// child process must clear close-on-exec on that end (or `dup2` it).
pub fn socketpair() -> std::io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    raw::seqpacket_pair()
}
