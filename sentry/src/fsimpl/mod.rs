//! The file systems behind the VFS, one module each. Each implements
//! `vfs::inode::Inode` for its nodes and its own open file descriptions;
//! none of them resolves paths or follows symlinks (the VFS does).
//!
//! | module  | what                                                         |
//! |---------|--------------------------------------------------------------|
//! | `gofer` | the container's root, through the gofer (read-only for now)  |
//! | `overlay` | `ward do`'s root: the gofer's tree under a tmpfs, copy-up and whiteouts |
//! | `host`  | fds donated by the caller (stdio): I/O straight on the fd    |
//! | `dev`   | devfs: null, zero, full, random, urandom, stdio links, ptmx, tty |
//! | `devpts` | pseudo-terminals: /dev/pts, the pairs, the line discipline, job control |
//! | `proc`  | procfs: sandbox processes only; PID dirs, system files, sys/ |
//! | `sys`   | an empty read-only /sys                                      |
//! | `tmpfs` | files in sandbox memory (/dev/shm): data in memory-file chunks, mappable shared |
//! | `pipe`  | anonymous pipes: a ring of pages shared by a read and a write end |
//! | `eventfd` | eventfd counters                                           |
//! | `signalfd` | signalfd files: pending signals read as signalfd_siginfo |
//! | `timerfd` | timerfd timers, fired by one sentry alarm thread           |
//! | `inotify` | inotify instances: the event queue of one group of watches |
//! | `epoll` | epoll instances: interest lists, level and edge triggering   |
//! | `anon`  | the anonymous inode eventfd, timerfd and epoll files share   |
//! | `socket` | AF_UNIX sockets (stream, datagram, seqpacket) and their queues |

pub mod anon;
pub mod dev;
pub mod devpts;
pub mod epoll;
pub mod eventfd;
pub mod gofer;
pub mod host;
pub mod inotify;
pub mod overlay;
pub mod pipe;
pub mod proc;
pub mod signalfd;
pub mod socket;
pub mod sys;
pub mod timerfd;
pub mod tmpfs;

/// Anonymous device numbers of the sentry's own file systems (major 0, as
/// Linux gives virtual file systems).
pub(crate) mod devnums {
    pub const DEV: u64 = 5;
    pub const PIPE: u64 = 15;
    pub const ANON: u64 = 16;
    pub const PROC: u64 = 22;
    pub const SYS: u64 = 23;
    pub const SHM: u64 = 24;
    /// The upper tmpfs of `ward do`'s overlay root.
    pub const ROOT_UPPER: u64 = 25;
    /// The internal tmpfs holding memfd_create's files.
    pub const MEMFD: u64 = 26;
    /// devpts at /dev/pts.
    pub const DEVPTS: u64 = 27;
    /// The empty read-only directories `vfs::mount_at` puts where a
    /// read-only file system lacks a directory on the way to a mount.
    pub const MOUNT_POINTS: u64 = 28;
}
