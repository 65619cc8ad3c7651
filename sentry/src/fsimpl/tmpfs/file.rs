//! An open tmpfs regular file: reads and writes copy between the file's
//! chunks and app memory inside the memory file (no bounce buffer); the
//! position is the description's own; mmap gets the file's own pages.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use super::chunks::{ChunkStore, MAX_SIZE};
use super::node::{lock, TmpInode};
use crate::errno::Errno;
use crate::mm::{MemoryFile, Segments};
use crate::vfs::ctx::Ctx;
use crate::vfs::dentry::Dentry;
use crate::vfs::dirfile::{description_flags, with_setfl};
use crate::vfs::file::FileDescription;
use crate::vfs::inode::Inode;
use crate::vfs::stat::Stat;

pub(super) struct TmpFile {
    dentry: Arc<Dentry>,
    node: Arc<TmpInode>,
    flags: AtomicI32,
    pos: Mutex<u64>,
}

impl TmpFile {
    /// Opens the regular file `node`; O_TRUNC empties it.
    pub(super) fn for_open(
        node: Arc<TmpInode>,
        dentry: Arc<Dentry>,
        flags: i32,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        if flags & libc::O_TRUNC != 0 {
            node.truncate(0)?;
        }
        Ok(Arc::new(TmpFile {
            dentry,
            node,
            flags: AtomicI32::new(description_flags(flags)),
            pos: Mutex::new(0),
        }))
    }

    fn store(&self) -> Result<&Mutex<ChunkStore>, Errno> {
        self.node.store().ok_or(Errno::EINVAL)
    }
}

/// Calls `f(mem_off, done, n)` for the parts of the memory-file pieces
/// `segs` that cover bytes `[at, at+len)` of them, `done` bytes in.
fn seg_parts(segs: &[(u64, usize)], at: u64, len: u64, mut f: impl FnMut(u64, u64, u64)) {
    let mut skip = at;
    let mut done = 0u64;
    for &(off, l) in segs {
        if done == len {
            break;
        }
        let l = l as u64;
        if skip >= l {
            skip -= l;
            continue;
        }
        let n = (l - skip).min(len - done);
        f(off + skip, done, n);
        done += n;
        skip = 0;
    }
}

/// Zeroes `[off, off+len)` of the memory file (app memory a hole is read into).
fn zero(mf: &MemoryFile, off: u64, len: u64) {
    static ZEROES: [u8; 4096] = [0; 4096];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(ZEROES.len() as u64);
        mf.write(off + done, &ZEROES[..n as usize]);
        done += n;
    }
}

/// Both sides of a copy must be in the same memory file (the sandbox has one).
fn same_memfile(segs: &Segments, store: &ChunkStore) -> Result<(), Errno> {
    if Arc::ptr_eq(segs.memfile(), store.memfile()) {
        Ok(())
    } else {
        Err(Errno::EIO)
    }
}

impl FileDescription for TmpFile {
    fn read(&self, dst: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        let store = self.store()?;
        let mut pos = match offset {
            Some(_) => None,
            None => Some(lock(&self.pos)),
        };
        let off = offset.or(pos.as_deref().copied()).unwrap_or(0);
        let s = lock(store);
        same_memfile(dst, &s)?;
        let mf = s.memfile();
        let mut n = 0;
        for sp in s.read_spans(off, dst.len() as u64) {
            seg_parts(dst.pieces(), sp.at, sp.len, |seg, done, k| match sp.mem {
                Some(m) => mf.copy_within(m + done, seg, k),
                None => zero(mf, seg, k),
            });
            n = sp.at + sp.len;
        }
        drop(s);
        if let Some(p) = pos.as_deref_mut() {
            *p += n;
        }
        Ok(n as usize)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        Ok(lock(self.store()?).read(offset, buf))
    }

    fn write(&self, src: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        let store = self.store()?;
        let mut pos = match offset {
            Some(_) => None,
            None => Some(lock(&self.pos)),
        };
        let len = src.len() as u64;
        if len == 0 {
            return Ok(0);
        }
        let mut s = lock(store);
        same_memfile(src, &s)?;
        // O_APPEND writes at the end, even pwrite's (as Linux does).
        let off = if self.flags() & libc::O_APPEND != 0 {
            s.size()
        } else {
            offset.or(pos.as_deref().copied()).unwrap_or(0)
        };
        if off >= MAX_SIZE {
            return Err(Errno::EFBIG);
        }
        let len = len.min(MAX_SIZE - off);
        let spans = s.write_spans(off, len)?;
        let mf = s.memfile();
        for sp in spans {
            if let Some(m) = sp.mem {
                seg_parts(src.pieces(), sp.at, sp.len, |seg, done, k| {
                    mf.copy_within(seg, m + done, k)
                });
            }
        }
        drop(s);
        if let Some(p) = pos.as_deref_mut() {
            *p = off + len;
        }
        self.node.touch_data();
        Ok(len as usize)
    }

    fn seek(&self, offset: i64, whence: i32) -> Result<u64, Errno> {
        let mut pos = lock(&self.pos);
        let s = lock(self.store()?);
        let new = match whence {
            libc::SEEK_SET => offset,
            libc::SEEK_CUR => (*pos as i64).checked_add(offset).ok_or(Errno::EINVAL)?,
            libc::SEEK_END => (s.size() as i64).checked_add(offset).ok_or(Errno::EINVAL)?,
            libc::SEEK_DATA | libc::SEEK_HOLE => {
                let from = u64::try_from(offset).map_err(|_| Errno::ENXIO)?;
                let at = if whence == libc::SEEK_DATA {
                    s.seek_data(from)?
                } else {
                    s.seek_hole(from)?
                };
                at as i64
            }
            _ => return Err(Errno::EINVAL),
        };
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        *pos = new as u64;
        Ok(new as u64)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.node.stat(&Ctx::kernel())
    }

    fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_flags(&self, flags: i32) {
        self.flags
            .store(with_setfl(self.flags(), flags), Ordering::Relaxed);
    }

    fn shared_pages(&self, offset: u64, len: u64) -> Option<Result<Vec<(u64, u64)>, Errno>> {
        Some(self.store().and_then(|s| lock(s).pages(offset, len)))
    }

    fn truncate(&self, len: u64) -> Result<(), Errno> {
        self.node.truncate(len)
    }

    fn allocate(&self, mode: i32, offset: u64, len: u64) -> Result<(), Errno> {
        const KEEP: i32 = libc::FALLOC_FL_KEEP_SIZE;
        const PUNCH: i32 = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
        let mut s = lock(self.store()?);
        match mode {
            0 | KEEP => s.allocate(offset, len, mode == KEEP)?,
            PUNCH => s.punch_hole(offset, len),
            _ => return Err(Errno::EOPNOTSUPP),
        }
        drop(s);
        self.node.touch_data();
        Ok(())
    }

    fn path(&self) -> String {
        String::from_utf8_lossy(&self.dentry.path()).into_owned()
    }

    fn dentry(&self) -> Option<Arc<Dentry>> {
        Some(Arc::clone(&self.dentry))
    }
}
