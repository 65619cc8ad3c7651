//! File descriptions every file system shares: an open directory (listed
//! through its inode, cached per description from the first getdents on,
//! d_off = index + 1, rewound by lseek to 0) and an O_PATH file (a place in
//! the tree, good for fstat, fchdir and as a dirfd, not for I/O).

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::ctx::Ctx;
use super::dentry::Dentry;
use super::file::{DirEntry, FileDescription};
use super::stat::Stat;
use crate::errno::Errno;
use crate::mm::Segments;

/// Status flags F_SETFL may change.
pub const SETFL_MASK: i32 =
    libc::O_APPEND | libc::O_NONBLOCK | libc::O_ASYNC | libc::O_DIRECT | libc::O_NOATIME;

/// The kernel's O_LARGEFILE (libc's is 0 on x86-64, where glibc never
/// passes it; the kernel sets it on every open file and F_GETFL shows it).
pub const O_LARGEFILE: i32 = 0o100_000;

/// The flags an open file description keeps from open(2)'s (as F_GETFL
/// reports them): creation flags and O_CLOEXEC dropped, O_LARGEFILE added.
pub fn description_flags(open_flags: i32) -> i32 {
    (open_flags
        & !(libc::O_CREAT | libc::O_EXCL | libc::O_NOCTTY | libc::O_TRUNC | libc::O_CLOEXEC))
        | O_LARGEFILE
}

/// F_SETFL applied to `old`.
pub fn with_setfl(old: i32, new: i32) -> i32 {
    (old & !SETFL_MASK) | (new & SETFL_MASK)
}

/// An open directory.
pub struct DirFile {
    dentry: Arc<Dentry>,
    flags: AtomicI32,
    state: Mutex<DirState>,
}

#[derive(Default)]
struct DirState {
    /// The listing, fetched by the first getdents after open or a rewind.
    entries: Option<Vec<DirEntry>>,
    pos: u64,
}

impl DirFile {
    pub fn new(dentry: Arc<Dentry>, flags: i32) -> Arc<DirFile> {
        Arc::new(DirFile {
            dentry,
            flags: AtomicI32::new(description_flags(flags)),
            state: Mutex::new(DirState::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, DirState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The inode's listing plus any mount whose name it lacks.
    fn list(&self, ctx: &Ctx<'_>) -> Result<Vec<DirEntry>, Errno> {
        let mut entries = self.dentry.inode().readdir(ctx)?;
        for m in self.dentry.mounts() {
            if !entries.iter().any(|e| e.name == m.name()) {
                let ino = m.stat(ctx).map(|s| s.ino).unwrap_or(1);
                entries.push(DirEntry {
                    ino,
                    kind: libc::DT_DIR,
                    name: m.name().to_vec(),
                });
            }
        }
        Ok(entries)
    }

    fn iterate(
        &self,
        ctx: &Ctx<'_>,
        st: &mut DirState,
        emit: &mut dyn FnMut(&DirEntry, u64) -> bool,
    ) -> Result<(), Errno> {
        if st.entries.is_none() {
            st.entries = Some(self.list(ctx)?);
        }
        let entries = st.entries.as_deref().unwrap_or_default();
        let start = usize::try_from(st.pos).unwrap_or(usize::MAX);
        for (i, e) in entries.iter().enumerate().skip(start) {
            let next = i as u64 + 1;
            if !emit(e, next) {
                break;
            }
            st.pos = next;
        }
        Ok(())
    }
}

impl FileDescription for DirFile {
    fn read(&self, _dst: &Segments, _offset: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }

    fn read_at(&self, _buf: &mut [u8], _offset: u64) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }

    fn write(&self, _src: &Segments, _offset: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }

    fn seek(&self, offset: i64, whence: i32) -> Result<u64, Errno> {
        let mut st = self.lock();
        let new = match whence {
            libc::SEEK_SET => offset,
            libc::SEEK_CUR => (st.pos as i64).checked_add(offset).ok_or(Errno::EINVAL)?,
            _ => return Err(Errno::EINVAL),
        };
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        if new == 0 {
            st.entries = None;
        }
        st.pos = new as u64;
        Ok(new as u64)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.dentry.stat(&Ctx::kernel())
    }

    fn readdir(
        &self,
        pos: u64,
        emit: &mut dyn FnMut(&DirEntry, u64) -> bool,
    ) -> Result<u64, Errno> {
        let entries = self.list(&Ctx::kernel())?;
        let start = usize::try_from(pos).unwrap_or(usize::MAX);
        let mut at = pos;
        for (i, e) in entries.iter().enumerate().skip(start) {
            if !emit(e, i as u64 + 1) {
                break;
            }
            at = i as u64 + 1;
        }
        Ok(at)
    }

    fn getdents(
        &self,
        ctx: &Ctx<'_>,
        emit: &mut dyn FnMut(&DirEntry, u64) -> bool,
    ) -> Result<(), Errno> {
        let mut st = self.lock();
        self.iterate(ctx, &mut st, emit)
    }

    fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_flags(&self, flags: i32) {
        let old = self.flags();
        self.flags.store(with_setfl(old, flags), Ordering::Relaxed);
    }

    fn path(&self) -> String {
        String::from_utf8_lossy(&self.dentry.path()).into_owned()
    }

    fn dentry(&self) -> Option<Arc<Dentry>> {
        Some(Arc::clone(&self.dentry))
    }
}

/// An O_PATH file: a reference to a place in the tree.
pub struct PathFile {
    dentry: Arc<Dentry>,
    flags: i32,
}

impl PathFile {
    pub fn new(dentry: Arc<Dentry>, flags: i32) -> Arc<PathFile> {
        let keep = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        Arc::new(PathFile {
            dentry,
            flags: flags & keep,
        })
    }
}

impl FileDescription for PathFile {
    fn read(&self, _dst: &Segments, _offset: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }

    fn write(&self, _src: &Segments, _offset: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }

    fn seek(&self, _offset: i64, _whence: i32) -> Result<u64, Errno> {
        Err(Errno::EBADF)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.dentry.stat(&Ctx::kernel())
    }

    fn flags(&self) -> i32 {
        self.flags
    }

    fn path(&self) -> String {
        String::from_utf8_lossy(&self.dentry.path()).into_owned()
    }

    fn getdents(
        &self,
        _ctx: &Ctx<'_>,
        _emit: &mut dyn FnMut(&DirEntry, u64) -> bool,
    ) -> Result<(), Errno> {
        Err(Errno::EBADF)
    }

    fn dentry(&self) -> Option<Arc<Dentry>> {
        Some(Arc::clone(&self.dentry))
    }
}
