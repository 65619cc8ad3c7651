//! Dentries: the sentry's tree of names over inodes, and its cache.
//!
//! A dentry holds its parent (strongly) and caches its children by name, so
//! a path that was walked once is walked again without asking the file
//! system. Mount roots are children pinned in their mount point's parent
//! under the mount point's name: they shadow whatever the parent's file
//! system has there, ".." from a mount root leads to the mount point's
//! parent, and a path is rebuilt just by climbing parents. The cache is
//! bounded: past a limit, unused leaves (held by nothing but the cache) are
//! dropped, which releases their gofer fids.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::ctx::Ctx;
use super::inode::Inode;
use super::mount::{MountFlags, MountState};
use super::stat::Stat;
use crate::errno::Errno;

/// Cached dentries past which unused ones are dropped.
const CACHE_LIMIT: usize = 16 * 1024;

/// Accounting shared by every cached dentry of one tree.
pub struct Dcache {
    count: AtomicUsize,
    limit: usize,
    shrinking: AtomicBool,
}

impl Dcache {
    fn new(limit: usize) -> Arc<Dcache> {
        Arc::new(Dcache {
            count: AtomicUsize::new(0),
            limit,
            shrinking: AtomicBool::new(false),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The root of the whole tree (no parent).
    Root,
    /// A child found by lookup; evictable when unused.
    Child,
    /// A mount root, pinned in its mount point's parent.
    Mount,
    /// Outside the tree (a donated host fd): its name is its whole path.
    Anon,
}

pub struct Dentry {
    name: Vec<u8>,
    parent: Option<Arc<Dentry>>,
    inode: Arc<dyn Inode>,
    children: Mutex<HashMap<Vec<u8>, Arc<Dentry>>>,
    kind: Kind,
    cache: Option<Arc<Dcache>>,
    /// Counted in `cache` (inserted in its parent's children).
    counted: AtomicBool,
    /// A mount root's flags and how the mount table shows it (`vfs::mount`).
    mnt: Mutex<MountState>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Dentry {
    /// The root of a new tree.
    pub fn new_root(inode: Arc<dyn Inode>) -> Arc<Dentry> {
        Self::new_root_with_limit(inode, CACHE_LIMIT)
    }

    fn new_root_with_limit(inode: Arc<dyn Inode>, limit: usize) -> Arc<Dentry> {
        Arc::new(Dentry {
            name: Vec::new(),
            parent: None,
            inode,
            children: Mutex::new(HashMap::new()),
            kind: Kind::Root,
            cache: Some(Dcache::new(limit)),
            counted: AtomicBool::new(false),
            mnt: Mutex::new(MountState::default()),
        })
    }

    /// A dentry outside the tree, for a file that has no path in it (a
    /// donated host fd); `label` is what its path reads as.
    pub fn new_anon(label: &[u8], inode: Arc<dyn Inode>) -> Arc<Dentry> {
        Arc::new(Dentry {
            name: label.to_vec(),
            parent: None,
            inode,
            children: Mutex::new(HashMap::new()),
            kind: Kind::Anon,
            cache: None,
            counted: AtomicBool::new(false),
            mnt: Mutex::new(MountState::default()),
        })
    }

    /// A dentry for a file that has no name (O_TMPFILE's) in the directory
    /// `parent`: below it for the walk (its mount, its path
    /// "parent/`label`"), but never found by a lookup.
    pub fn new_unnamed(parent: &Arc<Dentry>, label: &[u8], inode: Arc<dyn Inode>) -> Arc<Dentry> {
        Arc::new(Dentry {
            name: label.to_vec(),
            parent: Some(Arc::clone(parent)),
            inode,
            children: Mutex::new(HashMap::new()),
            kind: Kind::Child,
            cache: None,
            counted: AtomicBool::new(false),
            mnt: Mutex::new(MountState::default()),
        })
    }

    /// Mounts the file system whose root is `inode` on this directory's
    /// child `name`; returns the mount's root dentry.
    pub fn mount(self: &Arc<Self>, name: &[u8], inode: Arc<dyn Inode>) -> Arc<Dentry> {
        self.mount_with(name, inode, MountState::default())
    }

    /// `mount` with the mount's flags and description; a mount already on
    /// `name` is covered (the new one's `state.covered` should hold it).
    pub fn mount_with(
        self: &Arc<Self>,
        name: &[u8],
        inode: Arc<dyn Inode>,
        state: MountState,
    ) -> Arc<Dentry> {
        let root = Arc::new(Dentry {
            name: name.to_vec(),
            parent: Some(Arc::clone(self)),
            inode,
            children: Mutex::new(HashMap::new()),
            kind: Kind::Mount,
            cache: self.cache.clone(),
            counted: AtomicBool::new(false),
            mnt: Mutex::new(state),
        });
        lock(&self.children).insert(name.to_vec(), Arc::clone(&root));
        root
    }

    /// A mount root's state (flags, description); the default for other
    /// dentries.
    pub fn mount_state(&self) -> MountState {
        lock(&self.mnt).clone()
    }

    /// Changes a mount root's state.
    pub fn set_mount_state(&self, f: impl FnOnce(&mut MountState)) {
        f(&mut lock(&self.mnt));
    }

    /// The root of the mount this dentry is in (without taking a reference).
    fn mount_root_ref(&self) -> &Dentry {
        let mut d = self;
        while !d.is_mount_root() {
            match &d.parent {
                Some(p) => d = p,
                None => break,
            }
        }
        d
    }

    /// The flags of the mount this dentry is in.
    pub fn mount_flags(&self) -> MountFlags {
        lock(&self.mount_root_ref().mnt).flags
    }

    /// The whole state of the mount this dentry is in.
    pub fn mount_of_state(&self) -> MountState {
        self.mount_root_ref().mount_state()
    }

    /// Whether writes here are EROFS: a read-only file system, or a mount
    /// made or remounted read-only.
    pub fn read_only(&self) -> bool {
        self.inode.fs_info().read_only || self.mount_flags().any_read_only()
    }

    /// Whether this is a mount made on a mount point (not the tree's root
    /// nor an anonymous dentry): what umount can remove.
    pub fn is_mount(&self) -> bool {
        self.kind == Kind::Mount
    }

    /// Keeps this dentry and its parents (up to the mount's root) in their
    /// parents' children, so a mount below survives file systems that
    /// cache no children.
    pub(crate) fn pin(self: &Arc<Self>) {
        let mut d = Arc::clone(self);
        while d.kind == Kind::Child {
            let Some(p) = d.parent.clone() else { break };
            lock(&p.children)
                .entry(d.name.clone())
                .or_insert_with(|| Arc::clone(&d));
            d = p;
        }
    }

    /// Undoes `pin` where nothing is below any more: dentries of file
    /// systems that cache no children, with no children of their own, leave
    /// their parents' children.
    pub(crate) fn unpin(self: &Arc<Self>) {
        let mut d = Arc::clone(self);
        while d.kind == Kind::Child {
            let Some(p) = d.parent.clone() else { break };
            if p.inode.cache_children() || !lock(&d.children).is_empty() {
                break;
            }
            let mut kids = lock(&p.children);
            if kids.get(&d.name).is_some_and(|k| Arc::ptr_eq(k, &d)) {
                kids.remove(&d.name);
            }
            drop(kids);
            d = p;
        }
    }

    /// Takes this mount off its mount point, putting back `covered` (the
    /// mount it was stacked on) if any. False when it is not there.
    pub(crate) fn detach(self: &Arc<Self>, covered: Option<Arc<Dentry>>) -> bool {
        let Some(p) = &self.parent else { return false };
        let mut kids = lock(&p.children);
        if !kids.get(&self.name).is_some_and(|k| Arc::ptr_eq(k, self)) {
            return false;
        }
        kids.remove(&self.name);
        if let Some(c) = covered {
            kids.insert(self.name.clone(), c);
        }
        true
    }

    /// Every mount below this directory in the same mount (through the
    /// dentries `pin` keeps), not those below them.
    pub fn submounts(&self) -> Vec<Arc<Dentry>> {
        let mut out = Vec::new();
        let mut stack: Vec<Arc<Dentry>> = lock(&self.children).values().cloned().collect();
        while let Some(d) = stack.pop() {
            if d.kind == Kind::Mount {
                out.push(d);
            } else {
                stack.extend(lock(&d.children).values().cloned());
            }
        }
        out
    }

    /// Drops the cached dentries below this one that nothing else holds
    /// (before umount counts what holds the mount).
    pub(crate) fn drop_unused(&self) {
        self.shrink();
    }

    pub fn inode(&self) -> &Arc<dyn Inode> {
        &self.inode
    }

    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// Whether this is the root of a mount (or of the whole tree).
    pub fn is_mount_root(&self) -> bool {
        matches!(self.kind, Kind::Root | Kind::Mount | Kind::Anon)
    }

    /// The root of the mount this dentry is in.
    pub fn mount_root(self: &Arc<Self>) -> Arc<Dentry> {
        let mut d = Arc::clone(self);
        while !d.is_mount_root() {
            match d.parent.clone() {
                Some(p) => d = p,
                None => break,
            }
        }
        d
    }

    /// The parent: None for the tree's root and anonymous dentries.
    pub fn parent(&self) -> Option<&Arc<Dentry>> {
        self.parent.as_ref()
    }

    pub fn stat(&self, ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        self.inode.stat(ctx)
    }

    /// The mount roots pinned below this directory (shown by its listing
    /// even where the underlying file system has no such name).
    pub fn mounts(&self) -> Vec<Arc<Dentry>> {
        lock(&self.children)
            .values()
            .filter(|d| d.kind == Kind::Mount)
            .cloned()
            .collect()
    }

    /// The child `name` of this directory, from the cache or the file system.
    pub fn lookup_child(
        self: &Arc<Self>,
        ctx: &Ctx<'_>,
        name: &[u8],
    ) -> Result<Arc<Dentry>, Errno> {
        let cacheable = self.inode.cache_children();
        let mut kids = lock(&self.children);
        if let Some(d) = kids.get(name) {
            return Ok(Arc::clone(d));
        }
        let inode = self.inode.lookup(ctx, name)?;
        let child = Arc::new(Dentry {
            name: name.to_vec(),
            parent: Some(Arc::clone(self)),
            inode,
            children: Mutex::new(HashMap::new()),
            kind: Kind::Child,
            cache: self.cache.clone(),
            counted: AtomicBool::new(false),
            mnt: Mutex::new(MountState::default()),
        });
        if !cacheable {
            return Ok(child);
        }
        kids.insert(name.to_vec(), Arc::clone(&child));
        drop(kids);
        if let Some(cache) = &self.cache {
            child.counted.store(true, Ordering::Relaxed);
            let n = cache.count.fetch_add(1, Ordering::Relaxed) + 1;
            if n > cache.limit {
                self.top().shrink_cache(cache);
            }
        }
        Ok(child)
    }

    /// The root of the tree this dentry is in.
    fn top(self: &Arc<Self>) -> Arc<Dentry> {
        let mut d = Arc::clone(self);
        while let Some(p) = d.parent.clone() {
            d = p;
        }
        d
    }

    /// Drops every cached dentry below the tree root that nothing but the
    /// cache holds. One shrinker at a time; the others carry on.
    fn shrink_cache(self: &Arc<Self>, cache: &Dcache) {
        if cache.shrinking.swap(true, Ordering::Acquire) {
            return;
        }
        self.shrink();
        cache.shrinking.store(false, Ordering::Release);
    }

    fn shrink(&self) {
        let mut kids = lock(&self.children);
        // Children first, so a directory whose children all go goes too.
        // Locks are taken parent before child, as lookups never hold two.
        kids.retain(|_, c| {
            c.shrink();
            // The count is stable here: new references come only from this
            // (locked) map or from references that already exist.
            c.kind == Kind::Mount || Arc::strong_count(c) > 1 || !lock(&c.children).is_empty()
        });
    }

    /// Forgets every cached child below this dentry (breaking the
    /// parent/child reference cycles so the tree can be freed).
    pub fn clear_cache(&self) {
        let kids: Vec<Arc<Dentry>> = lock(&self.children).drain().map(|(_, d)| d).collect();
        for k in kids {
            k.clear_cache();
        }
    }

    /// The absolute path of this dentry from the tree's root.
    pub fn path(&self) -> Vec<u8> {
        if self.kind == Kind::Anon {
            return self.name.clone();
        }
        let mut names: Vec<&[u8]> = Vec::new();
        let mut d = self;
        while let Some(p) = &d.parent {
            names.push(&d.name);
            d = p;
        }
        if d.kind == Kind::Anon {
            names.push(&d.name);
        }
        join_reversed(&names)
    }

    /// The path of this dentry as seen from `root` (a task's root), and
    /// whether it is below `root` at all (getcwd's "(unreachable)").
    pub fn path_from(self: &Arc<Self>, root: &Arc<Dentry>) -> (Vec<u8>, bool) {
        let mut names: Vec<&[u8]> = Vec::new();
        let mut d: &Arc<Dentry> = self;
        loop {
            if Arc::ptr_eq(d, root) {
                return (join_reversed(&names), true);
            }
            match &d.parent {
                Some(p) => {
                    names.push(&d.name);
                    d = p;
                }
                None => return (self.path(), false),
            }
        }
    }

    /// Whether this is `other` or one of its descendants.
    pub fn is_below(self: &Arc<Self>, other: &Arc<Dentry>) -> bool {
        let mut d = self;
        loop {
            if Arc::ptr_eq(d, other) {
                return true;
            }
            match &d.parent {
                Some(p) => d = p,
                None => return false,
            }
        }
    }
}

impl Drop for Dentry {
    fn drop(&mut self) {
        if self.counted.load(Ordering::Relaxed) {
            if let Some(c) = &self.cache {
                c.count.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

/// "/" + names from last to first, joined by "/".
fn join_reversed(names: &[&[u8]]) -> Vec<u8> {
    if names.is_empty() {
        return b"/".to_vec();
    }
    let mut out = Vec::new();
    for n in names.iter().rev() {
        out.push(b'/');
        out.extend_from_slice(n);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::vfs::inode::FsInfo;

    /// A directory inode in which every name exists (and is a directory).
    pub(crate) struct Anything;

    impl Inode for Anything {
        fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
            Ok(Stat {
                mode: libc::S_IFDIR | 0o755,
                ..Stat::default()
            })
        }
        fn lookup(&self, _ctx: &Ctx<'_>, _name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
            Ok(Arc::new(Anything))
        }
        fn fs_info(&self) -> FsInfo {
            FsInfo {
                magic: 0,
                read_only: true,
            }
        }
    }

    #[test]
    fn path_climbs_parents_and_mounts() {
        let root = Dentry::new_root(Arc::new(Anything));
        let ctx = Ctx::kernel();
        let usr = root.lookup_child(&ctx, b"usr").unwrap();
        let bin = usr.lookup_child(&ctx, b"bin").unwrap();
        assert_eq!(bin.path(), b"/usr/bin");
        assert_eq!(root.path(), b"/");
        let dev = root.mount(b"dev", Arc::new(Anything));
        assert_eq!(dev.path(), b"/dev");
        assert!(Arc::ptr_eq(&root.lookup_child(&ctx, b"dev").unwrap(), &dev));
    }

    #[test]
    fn lookups_are_cached() {
        let root = Dentry::new_root(Arc::new(Anything));
        let ctx = Ctx::kernel();
        let a = root.lookup_child(&ctx, b"a").unwrap();
        let b = root.lookup_child(&ctx, b"a").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn path_from_a_root_below_the_tree_root() {
        let root = Dentry::new_root(Arc::new(Anything));
        let ctx = Ctx::kernel();
        let jail = root.lookup_child(&ctx, b"jail").unwrap();
        let x = jail.lookup_child(&ctx, b"x").unwrap();
        assert_eq!(x.path_from(&jail), (b"/x".to_vec(), true));
        let y = root.lookup_child(&ctx, b"y").unwrap();
        assert_eq!(y.path_from(&jail), (b"/y".to_vec(), false));
    }

    #[test]
    fn shrinking_drops_only_unused_entries() {
        let root = Dentry::new_root_with_limit(Arc::new(Anything), 4);
        let ctx = Ctx::kernel();
        let dev = root.mount(b"dev", Arc::new(Anything));
        let held = root.lookup_child(&ctx, b"held").unwrap();
        for name in [b"a", b"b", b"c", b"d", b"e"] {
            root.lookup_child(&ctx, name).unwrap();
        }
        let kids = lock(&root.children);
        assert!(kids.contains_key(b"held".as_slice()));
        assert!(kids.contains_key(b"dev".as_slice()));
        assert!(kids.len() <= 4);
        drop(kids);
        assert!(Arc::ptr_eq(
            &root.lookup_child(&ctx, b"held").unwrap(),
            &held
        ));
        assert!(Arc::ptr_eq(&root.lookup_child(&ctx, b"dev").unwrap(), &dev));
    }
}
