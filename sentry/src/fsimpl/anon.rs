//! The anonymous inode: the one inode every eventfd, timerfd and epoll file
//! shares, as Linux's anon_inodefs gives them (mode 0600 with no file type,
//! root-owned, made at boot), and the flags those files keep.

use std::sync::atomic::{AtomicI32, Ordering};

use super::devnums;
use crate::vfs::dirfile::with_setfl;
use crate::vfs::stat::Stat;
use crate::vfs::synthetic::Node;

/// The anonymous inode's number (any fixed one: all such files share it).
const ANON_INO: u64 = 1;

/// What fstat reports for an anonymous-inode file.
pub fn stat() -> Stat {
    Node {
        dev: devnums::ANON,
        ino: ANON_INO,
        mode: 0o600,
        fs: crate::vfs::inode::FsInfo {
            magic: ANON_INODE_FS_MAGIC,
            read_only: false,
        },
    }
    .stat(0)
}

/// ANON_INODE_FS_MAGIC ("anon").
const ANON_INODE_FS_MAGIC: i64 = 0x0904_1934;

/// Status flags of an anonymous-inode file: O_RDWR plus what pipe2-style
/// creation flags and F_SETFL set.
pub struct Flags(AtomicI32);

impl Flags {
    /// O_RDWR with O_NONBLOCK when `nonblock`.
    pub fn new(nonblock: bool) -> Flags {
        Flags(AtomicI32::new(
            libc::O_RDWR | if nonblock { libc::O_NONBLOCK } else { 0 },
        ))
    }

    pub fn get(&self) -> i32 {
        self.0.load(Ordering::Relaxed)
    }

    /// F_SETFL.
    pub fn set(&self, new: i32) {
        let old = self.get();
        self.0.store(with_setfl(old, new), Ordering::Relaxed);
    }

    pub fn nonblocking(&self) -> bool {
        self.get() & libc::O_NONBLOCK != 0
    }
}
