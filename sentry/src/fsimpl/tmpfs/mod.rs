//! tmpfs: a file system held entirely in sandbox memory (the /dev/shm
//! mount). Directories keep their children by name in a sorted map (so a
//! listing's order is stable); regular files keep their data in chunks of
//! the memory file (`chunks`), so a MAP_SHARED mapping maps the file's own
//! pages; symlinks keep their target; FIFOs keep a pipe (`pipe::Fifo`);
//! sockets and device nodes can be made and listed but not opened (ENXIO).
//!
//! The VFS has checked EROFS and the caller's permissions before a change
//! reaches a node here; this file system re-checks under its own locks
//! only what may have changed since (EEXIST, ENOENT, ENOTEMPTY, ENOTDIR,
//! EISDIR) and what only it can see (rename into one's own subtree). Its
//! dentries are never cached (`cache_children` is false), so unlink and
//! rename need nothing from the dentry cache.
//!
//! | module   | owns                                                      |
//! |----------|-----------------------------------------------------------|
//! | `chunks` | a regular file's data and size in memory-file chunks      |
//! | `node`   | inodes: attributes, directory operations                  |
//! | `file`   | open regular files: read, write, seek, truncate, mmap pages |
//! | `raw`    | the unsafe edge: the host's memory size (sysinfo)         |
//!
//! Never does: host I/O (nothing here reaches the host but memory-file
//! pages), or follow a symlink (the walk does).

mod chunks;
mod file;
mod node;
mod raw;

use std::sync::Arc;

use crate::errno::Errno;
use crate::mm::MemoryFile;
use crate::vfs::inode::{FsInfo, Inode};

pub use chunks::CHUNK;

const TMPFS_MAGIC: i64 = 0x0102_1994;

/// statfs f_type of every tmpfs.
pub const MAGIC: i64 = TMPFS_MAGIC;

const FS: FsInfo = FsInfo {
    magic: TMPFS_MAGIC,
    read_only: false,
};

/// What a tmpfs may hold when the host's memory size is unknown.
const FALLBACK_SIZE: u64 = 1 << 30;

/// The root directory of a new, empty tmpfs with device number `dev`,
/// owned by root with permission bits `mode` (1777 for /dev/shm), its
/// files' data in `mf`, holding at most half the host's memory (Linux's
/// default; ENOSPC past it).
pub fn new(mf: Arc<MemoryFile>, dev: u64, mode: u32) -> Arc<dyn Inode> {
    new_sized(mf, dev, mode, None)
}

/// `new` holding at most `size` bytes (None: half the host's memory; 0:
/// no limit), as mount(2)'s "size=" asks.
pub fn new_sized(mf: Arc<MemoryFile>, dev: u64, mode: u32, size: Option<u64>) -> Arc<dyn Inode> {
    let size = match size {
        None => default_size(),
        Some(0) => u64::MAX,
        Some(n) => n,
    };
    node::TmpFs::new_root(mf, dev, mode, size)
}

/// The host's memory size (for "size=N%"), if known.
pub fn host_ram() -> Option<u64> {
    raw::host_total_ram()
}

/// What a tmpfs may hold by default: half the host's memory.
pub fn default_size() -> u64 {
    raw::host_total_ram().map_or(FALLBACK_SIZE, |r| r / 2)
}

/// Writes `data` at `off` into the regular file `inode` of a tmpfs
/// (growing it), without an open file: the overlay's copy-up. EINVAL for
/// any other inode.
pub fn write_data(inode: &Arc<dyn Inode>, off: u64, data: &[u8]) -> Result<(), Errno> {
    let node = inode
        .as_any()
        .and_then(|a| a.downcast_ref::<node::TmpInode>())
        .ok_or(Errno::EINVAL)?;
    let store = node.store().ok_or(Errno::EINVAL)?;
    node::lock(store).write(off, data)
}

#[cfg(test)]
mod tests;
