//! Objects made by a syscall rather than opened by path: pipe, pipe2,
//! eventfd, eventfd2, timerfd_create, timerfd_settime, timerfd_gettime.
//! The objects themselves live in `fsimpl::{pipe, eventfd, timerfd}`.

use std::sync::Arc;
use std::time::Duration;

use super::fs::check_not_path;
use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::fsimpl::eventfd::EventFd;
use crate::fsimpl::pipe::new_pipe;
use crate::fsimpl::timerfd::{Clock, TimerFd};
use crate::kernel::Task;
use crate::vfs::file::FileDescription;

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(libc::SYS_pipe, pipe, Support::Full, &[Hex], "");
    t.set(
        libc::SYS_pipe2,
        pipe2,
        Support::Partial,
        &[Hex, OpenFlags],
        "O_NOTIFICATION_PIPE (watch queues) is ENOPKG",
    );
    t.set(libc::SYS_eventfd, eventfd, Support::Full, &[Int], "");
    t.set(libc::SYS_eventfd2, eventfd2, Support::Full, &[Int, Hex], "");
    t.set(
        libc::SYS_timerfd_create,
        timerfd_create,
        Support::Partial,
        &[Int, Hex],
        "the alarm clocks run as their base clocks",
    );
    t.set(
        libc::SYS_timerfd_settime,
        timerfd_settime,
        Support::Partial,
        &[Fd, Hex, Hex, Hex],
        "TFD_TIMER_CANCEL_ON_SET accepted but never cancels; absolute CLOCK_REALTIME times are fixed when set",
    );
    t.set(
        libc::SYS_timerfd_gettime,
        timerfd_gettime,
        Support::Full,
        &[Fd, Hex],
        "",
    );
}

/// Linux's O_NOTIFICATION_PIPE (O_EXCL reused).
const O_NOTIFICATION_PIPE: i32 = libc::O_EXCL;

fn pipe(t: &mut Task, a: [u64; 6]) -> SysResult {
    make_pipe(t, a[0], 0)
}

fn pipe2(t: &mut Task, a: [u64; 6]) -> SysResult {
    make_pipe(t, a[0], a[1] as i32)
}

fn make_pipe(t: &mut Task, addr: u64, flags: i32) -> SysResult {
    if flags & !(libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_DIRECT | O_NOTIFICATION_PIPE) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & O_NOTIFICATION_PIPE != 0 {
        return Err(Errno(libc::ENOPKG));
    }
    let (r, w) = new_pipe(t.creds.euid, t.creds.egid, flags);
    let cloexec = flags & libc::O_CLOEXEC != 0;
    let rfd = t.fds.install(r, cloexec)?;
    let wfd = match t.fds.install(w, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = t.fds.remove(rfd);
            return Err(e);
        }
    };
    if let Err(e) = t.write_struct(addr, &[rfd, wfd]) {
        let _ = t.fds.remove(rfd);
        let _ = t.fds.remove(wfd);
        return Err(e);
    }
    Ok(0)
}

fn eventfd(t: &mut Task, a: [u64; 6]) -> SysResult {
    make_eventfd(t, a[0] as u32, 0)
}

fn eventfd2(t: &mut Task, a: [u64; 6]) -> SysResult {
    make_eventfd(t, a[0] as u32, a[1] as i32)
}

fn make_eventfd(t: &mut Task, initval: u32, flags: i32) -> SysResult {
    if flags & !(libc::EFD_CLOEXEC | libc::EFD_NONBLOCK | libc::EFD_SEMAPHORE) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = Arc::new(EventFd::new(
        initval,
        flags & libc::EFD_SEMAPHORE != 0,
        flags & libc::EFD_NONBLOCK != 0,
    ));
    Ok(t.fds.install(file, flags & libc::EFD_CLOEXEC != 0)? as u64)
}

fn timerfd_create(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[1] as i32;
    if flags & !(libc::TFD_CLOEXEC | libc::TFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let clock = Clock::from_id(a[0] as i32)?;
    let file = TimerFd::new(clock, flags & libc::TFD_NONBLOCK != 0);
    Ok(t.fds.install(file, flags & libc::TFD_CLOEXEC != 0)? as u64)
}

/// struct itimerspec: it_interval then it_value, each (tv_sec, tv_nsec).
type ItimerSpec = [i64; 4];

fn duration_of(sec: i64, nsec: i64) -> Option<Duration> {
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return None;
    }
    Some(Duration::new(sec as u64, nsec as u32))
}

fn itimerspec_of(value: Duration, interval: Duration) -> ItimerSpec {
    let ts = |d: Duration| {
        (
            d.as_secs().min(i64::MAX as u64) as i64,
            i64::from(d.subsec_nanos()),
        )
    };
    let (is, ins) = ts(interval);
    let (vs, vns) = ts(value);
    [is, ins, vs, vns]
}

/// The timerfd open at `fd`: EBADF if none is open there, EINVAL if it is
/// another kind of file.
fn timerfd_at(t: &Task, fd: u64) -> Result<Arc<dyn FileDescription>, Errno> {
    let file = t.fds.get(fd as i32)?;
    check_not_path(&*file)?;
    if file
        .as_any()
        .and_then(|a| a.downcast_ref::<TimerFd>())
        .is_none()
    {
        return Err(Errno::EINVAL);
    }
    Ok(file)
}

fn as_timerfd(file: &Arc<dyn FileDescription>) -> Result<&TimerFd, Errno> {
    file.as_any()
        .and_then(|a| a.downcast_ref::<TimerFd>())
        .ok_or(Errno::EINVAL)
}

fn timerfd_settime(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[1] as i32;
    let new: ItimerSpec = t.read_struct(a[2])?;
    let interval = duration_of(new[0], new[1]);
    let value = duration_of(new[2], new[3]);
    let (Some(interval), Some(value)) = (interval, value) else {
        return Err(Errno::EINVAL);
    };
    if flags & !(libc::TFD_TIMER_ABSTIME | libc::TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = timerfd_at(t, a[0])?;
    let tfd = as_timerfd(&file)?;
    let (old_value, old_interval) = tfd.set(value, interval, flags & libc::TFD_TIMER_ABSTIME != 0);
    if a[3] != 0 {
        t.write_struct(a[3], &itimerspec_of(old_value, old_interval))?;
    }
    Ok(0)
}

fn timerfd_gettime(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = timerfd_at(t, a[0])?;
    let (value, interval) = as_timerfd(&file)?.get();
    t.write_struct(a[1], &itimerspec_of(value, interval))?;
    Ok(0)
}
