//! openat, openat2, open, creat, close, close_range.

use std::sync::Arc;

use super::{fd_arg, root_and_cwd, umask, walk_start};
use crate::errno::{Errno, SysResult};
use crate::kernel::fd_table::FdTable;
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::walk::Resolve;
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
        libc::SYS_openat2,
        openat2,
        Support::Partial,
        &[Fd, Path, Hex, Int],
        "RESOLVE_CACHED is always EAGAIN; /proc/PID/exe is not a magic link for RESOLVE_NO_MAGICLINKS",
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

/// OPEN_HOW_SIZE_VER0: sizeof(struct open_how { flags, mode, resolve }).
const OPEN_HOW_SIZE: usize = 24;

/// Every flag open(2) knows (Linux's VALID_OPEN_FLAGS on x86-64, with
/// O_LARGEFILE as the kernel spells it); openat2 refuses any other.
const VALID_OPEN_FLAGS: u64 = 0o37777703;

/// What O_PATH may come with under openat2 (Linux's O_PATH_FLAGS).
const O_PATH_FLAGS: u64 =
    (libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_PATH | libc::O_CLOEXEC) as u64;

/// The struct open_how at `addr` of `size` bytes, by the extensible-struct
/// rules: EINVAL below version 0, E2BIG beyond a page or with nonzero bytes
/// past the fields known here, EFAULT where it cannot be read.
fn read_open_how(t: &Task, addr: u64, size: u64) -> Result<[u64; 3], Errno> {
    if size < OPEN_HOW_SIZE as u64 {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let mut bytes = vec![0u8; size as usize];
    t.mm.copy_in(addr, &mut bytes)?;
    if bytes[OPEN_HOW_SIZE..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    Ok([word(0), word(1), word(2)])
}

/// openat2's strict checks of `how` (Linux's build_open_flags): unknown
/// flags or resolve bits, BENEATH with IN_ROOT, a mode without O_CREAT or
/// O_TMPFILE or beyond 07777, O_DIRECTORY with O_CREAT, O_PATH with other
/// flags are EINVAL; RESOLVE_CACHED is EAGAIN (the walk may block).
fn check_open_how(flags: u64, mode: u64, resolve: u64) -> Result<(), Errno> {
    let flags = flags & !(libc::O_CLOEXEC as u64);
    if flags & !VALID_OPEN_FLAGS != 0 || resolve & !Resolve::ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if resolve & Resolve::BENEATH != 0 && resolve & Resolve::IN_ROOT != 0 {
        return Err(Errno::EINVAL);
    }
    let will_create = flags & (libc::O_CREAT | libc::O_TMPFILE & !libc::O_DIRECTORY) as u64 != 0;
    if (will_create && mode & !0o7777 != 0) || (!will_create && mode != 0) {
        return Err(Errno::EINVAL);
    }
    let dir_creat = (libc::O_DIRECTORY | libc::O_CREAT) as u64;
    if flags & dir_creat == dir_creat {
        return Err(Errno::EINVAL);
    }
    if flags & libc::O_PATH as u64 != 0 && flags & !O_PATH_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    if resolve & Resolve::CACHED != 0 {
        return Err(Errno::EAGAIN);
    }
    Ok(())
}

fn openat2(t: &mut Task, a: [u64; 6]) -> SysResult {
    let dirfd = fd_arg(a[0]);
    let [flags, mode, resolve] = read_open_how(t, a[2], a[3])?;
    check_open_how(flags, mode, resolve)?;
    let path = t.read_path(a[1])?;
    let resolve = Resolve(resolve);
    let (root, cwd) = root_and_cwd(t);
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    // BENEATH and IN_ROOT anchor even an absolute path at dirfd.
    let start = if dirfd == libc::AT_FDCWD {
        cwd
    } else if resolve.0 & (Resolve::BENEATH | Resolve::IN_ROOT) != 0
        || !vfs::path::is_absolute(&path)
    {
        t.fds.get(dirfd)?.dentry().ok_or(Errno::ENOTDIR)?
    } else {
        cwd
    };
    let flags = flags as i32;
    let mode = mode as u32 & !umask(t);
    let ctx = Ctx::of(t);
    let file = vfs::open::open_resolve(&ctx, &root, &start, &path, flags, mode, resolve)?;
    let fd = t.fds.install(file, flags & libc::O_CLOEXEC != 0)?;
    Ok(fd as u64)
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
