//! sysfs: for now an empty, read-only /sys, so the host's is never reached.

use std::sync::Arc;

use super::devnums;
use crate::vfs::inode::{FsInfo, Inode};
use crate::vfs::synthetic::{Node, StaticDir};

const SYSFS_MAGIC: i64 = 0x6265_6572;

/// The root of a new (empty) sysfs.
pub fn new() -> Arc<dyn Inode> {
    StaticDir::new(
        Node {
            dev: devnums::SYS,
            ino: 1,
            mode: libc::S_IFDIR | 0o555,
            fs: FsInfo {
                magic: SYSFS_MAGIC,
                read_only: true,
            },
        },
        Vec::new(),
    )
}
