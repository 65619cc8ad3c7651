//! The virtual file system: the mount tree, the dentry cache, path
//! resolution and open file descriptions.
//!
//! The tree is the gofer's root under a writable tmpfs (an overlay) at
//! "/" (or, over a read-write gofer, the gofer's root itself, writes
//! going through to it: `Vfs::new_writable`), the sentry's devfs at "/dev" with
//! a tmpfs at "/dev/shm", its procfs at "/proc" and its small read-only
//! sysfs at "/sys", so the
//! host's /dev, /proc and /sys are never reached through the gofer. Paths
//! are resolved here, one component at a time (DESIGN invariant 3): a file
//! system only ever looks up one name, and never follows a symlink itself.
//!
//! | module      | owns                                                      |
//! |-------------|-----------------------------------------------------------|
//! | `ctx`       | the caller of an operation (task, credentials)            |
//! | `inode`     | the interface a file system implements for its nodes      |
//! | `lock`      | advisory locks (flock, fcntl, OFD), sandbox-wide          |
//! | `xattr`     | user.* extended attributes of writable file systems       |
//! | `notify`    | inotify watches on inodes and the events changes make     |
//! | `dentry`    | names over inodes, the cache, mounts, paths               |
//! | `mount`     | mount(2)/umount2(2)'s changes to the mount table, flags   |
//! | `mount_at`  | a mount at a bundle's path, made first if missing         |
//! | `container` | a container's tree over its gofer; its bind sources      |
//! | `path`      | splitting path text (pure)                                |
//! | `walk`      | resolution: ".", "..", symlinks, ELOOP, ENOTDIR           |
//! | `open`      | open(2)'s checks and dispatch; exec's open                |
//! | `perm`      | mode-bit permission checks                                |
//! | `file`      | the open file description trait                           |
//! | `dirfile`   | open directories and O_PATH files, for every fs           |
//! | `dirent`    | getdents record packing (pure)                            |
//! | `synthetic` | fixed dirs, symlinks, generated files for sentry fses     |
//! | `stat`      | attributes and their stat/statx layouts                   |
//! | `raw`       | the unsafe edge: host syscalls on donated fds             |

pub mod container;
pub mod ctx;
pub mod dentry;
pub mod dirent;
pub mod dirfile;
pub mod file;
pub mod inode;
pub mod lock;
pub mod mount;
pub mod mount_at;
pub mod notify;
pub mod open;
pub mod path;
pub mod perm;
pub(crate) mod raw;
pub mod stat;
pub mod synthetic;
pub mod walk;
pub mod xattr;

use std::sync::Arc;

pub use container::{container_root, gofer_mount_inode};
pub use ctx::Ctx;
pub use dentry::Dentry;
pub use file::FileDescription;
pub use mount_at::mount_at;
pub use stat::Stat;

use crate::errno::Errno;
use crate::fsimpl;
use crate::mm::MemoryFile;

/// Why the VFS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum VfsError {
    #[error("attaching to the gofer's root: {0}")]
    Attach(#[source] gofer::ClientError),
    #[error("the gofer's root is not a directory (mode {mode:#o})")]
    RootNotDir { mode: u32 },
    #[error("attaching to the gofer's mount source {index}: {source}")]
    AttachMount {
        index: u32,
        #[source]
        source: gofer::ClientError,
    },
    #[error("the gofer's mount source {index} is neither a directory nor a regular file (mode {mode:#o})")]
    MountType { index: u32, mode: u32 },
}

/// A task's view of the tree: its root, its working directory, its umask.
#[derive(Clone)]
pub struct FsContext {
    pub root: Arc<Dentry>,
    pub cwd: Arc<Dentry>,
    pub umask: u32,
}

/// The sandbox's file system tree.
pub struct Vfs {
    root: Arc<Dentry>,
}

impl Vfs {
    /// Mounts the gofer's root itself at "/", writable (the gofer serves
    /// it read-write: changes go through to its tree), and the same
    /// special file systems as `new`.
    pub fn new_writable(gofer: gofer::Client, memfile: Arc<MemoryFile>) -> Result<Vfs, VfsError> {
        let root = container_root(Arc::new(gofer), false, memfile)?;
        Ok(Vfs::from_root(root))
    }

    /// The sandbox's tree over `root`, a tree already built (see
    /// [`container_root`] and [`mount_at`]).
    pub fn from_root(root: Arc<Dentry>) -> Vfs {
        Vfs { root }
    }

    /// Mounts the gofer's root under a fresh tmpfs (an overlay: writes land
    /// in sandbox memory, never on the host) at "/", devfs at "/dev", a tmpfs (mode 1777,
    /// its data in `memfile`) at "/dev/shm", devpts at "/dev/pts", procfs
    /// at "/proc" and sysfs (the CPU files) at "/sys".
    pub fn new(gofer: gofer::Client, memfile: Arc<MemoryFile>) -> Result<Vfs, VfsError> {
        let client = Arc::new(gofer);
        let (fid, attr) = container::attach_root(&client)?;
        let lower = fsimpl::gofer::GoferInode::new(client, fid, attr);
        let upper = fsimpl::tmpfs::new(
            Arc::clone(&memfile),
            fsimpl::devnums::ROOT_UPPER,
            attr.mode & 0o7777,
        );
        // The upper root shows the host root's owner and times.
        let _ = upper.setattr(
            &Ctx::kernel(),
            &inode::SetAttr {
                uid: Some(attr.uid),
                gid: Some(attr.gid),
                atime: Some((attr.atime_sec, attr.atime_nsec)),
                mtime: Some((attr.mtime_sec, attr.mtime_nsec)),
                ..inode::SetAttr::default()
            },
        );
        let root = Dentry::new_root(fsimpl::overlay::new(lower, upper));
        container::special_mounts(&root, memfile);
        Ok(Vfs { root })
    }

    /// The root of the whole tree.
    pub fn root(&self) -> &Arc<Dentry> {
        &self.root
    }

    /// A new task view rooted at "/" with working directory `cwd` (which
    /// must resolve to a directory) and umask 022.
    pub fn new_fs_context(&self, cwd: &[u8]) -> Result<FsContext, Errno> {
        let ctx = Ctx::kernel();
        let d = walk::lookup(&ctx, &self.root, &self.root, cwd, true)?;
        if !d.stat(&ctx)?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(FsContext {
            root: Arc::clone(&self.root),
            cwd: d,
            umask: 0o022,
        })
    }

    /// Opens `path` (relative to `fs`'s cwd) for execve as the kernel
    /// (root): see `open_exec_as`.
    pub fn open_exec(
        &self,
        fs: &FsContext,
        path: &[u8],
    ) -> Result<(Arc<dyn FileDescription>, Stat, String), Errno> {
        self.open_exec_as(&Ctx::kernel(), fs, path)
    }

    /// Opens `path` for execve on behalf of `ctx`'s task: it must be a
    /// regular file with an execute bit the caller may use (a directory or
    /// no x bit is EACCES), and is opened read-only. Returns the file, its
    /// attributes and its absolute sandbox path.
    pub fn open_exec_as(
        &self,
        ctx: &Ctx<'_>,
        fs: &FsContext,
        path: &[u8],
    ) -> Result<(Arc<dyn FileDescription>, Stat, String), Errno> {
        let (file, st, d) = open::open_exec(ctx, &fs.root, &fs.cwd, path)?;
        let (abs, _) = d.path_from(&fs.root);
        Ok((file, st, String::from_utf8_lossy(&abs).into_owned()))
    }
}

impl Drop for Vfs {
    fn drop(&mut self) {
        // Children hold their parents: break the cycles so every dentry (and
        // its gofer fid) is released.
        self.root.clear_cache();
    }
}

/// Every task thread shares the kernel's one Vfs.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Vfs>();
    send_sync::<FsContext>();
};
