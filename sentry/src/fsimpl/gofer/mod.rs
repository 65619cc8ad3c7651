//! The gofer file system: the container's root, served by the gofer.
//!
//! One inode per gofer fid, with the attributes the walk returned cached
//! beside it; lookups walk ONE name, directory listings and symlink targets
//! come from the gofer, and an open regular file is a host fd the gofer
//! donates, read straight from the sentry. Read-only for now: the gofer
//! refuses write access (EROFS), and the VFS refuses it first.

mod file;

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use gofer::{Attr, Client, ClientError, Fid};

pub use file::GoferFile;

use crate::errno::Errno;
use crate::vfs::ctx::Ctx;
use crate::vfs::dentry::Dentry;
use crate::vfs::file::{DirEntry, FileDescription};
use crate::vfs::inode::{FsInfo, Inode};
use crate::vfs::stat::Stat;

/// statfs f_type: gVisor reports its gofer mounts as 9p.
const V9FS_MAGIC: i64 = 0x0102_1997;

pub(crate) fn errno(e: ClientError) -> Errno {
    if !matches!(e, ClientError::Errno(_)) {
        tracing::warn!("gofer: {e}");
    }
    Errno(e.errno())
}

/// Attributes as the sandbox reports them: the host's, passed through.
pub fn stat_of(a: &Attr) -> Stat {
    Stat {
        dev: a.dev,
        ino: a.ino,
        mode: a.mode,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        rdev: a.rdev,
        size: a.size,
        blksize: a.blksize,
        blocks: a.blocks,
        atime: (a.atime_sec, a.atime_nsec),
        mtime: (a.mtime_sec, a.mtime_nsec),
        ctime: (a.ctime_sec, a.ctime_nsec),
        btime: (a.btime_sec, a.btime_nsec),
    }
}

/// A node of the gofer's tree: its fid and cached attributes.
pub struct GoferInode {
    client: Arc<Client>,
    fid: Fid,
    attr: Attr,
    /// The gofer keeps one listing stream per fid: one listing at a time.
    listing: Mutex<()>,
    /// A symlink's target, read once.
    target: Mutex<Option<Vec<u8>>>,
    /// A regular file's host fd, opened read-only once and shared by every
    /// description of it (each keeps its own position), so that opening a
    /// file again costs no gofer round trip.
    host_fd: Mutex<Option<Arc<OwnedFd>>>,
}

/// How many host fds the gofer inodes may keep open at once; past it an
/// open asks the gofer each time, as when nothing is cached.
const CACHED_FDS_MAX: usize = 4096;
static CACHED_FDS: AtomicUsize = AtomicUsize::new(0);

impl GoferInode {
    pub fn new(client: Arc<Client>, fid: Fid, attr: Attr) -> Arc<GoferInode> {
        Arc::new(GoferInode {
            client,
            fid,
            attr,
            listing: Mutex::new(()),
            target: Mutex::new(None),
            host_fd: Mutex::new(None),
        })
    }

    fn file_type(&self) -> u32 {
        self.attr.mode & libc::S_IFMT
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inode for GoferInode {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        Ok(stat_of(&self.attr))
    }

    fn lookup(&self, _ctx: &Ctx<'_>, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        if self.file_type() != libc::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        let (fid, attr) = self.client.walk(self.fid, name).map_err(errno)?;
        Ok(GoferInode::new(Arc::clone(&self.client), fid, attr))
    }

    fn readdir(&self, _ctx: &Ctx<'_>) -> Result<Vec<DirEntry>, Errno> {
        if self.file_type() != libc::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        let _one = lock(&self.listing);
        let entries = self.client.readdir(self.fid).map_err(errno)?;
        Ok(entries
            .into_iter()
            .map(|d| DirEntry {
                ino: d.ino,
                kind: d.kind,
                name: d.name,
            })
            .collect())
    }

    fn readlink(&self, _ctx: &Ctx<'_>) -> Result<Vec<u8>, Errno> {
        if self.file_type() != libc::S_IFLNK {
            return Err(Errno::EINVAL);
        }
        let mut cached = lock(&self.target);
        if let Some(t) = cached.as_ref() {
            return Ok(t.clone());
        }
        let t = self.client.readlink(self.fid).map_err(errno)?;
        *cached = Some(t.clone());
        Ok(t)
    }

    fn open(
        &self,
        _ctx: &Ctx<'_>,
        dentry: &Arc<Dentry>,
        flags: i32,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        match self.file_type() {
            libc::S_IFREG => {}
            libc::S_IFLNK => return Err(Errno::ELOOP),
            // Devices, FIFOs and sockets on the host are never opened: the
            // sentry implements its own (ENXIO, as for a device with no driver).
            _ => return Err(Errno::ENXIO),
        }
        let mut cached = lock(&self.host_fd);
        let fd = match cached.as_ref() {
            Some(fd) => Arc::clone(fd),
            None => {
                let fd = Arc::new(self.client.open(self.fid, libc::O_RDONLY).map_err(errno)?);
                if CACHED_FDS.fetch_add(1, Ordering::Relaxed) < CACHED_FDS_MAX {
                    *cached = Some(Arc::clone(&fd));
                } else {
                    CACHED_FDS.fetch_sub(1, Ordering::Relaxed);
                }
                fd
            }
        };
        Ok(GoferFile::new(Arc::clone(dentry), fd, flags))
    }

    fn fs_info(&self) -> FsInfo {
        FsInfo {
            magic: V9FS_MAGIC,
            read_only: true,
        }
    }
}

impl Drop for GoferInode {
    fn drop(&mut self) {
        if lock(&self.host_fd).take().is_some() {
            CACHED_FDS.fetch_sub(1, Ordering::Relaxed);
        }
        if let Err(e) = self.client.clunk(self.fid) {
            tracing::debug!(fid = self.fid, "gofer clunk: {e}");
        }
    }
}

#[cfg(test)]
mod tests;
