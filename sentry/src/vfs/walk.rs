//! Path resolution, done entirely by the sentry (DESIGN invariant 3): one
//! component at a time through the dentry cache, "." and ".." here (".."
//! of the task's root is the root; ".." of a mount root is the mount
//! point's parent), symlinks read and followed here (at most 40), absolute
//! targets from the task's root. A file system only ever sees one name.

use std::sync::Arc;

use super::ctx::Ctx;
use super::dentry::Dentry;
use super::path::{is_absolute, push_components, NAME_MAX};
use super::perm::{self, MAY_EXEC};
use crate::errno::Errno;

/// Symlinks followed in one walk before ELOOP (Linux's MAXSYMLINKS).
pub const MAX_SYMLINKS: u32 = 40;

/// How to treat the last component.
#[derive(Clone, Copy, Debug, Default)]
pub struct WalkOpts {
    /// Follow a symlink in the last component.
    pub follow: bool,
    /// A missing last component is `Found::Missing`, not ENOENT.
    pub allow_missing: bool,
}

impl WalkOpts {
    pub const FOLLOW: WalkOpts = WalkOpts {
        follow: true,
        allow_missing: false,
    };
    pub const NOFOLLOW: WalkOpts = WalkOpts {
        follow: false,
        allow_missing: false,
    };
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
/// and absolute symlink targets). An empty path is ENOENT.
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
    let mut cur = if is_absolute(path) {
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
        let cst = child.stat(ctx)?;
        if cst.is_symlink() && (!last || opts.follow || comp.slash) {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(Errno::ELOOP);
            }
            if let Some(target) = child.inode().follow_magic(ctx) {
                cur = target?;
                continue;
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
}
