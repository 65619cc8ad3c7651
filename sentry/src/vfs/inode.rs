//! The interface each file system implements for its nodes: attributes,
//! the lookup of ONE name in a directory, directory listings, symlink
//! targets, and opening non-directories. Paths, ".", ".." and symlink
//! following belong to the walk (vfs::walk), never to a file system.

use std::sync::Arc;

use super::ctx::Ctx;
use super::dentry::Dentry;
use super::file::{DirEntry, FileDescription};
use super::stat::Stat;
use crate::errno::Errno;

/// statfs(2) facts about the file system an inode lives on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsInfo {
    /// f_type: the file system's magic number.
    pub magic: i64,
    /// Mounted read-only (ST_RDONLY; writes to regular files and directories are EROFS).
    pub read_only: bool,
}

pub trait Inode: Send + Sync {
    /// The node's attributes.
    fn stat(&self, ctx: &Ctx<'_>) -> Result<Stat, Errno>;

    /// The child `name` of this directory: one component, never "", "." or
    /// "..", never containing '/'. ENOENT when absent.
    fn lookup(&self, _ctx: &Ctx<'_>, _name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::ENOTDIR)
    }

    /// Every entry of this directory, "." and ".." included.
    fn readdir(&self, _ctx: &Ctx<'_>) -> Result<Vec<DirEntry>, Errno> {
        Err(Errno::ENOTDIR)
    }

    /// The target of this symlink.
    fn readlink(&self, _ctx: &Ctx<'_>) -> Result<Vec<u8>, Errno> {
        Err(Errno::EINVAL)
    }

    /// For "magic" links (/proc/PID/fd/N): where following the link leads,
    /// directly, without reading a path. None for ordinary symlinks.
    fn follow_magic(&self, _ctx: &Ctx<'_>) -> Option<Result<Arc<Dentry>, Errno>> {
        None
    }

    /// Opens this non-directory, non-symlink node; `flags` have passed the
    /// VFS's checks (access mode against the file type, permissions, EROFS).
    fn open(
        &self,
        _ctx: &Ctx<'_>,
        _dentry: &Arc<Dentry>,
        _flags: i32,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        Err(Errno::ENXIO)
    }

    /// Whether the children this directory's lookups return may be cached
    /// in the dentry tree (false for procfs, whose names depend on the caller).
    fn cache_children(&self) -> bool {
        true
    }

    fn fs_info(&self) -> FsInfo;
}
