//! Calls with nothing to do on read-only files but their checks: fsync,
//! fdatasync, syncfs, sync, fadvise64, flock (one process: always
//! granted); and the xattr calls, which no file system here supports.

use super::{check_not_path, fd_arg, read_path_or_null, walk_start};
use crate::errno::{Errno, SysResult};
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::{walk, Ctx};

pub(super) fn register(t: &mut Table) {
    use Arg::*;
    t.set(libc::SYS_fsync, fsync, Support::Full, &[Fd], "");
    t.set(libc::SYS_fdatasync, fsync, Support::Full, &[Fd], "");
    t.set(libc::SYS_syncfs, fsync, Support::Full, &[Fd], "");
    t.set(libc::SYS_sync, sync, Support::Full, &[], "");
    t.set(
        libc::SYS_fadvise64,
        fadvise64,
        Support::Full,
        &[Fd, Int, Int, Int],
        "advice accepted and ignored",
    );
    t.set(
        libc::SYS_flock,
        flock,
        Support::Partial,
        &[Fd, Hex],
        "always granted (one process per sandbox for now)",
    );
    let xnote = "no extended attributes: EOPNOTSUPP (lists are empty)";
    t.set(
        libc::SYS_getxattr,
        getxattr,
        Support::Partial,
        &[Path, Path, Hex, Int],
        xnote,
    );
    t.set(
        libc::SYS_lgetxattr,
        lgetxattr,
        Support::Partial,
        &[Path, Path, Hex, Int],
        xnote,
    );
    t.set(
        libc::SYS_fgetxattr,
        fgetxattr,
        Support::Partial,
        &[Fd, Path, Hex, Int],
        xnote,
    );
    t.set(
        libc::SYS_listxattr,
        listxattr,
        Support::Partial,
        &[Path, Hex, Int],
        xnote,
    );
    t.set(
        libc::SYS_llistxattr,
        llistxattr,
        Support::Partial,
        &[Path, Hex, Int],
        xnote,
    );
    t.set(
        libc::SYS_flistxattr,
        flistxattr,
        Support::Partial,
        &[Fd, Hex, Int],
        xnote,
    );
}

fn fsync(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = t.fds.get(fd_arg(a[0]))?;
    check_not_path(&*file)?;
    Ok(0)
}

fn sync(_t: &mut Task, _a: [u64; 6]) -> SysResult {
    Ok(0)
}

fn fadvise64(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = t.fds.get(fd_arg(a[0]))?;
    check_not_path(&*file)?;
    if (a[2] as i64) < 0 || !(0..=5).contains(&(a[3] as i32)) {
        return Err(Errno::EINVAL);
    }
    if file.stat()?.file_type() == libc::S_IFIFO {
        return Err(Errno::ESPIPE);
    }
    Ok(0)
}

fn flock(t: &mut Task, a: [u64; 6]) -> SysResult {
    let _file = t.fds.get(fd_arg(a[0]))?;
    let op = a[1] as i32 & !libc::LOCK_NB;
    if !matches!(op, libc::LOCK_SH | libc::LOCK_EX | libc::LOCK_UN) {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// Resolves the path of a path-based xattr call (so its errors come first).
fn xattr_path(t: &Task, addr: u64, follow: bool) -> Result<(), Errno> {
    let path = read_path_or_null(t, addr, false)?;
    let (root, start) = walk_start(t, libc::AT_FDCWD, &path)?;
    walk::lookup(&Ctx::of(t), &root, &start, &path, follow)?;
    Ok(())
}

/// Checks an attribute name argument: readable, 1..=255 bytes.
fn xattr_name(t: &Task, addr: u64) -> Result<(), Errno> {
    let name = t.mm.read_cstring(addr, 255).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::ERANGE
        } else {
            e
        }
    })?;
    if name.is_empty() {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

fn getxattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    xattr_path(t, a[0], true)?;
    xattr_name(t, a[1])?;
    Err(Errno::EOPNOTSUPP)
}

fn lgetxattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    xattr_path(t, a[0], false)?;
    xattr_name(t, a[1])?;
    Err(Errno::EOPNOTSUPP)
}

fn fgetxattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = t.fds.get(fd_arg(a[0]))?;
    check_not_path(&*file)?;
    xattr_name(t, a[1])?;
    Err(Errno::EOPNOTSUPP)
}

fn listxattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    xattr_path(t, a[0], true)?;
    Ok(0)
}

fn llistxattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    xattr_path(t, a[0], false)?;
    Ok(0)
}

fn flistxattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = t.fds.get(fd_arg(a[0]))?;
    check_not_path(&*file)?;
    Ok(0)
}
