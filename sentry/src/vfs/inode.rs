//! The interface each file system implements for its nodes: attributes,
//! the lookup of ONE name in a directory, directory listings, symlink
//! targets, and opening non-directories; and, for writable file systems,
//! the changes to one directory (create, mkdir, mknod, symlink, link,
//! unlink, rmdir, rename) and to attributes (setattr). Paths, ".", ".."
//! and symlink following belong to the walk (vfs::walk), never to a file
//! system; EROFS and the caller's permissions are checked by the VFS
//! before a change reaches the file system, which re-checks only what its
//! own lock makes exact (EEXIST, ENOENT, ENOTEMPTY). The defaults are
//! Linux's answers for a directory without the operation.

use std::any::Any;
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

/// statfs(2)'s counts, for file systems that keep them: blocks of
/// `bsize` bytes (4096 where 0) in all, free, and free to the unprivileged,
/// and inodes in all and free.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FsUsage {
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
}

/// Attribute changes for `Inode::setattr`: each `Some` is applied, and the
/// change time becomes now. The caller has checked permissions and worked
/// out the mode (setuid/setgid bits cleared by chown included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// The permission bits (07777); the file type never changes.
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// truncate(2): regular files only.
    pub size: Option<u64>,
    pub atime: Option<(i64, i64)>,
    pub mtime: Option<(i64, i64)>,
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

    /// statfs(2)'s counts; None where the file system reports none (zeros).
    fn usage(&self) -> Option<FsUsage> {
        None
    }

    /// Creates the regular file `name` (absent when the VFS looked) in this
    /// directory: `mode` is S_IFREG and the permission bits, umask applied;
    /// owned by the caller. EACCES where nothing can be created (Linux's
    /// answer for a directory without ->create).
    fn create(&self, _ctx: &Ctx<'_>, _name: &[u8], _mode: u32) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EACCES)
    }

    /// O_TMPFILE: a new regular file with no name and no links, on this
    /// directory's file system, owned as `create`'s would be; `linkable`
    /// (no O_EXCL) lets one `link` give it a name. EOPNOTSUPP where the
    /// file system has no unnamed files (Linux's answer without ->tmpfile).
    fn tmpfile(
        &self,
        _ctx: &Ctx<'_>,
        _mode: u32,
        _linkable: bool,
    ) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    /// mkdir: `mode` is the permission bits (umask applied).
    fn mkdir(&self, _ctx: &Ctx<'_>, _name: &[u8], _mode: u32) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// mknod of a FIFO, socket or device node: `mode` carries the type.
    fn mknod(&self, _ctx: &Ctx<'_>, _name: &[u8], _mode: u32, _rdev: u64) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// symlink: the new link `name` to `target`.
    fn symlink(&self, _ctx: &Ctx<'_>, _name: &[u8], _target: &[u8]) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// link: a new name for `target` (a non-directory of the same mount).
    fn link(&self, _ctx: &Ctx<'_>, _name: &[u8], _target: &Arc<dyn Inode>) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// unlink of the non-directory `name`.
    fn unlink(&self, _ctx: &Ctx<'_>, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// rmdir of the empty directory `name`.
    fn rmdir(&self, _ctx: &Ctx<'_>, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// rename(2)/renameat2(2) of `old_name` here to `new_name` in
    /// `new_dir` (of the same mount), with RENAME_* `flags`.
    fn rename(
        &self,
        _ctx: &Ctx<'_>,
        _old_name: &[u8],
        _new_dir: &Arc<dyn Inode>,
        _new_name: &[u8],
        _flags: u32,
    ) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// chmod, chown, truncate, utimensat.
    fn setattr(&self, _ctx: &Ctx<'_>, _attr: &SetAttr) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// The concrete inode, for a file system's operations that take
    /// another of its own inodes (link, rename); None where none do.
    fn as_any(&self) -> Option<&dyn Any> {
        None
    }
}
