//! The changes a read-write server makes to its tree: create, mkdir,
//! symlink, link, mknod (FIFOs only), unlink/rmdir, rename and setattr.
//!
//! Every change names ONE checked component (`check_name`) in a directory
//! held by fid (an `O_PATH` fd inside the root), through the `*at`
//! syscalls, which never follow a symlink at that last component (create
//! is `openat2(O_CREAT | O_EXCL | O_NOFOLLOW)` under the walk's
//! `RESOLVE_*` flags). Attribute changes act on the node's own `O_PATH` fd
//! (`fchmodat2`, `fchownat`, `utimensat` with `AT_EMPTY_PATH`), so they
//! reach exactly the node walked to, symlinks included, never through
//! `/proc/self/fd` and never through a name that may have changed; only a
//! truncate reopens the file, by name, and checks it is the same inode.
//! A read-only server answers each of them `EROFS` before looking at
//! anything else.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use tracing::debug;

use super::{errno_of, Access, Errno, Node, Parent, Server, RESOLVE};
use crate::protocol::{check_name, Fid, Reply, SetAttr};
use crate::raw;

/// Flags a `Create` may pass to the host besides the access mode.
const CREATE_PASS_FLAGS: i32 = libc::O_APPEND
    | libc::O_NOATIME
    | libc::O_NONBLOCK
    | libc::O_LARGEFILE
    | libc::O_CLOEXEC
    | libc::O_NOFOLLOW
    | libc::O_NOCTTY
    | libc::O_DIRECT
    | libc::O_SYNC
    | libc::O_DSYNC
    | libc::O_EXCL
    | libc::O_TRUNC
    | libc::O_CREAT;

/// The rename flags served: `RENAME_WHITEOUT` is the overlay's business.
const RENAME_FLAGS: u32 = libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE;

/// `name` as a checked single component.
fn component(name: &[u8]) -> Result<CString, Errno> {
    check_name(name).map_err(|e| e.errno())?;
    CString::new(name).map_err(|_| libc::EINVAL)
}

impl Server {
    /// `EROFS` unless this server may change the tree `fid` is in (a
    /// read-only server says so before looking at the fid; a read-only
    /// source once the fid is known to be beneath it).
    fn writable(&self, fid: Fid) -> Result<(), Errno> {
        if self.access == Access::ReadOnly {
            return Err(libc::EROFS);
        }
        match self.access_of(self.node(fid)?) {
            Access::ReadWrite => Ok(()),
            Access::ReadOnly => Err(libc::EROFS),
        }
    }

    /// `EXDEV` unless `a` and `b` are beneath the same source: a link or
    /// rename never moves a name between two mounts.
    fn same_source(&self, a: Fid, b: Fid) -> Result<(), Errno> {
        if self.node(a)?.source != self.node(b)?.source {
            return Err(libc::EXDEV);
        }
        Ok(())
    }

    /// The fd of the directory `fid`, for a change in it.
    fn dir_fd(&self, fid: Fid) -> Result<Arc<OwnedFd>, Errno> {
        let dir = self.node(fid)?;
        if !dir.is_dir() {
            return Err(libc::ENOTDIR);
        }
        Ok(Arc::clone(&dir.fd))
    }

    pub(super) fn create(
        &mut self,
        tag: u32,
        dir: Fid,
        name: &[u8],
        flags: i32,
        mode: u32,
    ) -> Result<(Reply, OwnedFd), Errno> {
        debug!(tag, dir, name = %String::from_utf8_lossy(name), flags = format_args!("{flags:#o}"), "create");
        self.writable(dir)?;
        let source = self.node(dir)?.source;
        let dir_fd = self.dir_fd(dir)?;
        let name = component(name)?;
        if flags & libc::O_ACCMODE == libc::O_ACCMODE
            || flags & !(CREATE_PASS_FLAGS | libc::O_ACCMODE) != 0
        {
            return Err(libc::EINVAL);
        }
        self.check_capacity()?;
        // Never an existing node (O_EXCL), so never through a symlink; a
        // new file is empty, so O_TRUNC has nothing to do.
        let host_flags = (flags & CREATE_PASS_FLAGS & !libc::O_TRUNC)
            | (flags & libc::O_ACCMODE)
            | libc::O_CREAT
            | libc::O_EXCL
            | libc::O_NOFOLLOW
            | libc::O_CLOEXEC
            | libc::O_NOCTTY;
        let fd = raw::openat2_mode(dir_fd.as_fd(), &name, host_flags, mode & 0o7777, RESOLVE)
            .map_err(|e| errno_of(&e))?;
        let attr = raw::stat_fd(fd.as_fd()).map_err(|e| errno_of(&e))?;
        let path = raw::openat2(
            dir_fd.as_fd(),
            &name,
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            RESOLVE,
        )
        .map_err(|e| errno_of(&e))?;
        let fid = self.insert(Node {
            fd: Arc::new(path),
            parent: Some(Parent { fd: dir_fd, name }),
            dev: attr.dev,
            ino: attr.ino,
            mode: attr.mode,
            dir: None,
            source,
        })?;
        Ok((Reply::Create { fid, attr }, fd))
    }

    pub(super) fn mkdir(
        &mut self,
        tag: u32,
        dir: Fid,
        name: &[u8],
        mode: u32,
    ) -> Result<Reply, Errno> {
        debug!(tag, dir, name = %String::from_utf8_lossy(name), "mkdir");
        self.writable(dir)?;
        let dir_fd = self.dir_fd(dir)?;
        let name = component(name)?;
        raw::mkdirat(dir_fd.as_fd(), &name, mode & 0o7777).map_err(|e| errno_of(&e))?;
        Ok(Reply::Mkdir)
    }

    pub(super) fn symlink(
        &mut self,
        tag: u32,
        dir: Fid,
        name: &[u8],
        target: &[u8],
    ) -> Result<Reply, Errno> {
        debug!(tag, dir, name = %String::from_utf8_lossy(name), "symlink");
        self.writable(dir)?;
        let dir_fd = self.dir_fd(dir)?;
        let name = component(name)?;
        // The target is only stored, never resolved by the host.
        if target.is_empty() {
            return Err(libc::ENOENT);
        }
        let target = CString::new(target).map_err(|_| libc::EINVAL)?;
        raw::symlinkat(&target, dir_fd.as_fd(), &name).map_err(|e| errno_of(&e))?;
        Ok(Reply::Symlink)
    }

    /// A hard link to the non-directory `fid`, made by its name in its
    /// parent (linkat without `AT_SYMLINK_FOLLOW`), checked to be the same
    /// inode before and after; a name swapped in between is undone.
    pub(super) fn link(
        &mut self,
        tag: u32,
        fid: Fid,
        dir: Fid,
        name: &[u8],
    ) -> Result<Reply, Errno> {
        debug!(tag, fid, dir, name = %String::from_utf8_lossy(name), "link");
        self.writable(dir)?;
        self.writable(fid)?;
        self.same_source(fid, dir)?;
        let dir_fd = self.dir_fd(dir)?;
        let name = component(name)?;
        let node = self.node(fid)?;
        if node.is_dir() {
            return Err(libc::EPERM);
        }
        let parent = node.parent.as_ref().ok_or(libc::EPERM)?;
        let same = |fd: &OwnedFd, n: &CString| -> Result<bool, Errno> {
            let at = raw::openat2(
                fd.as_fd(),
                n,
                libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                RESOLVE,
            )
            .map_err(|e| errno_of(&e))?;
            let a = raw::stat_fd(at.as_fd()).map_err(|e| errno_of(&e))?;
            Ok((a.dev, a.ino) == (node.dev, node.ino))
        };
        if !same(&parent.fd, &parent.name)? {
            return Err(libc::ESTALE);
        }
        raw::linkat(parent.fd.as_fd(), &parent.name, dir_fd.as_fd(), &name)
            .map_err(|e| errno_of(&e))?;
        if !same(&dir_fd, &name)? {
            let _ = raw::unlinkat(dir_fd.as_fd(), &name, 0);
            return Err(libc::ESTALE);
        }
        Ok(Reply::Link)
    }

    /// Only FIFOs: a device node would hand the sandbox host hardware, and
    /// the sentry keeps its sockets' names itself.
    pub(super) fn mknod(
        &mut self,
        tag: u32,
        dir: Fid,
        name: &[u8],
        mode: u32,
        rdev: u64,
    ) -> Result<Reply, Errno> {
        debug!(tag, dir, name = %String::from_utf8_lossy(name), mode = format_args!("{mode:#o}"), "mknod");
        self.writable(dir)?;
        let dir_fd = self.dir_fd(dir)?;
        let name = component(name)?;
        if mode & libc::S_IFMT != libc::S_IFIFO || rdev != 0 {
            return Err(libc::EPERM);
        }
        raw::mknodat(dir_fd.as_fd(), &name, libc::S_IFIFO | (mode & 0o7777), 0)
            .map_err(|e| errno_of(&e))?;
        Ok(Reply::Mknod)
    }

    pub(super) fn unlink(
        &mut self,
        tag: u32,
        dir: Fid,
        name: &[u8],
        flags: i32,
    ) -> Result<Reply, Errno> {
        debug!(tag, dir, name = %String::from_utf8_lossy(name), flags, "unlink");
        self.writable(dir)?;
        let dir_fd = self.dir_fd(dir)?;
        let name = component(name)?;
        if flags & !libc::AT_REMOVEDIR != 0 {
            return Err(libc::EINVAL);
        }
        raw::unlinkat(dir_fd.as_fd(), &name, flags).map_err(|e| errno_of(&e))?;
        Ok(Reply::Unlink)
    }

    pub(super) fn rename(
        &mut self,
        tag: u32,
        old_dir: Fid,
        old_name: &[u8],
        new_dir: Fid,
        new_name: &[u8],
        flags: u32,
    ) -> Result<Reply, Errno> {
        debug!(
            tag,
            old_dir,
            old_name = %String::from_utf8_lossy(old_name),
            new_dir,
            new_name = %String::from_utf8_lossy(new_name),
            flags,
            "rename"
        );
        self.writable(old_dir)?;
        self.writable(new_dir)?;
        self.same_source(old_dir, new_dir)?;
        let old_fd = self.dir_fd(old_dir)?;
        let new_fd = self.dir_fd(new_dir)?;
        let old_name = component(old_name)?;
        let new_name = component(new_name)?;
        if flags & !RENAME_FLAGS != 0 {
            return Err(libc::EINVAL);
        }
        raw::renameat2(old_fd.as_fd(), &old_name, new_fd.as_fd(), &new_name, flags)
            .map_err(|e| errno_of(&e))?;
        Ok(Reply::Rename)
    }

    pub(super) fn setattr(&mut self, tag: u32, fid: Fid, attr: &SetAttr) -> Result<Reply, Errno> {
        debug!(tag, fid, ?attr, "setattr");
        self.writable(fid)?;
        let node = self.node(fid)?;
        let fd = node.fd.as_fd();
        if let Some(size) = attr.size {
            match node.kind() {
                libc::S_IFREG => {}
                libc::S_IFDIR => return Err(libc::EISDIR),
                _ => return Err(libc::EINVAL),
            }
            let file = node.reopen(
                libc::O_WRONLY
                    | libc::O_NOFOLLOW
                    | libc::O_CLOEXEC
                    | libc::O_NOCTTY
                    | libc::O_NONBLOCK,
            )?;
            raw::ftruncate(file.as_fd(), size).map_err(|e| errno_of(&e))?;
        }
        if let Some(mode) = attr.mode {
            match raw::chmod_fd(fd, mode & 0o7777) {
                Ok(()) => {}
                // Before fchmodat2: a regular file or directory is reopened
                // (checked to be the same inode) and fchmod'ed.
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                    if !matches!(node.kind(), libc::S_IFREG | libc::S_IFDIR) {
                        return Err(libc::EOPNOTSUPP);
                    }
                    let file = node.reopen(
                        libc::O_RDONLY
                            | libc::O_NOFOLLOW
                            | libc::O_CLOEXEC
                            | libc::O_NOCTTY
                            | libc::O_NONBLOCK,
                    )?;
                    raw::fchmod(file.as_fd(), mode & 0o7777).map_err(|e| errno_of(&e))?;
                }
                Err(e) => return Err(errno_of(&e)),
            }
        }
        if attr.uid.is_some() || attr.gid.is_some() {
            raw::chown_fd(fd, attr.uid, attr.gid).map_err(|e| errno_of(&e))?;
        }
        if attr.atime.is_some() || attr.mtime.is_some() {
            raw::utimes_fd(fd, attr.atime, attr.mtime).map_err(|e| errno_of(&e))?;
        }
        let attr = raw::stat_fd(fd).map_err(|e| errno_of(&e))?;
        Ok(Reply::Setattr { attr })
    }
}
