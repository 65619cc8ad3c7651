//! The syscalls that change the tree or attributes: mkdir, mknod, symlink,
//! link, unlink, rmdir, rename, chmod, chown, truncate, utimensat. No file
//! system of the sentry's supports changes yet, so each does Linux's
//! checks in Linux's order (EFAULT, EINVAL, ENOENT, ENOTDIR, EEXIST, EBUSY,
//! EISDIR, EXDEV…) and then fails with EROFS on the read-only root, or
//! EPERM on the sentry's own file systems.

use std::sync::Arc;

use super::{check_not_path, fd_arg, read_path_or_null, walk_start};
use crate::errno::{Errno, SysResult};
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::walk::{self, Found, WalkOpts};
use crate::vfs::{Ctx, Dentry};

const NOTE: &str = "checks only: every file system is read-only (EROFS) or fixed (EPERM)";

pub(super) fn register(t: &mut Table) {
    use Arg::*;
    let p = Support::Partial;
    t.set(libc::SYS_mkdir, mkdir, p, &[Path, Mode], NOTE);
    t.set(libc::SYS_mkdirat, mkdirat, p, &[Fd, Path, Mode], NOTE);
    t.set(libc::SYS_mknod, mknod, p, &[Path, Mode, Hex], NOTE);
    t.set(libc::SYS_mknodat, mknodat, p, &[Fd, Path, Mode, Hex], NOTE);
    t.set(libc::SYS_symlink, symlink, p, &[Path, Path], NOTE);
    t.set(libc::SYS_symlinkat, symlinkat, p, &[Path, Fd, Path], NOTE);
    t.set(libc::SYS_link, link, p, &[Path, Path], NOTE);
    t.set(
        libc::SYS_linkat,
        linkat,
        p,
        &[Fd, Path, Fd, Path, Hex],
        NOTE,
    );
    t.set(libc::SYS_unlink, unlink, p, &[Path], NOTE);
    t.set(libc::SYS_unlinkat, unlinkat, p, &[Fd, Path, Hex], NOTE);
    t.set(libc::SYS_rmdir, rmdir, p, &[Path], NOTE);
    t.set(libc::SYS_rename, rename, p, &[Path, Path], NOTE);
    t.set(libc::SYS_renameat, renameat, p, &[Fd, Path, Fd, Path], NOTE);
    t.set(
        libc::SYS_renameat2,
        renameat2,
        p,
        &[Fd, Path, Fd, Path, Hex],
        NOTE,
    );
    t.set(libc::SYS_chmod, chmod, p, &[Path, Mode], NOTE);
    t.set(libc::SYS_fchmod, fchmod, p, &[Fd, Mode], NOTE);
    t.set(libc::SYS_fchmodat, fchmodat, p, &[Fd, Path, Mode], NOTE);
    t.set(libc::SYS_chown, chown, p, &[Path, Int, Int], NOTE);
    t.set(libc::SYS_lchown, lchown, p, &[Path, Int, Int], NOTE);
    t.set(libc::SYS_fchown, fchown, p, &[Fd, Int, Int], NOTE);
    t.set(
        libc::SYS_fchownat,
        fchownat,
        p,
        &[Fd, Path, Int, Int, Hex],
        NOTE,
    );
    t.set(libc::SYS_truncate, truncate, p, &[Path, Int], NOTE);
    t.set(libc::SYS_ftruncate, ftruncate, p, &[Fd, Int], NOTE);
    t.set(
        libc::SYS_utimensat,
        utimensat,
        p,
        &[Fd, Path, Hex, Hex],
        NOTE,
    );
}

/// The error for changing something on `d`'s file system.
fn change_error(d: &Dentry) -> Errno {
    if d.inode().fs_info().read_only {
        Errno::EROFS
    } else {
        Errno::EPERM
    }
}

/// What the last component of a path is, from its text.
#[derive(Debug, PartialEq, Eq)]
enum Last {
    Normal,
    Dot,
    DotDot,
    Root,
}

fn last_kind(path: &[u8]) -> Last {
    let trimmed = match path.iter().rposition(|&b| b != b'/') {
        Some(i) => &path[..=i],
        None => return Last::Root,
    };
    let name = trimmed.rsplit(|&b| b == b'/').next().unwrap_or_default();
    match name {
        b"." => Last::Dot,
        b".." => Last::DotDot,
        _ => Last::Normal,
    }
}

/// The directory a path's last component is in, and that component if it exists.
struct Parent {
    dir: Arc<Dentry>,
    last: Last,
    existing: Option<Arc<Dentry>>,
    /// The path ended with a slash.
    slash: bool,
}

/// Resolves everything but the last component of `path` (read at
/// `path_addr`, relative to `dirfd`), then looks the last one up without
/// following it.
fn parent_of(t: &Task, dirfd: i32, path_addr: u64) -> Result<Parent, Errno> {
    let path = t.read_path(path_addr)?;
    let (root, start) = walk_start(t, dirfd, &path)?;
    let ctx = Ctx::of(t);
    let last = last_kind(&path);
    let slash = path.last() == Some(&b'/');
    if last != Last::Normal {
        let d = walk::lookup(&ctx, &root, &start, &path, true)?;
        return Ok(Parent {
            dir: Arc::clone(&d),
            last,
            existing: Some(d),
            slash,
        });
    }
    let opts = WalkOpts {
        follow: false,
        allow_missing: true,
    };
    Ok(match walk::walk(&ctx, &root, &start, &path, opts)? {
        Found::Missing { parent, .. } => Parent {
            dir: parent,
            last,
            existing: None,
            slash,
        },
        Found::Dentry(d) => Parent {
            dir: d.parent().cloned().unwrap_or_else(|| Arc::clone(&d)),
            last,
            existing: Some(d),
            slash,
        },
    })
}

/// mkdir, mknod, symlink's and link's new name: EEXIST if it exists.
fn create_at(t: &Task, dirfd: i32, path_addr: u64) -> SysResult {
    let p = parent_of(t, dirfd, path_addr)?;
    if p.existing.is_some() {
        return Err(Errno::EEXIST);
    }
    Err(change_error(&p.dir))
}

fn mkdir(t: &mut Task, a: [u64; 6]) -> SysResult {
    create_at(t, libc::AT_FDCWD, a[0])
}

fn mkdirat(t: &mut Task, a: [u64; 6]) -> SysResult {
    create_at(t, fd_arg(a[0]), a[1])
}

fn check_mknod_mode(mode: u32) -> Result<(), Errno> {
    match mode & libc::S_IFMT {
        0 | libc::S_IFREG | libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO | libc::S_IFSOCK => {
            Ok(())
        }
        libc::S_IFDIR => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

fn mknod(t: &mut Task, a: [u64; 6]) -> SysResult {
    check_mknod_mode(a[1] as u32)?;
    create_at(t, libc::AT_FDCWD, a[0])
}

fn mknodat(t: &mut Task, a: [u64; 6]) -> SysResult {
    check_mknod_mode(a[2] as u32)?;
    create_at(t, fd_arg(a[0]), a[1])
}

fn do_symlink(t: &Task, target: u64, dirfd: i32, path: u64) -> SysResult {
    if t.read_path(target)?.is_empty() {
        return Err(Errno::ENOENT);
    }
    create_at(t, dirfd, path)
}

fn symlink(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_symlink(t, a[0], libc::AT_FDCWD, a[1])
}

fn symlinkat(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_symlink(t, a[0], fd_arg(a[1]), a[2])
}

fn do_link(t: &Task, olddir: i32, old: u64, newdir: i32, new: u64, flags: i32) -> SysResult {
    if flags & !(libc::AT_SYMLINK_FOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let empty_ok = flags & libc::AT_EMPTY_PATH != 0;
    let old_path = read_path_or_null(t, old, empty_ok)?;
    let ctx = Ctx::of(t);
    let src = if old_path.is_empty() && empty_ok {
        t.fds.get(olddir)?.dentry().ok_or(Errno::ENOENT)?
    } else {
        let (root, start) = walk_start(t, olddir, &old_path)?;
        walk::lookup(
            &ctx,
            &root,
            &start,
            &old_path,
            flags & libc::AT_SYMLINK_FOLLOW != 0,
        )?
    };
    let p = parent_of(t, newdir, new)?;
    if p.existing.is_some() {
        return Err(Errno::EEXIST);
    }
    if !Arc::ptr_eq(&src.mount_root(), &p.dir.mount_root()) {
        return Err(Errno::EXDEV);
    }
    if src.stat(&ctx)?.is_dir() {
        return Err(Errno::EPERM);
    }
    Err(change_error(&p.dir))
}

fn link(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_link(t, libc::AT_FDCWD, a[0], libc::AT_FDCWD, a[1], 0)
}

fn linkat(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_link(t, fd_arg(a[0]), a[1], fd_arg(a[2]), a[3], a[4] as i32)
}

/// unlink and rmdir.
fn remove(t: &Task, dirfd: i32, path: u64, dir: bool) -> SysResult {
    let p = parent_of(t, dirfd, path)?;
    match (&p.last, dir) {
        (Last::Normal, _) => {}
        (Last::Dot, true) => return Err(Errno::EINVAL),
        (Last::DotDot, true) => return Err(Errno::ENOTEMPTY),
        (Last::Root, true) => return Err(Errno::EBUSY),
        (_, false) => return Err(Errno::EISDIR),
    }
    let ro = p.dir.inode().fs_info().read_only;
    if ro {
        return Err(Errno::EROFS);
    }
    let victim = p.existing.ok_or(Errno::ENOENT)?;
    let is_dir = victim.stat(&Ctx::of(t))?.is_dir();
    if dir && !is_dir {
        return Err(Errno::ENOTDIR);
    }
    if !dir && (is_dir || p.slash) {
        return Err(if is_dir {
            Errno::EISDIR
        } else {
            Errno::ENOTDIR
        });
    }
    Err(change_error(&p.dir))
}

fn unlink(t: &mut Task, a: [u64; 6]) -> SysResult {
    remove(t, libc::AT_FDCWD, a[0], false)
}

fn unlinkat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[2] as i32;
    if flags & !libc::AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    remove(t, fd_arg(a[0]), a[1], flags & libc::AT_REMOVEDIR != 0)
}

fn rmdir(t: &mut Task, a: [u64; 6]) -> SysResult {
    remove(t, libc::AT_FDCWD, a[0], true)
}

fn do_rename(t: &Task, a: [u64; 6], flags: u32) -> SysResult {
    let known = libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE | libc::RENAME_WHITEOUT;
    if flags & !known != 0
        || (flags & libc::RENAME_EXCHANGE != 0
            && flags & (libc::RENAME_NOREPLACE | libc::RENAME_WHITEOUT) != 0)
    {
        return Err(Errno::EINVAL);
    }
    let old = parent_of(t, fd_arg(a[0]), a[1])?;
    let new = parent_of(t, fd_arg(a[2]), a[3])?;
    if !Arc::ptr_eq(&old.dir.mount_root(), &new.dir.mount_root()) {
        return Err(Errno::EXDEV);
    }
    if old.last != Last::Normal || new.last != Last::Normal {
        return Err(Errno::EBUSY);
    }
    if old.dir.inode().fs_info().read_only {
        return Err(Errno::EROFS);
    }
    old.existing.ok_or(Errno::ENOENT)?;
    Err(change_error(&new.dir))
}

fn rename(t: &mut Task, a: [u64; 6]) -> SysResult {
    let at = libc::AT_FDCWD as u64;
    do_rename(t, [at, a[0], at, a[1], 0, 0], 0)
}

fn renameat(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_rename(t, a, 0)
}

fn renameat2(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_rename(t, a, a[4] as u32)
}

/// chmod, chown, utimensat on a path: resolve it, then refuse.
fn change_path(t: &Task, dirfd: i32, path_addr: u64, flags: i32) -> SysResult {
    let empty_ok = flags & libc::AT_EMPTY_PATH != 0;
    let path = read_path_or_null(t, path_addr, empty_ok)?;
    let d = if path.is_empty() && empty_ok {
        t.fds.get(dirfd)?.dentry().ok_or(Errno::EPERM)?
    } else {
        let (root, start) = walk_start(t, dirfd, &path)?;
        walk::lookup(
            &Ctx::of(t),
            &root,
            &start,
            &path,
            flags & libc::AT_SYMLINK_NOFOLLOW == 0,
        )?
    };
    Err(change_error(&d))
}

/// fchmod, fchown on an fd.
fn change_fd(t: &Task, fd: u64) -> SysResult {
    let file = t.fds.get(fd_arg(fd))?;
    check_not_path(&*file)?;
    match file.dentry() {
        Some(d) => Err(change_error(&d)),
        None => Err(Errno::EPERM),
    }
}

fn chmod(t: &mut Task, a: [u64; 6]) -> SysResult {
    change_path(t, libc::AT_FDCWD, a[0], 0)
}

fn fchmod(t: &mut Task, a: [u64; 6]) -> SysResult {
    change_fd(t, a[0])
}

fn fchmodat(t: &mut Task, a: [u64; 6]) -> SysResult {
    change_path(t, fd_arg(a[0]), a[1], 0)
}

fn chown(t: &mut Task, a: [u64; 6]) -> SysResult {
    change_path(t, libc::AT_FDCWD, a[0], 0)
}

fn lchown(t: &mut Task, a: [u64; 6]) -> SysResult {
    change_path(t, libc::AT_FDCWD, a[0], libc::AT_SYMLINK_NOFOLLOW)
}

fn fchown(t: &mut Task, a: [u64; 6]) -> SysResult {
    change_fd(t, a[0])
}

fn fchownat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[4] as i32;
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    change_path(t, fd_arg(a[0]), a[1], flags)
}

fn truncate(t: &mut Task, a: [u64; 6]) -> SysResult {
    if (a[1] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let path = t.read_path(a[0])?;
    let (root, start) = walk_start(t, libc::AT_FDCWD, &path)?;
    let ctx = Ctx::of(t);
    let d = walk::lookup(&ctx, &root, &start, &path, true)?;
    let st = d.stat(&ctx)?;
    if st.is_dir() {
        return Err(Errno::EISDIR);
    }
    if !st.is_regular() {
        return Err(Errno::EINVAL);
    }
    Err(change_error(&d))
}

fn ftruncate(t: &mut Task, a: [u64; 6]) -> SysResult {
    if (a[1] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let file = t.fds.get(fd_arg(a[0]))?;
    check_not_path(&*file)?;
    // No regular file is ever open for writing.
    Err(Errno::EINVAL)
}

/// UTIME_NOW and UTIME_OMIT, the tv_nsec values besides 0..1e9.
const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;

fn utimensat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (dirfd, path, times, flags) = (fd_arg(a[0]), a[1], a[2], a[3] as i32);
    if times != 0 {
        let mut raw = [0u8; 32];
        t.mm.copy_in(times, &mut raw)?;
        for half in raw.chunks_exact(16) {
            let mut nsec = [0u8; 8];
            nsec.copy_from_slice(&half[8..]);
            let nsec = i64::from_ne_bytes(nsec);
            if nsec != UTIME_NOW && nsec != UTIME_OMIT && !(0..1_000_000_000).contains(&nsec) {
                return Err(Errno::EINVAL);
            }
        }
    }
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    if path == 0 {
        // futimens: the fd itself.
        if dirfd == libc::AT_FDCWD {
            return Err(Errno::EFAULT);
        }
        return change_fd(t, dirfd as u64);
    }
    change_path(t, dirfd, path, flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_component_kinds() {
        assert_eq!(last_kind(b"/"), Last::Root);
        assert_eq!(last_kind(b"///"), Last::Root);
        assert_eq!(last_kind(b"a/."), Last::Dot);
        assert_eq!(last_kind(b".."), Last::DotDot);
        assert_eq!(last_kind(b"a/../"), Last::DotDot);
        assert_eq!(last_kind(b"a/b/"), Last::Normal);
        assert_eq!(last_kind(b"...."), Last::Normal);
    }
}
