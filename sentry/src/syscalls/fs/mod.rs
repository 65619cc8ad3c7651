//! File syscalls: the handlers that turn app arguments into VFS calls.
//! Every pointer is checked (EFAULT), every flag word validated (EINVAL),
//! every fd looked up (EBADF) before the VFS sees anything; the path walk,
//! open's semantics and the files themselves live in `vfs` and `fsimpl`.
//!
//! | module  | syscalls                                                    |
//! |---------|-------------------------------------------------------------|
//! | `open`  | openat, open, creat, close, close_range                     |
//! | `rw`    | read, write, pread64, pwrite64, (p)readv, (p)writev(2), lseek |
//! | `stat`  | fstat, stat, lstat, newfstatat, statx, statfs, fstatfs      |
//! | `path`  | readlinkat, readlink, faccessat(2), access, getcwd, chdir, fchdir, umask |
//! | `chroot`| chroot                                                      |
//! | `handle`| name_to_handle_at, open_by_handle_at (no handles: checks, then EOPNOTSUPP/ESTALE) |
//! | `dir`   | getdents64, getdents                                        |
//! | `fcntl` | fcntl, ioctl, dup, dup2, dup3                               |
//! | `modify`| mkdir, mknod, symlink, link, unlink, rename, chmod, chown, truncate, fallocate, utimensat… |
//! | `misc`  | fsync, fdatasync, syncfs, sync, fadvise64                   |
//! | `xattr` | (l|f)(get|set|list|remove)xattr                             |
//! | `lock`  | flock, fcntl record and OFD locks                           |
//! | `splice`| sendfile, copy_file_range, splice, tee, vmsplice            |

mod chroot;
mod dir;
mod fcntl;
mod handle;
pub(crate) mod lock;
mod misc;
mod modify;
mod open;
mod path;
mod rw;
mod splice;
mod stat;
mod xattr;

use std::sync::Arc;

use super::table::Table;
use crate::errno::Errno;
use crate::kernel::Task;
use crate::mm::Segments;
use crate::vfs::dentry::Dentry;
use crate::vfs::file::FileDescription;
use crate::vfs::path::is_absolute;

pub fn register(t: &mut Table) {
    open::register(t);
    rw::register(t);
    stat::register(t);
    path::register(t);
    chroot::register(t);
    handle::register(t);
    dir::register(t);
    fcntl::register(t);
    modify::register(t);
    misc::register(t);
    lock::register(t);
    splice::register(t);
    xattr::register(t);
}

/// Most bytes one read or write transfers (Linux's MAX_RW_COUNT).
pub(super) const MAX_RW_COUNT: usize = 0x7fff_f000;

/// The top of user address space on x86-64: ranges past it are EFAULT
/// before anything is read (Linux's access_ok).
const TASK_SIZE: u64 = 0x7fff_ffff_f000;

/// The task's root and working directory, copied out of its `fs` (whose
/// lock is never held across a walk: procfs lookups take it).
pub(super) fn root_and_cwd(t: &Task) -> (Arc<Dentry>, Arc<Dentry>) {
    let fs = t.fs.lock().unwrap_or_else(|p| p.into_inner());
    (Arc::clone(&fs.root), Arc::clone(&fs.cwd))
}

/// The task's umask (applied to the mode of files it creates).
pub(super) fn umask(t: &Task) -> u32 {
    t.fs.lock().unwrap_or_else(|p| p.into_inner()).umask
}

/// Where a walk of `path` relative to `dirfd` starts, with the root: an
/// absolute path ignores `dirfd`; AT_FDCWD is the working directory; any
/// other must be an open fd (EBADF) with a place in the tree (ENOTDIR).
pub(super) fn walk_start(
    t: &Task,
    dirfd: i32,
    path: &[u8],
) -> Result<(Arc<Dentry>, Arc<Dentry>), Errno> {
    let (root, cwd) = root_and_cwd(t);
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if is_absolute(path) || dirfd == libc::AT_FDCWD {
        return Ok((root, cwd));
    }
    let file = t.fds.get(dirfd)?;
    let start = file.dentry().ok_or(Errno::ENOTDIR)?;
    Ok((root, start))
}

/// The dentry `path` names (relative to the working directory), following
/// a final symlink when `follow`.
pub(in crate::syscalls) fn lookup_path(
    t: &Task,
    path: &[u8],
    follow: bool,
) -> Result<Arc<Dentry>, Errno> {
    let (root, start) = walk_start(t, libc::AT_FDCWD, path)?;
    crate::vfs::walk::lookup(&crate::vfs::Ctx::of(t), &root, &start, path, follow)
}

/// What an *at syscall with AT_EMPTY_PATH and an empty path names: the
/// file open at `dirfd` (or the working directory for AT_FDCWD).
pub(super) enum EmptyPath {
    File(Arc<dyn FileDescription>),
    Cwd(Arc<Dentry>),
}

pub(super) fn empty_path_target(t: &Task, dirfd: i32) -> Result<EmptyPath, Errno> {
    if dirfd == libc::AT_FDCWD {
        return Ok(EmptyPath::Cwd(root_and_cwd(t).1));
    }
    Ok(EmptyPath::File(t.fds.get(dirfd)?))
}

/// Reads a path argument that may be NULL (allowed with AT_EMPTY_PATH
/// since Linux 6.11): NULL reads as "".
pub(super) fn read_path_or_null(t: &Task, addr: u64, empty_ok: bool) -> Result<Vec<u8>, Errno> {
    if addr == 0 && empty_ok {
        return Ok(Vec::new());
    }
    t.read_path(addr)
}

/// The app memory `[addr, addr+len)` as memory-file pieces for a transfer
/// (`write`: the app's memory is written, i.e. a read syscall), at most
/// MAX_RW_COUNT bytes of it. A range past the top of user space is EFAULT
/// (Linux's access_ok); a range only partly mapped is cut to its mapped
/// prefix (the transfer comes out short, as Linux's does when it faults
/// midway), and is EFAULT if none of it is mapped.
pub(super) fn user_pieces(
    t: &Task,
    addr: u64,
    len: usize,
    write: bool,
) -> Result<Vec<(u64, usize)>, Errno> {
    if len as u64 > TASK_SIZE || addr > TASK_SIZE - len as u64 {
        return Err(Errno::EFAULT);
    }
    let len = len.min(MAX_RW_COUNT);
    match t.mm.translate(addr, len, write) {
        Ok(p) => return Ok(p),
        Err(e) if e != Errno::EFAULT => return Err(e),
        Err(_) => {}
    }
    // The longest good prefix: `lo` bytes translate, `hi` bytes do not.
    let (mut lo, mut hi) = (0usize, len);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if t.mm.translate(addr, mid, write).is_ok() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    if lo == 0 {
        return Err(Errno::EFAULT);
    }
    t.mm.translate(addr, lo, write)
}

/// `pieces` of the task's memory file, ready for a file's read or write.
pub(super) fn segments(t: &Task, pieces: Vec<(u64, usize)>) -> Segments {
    Segments::new(Arc::clone(t.mm.memfile()), pieces)
}

/// EBADF unless `file` was opened for reading.
pub(super) fn check_readable(file: &dyn FileDescription) -> Result<(), Errno> {
    let fl = file.flags();
    if fl & libc::O_PATH != 0 || matches!(fl & libc::O_ACCMODE, libc::O_WRONLY | libc::O_ACCMODE) {
        return Err(Errno::EBADF);
    }
    Ok(())
}

/// EBADF unless `file` was opened for writing.
pub(super) fn check_writable(file: &dyn FileDescription) -> Result<(), Errno> {
    let fl = file.flags();
    if fl & libc::O_PATH != 0 || matches!(fl & libc::O_ACCMODE, libc::O_RDONLY | libc::O_ACCMODE) {
        return Err(Errno::EBADF);
    }
    Ok(())
}

/// EBADF for an O_PATH file (good only for fstat, fchdir, *at and close).
pub(super) fn check_not_path(file: &dyn FileDescription) -> Result<(), Errno> {
    if file.flags() & libc::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    Ok(())
}

/// An fd argument (a C int in a 64-bit register).
pub(super) fn fd_arg(v: u64) -> i32 {
    v as i32
}
