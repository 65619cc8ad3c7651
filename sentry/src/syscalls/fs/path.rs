//! readlinkat, readlink, faccessat, faccessat2, access, getcwd, chdir,
//! fchdir, umask.

use std::sync::Arc;

use super::{empty_path_target, fd_arg, read_path_or_null, root_and_cwd, walk_start, EmptyPath};
use crate::errno::{Errno, SysResult};
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::ctx::Cred;
use crate::vfs::perm::{self, MAY_WRITE};
use crate::vfs::{walk, Ctx, Dentry};

pub(super) fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_readlinkat,
        readlinkat,
        Support::Full,
        &[Fd, Path, Hex, Int],
        "",
    );
    t.set(
        libc::SYS_readlink,
        readlink,
        Support::Full,
        &[Path, Hex, Int],
        "",
    );
    t.set(
        libc::SYS_faccessat,
        faccessat,
        Support::Full,
        &[Fd, Path, Int],
        "",
    );
    t.set(
        libc::SYS_faccessat2,
        faccessat2,
        Support::Full,
        &[Fd, Path, Int, Hex],
        "",
    );
    t.set(libc::SYS_access, access, Support::Full, &[Path, Int], "");
    t.set(libc::SYS_getcwd, getcwd, Support::Full, &[Hex, Int], "");
    t.set(libc::SYS_chdir, chdir, Support::Full, &[Path], "");
    t.set(libc::SYS_fchdir, fchdir, Support::Full, &[Fd], "");
    t.set(libc::SYS_umask, umask, Support::Full, &[Mode], "");
}

fn do_readlink(t: &Task, dirfd: i32, path_addr: u64, buf: u64, size: u64) -> SysResult {
    let size = size as i32;
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let path = t.read_path(path_addr)?;
    let ctx = Ctx::of(t);
    let d = if path.is_empty() {
        // An empty path reads the link an O_PATH|O_NOFOLLOW fd refers to.
        match empty_path_target(t, dirfd)? {
            EmptyPath::File(f) => f.dentry().ok_or(Errno::ENOENT)?,
            EmptyPath::Cwd(_) => return Err(Errno::ENOENT),
        }
    } else {
        let (root, start) = walk_start(t, dirfd, &path)?;
        walk::lookup(&ctx, &root, &start, &path, false)?
    };
    if !d.stat(&ctx)?.is_symlink() {
        return Err(if path.is_empty() {
            Errno::ENOENT
        } else {
            Errno::EINVAL
        });
    }
    let target = d.inode().readlink(&ctx)?;
    let n = target.len().min(size as usize);
    t.mm.copy_out(buf, &target[..n])?;
    Ok(n as u64)
}

fn readlinkat(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_readlink(t, fd_arg(a[0]), a[1], a[2], a[3])
}

fn readlink(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_readlink(t, libc::AT_FDCWD, a[0], a[1], a[2])
}

fn do_access(t: &Task, dirfd: i32, path_addr: u64, mode: u64, flags: i32) -> SysResult {
    let mode = mode as i32;
    if mode & !(libc::R_OK | libc::W_OK | libc::X_OK) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & !(libc::AT_EACCESS | libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let empty_ok = flags & libc::AT_EMPTY_PATH != 0;
    let path = read_path_or_null(t, path_addr, empty_ok)?;
    let ctx = Ctx::of(t);
    let (st, fs) = if path.is_empty() && empty_ok {
        let d = match empty_path_target(t, dirfd)? {
            EmptyPath::File(f) => match f.dentry() {
                Some(d) => d,
                None => return check_mode(&f.stat()?, mode, false, &cred(&ctx, flags)),
            },
            EmptyPath::Cwd(d) => d,
        };
        (d.stat(&ctx)?, d.read_only())
    } else {
        let (root, start) = walk_start(t, dirfd, &path)?;
        let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
        let d = walk::lookup(&ctx, &root, &start, &path, follow)?;
        (d.stat(&ctx)?, d.read_only())
    };
    check_mode(&st, mode, fs, &cred(&ctx, flags))
}

/// access(2) checks with the real ids unless AT_EACCESS.
fn cred<'a>(ctx: &Ctx<'a>, flags: i32) -> Cred<'a> {
    if flags & libc::AT_EACCESS != 0 {
        ctx.fs_cred()
    } else {
        ctx.real_cred()
    }
}

fn check_mode(st: &crate::vfs::Stat, mode: i32, read_only: bool, cred: &Cred<'_>) -> SysResult {
    let want = mode as u32;
    let data = st.is_regular() || st.is_dir() || st.is_symlink();
    if want & MAY_WRITE != 0 && read_only && data {
        return Err(Errno::EROFS);
    }
    perm::check(st, cred, want)?;
    Ok(0)
}

fn faccessat(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_access(t, fd_arg(a[0]), a[1], a[2], 0)
}

fn faccessat2(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_access(t, fd_arg(a[0]), a[1], a[2], a[3] as i32)
}

fn access(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_access(t, libc::AT_FDCWD, a[0], a[1], 0)
}

fn getcwd(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (root, cwd) = root_and_cwd(t);
    let (mut path, reachable) = cwd.path_from(&root);
    if !reachable {
        let mut p = b"(unreachable)".to_vec();
        p.extend_from_slice(&path);
        path = p;
    }
    path.push(0);
    if path.len() as u64 > a[1] {
        return Err(Errno::ERANGE);
    }
    t.mm.copy_out(a[0], &path)?;
    Ok(path.len() as u64)
}

/// Makes `d` the working directory: it must be a directory the caller may search.
fn set_cwd(t: &Task, d: Arc<Dentry>) -> SysResult {
    let ctx = Ctx::of(t);
    let st = d.stat(&ctx)?;
    if !st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    perm::check(&st, &ctx.fs_cred(), perm::MAY_EXEC)?;
    t.fs.lock().unwrap_or_else(|p| p.into_inner()).cwd = d;
    Ok(0)
}

fn chdir(t: &mut Task, a: [u64; 6]) -> SysResult {
    let path = t.read_path(a[0])?;
    let (root, start) = walk_start(t, libc::AT_FDCWD, &path)?;
    let d = walk::lookup(&Ctx::of(t), &root, &start, &path, true)?;
    set_cwd(t, d)
}

fn fchdir(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = t.fds.get(fd_arg(a[0]))?;
    let d = file.dentry().ok_or(Errno::ENOTDIR)?;
    set_cwd(t, d)
}

fn umask(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut fs = t.fs.lock().unwrap_or_else(|p| p.into_inner());
    let old = fs.umask;
    fs.umask = a[0] as u32 & 0o777;
    Ok(u64::from(old))
}
