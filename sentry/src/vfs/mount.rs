//! The mount table's changes: mounting a file system or a bind of a file
//! or directory on a mount point, changing a mount's flags, unmounting.
//!
//! The table is the dentry tree itself (`dentry`): a mount is a dentry
//! pinned in its mount point's parent under the mount point's name, which
//! shadows what is there; the dentries above it are pinned too (`pin`), so
//! file systems that cache no children (tmpfs, the overlay) still lead a
//! walk to it. A mount stacked on another keeps the one it covers and
//! umount puts it back. One table for the whole sandbox: there are no
//! mount namespaces (unshare(CLONE_NEWNS) shares it).
//!
//! Never does: reach the host (every file system mounted here is the
//! sentry's own), or let a mount escape the dentry tree.

use std::sync::Arc;

use super::dentry::Dentry;
use super::inode::Inode;
use crate::errno::Errno;

/// Per-mount flags (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC and the
/// access-time ones).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MountFlags {
    /// The mount is read-only (MS_RDONLY; MS_REMOUNT|MS_BIND changes it).
    pub read_only: bool,
    /// Its file system was mounted or remounted read-only (plain
    /// MS_REMOUNT changes it, MS_REMOUNT|MS_BIND does not). Kept per
    /// mount: binds of one file system do not share it.
    pub sb_read_only: bool,
    pub nosuid: bool,
    pub nodev: bool,
    pub noexec: bool,
    pub noatime: bool,
    pub nodiratime: bool,
    pub strictatime: bool,
}

impl MountFlags {
    /// The flags of a mount(2) flag word.
    pub fn from_ms(flags: u64) -> MountFlags {
        let has = |f: libc::c_ulong| flags & f != 0;
        MountFlags {
            read_only: has(libc::MS_RDONLY),
            sb_read_only: has(libc::MS_RDONLY),
            nosuid: has(libc::MS_NOSUID),
            nodev: has(libc::MS_NODEV),
            noexec: has(libc::MS_NOEXEC),
            noatime: has(libc::MS_NOATIME),
            nodiratime: has(libc::MS_NODIRATIME),
            strictatime: has(libc::MS_STRICTATIME),
        }
    }

    /// Whether writes through the mount are EROFS.
    pub fn any_read_only(&self) -> bool {
        self.read_only || self.sb_read_only
    }

    /// The per-mount options after "ro"/"rw", as /proc/PID/mounts shows them.
    pub fn options(&self) -> String {
        let mut v = Vec::new();
        for (on, name) in [
            (self.nosuid, "nosuid"),
            (self.nodev, "nodev"),
            (self.noexec, "noexec"),
            (self.nodiratime, "nodiratime"),
        ] {
            if on {
                v.push(name);
            }
        }
        // Strict access times show nothing (Linux's show_mnt_opts).
        if self.noatime {
            v.push("noatime");
        } else if !self.strictatime {
            v.push("relatime");
        }
        v.join(",")
    }
}

/// What a mount root carries: its flags and, for mounts made by mount(2),
/// how the table shows it and the mount it covers.
#[derive(Clone, Default)]
pub struct MountState {
    pub flags: MountFlags,
    /// Made by mount(2) (else the sandbox's own, described by procfs).
    pub made: Option<Arc<Made>>,
}

/// A mount made by mount(2).
#[derive(Clone)]
pub struct Made {
    /// Empty: the file system names itself (a bind of the sandbox's own).
    pub fstype: String,
    pub source: Vec<u8>,
    /// File-system options shown after the mount's ("mode=755,size=…").
    pub super_opts: String,
    /// Where in its file system the mount's root is (mountinfo's root:
    /// "/" but for bind mounts).
    pub root: Vec<u8>,
    /// The mount it was stacked on, back in place after umount.
    pub covered: Option<Arc<Dentry>>,
}

/// Most mounts a sandbox may have (Linux's default fs.mount-max):
/// mount(2) past it is ENOSPC.
pub const MAX_MOUNTS: usize = 100_000;

/// The mounts of the tree `root` is in, below it, counted.
pub fn count(root: &Arc<Dentry>) -> usize {
    let mut n = 0;
    let mut todo = vec![Arc::clone(root)];
    while let Some(d) = todo.pop() {
        let subs = d.submounts();
        n += subs.len();
        todo.extend(subs);
    }
    n
}

/// One mount below a directory, as `tree_below` lists them.
pub struct Below {
    /// The mount's root.
    pub mount: Arc<Dentry>,
    /// The entry of the mount it is below (None: the directory itself).
    pub parent: Option<usize>,
    /// Its path from there.
    pub rel: Vec<u8>,
}

/// Every mount below `dir`, parents before children (what MS_REC copies).
pub fn tree_below(dir: &Arc<Dentry>) -> Vec<Below> {
    let mut out: Vec<Below> = Vec::new();
    for sub in dir.submounts() {
        let rel = sub.path_from(dir).0;
        out.push(Below {
            mount: sub,
            parent: None,
            rel,
        });
    }
    let mut i = 0;
    while i < out.len() {
        let from = Arc::clone(&out[i].mount);
        for sub in from.submounts() {
            let rel = sub.path_from(&from).0;
            out.push(Below {
                mount: sub,
                parent: Some(i),
                rel,
            });
        }
        i += 1;
    }
    out
}

/// `base` (a mount's root in its file system) joined with `rel` (a path
/// below that mount's root, "/" for the root itself).
pub fn join_root(base: &[u8], rel: &[u8]) -> Vec<u8> {
    match (base, rel) {
        (b"/", r) => r.to_vec(),
        (b, b"/") => b.to_vec(),
        (b, r) => [b, r].concat(),
    }
}

/// Mounts `inode` (a file system's root, or the file or directory a bind
/// mount shows) on `point` with `flags`; `made` says how it shows. The
/// tree's root cannot be mounted over (EBUSY).
pub fn attach(
    point: &Arc<Dentry>,
    inode: Arc<dyn Inode>,
    flags: MountFlags,
    mut made: Made,
) -> Result<Arc<Dentry>, Errno> {
    let parent = point.parent().cloned().ok_or(Errno::EBUSY)?;
    if point.is_mount() {
        made.covered = Some(Arc::clone(point));
    }
    parent.pin();
    let state = MountState {
        flags,
        made: Some(Arc::new(made)),
    };
    Ok(parent.mount_with(point.name(), inode, state))
}

/// Unmounts the mount whose root is `m`: EINVAL unless it is a mount made
/// on a mount point; unless `lazy`, EBUSY while anything (an open file, a
/// working directory, a mount below) holds something inside it. `held`
/// is how many references the caller itself holds on `m`.
pub fn detach(m: &Arc<Dentry>, lazy: bool, held: usize) -> Result<(), Errno> {
    if !m.is_mount() {
        return Err(Errno::EINVAL);
    }
    if !lazy {
        m.drop_unused();
        // The mount point's parent holds one reference, the caller the rest.
        if Arc::strong_count(m) > 1 + held {
            return Err(Errno::EBUSY);
        }
    }
    let covered = m.mount_state().made.and_then(|x| x.covered.clone());
    if !m.detach(covered.clone()) {
        return Err(Errno::EINVAL);
    }
    if covered.is_none() {
        if let Some(p) = m.parent() {
            p.unpin();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::ctx::Ctx;
    use crate::vfs::dentry::tests::Anything;

    fn made() -> Made {
        Made {
            fstype: "tmpfs".into(),
            source: b"tmpfs".to_vec(),
            super_opts: String::new(),
            root: b"/".to_vec(),
            covered: None,
        }
    }

    #[test]
    fn a_mount_below_uncached_dirs_is_found_again_and_removed() {
        let root = Dentry::new_root(Arc::new(Anything));
        let ctx = Ctx::kernel();
        let point = root
            .lookup_child(&ctx, b"a")
            .unwrap()
            .lookup_child(&ctx, b"b")
            .unwrap();
        let m = attach(&point, Arc::new(Anything), MountFlags::default(), made()).unwrap();
        let again = root
            .lookup_child(&ctx, b"a")
            .unwrap()
            .lookup_child(&ctx, b"b")
            .unwrap();
        assert!(Arc::ptr_eq(&again, &m));
        assert_eq!(root.submounts().len(), 1);
        drop(again);
        drop(point);
        detach(&m, false, 1).unwrap();
        assert!(root.submounts().is_empty());
    }

    #[test]
    fn umount_of_a_busy_mount_is_ebusy_unless_lazy() {
        let root = Dentry::new_root(Arc::new(Anything));
        let ctx = Ctx::kernel();
        let point = root.lookup_child(&ctx, b"p").unwrap();
        let m = attach(&point, Arc::new(Anything), MountFlags::default(), made()).unwrap();
        let inside = m.lookup_child(&ctx, b"x").unwrap();
        assert_eq!(detach(&m, false, 1), Err(Errno::EBUSY));
        detach(&m, true, 1).unwrap();
        assert_eq!(inside.parent().map(|p| Arc::ptr_eq(p, &m)), Some(true));
        assert_eq!(detach(&m, true, 1), Err(Errno::EINVAL));
    }

    #[test]
    fn a_stacked_mount_uncovers_the_one_below() {
        let root = Dentry::new_root(Arc::new(Anything));
        let ctx = Ctx::kernel();
        let point = root.lookup_child(&ctx, b"p").unwrap();
        let first = attach(&point, Arc::new(Anything), MountFlags::default(), made()).unwrap();
        let second = attach(&first, Arc::new(Anything), MountFlags::default(), made()).unwrap();
        let seen = root.lookup_child(&ctx, b"p").unwrap();
        assert!(Arc::ptr_eq(&seen, &second));
        drop(seen);
        detach(&second, false, 1).unwrap();
        let seen = root.lookup_child(&ctx, b"p").unwrap();
        assert!(Arc::ptr_eq(&seen, &first));
    }

    #[test]
    fn bind_roots_join_paths() {
        assert_eq!(join_root(b"/", b"/a"), b"/a");
        assert_eq!(join_root(b"/a", b"/"), b"/a");
        assert_eq!(join_root(b"/a", b"/b"), b"/a/b");
        assert_eq!(join_root(b"/", b"/"), b"/");
    }

    #[test]
    fn options_read_like_linux() {
        let f = MountFlags::from_ms(libc::MS_NOSUID | libc::MS_NODEV);
        assert_eq!(f.options(), "nosuid,nodev,relatime");
        assert!(MountFlags::from_ms(libc::MS_RDONLY).read_only);
    }
}
