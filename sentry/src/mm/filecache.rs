//! The file cache: each host file that programs map privately is read
//! once into the memory file and its pages are shared, read-only and
//! copy-on-write, by every mapping of it in every process (Linux's page
//! cache, for the sandbox). A file is known by its device, inode, size and
//! modification time, so a changed file is read afresh.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::Mutex;

use super::memfile::{MemoryFile, PAGE_SIZE};
use crate::errno::Errno;

/// Files larger than this are copied per mapping instead.
const MAX_FILE: u64 = 64 << 20;
/// The cache stops growing past this many bytes.
const MAX_TOTAL: u64 = 1 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
}

#[derive(Default)]
pub struct FileCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    files: HashMap<Key, u64>,
    total: u64,
}

/// A cached file: its pages start at `off` in the memory file; `size` is
/// the file's size (the cached range is that, page-rounded).
#[derive(Clone, Copy, Debug)]
pub struct Cached {
    pub off: u64,
    pub size: u64,
}

impl FileCache {
    /// The cached copy of the file open at `fd`, reading it in on first
    /// use; None for files that are not cached (not regular, too large).
    pub fn get(&self, mf: &MemoryFile, fd: BorrowedFd<'_>) -> Result<Option<Cached>, Errno> {
        // SAFETY: stat is plain data; fstat fills it for an open fd.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `st` is valid and writable.
        if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
            return Err(Errno::last());
        }
        if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_size <= 0 {
            return Ok(None);
        }
        let size = st.st_size as u64;
        if size > MAX_FILE {
            return Ok(None);
        }
        let key = Key {
            dev: st.st_dev,
            ino: st.st_ino,
            size,
            mtime: (st.st_mtime, st.st_mtime_nsec),
        };
        let mut inner = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(&off) = inner.files.get(&key) {
            return Ok(Some(Cached { off, size }));
        }
        let len = size.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        if inner.total + len > MAX_TOTAL {
            return Ok(None);
        }
        let off = mf.allocate(len)?;
        if let Err(e) = mf.fill_from_fd(fd, 0, off, size) {
            mf.release(off, len);
            return Err(e);
        }
        inner.files.insert(key, off);
        inner.total += len;
        Ok(Some(Cached { off, size }))
    }
}
