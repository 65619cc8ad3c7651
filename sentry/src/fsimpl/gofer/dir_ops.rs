//! The changes a writable gofer tree makes through its inodes: create,
//! the other changes of one directory (one gofer request each), and
//! setattr; each marks what it changed stale, so the next stat asks the
//! gofer. The VFS has checked EROFS and permissions; the gofer re-checks
//! everything it can (it refuses every change when read-only).

use std::sync::Arc;

use gofer::Client;

use super::{errno, lock, GoferInode};
use crate::errno::Errno;
use crate::vfs::inode::{Inode, SetAttr};

impl GoferInode {
    /// EROFS on a read-only tree (which the VFS refuses first), ENOTDIR
    /// where this is no directory.
    fn check_dir_change(&self) -> Result<(), Errno> {
        if !self.writable {
            return Err(Errno::EROFS);
        }
        if self.file_type() != libc::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        Ok(())
    }

    /// Drops a created file not yet looked up (its name is being changed).
    pub(super) fn forget_created(&self) {
        lock(&self.created).take();
    }

    /// One change of this directory through the gofer.
    pub(super) fn change(
        &self,
        op: impl FnOnce(&Client) -> Result<(), gofer::ClientError>,
    ) -> Result<(), Errno> {
        self.check_dir_change()?;
        self.forget_created();
        let r = op(&self.client).map_err(errno);
        self.mark_stale();
        r
    }

    /// The regular file `name`, made and opened read-write by the gofer;
    /// kept for the lookup and open that follow.
    pub(super) fn create_file(&self, name: &[u8], mode: u32) -> Result<Arc<GoferInode>, Errno> {
        self.check_dir_change()?;
        let made = self
            .client
            .create(self.fid, name, libc::O_RDWR, mode & 0o7777)
            .map_err(errno);
        self.mark_stale();
        let (fid, attr, fd) = made?;
        let node = self.child(fid, attr);
        *lock(&node.fresh_fd) = Some(Arc::new(fd));
        *lock(&self.created) = Some((name.to_vec(), Arc::clone(&node)));
        Ok(node)
    }

    /// `other` as a node of this same writable tree (link, rename): EXDEV
    /// for anything else.
    pub(super) fn same_tree<'a>(&self, other: &'a Arc<dyn Inode>) -> Result<&'a GoferInode, Errno> {
        match GoferInode::of(other) {
            Some(g) if Arc::ptr_eq(&g.client, &self.client) => Ok(g),
            _ => Err(Errno::EXDEV),
        }
    }

    /// chmod, chown, truncate, utimes: one Setattr; its reply is the new
    /// attributes.
    pub(super) fn set(&self, attr: &SetAttr) -> Result<(), Errno> {
        if !self.writable {
            return Err(Errno::EROFS);
        }
        let req = gofer::SetAttr {
            mode: attr.mode.map(|m| m & 0o7777),
            uid: attr.uid,
            gid: attr.gid,
            size: attr.size,
            atime: attr.atime,
            mtime: attr.mtime,
        };
        let call = || match self.client.setattr(self.fid, req) {
            Ok(a) => {
                self.set_attr(a);
                Ok(())
            }
            Err(e) => {
                self.mark_stale();
                Err(errno(e))
            }
        };
        // A truncate of a file with a live page cache goes through it.
        match (attr.size, self.live_cache()) {
            (Some(size), Some(c)) => c.truncate(size, call),
            _ => call(),
        }
    }
}
