//! The gofer file system: the container's root, served by the gofer.
//!
//! One inode per gofer fid, with the attributes the walk returned cached
//! beside it; lookups walk ONE name, directory listings and symlink targets
//! come from the gofer, and an open regular file is a host fd the gofer
//! donates, read (and written) straight from the sentry.
//!
//! Read-only by default: the VFS refuses changes (EROFS) before they reach
//! the gofer, which would refuse them too; this tree then lies under the
//! overlay. Over a read-write gofer (`new_root(.., true)`) the changes of
//! one directory and setattr go to the gofer (`dir_ops`), write opens get
//! their own host fd (never the shared read-only one), and the tree is not
//! cached in dentries (its names change under them): each lookup walks.
//! Cached attributes are marked stale by every change made through an
//! inode or its files and fetched again on the next stat.
//!
//! In a writable tree a MAP_SHARED mapping of a file maps its page cache
//! (`mm::pagecache`, found by the host's device and inode), and the
//! file's I/O goes through that cache while it lives. statfs counts are
//! the host file system's, from the gofer's fstatfs of the node.

mod dir_ops;
mod file;

use std::any::Any;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use gofer::{Attr, Client, ClientError, Fid};

pub use file::{GoferFile, SharedSource};

use crate::errno::Errno;
use crate::mm::pagecache::{self, PageCache};
use crate::vfs::ctx::Ctx;
use crate::vfs::dentry::Dentry;
use crate::vfs::file::{DirEntry, FileDescription};
use crate::vfs::inode::{FsInfo, FsUsage, Inode, SetAttr};
use crate::vfs::raw;
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
    attr: Mutex<Attr>,
    /// `attr` may be out of date: a change was made through this inode.
    stale: AtomicBool,
    /// The gofer serves its tree read-write.
    writable: bool,
    /// The gofer keeps one listing stream per fid: one listing at a time.
    listing: Mutex<()>,
    /// A symlink's target, read once.
    target: Mutex<Option<Vec<u8>>>,
    /// A regular file's host fd, opened read-only once and shared by every
    /// description of it (each keeps its own position), so that opening a
    /// file again costs no gofer round trip.
    host_fd: Mutex<Option<Arc<OwnedFd>>>,
    /// A directory's file just made by `create`, handed to the lookup of
    /// its name that follows (the VFS creates, then looks up, then opens).
    created: Mutex<Option<(Vec<u8>, Arc<GoferInode>)>>,
    /// The read-write fd `create` donated, for the first open of the new
    /// file (which may open it whatever its permission bits, as Linux does).
    fresh_fd: Mutex<Option<Arc<OwnedFd>>>,
}

/// How many host fds the gofer inodes may keep open at once; past it an
/// open asks the gofer each time, as when nothing is cached.
const CACHED_FDS_MAX: usize = 4096;
static CACHED_FDS: AtomicUsize = AtomicUsize::new(0);

impl GoferInode {
    /// A node of a read-only tree.
    pub fn new(client: Arc<Client>, fid: Fid, attr: Attr) -> Arc<GoferInode> {
        Self::with_access(client, fid, attr, false)
    }

    /// The root of the tree, writable when the gofer serves it read-write.
    pub fn new_root(client: Arc<Client>, fid: Fid, attr: Attr, writable: bool) -> Arc<GoferInode> {
        Self::with_access(client, fid, attr, writable)
    }

    fn with_access(client: Arc<Client>, fid: Fid, attr: Attr, writable: bool) -> Arc<GoferInode> {
        Arc::new(GoferInode {
            client,
            fid,
            attr: Mutex::new(attr),
            stale: AtomicBool::new(false),
            writable,
            listing: Mutex::new(()),
            target: Mutex::new(None),
            host_fd: Mutex::new(None),
            created: Mutex::new(None),
            fresh_fd: Mutex::new(None),
        })
    }

    /// A child of this node's tree.
    fn child(&self, fid: Fid, attr: Attr) -> Arc<GoferInode> {
        Self::with_access(Arc::clone(&self.client), fid, attr, self.writable)
    }

    fn file_type(&self) -> u32 {
        lock(&self.attr).mode & libc::S_IFMT
    }

    /// The next stat asks the gofer.
    pub(crate) fn mark_stale(&self) {
        self.stale.store(true, Ordering::Relaxed);
    }

    /// Takes fresh attributes from a reply.
    fn set_attr(&self, attr: Attr) {
        *lock(&self.attr) = attr;
        self.stale.store(false, Ordering::Relaxed);
    }

    /// The page-cache identity of this regular file: only a writable
    /// tree's files are ever page-cached.
    fn cache_key(&self) -> Option<pagecache::FileKey> {
        if !self.writable {
            return None;
        }
        let a = lock(&self.attr);
        (a.mode & libc::S_IFMT == libc::S_IFREG).then_some((a.dev, a.ino))
    }

    /// The live page cache of this file, if it has one (a look at one
    /// atomic while no file has one).
    fn live_cache(&self) -> Option<Arc<PageCache>> {
        if !self.writable || !pagecache::any_live() {
            return None;
        }
        self.cache_key().and_then(pagecache::find)
    }

    /// The gofer inode behind `inode`, if it is one.
    fn of(inode: &Arc<dyn Inode>) -> Option<&GoferInode> {
        inode.as_any().and_then(|a| a.downcast_ref::<GoferInode>())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether open `flags` write to the file (O_TRUNC does, as Linux has it).
fn writes(flags: i32) -> bool {
    flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0
}

impl Inode for GoferInode {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        if self.stale.load(Ordering::Relaxed) {
            let attr = self.client.getattr(self.fid).map_err(errno)?;
            self.set_attr(attr);
        }
        Ok(stat_of(&lock(&self.attr)))
    }

    fn lookup(&self, _ctx: &Ctx<'_>, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        if self.file_type() != libc::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        {
            let mut created = lock(&self.created);
            if created.as_ref().is_some_and(|(n, _)| n == name) {
                if let Some((_, node)) = created.take() {
                    return Ok(node);
                }
            }
        }
        let (fid, attr) = self.client.walk(self.fid, name).map_err(errno)?;
        Ok(self.child(fid, attr))
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
        if let Some(fd) = lock(&self.fresh_fd).take() {
            if flags & libc::O_TRUNC == 0 {
                return Ok(GoferFile::new_own(Arc::clone(dentry), fd, flags));
            }
        }
        if writes(flags) {
            if !self.writable {
                return Err(Errno::EROFS);
            }
            // Its own fd: the shared one is read-only (GoferFile::new_own
            // gives it the description's O_APPEND). With a live page
            // cache, O_TRUNC truncates through the cache.
            let cache = self.live_cache();
            let trunc = if cache.is_some() { 0 } else { libc::O_TRUNC };
            let host = flags & (libc::O_ACCMODE | trunc);
            let fd = self.client.open(self.fid, host).map_err(errno)?;
            if let (Some(c), true) = (&cache, flags & libc::O_TRUNC != 0) {
                c.truncate(0, || raw::ftruncate(fd.as_fd(), 0))?;
            }
            if flags & libc::O_TRUNC != 0 {
                self.mark_stale();
            }
            return Ok(GoferFile::new_own(Arc::clone(dentry), Arc::new(fd), flags));
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

    fn cache_children(&self) -> bool {
        // A writable tree's names change under the dentry cache (unlink,
        // rename): each lookup walks instead.
        !self.writable
    }

    fn fs_info(&self) -> FsInfo {
        FsInfo {
            magic: V9FS_MAGIC,
            read_only: !self.writable,
        }
    }

    /// The host file system's counts, from the gofer's fstatfs of this
    /// node (None, reported as zeros, where the gofer cannot tell).
    fn usage(&self) -> Option<FsUsage> {
        let s = match self.client.statfs(self.fid) {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(fid = self.fid, "gofer statfs: {e}");
                return None;
            }
        };
        Some(FsUsage {
            bsize: s.bsize,
            blocks: s.blocks,
            bfree: s.bfree,
            bavail: s.bavail,
            files: s.files,
            ffree: s.ffree,
        })
    }

    fn create(&self, _ctx: &Ctx<'_>, name: &[u8], mode: u32) -> Result<Arc<dyn Inode>, Errno> {
        Ok(self.create_file(name, mode)?)
    }

    fn mkdir(&self, _ctx: &Ctx<'_>, name: &[u8], mode: u32) -> Result<(), Errno> {
        self.change(|c| c.mkdir(self.fid, name, mode))
    }

    fn mknod(&self, _ctx: &Ctx<'_>, name: &[u8], mode: u32, rdev: u64) -> Result<(), Errno> {
        self.change(|c| c.mknod(self.fid, name, mode, rdev))
    }

    fn symlink(&self, _ctx: &Ctx<'_>, name: &[u8], target: &[u8]) -> Result<(), Errno> {
        self.change(|c| c.symlink(self.fid, name, target))
    }

    fn link(&self, _ctx: &Ctx<'_>, name: &[u8], target: &Arc<dyn Inode>) -> Result<(), Errno> {
        let target = self.same_tree(target)?;
        self.change(|c| c.link(target.fid, self.fid, name))?;
        target.mark_stale();
        Ok(())
    }

    fn unlink(&self, _ctx: &Ctx<'_>, name: &[u8]) -> Result<(), Errno> {
        self.change(|c| c.unlink(self.fid, name, 0))
    }

    fn rmdir(&self, _ctx: &Ctx<'_>, name: &[u8]) -> Result<(), Errno> {
        self.change(|c| c.unlink(self.fid, name, libc::AT_REMOVEDIR))
    }

    fn rename(
        &self,
        _ctx: &Ctx<'_>,
        old_name: &[u8],
        new_dir: &Arc<dyn Inode>,
        new_name: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        let new_dir = self.same_tree(new_dir)?;
        self.change(|c| c.rename(self.fid, old_name, new_dir.fid, new_name, flags))?;
        new_dir.forget_created();
        new_dir.mark_stale();
        Ok(())
    }

    fn setattr(&self, _ctx: &Ctx<'_>, attr: &SetAttr) -> Result<(), Errno> {
        self.set(attr)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
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
mod mount_tests;
#[cfg(test)]
mod rw_tests;
#[cfg(test)]
mod tests;
