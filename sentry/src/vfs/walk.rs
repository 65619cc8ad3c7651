//! Path resolution, done entirely by the sentry (DESIGN invariant 3): one
//! component at a time through the dentry cache, "." and ".." here (".."
//! of the task's root is the root; ".." of a mount root is the mount
//! point's parent), symlinks read and followed here (at most 40), absolute
//! targets from the task's root. A file system only ever sees one name.
//! openat2's RESOLVE_* restrictions (`Resolve`) are checked here too, at
//! the same steps as Linux's namei; a walk without them pays one test.

use std::sync::Arc;

use super::ctx::Ctx;
use super::dentry::Dentry;
use super::path::{is_absolute, push_components, NAME_MAX};
use super::perm::{self, MAY_EXEC};
use crate::errno::Errno;

/// Symlinks followed in one walk before ELOOP (Linux's MAXSYMLINKS).
pub const MAX_SYMLINKS: u32 = 40;

/// openat2's RESOLVE_* flags (Linux's values), restricting a whole walk.
/// BENEATH and IN_ROOT are anchored at the walk's `start` (the dirfd).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resolve(pub u64);

impl Resolve {
    pub const NONE: Resolve = Resolve(0);
    /// EXDEV when the walk crosses a mount (down, up through "..", or by
    /// an absolute or magic link).
    pub const NO_XDEV: u64 = 0x01;
    /// ELOOP on a magic link (procfs's fd/N, cwd, root).
    pub const NO_MAGICLINKS: u64 = 0x02;
    /// ELOOP on any symlink followed.
    pub const NO_SYMLINKS: u64 = 0x04;
    /// EXDEV when the walk would leave `start`'s tree.
    pub const BENEATH: u64 = 0x08;
    /// `start` is the root for the walk (absolute paths, "..", links).
    pub const IN_ROOT: u64 = 0x10;
    /// Only a walk that cannot block (openat2 handles it: always EAGAIN).
    pub const CACHED: u64 = 0x20;
    pub const ALL: u64 = 0x3f;

    fn has(self, bit: u64) -> bool {
        self.0 & bit != 0
    }

    /// BENEATH or IN_ROOT: the walk is anchored at its start.
    fn scoped(self) -> bool {
        self.has(Self::BENEATH | Self::IN_ROOT)
    }
}

/// How to treat the last component, and openat2's restrictions.
#[derive(Clone, Copy, Debug, Default)]
pub struct WalkOpts {
    /// Follow a symlink in the last component.
    pub follow: bool,
    /// A missing last component is `Found::Missing`, not ENOENT.
    pub allow_missing: bool,
    /// RESOLVE_* restrictions (none outside openat2).
    pub resolve: Resolve,
}

impl WalkOpts {
    pub const FOLLOW: WalkOpts = WalkOpts {
        follow: true,
        allow_missing: false,
        resolve: Resolve::NONE,
    };
    pub const NOFOLLOW: WalkOpts = WalkOpts {
        follow: false,
        allow_missing: false,
        resolve: Resolve::NONE,
    };
}

/// Whether `a` and `b` are in the same mount.
fn same_mount(a: &Arc<Dentry>, b: &Arc<Dentry>) -> bool {
    Arc::ptr_eq(&a.mount_root(), &b.mount_root())
}

/// The RESOLVE_* checks for "..": EXDEV at a BENEATH anchor, or when it
/// would leave a mount under NO_XDEV.
fn check_dotdot(cur: &Arc<Dentry>, root: &Arc<Dentry>, r: Resolve) -> Result<(), Errno> {
    if Arc::ptr_eq(cur, root) {
        return if r.has(Resolve::BENEATH) {
            Err(Errno::EXDEV)
        } else {
            Ok(())
        };
    }
    if r.has(Resolve::NO_XDEV) && cur.is_mount_root() && cur.parent().is_some() {
        return Err(Errno::EXDEV);
    }
    Ok(())
}

/// The RESOLVE_* checks for a jump to the root (an absolute link): EXDEV
/// under BENEATH, or to another mount under NO_XDEV.
fn check_jump_root(cur: &Arc<Dentry>, root: &Arc<Dentry>, r: Resolve) -> Result<(), Errno> {
    if r.has(Resolve::BENEATH) || (r.has(Resolve::NO_XDEV) && !same_mount(cur, root)) {
        return Err(Errno::EXDEV);
    }
    Ok(())
}

/// The RESOLVE_* checks for a magic link from `cur` to `target`: ELOOP
/// under NO_MAGICLINKS, EXDEV into another mount under NO_XDEV and always
/// when scoped (Linux: not safe for scoped lookups).
fn check_magic(cur: &Arc<Dentry>, target: &Arc<Dentry>, r: Resolve) -> Result<(), Errno> {
    if (r.has(Resolve::NO_XDEV) && !same_mount(cur, target)) || r.scoped() {
        return Err(Errno::EXDEV);
    }
    Ok(())
}

/// What a walk found.
pub enum Found {
    Dentry(Arc<Dentry>),
    /// The last component does not exist (only with `allow_missing`):
    /// `parent` is the directory it would be in.
    Missing {
        parent: Arc<Dentry>,
        name: Vec<u8>,
        /// The name was followed by a slash.
        must_dir: bool,
    },
}

/// ".." of `d`, stopping at the task's root `root` and the tree's root.
fn dotdot(d: &Arc<Dentry>, root: &Arc<Dentry>) -> Arc<Dentry> {
    if Arc::ptr_eq(d, root) {
        return Arc::clone(d);
    }
    match d.parent() {
        Some(p) => Arc::clone(p),
        None => Arc::clone(d),
    }
}

/// Resolves `path` from `start` (relative paths) or `root` (absolute paths
/// and absolute symlink targets; `start` itself under RESOLVE_BENEATH or
/// RESOLVE_IN_ROOT). An empty path is ENOENT.
pub fn walk(
    ctx: &Ctx<'_>,
    root: &Arc<Dentry>,
    start: &Arc<Dentry>,
    path: &[u8],
    opts: WalkOpts,
) -> Result<Found, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let r = opts.resolve;
    let restricted = r != Resolve::NONE;
    let root = if r.scoped() { start } else { root };
    let mut cur = if is_absolute(path) {
        if r.has(Resolve::BENEATH) {
            return Err(Errno::EXDEV);
        }
        Arc::clone(root)
    } else {
        Arc::clone(start)
    };
    let mut stack = Vec::new();
    push_components(&mut stack, path, false);
    let mut links = 0;
    let mut must_dir = false;
    while let Some(comp) = stack.pop() {
        let last = stack.is_empty();
        let st = cur.stat(ctx)?;
        if !st.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        perm::check(&st, &ctx.fs_cred(), MAY_EXEC)?;
        must_dir = comp.slash;
        match comp.name.as_slice() {
            b"." => continue,
            b".." => {
                if restricted {
                    check_dotdot(&cur, root, r)?;
                }
                cur = dotdot(&cur, root);
                continue;
            }
            _ => {}
        }
        if comp.name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let child = match cur.lookup_child(ctx, &comp.name) {
            Ok(c) => c,
            Err(e) if e == Errno::ENOENT && last && opts.allow_missing => {
                return Ok(Found::Missing {
                    parent: cur,
                    name: comp.name,
                    must_dir: comp.slash,
                });
            }
            Err(e) => return Err(e),
        };
        if restricted && r.has(Resolve::NO_XDEV) && child.is_mount_root() {
            return Err(Errno::EXDEV);
        }
        let cst = child.stat(ctx)?;
        if cst.is_symlink() && (!last || opts.follow || comp.slash) {
            if restricted && r.has(Resolve::NO_SYMLINKS) {
                return Err(Errno::ELOOP);
            }
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(Errno::ELOOP);
            }
            if let Some(target) = child.inode().follow_magic(ctx) {
                if restricted && r.has(Resolve::NO_MAGICLINKS) {
                    return Err(Errno::ELOOP);
                }
                let target = target?;
                if restricted {
                    check_magic(&cur, &target, r)?;
                }
                cur = target;
                continue;
            }
            let target = child.inode().readlink(ctx)?;
            if target.is_empty() {
                return Err(Errno::ENOENT);
            }
            if is_absolute(&target) {
                if restricted {
                    check_jump_root(&cur, root, r)?;
                }
                cur = Arc::clone(root);
            }
            push_components(&mut stack, &target, comp.slash);
            continue;
        }
        cur = child;
    }
    if must_dir && !cur.stat(ctx)?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(Found::Dentry(cur))
}

/// `walk` for an existing file: the dentry itself.
pub fn lookup(
    ctx: &Ctx<'_>,
    root: &Arc<Dentry>,
    start: &Arc<Dentry>,
    path: &[u8],
    follow: bool,
) -> Result<Arc<Dentry>, Errno> {
    let opts = if follow {
        WalkOpts::FOLLOW
    } else {
        WalkOpts::NOFOLLOW
    };
    lookup_with(ctx, root, start, path, opts)
}

/// `lookup` with all of `opts` (its `allow_missing` is ignored).
pub fn lookup_with(
    ctx: &Ctx<'_>,
    root: &Arc<Dentry>,
    start: &Arc<Dentry>,
    path: &[u8],
    opts: WalkOpts,
) -> Result<Arc<Dentry>, Errno> {
    let opts = WalkOpts {
        allow_missing: false,
        ..opts
    };
    match walk(ctx, root, start, path, opts)? {
        Found::Dentry(d) => Ok(d),
        Found::Missing { .. } => Err(Errno::ENOENT),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::vfs::file::DirEntry;
    use crate::vfs::inode::{FsInfo, Inode};
    use crate::vfs::stat::Stat;

    /// A fake in-memory tree: "d" dirs with children, "f" files, "l" links.
    enum Fake {
        Dir(HashMap<Vec<u8>, Arc<Fake>>, u32),
        File,
        Link(Vec<u8>),
    }

    impl Inode for Fake {
        fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
            let mode = match self {
                Fake::Dir(_, perm) => libc::S_IFDIR | perm,
                Fake::File => libc::S_IFREG | 0o644,
                Fake::Link(_) => libc::S_IFLNK | 0o777,
            };
            Ok(Stat {
                mode,
                ..Stat::default()
            })
        }
        fn lookup(&self, _ctx: &Ctx<'_>, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
            assert!(!name.contains(&b'/') && name != b"." && name != b".." && !name.is_empty());
            match self {
                Fake::Dir(kids, _) => kids
                    .get(name)
                    .map(|k| Arc::clone(k) as Arc<dyn Inode>)
                    .ok_or(Errno::ENOENT),
                _ => Err(Errno::ENOTDIR),
            }
        }
        fn readdir(&self, _ctx: &Ctx<'_>) -> Result<Vec<DirEntry>, Errno> {
            Ok(Vec::new())
        }
        fn readlink(&self, _ctx: &Ctx<'_>) -> Result<Vec<u8>, Errno> {
            match self {
                Fake::Link(t) => Ok(t.clone()),
                _ => Err(Errno::EINVAL),
            }
        }
        fn fs_info(&self) -> FsInfo {
            FsInfo {
                magic: 0,
                read_only: true,
            }
        }
    }

    fn dir(kids: Vec<(&str, Fake)>) -> Fake {
        Fake::Dir(
            kids.into_iter()
                .map(|(n, k)| (n.as_bytes().to_vec(), Arc::new(k)))
                .collect(),
            0o755,
        )
    }

    fn link(t: &str) -> Fake {
        Fake::Link(t.as_bytes().to_vec())
    }

    /// /usr/bin/ls, /bin -> usr/bin, /abs -> /usr, /loop -> loop,
    /// /etc/passwd, /dangling -> nowhere, /dirlink -> usr/, /flink -> etc/passwd
    fn tree() -> Arc<Dentry> {
        let root = dir(vec![
            ("usr", dir(vec![("bin", dir(vec![("ls", Fake::File)]))])),
            ("bin", link("usr/bin")),
            ("abs", link("/usr")),
            ("loop", link("loop")),
            ("etc", dir(vec![("passwd", Fake::File)])),
            ("dangling", link("nowhere")),
            ("flink", link("etc/passwd")),
            ("up", link("../../..")),
        ]);
        Dentry::new_root(Arc::new(root))
    }

    fn resolve(root: &Arc<Dentry>, path: &str, follow: bool) -> Result<Vec<u8>, Errno> {
        lookup(&Ctx::kernel(), root, root, path.as_bytes(), follow).map(|d| d.path())
    }

    #[test]
    fn walks_components() {
        let r = tree();
        assert_eq!(resolve(&r, "/usr/bin/ls", true).unwrap(), b"/usr/bin/ls");
        assert_eq!(resolve(&r, "usr//bin/", true).unwrap(), b"/usr/bin");
    }

    #[test]
    fn dot_and_dotdot() {
        let r = tree();
        assert_eq!(
            resolve(&r, "/usr/./bin/../bin/ls", true).unwrap(),
            b"/usr/bin/ls"
        );
        assert_eq!(resolve(&r, "/../../usr", true).unwrap(), b"/usr");
        assert_eq!(resolve(&r, "/", true).unwrap(), b"/");
    }

    #[test]
    fn follows_relative_and_absolute_links() {
        let r = tree();
        assert_eq!(resolve(&r, "/bin/ls", true).unwrap(), b"/usr/bin/ls");
        assert_eq!(resolve(&r, "/abs/bin", true).unwrap(), b"/usr/bin");
        assert_eq!(resolve(&r, "/up/usr", true).unwrap(), b"/usr");
    }

    #[test]
    fn last_link_followed_only_when_asked_or_slashed() {
        let r = tree();
        assert_eq!(resolve(&r, "/bin", false).unwrap(), b"/bin");
        assert_eq!(resolve(&r, "/bin", true).unwrap(), b"/usr/bin");
        assert_eq!(resolve(&r, "/bin/", false).unwrap(), b"/usr/bin");
    }

    #[test]
    fn errors() {
        let r = tree();
        assert_eq!(resolve(&r, "", true), Err(Errno::ENOENT));
        assert_eq!(resolve(&r, "/nope", true), Err(Errno::ENOENT));
        assert_eq!(resolve(&r, "/etc/passwd/x", true), Err(Errno::ENOTDIR));
        assert_eq!(resolve(&r, "/etc/passwd/", true), Err(Errno::ENOTDIR));
        assert_eq!(resolve(&r, "/etc/passwd/.", true), Err(Errno::ENOTDIR));
        assert_eq!(resolve(&r, "/flink/", true), Err(Errno::ENOTDIR));
        assert_eq!(resolve(&r, "/loop", true), Err(Errno::ELOOP));
        assert_eq!(resolve(&r, "/loop", false).unwrap(), b"/loop");
        assert_eq!(resolve(&r, "/dangling", true), Err(Errno::ENOENT));
        let long = format!("/{}", "x".repeat(256));
        assert_eq!(resolve(&r, &long, true), Err(Errno::ENAMETOOLONG));
    }

    #[test]
    fn missing_last_component_reports_its_parent() {
        let r = tree();
        let ctx = Ctx::kernel();
        let opts = WalkOpts {
            follow: true,
            allow_missing: true,
            resolve: Resolve::NONE,
        };
        match walk(&ctx, &r, &r, b"/dangling", opts).unwrap() {
            Found::Missing {
                parent,
                name,
                must_dir,
            } => {
                assert_eq!(parent.path(), b"/");
                assert_eq!(name, b"nowhere");
                assert!(!must_dir);
            }
            Found::Dentry(_) => panic!("found a dangling link's target"),
        }
        assert!(matches!(walk(&ctx, &r, &r, b"/nodir/x", opts), Err(e) if e == Errno::ENOENT));
    }

    #[test]
    fn dotdot_stops_at_a_task_root() {
        let r = tree();
        let ctx = Ctx::kernel();
        let usr = lookup(&ctx, &r, &r, b"/usr", true).unwrap();
        let d = lookup(&ctx, &usr, &usr, b"../../bin", true).unwrap();
        assert_eq!(d.path(), b"/usr/bin");
        let abs = lookup(&ctx, &usr, &usr, b"/bin", true).unwrap();
        assert_eq!(abs.path(), b"/usr/bin");
    }

    fn resolve_in(root: &Arc<Dentry>, start: &str, path: &str, r: u64) -> Result<Vec<u8>, Errno> {
        let ctx = Ctx::kernel();
        let start = lookup(&ctx, root, root, start.as_bytes(), true).unwrap();
        let opts = WalkOpts {
            resolve: Resolve(r),
            ..WalkOpts::FOLLOW
        };
        lookup_with(&ctx, root, &start, path.as_bytes(), opts).map(|d| d.path())
    }

    #[test]
    fn beneath_refuses_to_leave_the_start() {
        let r = tree();
        let b = Resolve::BENEATH;
        assert_eq!(resolve_in(&r, "/usr", "bin/ls", b).unwrap(), b"/usr/bin/ls");
        assert_eq!(resolve_in(&r, "/usr", "bin/..", b).unwrap(), b"/usr");
        assert_eq!(resolve_in(&r, "/usr", "..", b), Err(Errno::EXDEV));
        assert_eq!(resolve_in(&r, "/usr", "/usr", b), Err(Errno::EXDEV));
        assert_eq!(resolve_in(&r, "/", "abs", b), Err(Errno::EXDEV));
    }

    #[test]
    fn in_root_resolves_absolute_and_dotdot_inside_the_start() {
        let r = tree();
        let i = Resolve::IN_ROOT;
        assert_eq!(
            resolve_in(&r, "/usr", "/bin/ls", i).unwrap(),
            b"/usr/bin/ls"
        );
        assert_eq!(resolve_in(&r, "/usr", "../../bin", i).unwrap(), b"/usr/bin");
    }

    #[test]
    fn no_symlinks_refuses_any_followed_link() {
        let r = tree();
        let n = Resolve::NO_SYMLINKS;
        assert_eq!(resolve_in(&r, "/", "bin/ls", n), Err(Errno::ELOOP));
        assert_eq!(
            resolve_in(&r, "/", "usr/bin/ls", n).unwrap(),
            b"/usr/bin/ls"
        );
    }
}
