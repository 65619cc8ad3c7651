//! tmpfs inodes: attributes, and the directory operations (lookup,
//! listing, create, mkdir, mknod, symlink, link, unlink, rmdir, rename).
//!
//! Locks: the file system's `tree` lock is held across every change to the
//! tree (so rename's checks see a still tree and never two renames take
//! two directory locks at once); then directory bodies (a parent before
//! its child); then `meta`. Lookups take one directory body only.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use super::chunks::{Budget, ChunkStore};
use super::file::TmpFile;
use super::FS;
use crate::errno::Errno;
use crate::fsimpl::pipe::Fifo;
use crate::mm::{MemoryFile, PAGE_SIZE};
use crate::vfs::ctx::{Cred, Ctx};
use crate::vfs::dentry::Dentry;
use crate::vfs::file::{DirEntry, FileDescription};
use crate::vfs::inode::{FsInfo, FsUsage, Inode, SetAttr};
use crate::vfs::stat::Stat;
use crate::vfs::synthetic::{dot_entries, dt_of};

/// What Linux's tmpfs reports as a directory's size per entry.
const BOGO_DIRENT_SIZE: i64 = 20;

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The time now, for a/m/c times.
pub(super) fn now() -> (i64, i64) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs() as i64, i64::from(d.subsec_nanos()))
}

/// One mounted tmpfs.
pub(super) struct TmpFs {
    mf: Arc<MemoryFile>,
    dev: u64,
    /// Bytes of file data it may hold and holds.
    budget: Arc<Budget>,
    next_ino: AtomicU64,
    /// Inodes alive.
    inodes: AtomicU64,
    /// Held across every change to the tree.
    tree: Mutex<()>,
}

impl TmpFs {
    pub(super) fn new_root(mf: Arc<MemoryFile>, dev: u64, mode: u32, size: u64) -> Arc<TmpInode> {
        let fs = Arc::new(TmpFs {
            mf,
            dev,
            budget: Arc::new(Budget::new(size)),
            next_ino: AtomicU64::new(1),
            inodes: AtomicU64::new(0),
            tree: Mutex::new(()),
        });
        let meta = Meta::new(libc::S_IFDIR | (mode & 0o7777), 0, 0, 0);
        fs.make(meta, Body::Dir(Mutex::new(DirBody::default())), None)
    }

    /// A new inode; a directory's parent is `parent` (itself when None).
    fn make(
        self: &Arc<Self>,
        meta: Meta,
        body: Body,
        parent: Option<Weak<TmpInode>>,
    ) -> Arc<TmpInode> {
        let ino = self.next_ino.fetch_add(1, Ordering::Relaxed);
        self.inodes.fetch_add(1, Ordering::Relaxed);
        Arc::new_cyclic(|me| TmpInode {
            fs: Arc::clone(self),
            me: me.clone(),
            ino,
            ftype: meta.mode & libc::S_IFMT,
            parent: Mutex::new(parent.unwrap_or_else(|| me.clone())),
            meta: Mutex::new(Meta {
                mode: meta.mode & 0o7777,
                ..meta
            }),
            body,
        })
    }
}

/// Attributes that change.
#[derive(Clone, Copy, Debug)]
struct Meta {
    /// Permission bits only (the type is `TmpInode::ftype`).
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    rdev: u64,
    atime: (i64, i64),
    mtime: (i64, i64),
    ctime: (i64, i64),
    btime: (i64, i64),
    /// An O_TMPFILE file (without O_EXCL) not linked yet: link may give
    /// it a name although it has no links (Linux's I_LINKABLE).
    linkable: bool,
}

impl Meta {
    fn new(mode: u32, uid: u32, gid: u32, rdev: u64) -> Meta {
        let t = now();
        Meta {
            mode,
            uid,
            gid,
            nlink: if mode & libc::S_IFMT == libc::S_IFDIR {
                2
            } else {
                1
            },
            rdev,
            atime: t,
            mtime: t,
            ctime: t,
            btime: t,
            linkable: false,
        }
    }
}

#[derive(Default)]
struct DirBody {
    children: BTreeMap<Vec<u8>, Arc<TmpInode>>,
    /// Removed by rmdir (or replaced by rename): nothing can be made in it.
    dead: bool,
}

enum Body {
    Dir(Mutex<DirBody>),
    File(Mutex<ChunkStore>),
    Symlink(Vec<u8>),
    /// A FIFO: its pipe.
    Fifo(Fifo),
    /// A socket or device node.
    Special,
}

pub(super) struct TmpInode {
    fs: Arc<TmpFs>,
    me: Weak<TmpInode>,
    ino: u64,
    /// S_IFMT bits.
    ftype: u32,
    /// A directory's parent (the root's is itself); changed by rename.
    parent: Mutex<Weak<TmpInode>>,
    meta: Mutex<Meta>,
    body: Body,
}

/// Linux's inode_init_owner: the caller's fs ids, but the group of a
/// set-group-ID directory (whose subdirectories inherit the bit); a
/// non-member's new set-group-ID executable loses the bit.
fn init_owner(cred: &Cred<'_>, dir: &Meta, mode: u32) -> (u32, u32, u32) {
    if dir.mode & libc::S_ISGID == 0 {
        return (cred.uid, cred.gid, mode);
    }
    let gid = dir.gid;
    let mut mode = mode;
    if mode & libc::S_IFMT == libc::S_IFDIR {
        mode |= libc::S_ISGID;
    } else if mode & (libc::S_ISGID | libc::S_IXGRP) == (libc::S_ISGID | libc::S_IXGRP)
        && cred.uid != 0
        && !cred.in_group(gid)
    {
        mode &= !libc::S_ISGID;
    }
    (cred.uid, gid, mode)
}

impl TmpInode {
    fn dir(&self) -> Result<&Mutex<DirBody>, Errno> {
        match &self.body {
            Body::Dir(d) => Ok(d),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// A regular file's data.
    pub(super) fn store(&self) -> Option<&Mutex<ChunkStore>> {
        match &self.body {
            Body::File(s) => Some(s),
            _ => None,
        }
    }

    fn is_dir(&self) -> bool {
        self.ftype == libc::S_IFDIR
    }

    /// The inode behind another file system's `dyn Inode`, if it is one of
    /// this file system's.
    fn same_fs<'a>(&self, other: &'a Arc<dyn Inode>) -> Option<&'a TmpInode> {
        other
            .as_any()
            .and_then(|a| a.downcast_ref::<TmpInode>())
            .filter(|o| Arc::ptr_eq(&o.fs, &self.fs))
    }

    /// Directory contents changed: mtime and ctime now.
    fn touch_dir(&self, nlink_delta: i64) {
        let t = now();
        let mut m = lock(&self.meta);
        m.nlink = m.nlink.saturating_add_signed(nlink_delta);
        m.mtime = t;
        m.ctime = t;
    }

    /// Data written: mtime and ctime now.
    pub(super) fn touch_data(&self) {
        let t = now();
        let mut m = lock(&self.meta);
        m.mtime = t;
        m.ctime = t;
    }

    /// Attributes changed: ctime now.
    fn touch_ctime(&self, nlink_delta: i64) {
        let mut m = lock(&self.meta);
        m.nlink = m.nlink.saturating_add_signed(nlink_delta);
        m.ctime = now();
    }

    /// truncate/ftruncate/O_TRUNC: the new size, mtime and ctime now.
    pub(super) fn truncate(&self, size: u64) -> Result<(), Errno> {
        match self.store() {
            Some(s) => lock(s).truncate(size)?,
            None if self.is_dir() => return Err(Errno::EISDIR),
            None => return Err(Errno::EINVAL),
        }
        self.touch_data();
        Ok(())
    }

    /// Whether `self` is `d` or one of its descendants (the tree lock held).
    fn is_within(&self, d: &TmpInode) -> bool {
        let mut cur = self.me.upgrade();
        while let Some(c) = cur {
            if std::ptr::eq(&*c, d) {
                return true;
            }
            let up = lock(&c.parent).upgrade();
            match up {
                Some(p) if !Arc::ptr_eq(&p, &c) => cur = Some(p),
                _ => return false,
            }
        }
        false
    }

    /// Adds the new node `name` here: EEXIST if taken, ENOENT in a removed
    /// directory. `mode` carries the type.
    fn add(
        &self,
        ctx: &Ctx<'_>,
        name: &[u8],
        mode: u32,
        rdev: u64,
        body: Body,
    ) -> Result<Arc<TmpInode>, Errno> {
        let _tree = lock(&self.fs.tree);
        let mut d = lock(self.dir()?);
        if d.dead {
            return Err(Errno::ENOENT);
        }
        if d.children.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let dir_meta = *lock(&self.meta);
        let (uid, gid, mode) = init_owner(&ctx.fs_cred(), &dir_meta, mode);
        let is_dir = mode & libc::S_IFMT == libc::S_IFDIR;
        let parent = is_dir.then(|| self.me.clone());
        let node = self.fs.make(Meta::new(mode, uid, gid, rdev), body, parent);
        d.children.insert(name.to_vec(), Arc::clone(&node));
        drop(d);
        self.touch_dir(if is_dir { 1 } else { 0 });
        Ok(node)
    }
}

impl Inode for TmpInode {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        let m = *lock(&self.meta);
        let (size, blocks) = match &self.body {
            Body::File(s) => {
                let s = lock(s);
                (s.size() as i64, (s.allocated() / 512) as i64)
            }
            Body::Dir(d) => (BOGO_DIRENT_SIZE * (lock(d).children.len() as i64 + 2), 0),
            Body::Symlink(t) => (t.len() as i64, 0),
            Body::Special | Body::Fifo(_) => (0, 0),
        };
        Ok(Stat {
            dev: self.fs.dev,
            ino: self.ino,
            mode: self.ftype | m.mode,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
            rdev: m.rdev,
            size,
            blksize: 4096,
            blocks,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
            btime: m.btime,
        })
    }

    fn lookup(&self, _ctx: &Ctx<'_>, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let d = lock(self.dir()?);
        if d.dead {
            return Err(Errno::ENOENT);
        }
        d.children
            .get(name)
            .map(|c| Arc::clone(c) as Arc<dyn Inode>)
            .ok_or(Errno::ENOENT)
    }

    fn readdir(&self, _ctx: &Ctx<'_>) -> Result<Vec<DirEntry>, Errno> {
        let parent_ino = lock(&self.parent).upgrade().map_or(self.ino, |p| p.ino);
        let d = lock(self.dir()?);
        if d.dead {
            return Err(Errno::ENOENT);
        }
        let mut out = dot_entries(self.ino, parent_ino);
        out.extend(d.children.iter().map(|(name, c)| DirEntry {
            ino: c.ino,
            kind: dt_of(c.ftype),
            name: name.clone(),
        }));
        Ok(out)
    }

    fn readlink(&self, _ctx: &Ctx<'_>) -> Result<Vec<u8>, Errno> {
        match &self.body {
            Body::Symlink(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn open(
        &self,
        ctx: &Ctx<'_>,
        dentry: &Arc<Dentry>,
        flags: i32,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        let me = self.me.upgrade().ok_or(Errno::ENOENT)?;
        match &self.body {
            Body::File(_) => TmpFile::for_open(me, Arc::clone(dentry), flags),
            Body::Dir(_) => Err(Errno::EISDIR),
            Body::Symlink(_) => Err(Errno::ELOOP),
            Body::Fifo(f) => f.open(ctx, dentry, flags),
            Body::Special => Err(Errno::ENXIO),
        }
    }

    fn cache_children(&self) -> bool {
        false
    }

    fn fs_info(&self) -> FsInfo {
        FS
    }

    fn usage(&self) -> Option<FsUsage> {
        let b = &self.fs.budget;
        let blocks = b.limit() / PAGE_SIZE;
        let bfree = blocks.saturating_sub(b.used().div_ceil(PAGE_SIZE));
        Some(FsUsage {
            bsize: PAGE_SIZE,
            blocks,
            bfree,
            bavail: bfree,
            files: blocks,
            ffree: blocks.saturating_sub(self.fs.inodes.load(Ordering::Relaxed)),
        })
    }

    fn create(&self, ctx: &Ctx<'_>, name: &[u8], mode: u32) -> Result<Arc<dyn Inode>, Errno> {
        let store = ChunkStore::new(Arc::clone(&self.fs.mf), Arc::clone(&self.fs.budget));
        let mode = libc::S_IFREG | (mode & 0o7777);
        let node = self.add(ctx, name, mode, 0, Body::File(Mutex::new(store)))?;
        Ok(node)
    }

    fn tmpfile(&self, ctx: &Ctx<'_>, mode: u32, linkable: bool) -> Result<Arc<dyn Inode>, Errno> {
        let _tree = lock(&self.fs.tree);
        if lock(self.dir()?).dead {
            return Err(Errno::ENOENT);
        }
        let dir_meta = *lock(&self.meta);
        let mode = libc::S_IFREG | (mode & 0o7777);
        let (uid, gid, mode) = init_owner(&ctx.fs_cred(), &dir_meta, mode);
        let mut meta = Meta::new(mode, uid, gid, 0);
        meta.nlink = 0;
        meta.linkable = linkable;
        let store = ChunkStore::new(Arc::clone(&self.fs.mf), Arc::clone(&self.fs.budget));
        Ok(self.fs.make(meta, Body::File(Mutex::new(store)), None))
    }

    fn mkdir(&self, ctx: &Ctx<'_>, name: &[u8], mode: u32) -> Result<(), Errno> {
        let body = Body::Dir(Mutex::new(DirBody::default()));
        self.add(ctx, name, libc::S_IFDIR | (mode & 0o7777), 0, body)
            .map(|_| ())
    }

    fn mknod(&self, ctx: &Ctx<'_>, name: &[u8], mode: u32, rdev: u64) -> Result<(), Errno> {
        let rdev = match mode & libc::S_IFMT {
            libc::S_IFIFO | libc::S_IFSOCK => 0,
            libc::S_IFCHR | libc::S_IFBLK => rdev,
            libc::S_IFREG | 0 => return self.create(ctx, name, mode).map(|_| ()),
            _ => return Err(Errno::EINVAL),
        };
        let body = if mode & libc::S_IFMT == libc::S_IFIFO {
            Body::Fifo(Fifo::new(0, 0))
        } else {
            Body::Special
        };
        self.add(ctx, name, mode, rdev, body).map(|_| ())
    }

    fn symlink(&self, ctx: &Ctx<'_>, name: &[u8], target: &[u8]) -> Result<(), Errno> {
        let body = Body::Symlink(target.to_vec());
        self.add(ctx, name, libc::S_IFLNK | 0o777, 0, body)
            .map(|_| ())
    }

    fn link(&self, _ctx: &Ctx<'_>, name: &[u8], target: &Arc<dyn Inode>) -> Result<(), Errno> {
        let src = self.same_fs(target).ok_or(Errno::EXDEV)?;
        if src.is_dir() {
            return Err(Errno::EPERM);
        }
        let src_arc = src.me.upgrade().ok_or(Errno::ENOENT)?;
        let _tree = lock(&self.fs.tree);
        let mut d = lock(self.dir()?);
        if d.dead {
            return Err(Errno::ENOENT);
        }
        if d.children.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        {
            let mut m = lock(&src.meta);
            if m.nlink == 0 && !m.linkable {
                return Err(Errno::ENOENT);
            }
            m.linkable = false;
        }
        d.children.insert(name.to_vec(), src_arc);
        drop(d);
        src.touch_ctime(1);
        self.touch_dir(0);
        Ok(())
    }

    fn unlink(&self, _ctx: &Ctx<'_>, name: &[u8]) -> Result<(), Errno> {
        let _tree = lock(&self.fs.tree);
        let mut d = lock(self.dir()?);
        let child = d.children.get(name).cloned().ok_or(Errno::ENOENT)?;
        if child.is_dir() {
            return Err(Errno::EISDIR);
        }
        d.children.remove(name);
        drop(d);
        child.touch_ctime(-1);
        self.touch_dir(0);
        Ok(())
    }

    fn rmdir(&self, _ctx: &Ctx<'_>, name: &[u8]) -> Result<(), Errno> {
        let _tree = lock(&self.fs.tree);
        let mut d = lock(self.dir()?);
        let child = d.children.get(name).cloned().ok_or(Errno::ENOENT)?;
        let mut cd = lock(child.dir()?);
        if !cd.children.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        cd.dead = true;
        drop(cd);
        d.children.remove(name);
        drop(d);
        {
            let mut m = lock(&child.meta);
            m.nlink = 0;
            m.ctime = now();
        }
        self.touch_dir(-1);
        Ok(())
    }

    fn rename(
        &self,
        _ctx: &Ctx<'_>,
        old_name: &[u8],
        new_dir: &Arc<dyn Inode>,
        new_name: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        let target = self.same_fs(new_dir).ok_or(Errno::EXDEV)?;
        if flags & libc::RENAME_WHITEOUT != 0 {
            return Err(Errno::EINVAL);
        }
        let exchange = flags & libc::RENAME_EXCHANGE != 0;
        let noreplace = flags & libc::RENAME_NOREPLACE != 0;
        let same_dir = std::ptr::eq(self, target);
        let _tree = lock(&self.fs.tree);
        let mut sd = lock(self.dir()?);
        let mut dd = if same_dir {
            None
        } else {
            Some(lock(target.dir()?))
        };
        if sd.dead || dd.as_ref().is_some_and(|d| d.dead) {
            return Err(Errno::ENOENT);
        }
        let src = sd.children.get(old_name).cloned().ok_or(Errno::ENOENT)?;
        let dst = match &dd {
            Some(d) => d.children.get(new_name).cloned(),
            None => sd.children.get(new_name).cloned(),
        };
        if let Some(dst) = &dst {
            if Arc::ptr_eq(&src, dst) {
                return Ok(());
            }
        }
        if noreplace && dst.is_some() {
            return Err(Errno::EEXIST);
        }
        if exchange && dst.is_none() {
            return Err(Errno::ENOENT);
        }
        // A directory may not move into its own subtree.
        if src.is_dir() && !same_dir && target.is_within(&src) {
            return Err(Errno::EINVAL);
        }
        if exchange {
            if let Some(dst) = &dst {
                if dst.is_dir() && !same_dir && self.is_within(dst) {
                    return Err(Errno::EINVAL);
                }
            }
        } else if let Some(dst) = &dst {
            match (src.is_dir(), dst.is_dir()) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) => {
                    let mut victim = lock(dst.dir()?);
                    if !victim.children.is_empty() {
                        return Err(Errno::ENOTEMPTY);
                    }
                    victim.dead = true;
                }
                (false, false) => {}
            }
        }

        // The change itself.
        if exchange {
            let Some(dst) = &dst else {
                return Err(Errno::ENOENT);
            };
            sd.children.insert(old_name.to_vec(), Arc::clone(dst));
            match &mut dd {
                Some(d) => d.children.insert(new_name.to_vec(), Arc::clone(&src)),
                None => sd.children.insert(new_name.to_vec(), Arc::clone(&src)),
            };
        } else {
            sd.children.remove(old_name);
            match &mut dd {
                Some(d) => d.children.insert(new_name.to_vec(), Arc::clone(&src)),
                None => sd.children.insert(new_name.to_vec(), Arc::clone(&src)),
            };
        }
        drop(dd);
        drop(sd);

        // Link counts, parents, times.
        let (mut here, mut there) = (0i64, 0i64);
        if !same_dir && src.is_dir() {
            here -= 1;
            there += 1;
            *lock(&src.parent) = target.me.clone();
        }
        match &dst {
            Some(dst) if exchange => {
                if !same_dir && dst.is_dir() {
                    here += 1;
                    there -= 1;
                    *lock(&dst.parent) = self.me.clone();
                }
                dst.touch_ctime(0);
            }
            Some(dst) => {
                if dst.is_dir() {
                    there -= 1;
                    lock(&dst.meta).nlink = 0;
                }
                dst.touch_ctime(if dst.is_dir() { 0 } else { -1 });
            }
            None => {}
        }
        src.touch_ctime(0);
        if same_dir {
            self.touch_dir(here + there);
        } else {
            self.touch_dir(here);
            target.touch_dir(there);
        }
        Ok(())
    }

    fn setattr(&self, _ctx: &Ctx<'_>, attr: &SetAttr) -> Result<(), Errno> {
        if let Some(size) = attr.size {
            self.truncate(size)?;
        }
        let mut m = lock(&self.meta);
        if let Some(mode) = attr.mode {
            m.mode = mode & 0o7777;
        }
        if let Some(uid) = attr.uid {
            m.uid = uid;
        }
        if let Some(gid) = attr.gid {
            m.gid = gid;
        }
        if let Some(t) = attr.atime {
            m.atime = t;
        }
        if let Some(t) = attr.mtime {
            m.mtime = t;
        }
        m.ctime = now();
        Ok(())
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

impl Drop for TmpInode {
    fn drop(&mut self) {
        self.fs.inodes.fetch_sub(1, Ordering::Relaxed);
    }
}
