//! Building a container's tree: mounting a file system, or a bind mount's
//! file or directory, at a path given by the bundle (an OCI `mounts`
//! entry's destination), the way runc does: the path is resolved inside
//! the tree, symlinks included but never out of it, and what is missing
//! is made first (`mkdir -p` of the directories, an empty file for a file
//! mount).
//!
//! Resolution is the sentry's own, one name at a time: ".." stops at the
//! tree's root and an absolute symlink target starts again from it, so a
//! destination whose symlinks point outside the tree lands inside it.
//! A missing name is made through the file system under it when that file
//! system is writable (the overlay over a read-only gofer root is; so is a
//! read-write gofer root, where the name then appears on the host as
//! runc's would). Where it is not (a read-only root, or a file system that
//! makes no directories, such as devfs), nothing is made: the mount is
//! pinned under the missing name, which a mount shadows anyway (the same
//! way "/proc" is mounted on a root that has no "/proc"), and a missing
//! directory on the way there becomes an empty read-only placeholder
//! directory mounted in its place.
//!
//! Never does: reach the host other than through the file system the
//! name is made in, or follow a magic link.

use std::sync::Arc;

use super::ctx::Ctx;
use super::dentry::Dentry;
use super::inode::{FsInfo, Inode};
use super::mount::{Made, MountFlags, MountState};
use super::path::{is_absolute, push_components, NAME_MAX};
use super::synthetic::{Node, StaticDir};
use super::walk::MAX_SYMLINKS;
use crate::errno::Errno;
use crate::fsimpl::devnums;

/// The file type of a made mount point and of the directories above it.
const DIR_MODE: u32 = 0o755;
const FILE_MODE: u32 = 0o644;

/// statfs f_type of a placeholder directory (an empty read-only tmpfs to
/// whoever looks).
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// Where a mount goes.
enum Point {
    /// An existing file or directory (a mount root itself, possibly).
    Existing(Arc<Dentry>),
    /// A name its directory's file system does not have and cannot make.
    Absent { parent: Arc<Dentry>, name: Vec<u8> },
}

/// Mounts `inode` (a file system's root, or the directory or regular file
/// a bind mount shows) at `dest` in the tree whose root is `root`, with
/// `state`; returns the mount's root dentry. `dest` must be absolute
/// (`EINVAL`); missing directories on the way, and the mount point itself,
/// are made (see the module's text). A directory cannot be mounted on a
/// non-directory (`ENOTDIR`), nor a non-directory on a directory
/// (`EISDIR`); the root itself is `EBUSY`. A mount already at `dest` is
/// covered, and comes back when the new one is unmounted.
pub fn mount_at(
    root: &Arc<Dentry>,
    dest: &[u8],
    inode: Arc<dyn Inode>,
    state: MountState,
) -> Result<Arc<Dentry>, Errno> {
    if !is_absolute(dest) {
        return Err(Errno::EINVAL);
    }
    let ctx = Ctx::kernel();
    let is_dir = inode.stat(&ctx)?.is_dir();
    let (parent, name, covered) = match resolve(&ctx, root, dest, is_dir)? {
        Point::Absent { parent, name } => (parent, name, None),
        Point::Existing(point) => {
            match (is_dir, point.stat(&ctx)?.is_dir()) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                _ => {}
            }
            let parent = point.parent().cloned().ok_or(Errno::EBUSY)?;
            let covered = point.is_mount().then(|| Arc::clone(&point));
            (parent, point.name().to_vec(), covered)
        }
    };
    let state = match covered {
        None => state,
        Some(c) => {
            // Keeps the mount below, to be put back on umount.
            let mut made = state.made.as_deref().cloned().unwrap_or_else(|| Made {
                fstype: String::new(),
                source: b"none".to_vec(),
                super_opts: String::new(),
                root: b"/".to_vec(),
                covered: None,
            });
            made.covered = Some(c);
            MountState {
                flags: state.flags,
                made: Some(Arc::new(made)),
            }
        }
    };
    parent.pin();
    Ok(parent.mount_with(&name, inode, state))
}

/// Resolves `dest` from `root`, making what is missing: directories on the
/// way, and the last name as a directory (`is_dir`) or an empty file.
fn resolve(ctx: &Ctx<'_>, root: &Arc<Dentry>, dest: &[u8], is_dir: bool) -> Result<Point, Errno> {
    let mut stack = Vec::new();
    push_components(&mut stack, dest, false);
    let mut cur = Arc::clone(root);
    let mut links = 0;
    while let Some(comp) = stack.pop() {
        let last = stack.is_empty();
        if !cur.stat(ctx)?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        match comp.name.as_slice() {
            b"." => continue,
            b".." => {
                if !Arc::ptr_eq(&cur, root) {
                    if let Some(p) = cur.parent() {
                        cur = Arc::clone(p);
                    }
                }
                continue;
            }
            _ => {}
        }
        if comp.name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let child = match cur.lookup_child(ctx, &comp.name) {
            Ok(c) => c,
            Err(e) if e == Errno::ENOENT => {
                let make_dir = !last || is_dir;
                match make(ctx, &cur, &comp.name, make_dir)? {
                    Some(made) => made,
                    None if last => {
                        return Ok(Point::Absent {
                            parent: cur,
                            name: comp.name,
                        })
                    }
                    None => placeholder(&cur, &comp.name),
                }
            }
            Err(e) => return Err(e),
        };
        if child.stat(ctx)?.is_symlink() {
            if child.inode().follow_magic(ctx).is_some() {
                return Err(Errno::ELOOP);
            }
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(Errno::ELOOP);
            }
            let target = child.inode().readlink(ctx)?;
            if target.is_empty() {
                return Err(Errno::ENOENT);
            }
            if is_absolute(&target) {
                cur = Arc::clone(root);
            }
            push_components(&mut stack, &target, comp.slash);
            continue;
        }
        if last {
            return Ok(Point::Existing(child));
        }
        cur = child;
    }
    // Only "/" (or "/.", "/..") is left: the root itself.
    Ok(Point::Existing(cur))
}

/// Makes `name` in `dir` (a directory or an empty file) through its file
/// system; None where that file system is read-only or makes no such
/// thing, so the caller mounts over the missing name instead.
fn make(
    ctx: &Ctx<'_>,
    dir: &Arc<Dentry>,
    name: &[u8],
    make_dir: bool,
) -> Result<Option<Arc<Dentry>>, Errno> {
    if dir.read_only() {
        return Ok(None);
    }
    let made = if make_dir {
        dir.inode().mkdir(ctx, name, DIR_MODE)
    } else {
        dir.inode()
            .create(ctx, name, libc::S_IFREG | FILE_MODE)
            .map(drop)
    };
    match made {
        Ok(()) => {}
        Err(e) if matches!(e, Errno::EROFS | Errno::EPERM | Errno::EACCES) => {
            tracing::debug!(
                name = %String::from_utf8_lossy(name),
                errno = e.0,
                "mount point not made: mounting over the missing name"
            );
            return Ok(None);
        }
        Err(e) => return Err(e),
    }
    dir.lookup_child(ctx, name).map(Some)
}

/// An empty read-only directory mounted at the missing `name` in `dir`, for
/// a mount further down (see the module's text).
fn placeholder(dir: &Arc<Dentry>, name: &[u8]) -> Arc<Dentry> {
    let node = Node {
        dev: devnums::MOUNT_POINTS,
        ino: 1,
        mode: libc::S_IFDIR | DIR_MODE,
        fs: FsInfo {
            magic: TMPFS_MAGIC,
            read_only: true,
        },
    };
    let state = MountState {
        flags: MountFlags::from_ms(libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV),
        made: None,
    };
    dir.pin();
    dir.mount_with(name, StaticDir::new(node, Vec::new()), state)
}
