//! Copy-up: giving a lower-only node its upper copy before it changes.
//! The parent chain first (each directory made with the lower one's
//! attributes), then the node: a directory empty (its lower entries stay
//! merged), a regular file with the lower file's data, a symlink with its
//! target, a FIFO, socket or device node as itself. The caller holds the
//! overlay's tree lock.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{lock, Child, OverlayInode};
use crate::errno::Errno;
use crate::fsimpl::tmpfs;
use crate::vfs::ctx::Ctx;
use crate::vfs::dentry::Dentry;
use crate::vfs::inode::{Inode, SetAttr};

/// Bytes copied per read of the lower file.
const COPY_CHUNK: usize = 1 << 20;

impl OverlayInode {
    /// This node's upper inode, made now if it has none (the tree lock held).
    pub(super) fn copy_up(&self) -> Result<Arc<dyn Inode>, Errno> {
        if let Some(u) = self.upper() {
            return Ok(u);
        }
        if self.dead.load(Ordering::Relaxed) {
            return Err(Errno::ENOENT);
        }
        let (parent, name) = {
            let place = lock(&self.place);
            let p = place.as_ref().ok_or(Errno::ENOENT)?;
            (p.parent.upgrade().ok_or(Errno::ENOENT)?, p.name.clone())
        };
        let parent_up = parent.copy_up()?;
        let lower = self.lower().ok_or(Errno::ENOENT)?;
        let k = Ctx::kernel();
        let st = lower.stat(&k)?;
        let perms = st.mode & 0o7777;
        match st.file_type() {
            libc::S_IFDIR => parent_up.mkdir(&k, &name, perms)?,
            libc::S_IFREG => {
                let up = parent_up.create(&k, &name, libc::S_IFREG | perms)?;
                if let Err(e) = copy_data(&lower, &up) {
                    let _ = parent_up.unlink(&k, &name);
                    return Err(e);
                }
            }
            libc::S_IFLNK => parent_up.symlink(&k, &name, &lower.readlink(&k)?)?,
            _ => parent_up.mknod(&k, &name, st.mode, st.rdev)?,
        }
        let up = parent_up.lookup(&k, &name)?;
        let attr = SetAttr {
            mode: (!st.is_symlink()).then_some(perms),
            uid: Some(st.uid),
            gid: Some(st.gid),
            atime: Some(st.atime),
            mtime: Some(st.mtime),
            ..SetAttr::default()
        };
        up.setattr(&k, &attr)?;
        *lock(&self.upper) = Some(Arc::clone(&up));
        if !self.is_dir() {
            *lock(&self.lower) = None;
        }
        let me = self.me.upgrade().ok_or(Errno::ENOENT)?;
        lock(parent.dir_state()?)
            .children
            .insert(name, Child::Pinned(me));
        Ok(up)
    }
}

/// Copies the regular file `lower`'s data into the new upper file `upper`.
fn copy_data(lower: &Arc<dyn Inode>, upper: &Arc<dyn Inode>) -> Result<(), Errno> {
    let k = Ctx::kernel();
    let d = Dentry::new_anon(b"overlay copy-up", Arc::clone(lower));
    let src = lower.open(&k, &d, libc::O_RDONLY)?;
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut off = 0u64;
    loop {
        let n = src.read_at(&mut buf, off)?;
        if n == 0 {
            return Ok(());
        }
        tmpfs::write_data(upper, off, &buf[..n])?;
        off += n as u64;
    }
}
