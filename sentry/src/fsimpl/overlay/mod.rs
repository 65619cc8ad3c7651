//! The overlay file system: a read-only lower tree (the gofer's root) under
//! a writable upper tmpfs, so a sandbox may change anything and the host
//! never changes (`ward do`'s root).
//!
//! One overlay node per name, holding the lower inode (if the lower tree
//! has one there) and the upper one (once it exists). Lookups ask the
//! upper layer first, then the lower; listings merge both. Any change
//! copies the node up first (`copy_up`): its parent chain of directories
//! is made in the upper layer with the lower attributes, a regular file's
//! data is copied from the lower file, a symlink is recreated.
//!
//! Whiteouts are kept in the overlay's own state, not in the upper tmpfs:
//! each upper directory holds the set of names whose lower entries are
//! hidden (`DirState::hidden`), filled by unlink, rmdir and rename of
//! names the lower layer has. A name both hidden and present in the upper
//! layer is an upper-only node; for a directory that is overlayfs's
//! "opaque" directory (made by mkdir after rmdir), never merged with the
//! lower one. Nodes that have an upper inode are held by their parent
//! for the overlay's life, so that state is never lost; lower-only nodes
//! are held only while in use and are rebuilt from the layers.
//!
//! As Linux's overlayfs without `redirect_dir`, renaming a directory that
//! has a lower part is EXDEV (`mv` then copies). A copied-up file is a new
//! upper file: hard links between lower files are not kept.
//!
//! Attributes: before copy-up a node reports the lower attributes, after
//! it the upper ones; except that a directory with a lower part keeps the
//! lower device, inode number, size and links for its life (owner, mode
//! and times are the upper's once it has one), so tools that compare a
//! directory's (st_dev, st_ino) across a walk (fts, find) see one
//! directory.
//!
//! Locks: `tree` is held across every change (so copy-up of a parent chain
//! and two-directory renames see a still tree); then a directory's `dir`
//! state; a lookup takes one `dir` state only. The upper tmpfs and the
//! gofer never call back into the overlay.
//!
//! Never does: write to the lower layer, or follow a symlink.

mod copy_up;

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::errno::Errno;
use crate::vfs::ctx::Ctx;
use crate::vfs::dentry::Dentry;
use crate::vfs::file::{DirEntry, FileDescription};
use crate::vfs::inode::{FsInfo, FsUsage, Inode, SetAttr};
use crate::vfs::stat::Stat;
use crate::vfs::synthetic::dot_entries;

/// statfs f_type: Linux's OVERLAYFS_SUPER_MAGIC.
const OVERLAYFS_MAGIC: i64 = 0x794c_7630;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One mounted overlay.
struct OverlayFs {
    /// Held across every change to the tree.
    tree: Mutex<()>,
}

/// A child a directory knows: held strongly once it has an upper inode;
/// a lower-only one is held too while fewer than [`HELD_MAX`] are (so that
/// opening a file again asks the gofer nothing), else only while in use.
enum Child {
    Pinned(Arc<OverlayInode>),
    Held(Arc<OverlayInode>),
    Cached(Weak<OverlayInode>),
}

/// How many lower-only nodes the overlays keep without a user: each holds
/// a gofer fid (an fd in the gofer) and perhaps an open host fd.
const HELD_MAX: usize = 2048;
static HELD: AtomicUsize = AtomicUsize::new(0);

impl Child {
    fn get(&self) -> Option<Arc<OverlayInode>> {
        match self {
            Child::Pinned(n) | Child::Held(n) => Some(Arc::clone(n)),
            Child::Cached(w) => w.upgrade(),
        }
    }

    /// The entry for a lower-only node: held while the budget lasts.
    fn lower_only(node: &Arc<OverlayInode>) -> Child {
        if HELD.fetch_add(1, Ordering::Relaxed) < HELD_MAX {
            Child::Held(Arc::clone(node))
        } else {
            HELD.fetch_sub(1, Ordering::Relaxed);
            Child::Cached(Arc::downgrade(node))
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if matches!(self, Child::Held(_)) {
            HELD.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[derive(Default)]
struct DirState {
    children: HashMap<Vec<u8>, Child>,
    /// Names whose lower entries are hidden (whiteouts).
    hidden: HashSet<Vec<u8>>,
    /// Names the lower layer was asked for and does not have: it never
    /// changes under the sandbox, so a create and unlink loop asks the
    /// gofer once (at most [`ABSENT_MAX`] names a directory).
    absent_below: HashSet<Vec<u8>>,
}

/// How many absent lower names one directory remembers.
const ABSENT_MAX: usize = 1024;

/// Where a node is: its parent directory and its name there.
struct Place {
    parent: Weak<OverlayInode>,
    name: Vec<u8>,
}

pub struct OverlayInode {
    fs: Arc<OverlayFs>,
    me: Weak<OverlayInode>,
    /// S_IFMT bits.
    ftype: u32,
    /// The lower inode: a directory keeps it for merging; a non-directory
    /// drops it at copy-up.
    lower: Mutex<Option<Arc<dyn Inode>>>,
    upper: Mutex<Option<Arc<dyn Inode>>>,
    /// None for the root.
    place: Mutex<Option<Place>>,
    /// Whether a lower entry lies under this node's name (kept after a
    /// non-directory's copy-up drops its lower inode): removing or moving
    /// the node must then hide it.
    covers: AtomicBool,
    /// Removed (unlink, rmdir, replaced by rename): never copied up again.
    dead: AtomicBool,
    /// Directories only.
    dir: Option<Mutex<DirState>>,
}

/// The root of a new overlay of `lower` (a directory, never written)
/// under `upper` (an empty writable directory, normally a fresh tmpfs).
pub fn new(lower: Arc<dyn Inode>, upper: Arc<dyn Inode>) -> Arc<dyn Inode> {
    let fs = Arc::new(OverlayFs {
        tree: Mutex::new(()),
    });
    OverlayInode::make(&fs, libc::S_IFDIR, Some(lower), Some(upper), None)
}

fn kind_of(inode: &Arc<dyn Inode>) -> Result<u32, Errno> {
    Ok(inode.stat(&Ctx::kernel())?.file_type())
}

/// A lookup's answer with ENOENT as None.
fn optional(r: Result<Arc<dyn Inode>, Errno>) -> Result<Option<Arc<dyn Inode>>, Errno> {
    match r {
        Ok(i) => Ok(Some(i)),
        Err(e) if e == Errno::ENOENT => Ok(None),
        Err(e) => Err(e),
    }
}

impl OverlayInode {
    fn make(
        fs: &Arc<OverlayFs>,
        ftype: u32,
        lower: Option<Arc<dyn Inode>>,
        upper: Option<Arc<dyn Inode>>,
        place: Option<Place>,
    ) -> Arc<OverlayInode> {
        let covers = AtomicBool::new(lower.is_some());
        let lower = if upper.is_some() && ftype != libc::S_IFDIR {
            None
        } else {
            lower
        };
        Arc::new_cyclic(|me| OverlayInode {
            fs: Arc::clone(fs),
            me: me.clone(),
            ftype,
            lower: Mutex::new(lower),
            upper: Mutex::new(upper),
            place: Mutex::new(place),
            covers,
            dead: AtomicBool::new(false),
            dir: (ftype == libc::S_IFDIR).then(|| Mutex::new(DirState::default())),
        })
    }

    fn covers(&self) -> bool {
        self.covers.load(Ordering::Relaxed)
    }

    fn lower(&self) -> Option<Arc<dyn Inode>> {
        lock(&self.lower).clone()
    }

    fn upper(&self) -> Option<Arc<dyn Inode>> {
        lock(&self.upper).clone()
    }

    /// The layer whose attributes and data this node shows.
    fn top(&self) -> Result<Arc<dyn Inode>, Errno> {
        self.upper().or_else(|| self.lower()).ok_or(Errno::ENOENT)
    }

    fn dir_state(&self) -> Result<&Mutex<DirState>, Errno> {
        self.dir.as_ref().ok_or(Errno::ENOTDIR)
    }

    fn is_dir(&self) -> bool {
        self.ftype == libc::S_IFDIR
    }

    /// The overlay node behind another `dyn Inode` of this overlay.
    fn same_fs(&self, other: &Arc<dyn Inode>) -> Option<Arc<OverlayInode>> {
        other
            .as_any()
            .and_then(|a| a.downcast_ref::<OverlayInode>())
            .filter(|o| Arc::ptr_eq(&o.fs, &self.fs))
            .and_then(|o| o.me.upgrade())
    }

    /// A directory's (st_dev, st_ino): the lower one's for its whole
    /// life where it has one.
    fn dir_id(&self) -> Result<(u64, u64), Errno> {
        let st = self.stat(&Ctx::kernel())?;
        Ok((st.dev, st.ino))
    }

    /// The child `name` in this directory's merged view, its state locked
    /// by the caller: from the cache, else built from the layers.
    fn child(&self, st: &mut DirState, name: &[u8]) -> Result<Arc<OverlayInode>, Errno> {
        if self.dead.load(Ordering::Relaxed) {
            return Err(Errno::ENOENT);
        }
        if let Some(n) = st.children.get(name).and_then(Child::get) {
            return Ok(n);
        }
        let ctx = Ctx::kernel();
        let upper = match self.upper() {
            Some(u) => optional(u.lookup(&ctx, name))?,
            None => None,
        };
        let upper_kind = match &upper {
            Some(u) => Some(kind_of(u)?),
            None => None,
        };
        // The lower entry matters where nothing is above it, or where a
        // directory is above a directory (merged).
        let lower = match (self.lower(), upper_kind) {
            (Some(l), None | Some(libc::S_IFDIR))
                if !st.hidden.contains(name) && !st.absent_below.contains(name) =>
            {
                let found = optional(l.lookup(&ctx, name))?;
                if found.is_none() {
                    if st.absent_below.len() >= ABSENT_MAX {
                        st.absent_below.clear();
                    }
                    st.absent_below.insert(name.to_vec());
                }
                found
            }
            _ => None,
        };
        let lower = match (lower, upper_kind) {
            (Some(l), Some(libc::S_IFDIR)) if kind_of(&l)? != libc::S_IFDIR => None,
            (l, _) => l,
        };
        let ftype = match (upper_kind, &lower) {
            (Some(k), _) => k,
            (None, Some(l)) => kind_of(l)?,
            (None, None) => return Err(Errno::ENOENT),
        };
        let pinned = upper.is_some();
        let place = Place {
            parent: self.me.clone(),
            name: name.to_vec(),
        };
        let node = Self::make(&self.fs, ftype, lower, upper, Some(place));
        let entry = if pinned {
            Child::Pinned(Arc::clone(&node))
        } else {
            Child::lower_only(&node)
        };
        st.children.insert(name.to_vec(), entry);
        Ok(node)
    }

    /// A new upper-only node `name` made in this (copied-up) directory.
    fn adopt(
        &self,
        st: &mut DirState,
        name: &[u8],
        upper: Arc<dyn Inode>,
    ) -> Result<Arc<OverlayInode>, Errno> {
        let ftype = kind_of(&upper)?;
        let place = Place {
            parent: self.me.clone(),
            name: name.to_vec(),
        };
        let node = Self::make(&self.fs, ftype, None, Some(upper), Some(place));
        st.children
            .insert(name.to_vec(), Child::Pinned(Arc::clone(&node)));
        Ok(node)
    }

    /// Whether this directory's merged view is empty.
    fn is_empty_dir(&self) -> Result<bool, Errno> {
        Ok(self
            .readdir(&Ctx::kernel())?
            .iter()
            .all(|e| e.name == b"." || e.name == b".."))
    }

    /// Makes a new entry `name` here with `make` on the upper directory:
    /// EEXIST where the merged view has it.
    fn add_entry(
        &self,
        name: &[u8],
        make: impl FnOnce(&Arc<dyn Inode>) -> Result<(), Errno>,
    ) -> Result<Arc<OverlayInode>, Errno> {
        let _tree = lock(&self.fs.tree);
        let up = self.copy_up()?;
        let mut st = lock(self.dir_state()?);
        match self.child(&mut st, name) {
            Ok(_) => return Err(Errno::EEXIST),
            Err(e) if e == Errno::ENOENT => {}
            Err(e) => return Err(e),
        }
        make(&up)?;
        let made = up.lookup(&Ctx::kernel(), name)?;
        self.adopt(&mut st, name, made)
    }

    /// Forgets the child `name` after it was removed or moved away, and
    /// hides its lower entry if it had one.
    fn forget(&self, st: &mut DirState, name: &[u8], had_lower: bool) {
        st.children.remove(name);
        if had_lower {
            st.hidden.insert(name.to_vec());
        }
    }
}

impl Inode for OverlayInode {
    fn stat(&self, ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        // A directory with a lower part is the lower one (identity, size,
        // links, blocks) with the upper one's owner, mode and times, which
        // chmod, chown, utimes and changes to its entries move.
        if let (true, Some(lower)) = (self.is_dir(), self.lower()) {
            let mut st = lower.stat(ctx)?;
            if let Some(up) = self.upper() {
                let u = up.stat(ctx)?;
                st.mode = u.mode;
                st.uid = u.uid;
                st.gid = u.gid;
                st.atime = u.atime;
                st.mtime = u.mtime;
                st.ctime = u.ctime;
            }
            return Ok(st);
        }
        self.top()?.stat(ctx)
    }

    fn lookup(&self, _ctx: &Ctx<'_>, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let mut st = lock(self.dir_state()?);
        Ok(self.child(&mut st, name)?)
    }

    fn readdir(&self, ctx: &Ctx<'_>) -> Result<Vec<DirEntry>, Errno> {
        let st = lock(self.dir_state()?);
        if self.dead.load(Ordering::Relaxed) {
            return Err(Errno::ENOENT);
        }
        let upper: Vec<DirEntry> = match self.upper() {
            Some(u) => u.readdir(ctx)?,
            None => Vec::new(),
        };
        let lower: Vec<DirEntry> = match self.lower() {
            Some(l) => l.readdir(ctx)?,
            None => Vec::new(),
        };
        let is_dot = |n: &[u8]| n == b"." || n == b"..";
        let in_upper: HashSet<&[u8]> = upper.iter().map(|e| e.name.as_slice()).collect();
        let lower_dirs: HashMap<&[u8], u64> = lower
            .iter()
            .filter(|e| e.kind == libc::DT_DIR && !st.hidden.contains(&e.name))
            .map(|e| (e.name.as_slice(), e.ino))
            .collect();
        let (_, ino) = self.dir_id()?;
        let parent_ino = lock(&self.place)
            .as_ref()
            .and_then(|p| p.parent.upgrade())
            .map_or(Ok((0, ino)), |p| p.dir_id())?
            .1;
        let mut out = dot_entries(ino, parent_ino);
        for e in &upper {
            if is_dot(&e.name) {
                continue;
            }
            // A merged directory shows its lower inode number, as stat does.
            let ino = match lower_dirs.get(e.name.as_slice()) {
                Some(&i) if e.kind == libc::DT_DIR => i,
                _ => e.ino,
            };
            out.push(DirEntry {
                ino,
                kind: e.kind,
                name: e.name.clone(),
            });
        }
        for e in lower {
            if is_dot(&e.name)
                || in_upper.contains(e.name.as_slice())
                || st.hidden.contains(&e.name)
            {
                continue;
            }
            out.push(e);
        }
        Ok(out)
    }

    fn readlink(&self, ctx: &Ctx<'_>) -> Result<Vec<u8>, Errno> {
        self.top()?.readlink(ctx)
    }

    fn open(
        &self,
        ctx: &Ctx<'_>,
        dentry: &Arc<Dentry>,
        flags: i32,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        let writes = flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0;
        let layer = if writes && self.ftype == libc::S_IFREG {
            let _tree = lock(&self.fs.tree);
            self.copy_up()?
        } else {
            self.top()?
        };
        layer.open(ctx, dentry, flags)
    }

    fn cache_children(&self) -> bool {
        // Unlink and rename change names under the dentry cache; the
        // overlay keeps its own cache of nodes instead.
        false
    }

    fn fs_info(&self) -> FsInfo {
        FsInfo {
            magic: OVERLAYFS_MAGIC,
            read_only: false,
        }
    }

    fn usage(&self) -> Option<FsUsage> {
        self.upper().and_then(|u| u.usage())
    }

    fn create(&self, ctx: &Ctx<'_>, name: &[u8], mode: u32) -> Result<Arc<dyn Inode>, Errno> {
        let node = self.add_entry(name, |up| up.create(ctx, name, mode).map(|_| ()))?;
        Ok(node)
    }

    fn tmpfile(&self, ctx: &Ctx<'_>, mode: u32, linkable: bool) -> Result<Arc<dyn Inode>, Errno> {
        // An upper-only node with no place: it has nothing to copy up, and
        // link names it in the upper layer like any copied-up file.
        let _tree = lock(&self.fs.tree);
        let up = self.copy_up()?.tmpfile(ctx, mode, linkable)?;
        Ok(Self::make(&self.fs, libc::S_IFREG, None, Some(up), None))
    }

    fn mkdir(&self, ctx: &Ctx<'_>, name: &[u8], mode: u32) -> Result<(), Errno> {
        self.add_entry(name, |up| up.mkdir(ctx, name, mode))
            .map(|_| ())
    }

    fn mknod(&self, ctx: &Ctx<'_>, name: &[u8], mode: u32, rdev: u64) -> Result<(), Errno> {
        self.add_entry(name, |up| up.mknod(ctx, name, mode, rdev))
            .map(|_| ())
    }

    fn symlink(&self, ctx: &Ctx<'_>, name: &[u8], target: &[u8]) -> Result<(), Errno> {
        self.add_entry(name, |up| up.symlink(ctx, name, target))
            .map(|_| ())
    }

    fn link(&self, ctx: &Ctx<'_>, name: &[u8], target: &Arc<dyn Inode>) -> Result<(), Errno> {
        let src = self.same_fs(target).ok_or(Errno::EXDEV)?;
        if src.is_dir() {
            return Err(Errno::EPERM);
        }
        let _tree = lock(&self.fs.tree);
        let src_up = src.copy_up()?;
        let up = self.copy_up()?;
        let mut st = lock(self.dir_state()?);
        match self.child(&mut st, name) {
            Ok(_) => return Err(Errno::EEXIST),
            Err(e) if e == Errno::ENOENT => {}
            Err(e) => return Err(e),
        }
        up.link(ctx, name, &src_up)?;
        let made = up.lookup(&Ctx::kernel(), name)?;
        self.adopt(&mut st, name, made).map(|_| ())
    }

    fn unlink(&self, ctx: &Ctx<'_>, name: &[u8]) -> Result<(), Errno> {
        let _tree = lock(&self.fs.tree);
        let up = self.copy_up()?;
        let mut st = lock(self.dir_state()?);
        let child = self.child(&mut st, name)?;
        if child.is_dir() {
            return Err(Errno::EISDIR);
        }
        if child.upper().is_some() {
            up.unlink(ctx, name)?;
        }
        child.dead.store(true, Ordering::Relaxed);
        self.forget(&mut st, name, child.covers());
        Ok(())
    }

    fn rmdir(&self, ctx: &Ctx<'_>, name: &[u8]) -> Result<(), Errno> {
        let _tree = lock(&self.fs.tree);
        let up = self.copy_up()?;
        let mut st = lock(self.dir_state()?);
        let child = self.child(&mut st, name)?;
        if !child.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !child.is_empty_dir()? {
            return Err(Errno::ENOTEMPTY);
        }
        if child.upper().is_some() {
            up.rmdir(ctx, name)?;
        }
        child.dead.store(true, Ordering::Relaxed);
        self.forget(&mut st, name, child.covers());
        Ok(())
    }

    fn rename(
        &self,
        ctx: &Ctx<'_>,
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
        let same_dir = std::ptr::eq(self, &*target);
        let _tree = lock(&self.fs.tree);
        let up = self.copy_up()?;
        let target_up = target.copy_up()?;
        let mut sst = lock(self.dir_state()?);
        let src = self.child(&mut sst, old_name)?;
        let dst = {
            let mut tst = if same_dir {
                None
            } else {
                Some(lock(target.dir_state()?))
            };
            let st = tst.as_deref_mut().unwrap_or(&mut *sst);
            match target.child(st, new_name) {
                Ok(d) => Some(d),
                Err(e) if e == Errno::ENOENT => None,
                Err(e) => return Err(e),
            }
        };
        if let Some(d) = &dst {
            if Arc::ptr_eq(d, &src) {
                return Ok(());
            }
        }
        // Without redirect_dir, a directory with a lower part cannot move.
        let moves_merged = |n: &OverlayInode| n.is_dir() && n.lower().is_some();
        if moves_merged(&src) || (exchange && dst.as_deref().is_some_and(moves_merged)) {
            return Err(Errno::EXDEV);
        }
        if let Some(d) = &dst {
            if !exchange && d.is_dir() {
                if !src.is_dir() {
                    return Err(Errno::EISDIR);
                }
                if !d.is_empty_dir()? {
                    return Err(Errno::ENOTEMPTY);
                }
            } else if !exchange && src.is_dir() {
                return Err(Errno::ENOTDIR);
            }
        }
        // The state locks are released for copy-up (which takes parents'),
        // and retaken: the tree lock keeps everything still meanwhile.
        drop(sst);
        src.copy_up()?;
        if let Some(d) = &dst {
            if exchange {
                d.copy_up()?;
            }
        }
        // A lower-only node being replaced has nothing above to replace:
        // the rename only has to hide it.
        up.rename(ctx, old_name, &target_up, new_name, flags)?;

        let mut sst = lock(self.dir_state()?);
        let mut tst = if same_dir {
            None
        } else {
            Some(lock(target.dir_state()?))
        };
        let src_lower = src.covers();
        self.forget(&mut sst, old_name, src_lower);
        let tstate = tst.as_deref_mut().unwrap_or(&mut *sst);
        let dst_lower = dst.as_ref().is_some_and(|d| d.covers());
        target.forget(tstate, new_name, dst_lower);
        tstate
            .children
            .insert(new_name.to_vec(), Child::Pinned(Arc::clone(&src)));
        // Whatever lay under either name is hidden now.
        src.covers.store(false, Ordering::Relaxed);
        *lock(&src.place) = Some(Place {
            parent: target.me.clone(),
            name: new_name.to_vec(),
        });
        if let Some(d) = dst {
            if exchange {
                d.covers.store(false, Ordering::Relaxed);
                sst.children
                    .insert(old_name.to_vec(), Child::Pinned(Arc::clone(&d)));
                *lock(&d.place) = Some(Place {
                    parent: self.me.clone(),
                    name: old_name.to_vec(),
                });
            } else {
                d.dead.store(true, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn setattr(&self, ctx: &Ctx<'_>, attr: &SetAttr) -> Result<(), Errno> {
        let up = {
            let _tree = lock(&self.fs.tree);
            self.copy_up()?
        };
        up.setattr(ctx, attr)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests;
