//! sysfs: a small, read-only /sys, so the host's is never reached. It holds
//! only what programs commonly read to size themselves: the CPU files under
//! /sys/devices/system/cpu (`cpu`), and an empty /sys/fs (no cgroup
//! hierarchy is exposed).

mod cpu;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::devnums;
use crate::vfs::inode::{FsInfo, Inode};
use crate::vfs::synthetic::{Node, StaticDir};

const SYSFS_MAGIC: i64 = 0x6265_6572;

const FS: FsInfo = FsInfo {
    magic: SYSFS_MAGIC,
    read_only: true,
};

/// Hands out inode numbers while a tree is built (the root is 1).
pub(super) struct Inos(AtomicU64);

impl Inos {
    fn new() -> Inos {
        Inos(AtomicU64::new(2))
    }

    /// A node with the next inode number.
    fn node(&self, mode: u32) -> Node {
        Node {
            dev: devnums::SYS,
            ino: self.0.fetch_add(1, Ordering::Relaxed),
            mode,
            fs: FS,
        }
    }

    fn dir(&self, entries: Vec<(&[u8], Arc<dyn Inode>)>) -> Arc<dyn Inode> {
        StaticDir::new(self.node(libc::S_IFDIR | 0o755), entries)
    }
}

/// The root of a new sysfs showing `ncpus` CPUs (the count the rest of
/// the sandbox reports: `kernel::host_cpus`).
pub fn new(ncpus: usize) -> Arc<dyn Inode> {
    let inos = Inos::new();
    let cpu = cpu::dir(&inos, ncpus);
    let system = inos.dir(vec![(b"cpu", cpu)]);
    let devices = inos.dir(vec![(b"system", system)]);
    let fs = inos.dir(Vec::new());
    StaticDir::new(
        Node {
            dev: devnums::SYS,
            ino: 1,
            mode: libc::S_IFDIR | 0o555,
            fs: FS,
        },
        vec![(b"devices", devices), (b"fs", fs)],
    )
}
