//! openat, open, creat, close, close_range.

use std::sync::Arc;

use super::{fd_arg, umask, walk_start};
use crate::errno::{Errno, SysResult};
use crate::kernel::fd_table::FdTable;
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::{self, Ctx};

pub(super) fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_openat,
        openat,
        Support::Full,
        &[Fd, Path, OpenFlags, Mode],
        "",
    );
    t.set(
        libc::SYS_open,
        open,
        Support::Full,
        &[Path, OpenFlags, Mode],
        "",
    );
    t.set(libc::SYS_creat, creat, Support::Full, &[Path, Mode], "");
    t.set(libc::SYS_close, close, Support::Full, &[Fd], "");
    t.set(
        libc::SYS_close_range,
        close_range,
        Support::Full,
        &[Int, Int, Hex],
        "",
    );
}

/// Opens `path` relative to `dirfd` and installs the new file; `mode` is
/// the permission bits for a file O_CREAT makes (the umask is applied here).
pub(super) fn do_open(t: &Task, dirfd: i32, path_addr: u64, flags: i32, mode: u32) -> SysResult {
    let path = t.read_path(path_addr)?;
    let (root, start) = walk_start(t, dirfd, &path)?;
    let mode = mode & 0o7777 & !umask(t);
    let file = vfs::open::open_mode(&Ctx::of(t), &root, &start, &path, flags, mode)?;
    let fd = t.fds.install(file, flags & libc::O_CLOEXEC != 0)?;
    Ok(fd as u64)
}

fn openat(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_open(t, fd_arg(a[0]), a[1], a[2] as i32, a[3] as u32)
}

fn open(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_open(t, libc::AT_FDCWD, a[0], a[1] as i32, a[2] as u32)
}

fn creat(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_open(
        t,
        libc::AT_FDCWD,
        a[0],
        libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
        a[1] as u32,
    )
}

fn close(t: &mut Task, a: [u64; 6]) -> SysResult {
    let entry = t.fds.remove(fd_arg(a[0]))?;
    super::lock::on_close(t.tgid, &*entry.file);
    Ok(0)
}

fn close_range(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (first, last, flags) = (a[0] as u32, a[1] as u32, a[2] as u32);
    if flags & !(libc::CLOSE_RANGE_UNSHARE | libc::CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    if flags & libc::CLOSE_RANGE_UNSHARE != 0 {
        t.fds = Arc::new(copy_table(&t.fds));
    }
    let in_range = |fd: i32| fd >= 0 && (fd as u32) >= first && (fd as u32) <= last;
    for fd in t.fds.fds().into_iter().filter(|&fd| in_range(fd)) {
        if flags & libc::CLOSE_RANGE_CLOEXEC != 0 {
            let _ = t.fds.set_cloexec(fd, true);
        } else {
            if let Ok(entry) = t.fds.remove(fd) {
                super::lock::on_close(t.tgid, &*entry.file);
            }
        }
    }
    Ok(0)
}

/// A private copy of `fds` (CLOSE_RANGE_UNSHARE).
fn copy_table(fds: &FdTable) -> FdTable {
    let new = FdTable::new();
    new.set_limit(fds.limit());
    for fd in fds.fds() {
        if let Ok(e) = fds.get_entry(fd) {
            let _ = new.install_at(fd, e.file, e.cloexec);
        }
    }
    new
}
