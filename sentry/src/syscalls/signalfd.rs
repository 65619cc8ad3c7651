//! signalfd and signalfd4: make a signalfd, or change an existing one's
//! mask. The file itself is `fsimpl::signalfd`.

use std::sync::Arc;

use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::fsimpl::signalfd::SignalFd;
use crate::kernel::Task;

pub fn register(t: &mut Table) {
    use Arg::*;
    const NOTE: &str =
        "poll readiness sees the creating thread's and its process's pending signals";
    t.set(
        libc::SYS_signalfd,
        signalfd,
        Support::Partial,
        &[Fd, Hex, Int],
        NOTE,
    );
    t.set(
        libc::SYS_signalfd4,
        signalfd4,
        Support::Partial,
        &[Fd, Hex, Int, Hex],
        NOTE,
    );
}

/// sizeof(sigset_t) as the kernel takes it.
const SIGSET_SIZE: u64 = 8;

fn signalfd(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_signalfd(t, a[0] as i32, a[1], a[2], 0)
}

fn signalfd4(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_signalfd(t, a[0] as i32, a[1], a[2], a[3] as i32)
}

/// In Linux's order: the mask size, the mask, the flags, then the fd.
fn do_signalfd(t: &mut Task, fd: i32, mask: u64, size: u64, flags: i32) -> SysResult {
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = t.read_struct(mask)?;
    if flags & !(libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    if fd == -1 {
        let file = Arc::new(SignalFd::new(t, mask, flags & libc::SFD_NONBLOCK != 0));
        let fd = t.fds.install(file, flags & libc::SFD_CLOEXEC != 0)?;
        return Ok(fd as u64);
    }
    let file = t.fds.get(fd)?;
    let sfd = file
        .as_any()
        .and_then(|f| f.downcast_ref::<SignalFd>())
        .ok_or(Errno::EINVAL)?;
    sfd.set_mask(mask);
    Ok(fd as u64)
}
