//! Calls with little to do in a sandbox but their checks: fsync,
//! fdatasync and syncfs (the file's own `sync`: a file written through to
//! the host is synced there), sync, fadvise64.

use super::{check_not_path, fd_arg};
use crate::errno::{Errno, SysResult};
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};

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
}

fn fsync(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = t.fds.get(fd_arg(a[0]))?;
    check_not_path(&*file)?;
    file.sync(false)?;
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
