//! An open regular file of the gofer file system: the host fd the gofer
//! donated, read with preadv straight into app memory and, when open for
//! writing (its own read-write fd), written with pwritev straight from
//! it; the file position is the description's own, kept here (the
//! descriptions of one file may share its inode's host fd, so the host
//! fd's own offset is never used). A description open for writing has a
//! host fd of its own, whose O_APPEND follows the description's, so that
//! appends are atomic on the host even between processes (Linux appends
//! on an O_APPEND fd whatever pwritev's offset).
//!
//! In a writable tree, a MAP_SHARED mapping maps the file's page cache
//! (`mm::pagecache`); while the cache lives, read, write, truncate,
//! fallocate and fsync go through it, so the mappings and the file agree.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use super::GoferInode;
use crate::errno::Errno;
use crate::mm::pagecache::{self, PageCache};
use crate::mm::{MemoryFile, Segments};
use crate::vfs::dentry::Dentry;
use crate::vfs::dirfile::{description_flags, with_setfl};
use crate::vfs::file::FileDescription;
use crate::vfs::raw;
use crate::vfs::stat::Stat;

/// Where a MAP_SHARED mapping of a writable tree's file gets its pages.
pub struct SharedSource {
    pub cache: Arc<PageCache>,
    /// The description's read-write fd, for write-back; None for a
    /// description open read-only (its mappings are never writable).
    pub write_fd: Option<Arc<OwnedFd>>,
}

pub struct GoferFile {
    dentry: Arc<Dentry>,
    fd: Arc<OwnedFd>,
    flags: AtomicI32,
    pos: Mutex<u64>,
    /// The host fd is this description's alone (it is open for writing).
    own_fd: bool,
    /// The host fd has O_APPEND (only ever set on an own fd).
    host_append: AtomicBool,
}

impl GoferFile {
    /// A description sharing `fd` (the inode's read-only host fd).
    pub fn new(dentry: Arc<Dentry>, fd: Arc<OwnedFd>, flags: i32) -> Arc<GoferFile> {
        Self::make(dentry, fd, flags, false)
    }

    /// A description with a host fd of its own (open for writing); its
    /// O_APPEND is set on the host fd too.
    pub fn new_own(dentry: Arc<Dentry>, fd: Arc<OwnedFd>, flags: i32) -> Arc<GoferFile> {
        let file = Self::make(dentry, fd, flags, true);
        file.mirror_append();
        file
    }

    fn make(dentry: Arc<Dentry>, fd: Arc<OwnedFd>, flags: i32, own_fd: bool) -> Arc<GoferFile> {
        Arc::new(GoferFile {
            dentry,
            fd,
            flags: AtomicI32::new(description_flags(flags)),
            pos: Mutex::new(0),
            own_fd,
            host_append: AtomicBool::new(false),
        })
    }

    /// Makes the own host fd's O_APPEND the description's; where that
    /// fails, writes find the end themselves (not atomic between processes).
    fn mirror_append(&self) {
        if !self.own_fd {
            return;
        }
        let want = self.flags() & libc::O_APPEND != 0;
        let set = raw::get_status_flags(self.fd.as_fd()).and_then(|fl| {
            let fl = if want {
                fl | libc::O_APPEND
            } else {
                fl & !libc::O_APPEND
            };
            raw::set_status_flags(self.fd.as_fd(), fl)
        });
        self.host_append
            .store(want && set.is_ok(), Ordering::Relaxed);
    }
}

/// The host file's size now.
fn file_size(fd: &OwnedFd) -> Result<u64, Errno> {
    Ok(u64::try_from(raw::fstat(fd.as_fd())?.st_size).unwrap_or(0))
}

impl GoferFile {
    /// The file's data changed: its inode's cached attributes are stale.
    fn changed(&self) {
        if let Some(g) = GoferInode::of(self.dentry.inode()) {
            g.mark_stale();
        }
    }

    /// The live page cache of this file, if it has one (only files of a
    /// writable tree ever do).
    fn live_cache(&self) -> Option<Arc<PageCache>> {
        GoferInode::of(self.dentry.inode()).and_then(|g| g.live_cache())
    }

    /// Writes what shared mappings wrote to the host file (before a
    /// private mapping copies it).
    pub fn write_back(&self) -> Result<(), Errno> {
        match self.live_cache() {
            Some(c) => c.write_back(),
            None => Ok(()),
        }
    }

    /// For a MAP_SHARED mapping: the page cache of this file (made if
    /// none lives) and, for a description open for reading and writing,
    /// its fd for write-back. None in a read-only tree, whose shared
    /// mappings are copies (the file cannot change under them).
    pub fn page_cache(&self, mf: &Arc<MemoryFile>) -> Option<Result<SharedSource, Errno>> {
        let key = GoferInode::of(self.dentry.inode())?.cache_key()?;
        let write_fd = (self.own_fd && self.flags() & libc::O_ACCMODE == libc::O_RDWR)
            .then(|| Arc::clone(&self.fd));
        Some(pagecache::open(mf, key, &self.fd).map(|cache| SharedSource { cache, write_fd }))
    }
}

impl FileDescription for GoferFile {
    fn read(&self, dst: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        if let Some(c) = self.live_cache() {
            return match offset {
                Some(off) => c.read(&self.fd, dst, off),
                None => {
                    let mut pos = self.pos.lock().unwrap_or_else(|p| p.into_inner());
                    let n = c.read(&self.fd, dst, *pos)?;
                    *pos += n as u64;
                    Ok(n)
                }
            };
        }
        match offset {
            Some(off) => raw::read_segments(self.fd.as_fd(), dst, Some(off)),
            None => {
                let mut pos = self.pos.lock().unwrap_or_else(|p| p.into_inner());
                let n = raw::read_segments(self.fd.as_fd(), dst, Some(*pos))?;
                *pos += n as u64;
                Ok(n)
            }
        }
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        raw::pread(self.fd.as_fd(), buf, offset)
    }

    fn write(&self, src: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        if self.flags() & libc::O_ACCMODE == libc::O_RDONLY {
            return Err(Errno::EBADF);
        }
        let mut pos = self.pos.lock().unwrap_or_else(|p| p.into_inner());
        // O_APPEND writes at the end, even pwrite's (as Linux does): the
        // host does it where the host fd has O_APPEND (the offset is then
        // ignored), else the end is the host file's size now.
        let append = self.flags() & libc::O_APPEND != 0;
        if let Some(c) = self.live_cache() {
            // The cache knows the size (and so the end) while it lives.
            let at = if append {
                None
            } else {
                Some(offset.unwrap_or(*pos))
            };
            let r = c.write(src, at, |at| {
                raw::write_segments(self.fd.as_fd(), src, Some(at))
            });
            self.changed();
            let (n, at) = r?;
            if offset.is_none() {
                *pos = at + n as u64;
            }
            return Ok(n);
        }
        let host_append = append && self.host_append.load(Ordering::Relaxed);
        let at = if host_append {
            0
        } else if append {
            file_size(&self.fd)?
        } else {
            offset.unwrap_or(*pos)
        };
        let n = raw::write_segments(self.fd.as_fd(), src, Some(at));
        self.changed();
        let n = n?;
        if offset.is_none() {
            *pos = if host_append {
                file_size(&self.fd)?
            } else {
                at + n as u64
            };
        }
        Ok(n)
    }

    /// fsync of the donated fd in a writable tree: a file written through
    /// reaches the host's disk (fdatasync does the same: the sentry's
    /// allowlist has fsync). Nothing to do in a read-only tree.
    fn sync(&self, _data_only: bool) -> Result<(), Errno> {
        match GoferInode::of(self.dentry.inode()) {
            Some(g) if g.writable => {
                if let Some(c) = self.live_cache() {
                    c.write_back()?;
                }
                raw::fsync(self.fd.as_fd())
            }
            _ => Ok(()),
        }
    }

    fn truncate(&self, len: u64) -> Result<(), Errno> {
        if self.flags() & libc::O_ACCMODE == libc::O_RDONLY {
            return Err(Errno::EINVAL);
        }
        let host = || raw::ftruncate(self.fd.as_fd(), len);
        let r = match self.live_cache() {
            Some(c) => c.truncate(len, host),
            None => host(),
        };
        self.changed();
        r
    }

    /// fallocate(2) on the description's own read-write fd: the host's
    /// file system answers every mode as Linux does for it (EOPNOTSUPP
    /// for what it cannot do). A live page cache writes back first and
    /// reads the file afresh afterwards.
    fn allocate(&self, mode: i32, offset: u64, len: u64) -> Result<(), Errno> {
        if !self.own_fd {
            return Err(Errno::EBADF);
        }
        let host = || raw::fallocate(self.fd.as_fd(), mode, offset, len);
        let r = match self.live_cache() {
            Some(c) => c.refresh(host),
            None => host(),
        };
        self.changed();
        r
    }

    fn seek(&self, offset: i64, whence: i32) -> Result<u64, Errno> {
        // The host fd's own offset is never used for I/O, so the host may
        // seek it: it applies its file system's limits (s_maxbytes) and
        // SEEK_DATA/SEEK_HOLE exactly; the result becomes our position.
        let mut pos = self.pos.lock().unwrap_or_else(|p| p.into_inner());
        let (offset, whence) = match whence {
            libc::SEEK_CUR => {
                let to = (*pos as i64).checked_add(offset).ok_or(Errno::EINVAL)?;
                (to, libc::SEEK_SET)
            }
            libc::SEEK_SET | libc::SEEK_END | libc::SEEK_DATA | libc::SEEK_HOLE => (offset, whence),
            _ => return Err(Errno::EINVAL),
        };
        let new = raw::lseek(self.fd.as_fd(), offset, whence)?;
        *pos = new;
        Ok(new)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat::from_host(&raw::fstat(self.fd.as_fd())?))
    }

    fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_flags(&self, flags: i32) {
        self.flags
            .store(with_setfl(self.flags(), flags), Ordering::Relaxed);
        self.mirror_append();
    }

    fn host_fd(&self) -> Option<Arc<OwnedFd>> {
        Some(Arc::clone(&self.fd))
    }

    fn path(&self) -> String {
        String::from_utf8_lossy(&self.dentry.path()).into_owned()
    }

    fn dentry(&self) -> Option<Arc<Dentry>> {
        Some(Arc::clone(&self.dentry))
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
