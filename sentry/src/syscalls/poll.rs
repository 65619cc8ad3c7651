//! Waiting for readiness: poll, ppoll, select, pselect6, and the epoll
//! syscalls (epoll_create, epoll_create1, epoll_ctl, epoll_wait,
//! epoll_pwait, epoll_pwait2). A waiter registers its waker on every
//! file's wait queue (through nested epolls too), checks each file's
//! `readiness`, and sleeps until a queue is notified, the timeout passes or
//! a signal comes. poll and select are interrupted with ERESTARTNOHAND,
//! epoll_wait with EINTR, as Linux does; a temporary signal mask (ppoll,
//! pselect6, epoll_pwait) stays in place for the handler when interrupted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::fsimpl::epoll::{epoll_of, wait_sources, Epoll, Op};
use crate::kernel::signal::UNBLOCKABLE;
use crate::kernel::waiter::{Events, Registration};
use crate::kernel::Task;
use crate::vfs::file::FileDescription;

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_poll,
        poll,
        Support::Partial,
        &[Hex, Int, Int],
        "restarted after a signal with its whole timeout",
    );
    t.set(
        libc::SYS_ppoll,
        ppoll,
        Support::Full,
        &[Hex, Int, Hex, Hex, Int],
        "",
    );
    t.set(
        libc::SYS_select,
        select,
        Support::Full,
        &[Int, Hex, Hex, Hex, Hex],
        "",
    );
    t.set(
        libc::SYS_pselect6,
        pselect6,
        Support::Full,
        &[Int, Hex, Hex, Hex, Hex, Hex],
        "",
    );
    t.set(
        libc::SYS_epoll_create,
        epoll_create,
        Support::Full,
        &[Int],
        "",
    );
    t.set(
        libc::SYS_epoll_create1,
        epoll_create1,
        Support::Full,
        &[Hex],
        "",
    );
    t.set(
        libc::SYS_epoll_ctl,
        epoll_ctl,
        Support::Partial,
        &[Fd, Int, Fd, Hex],
        "EPOLLEXCLUSIVE accepted (every waiter wakes)",
    );
    t.set(
        libc::SYS_epoll_wait,
        epoll_wait,
        Support::Full,
        &[Fd, Hex, Int, Int],
        "",
    );
    t.set(
        libc::SYS_epoll_pwait,
        epoll_pwait,
        Support::Full,
        &[Fd, Hex, Int, Int, Hex, Int],
        "",
    );
    t.set(
        libc::SYS_epoll_pwait2,
        epoll_pwait2,
        Support::Full,
        &[Fd, Hex, Int, Hex, Hex, Int],
        "",
    );
}

/// The top of user address space (Linux's access_ok bound).
const TASK_SIZE: u64 = 0x7fff_ffff_f000;

const POLLERR: u32 = libc::POLLERR as u32;
const POLLHUP: u32 = libc::POLLHUP as u32;
const POLLNVAL: u16 = libc::POLLNVAL as u16;
/// What select's three sets wait for (Linux's POLLIN_SET, POLLOUT_SET,
/// POLLEX_SET).
const IN_SET: u32 =
    (libc::POLLIN | libc::POLLRDNORM | libc::POLLRDBAND | libc::POLLHUP | libc::POLLERR) as u32;
const OUT_SET: u32 = (libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND | libc::POLLERR) as u32;
const EX_SET: u32 = libc::POLLPRI as u32;

/// The end of a wait: None for no end.
#[derive(Clone, Copy, Debug)]
struct Deadline(Option<Instant>);

impl Deadline {
    fn after(d: Duration) -> Deadline {
        // Past what an Instant holds is never.
        Deadline(Instant::now().checked_add(d))
    }

    /// A millisecond timeout: negative waits forever.
    fn millis(ms: i32) -> Deadline {
        if ms < 0 {
            Deadline(None)
        } else {
            Deadline::after(Duration::from_millis(ms as u64))
        }
    }

    fn passed(self) -> bool {
        self.0.is_some_and(|d| Instant::now() >= d)
    }

    fn left(self) -> Duration {
        self.0.map_or(Duration::ZERO, |d| {
            d.saturating_duration_since(Instant::now())
        })
    }
}

/// A timespec or timeval argument: (seconds, sub-second units).
fn duration_of(sec: i64, frac: i64, per_sec: i64) -> Result<Duration, Errno> {
    if sec < 0 || frac < 0 {
        return Err(Errno::EINVAL);
    }
    let secs = (sec as u64).saturating_add((frac / per_sec) as u64);
    let nanos = (frac % per_sec) * (1_000_000_000 / per_sec);
    Ok(Duration::new(secs, nanos as u32))
}

/// Reads a timeout (NULL: none) in `per_sec` units below the second: a
/// timespec (nanoseconds, tv_nsec of a second or more is EINVAL) or a
/// timeval (microseconds, normalised as Linux's select does).
fn read_timeout(t: &Task, addr: u64, per_sec: i64) -> Result<Option<Duration>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let [sec, frac]: [i64; 2] = t.read_struct(addr)?;
    if per_sec == 1_000_000_000 && frac >= per_sec {
        return Err(Errno::EINVAL);
    }
    duration_of(sec, frac, per_sec).map(Some)
}

/// Writes back the time left of a timeout at `addr` (select, pselect6,
/// ppoll), as Linux does; a zero timeout is left alone. If it cannot be
/// written the call cannot be restarted: ERESTARTNOHAND becomes EINTR.
fn write_back_left(
    t: &Task,
    addr: u64,
    timeout: Option<Duration>,
    deadline: Deadline,
    per_sec: u64,
    ret: SysResult,
) -> SysResult {
    let Some(d) = timeout else {
        return ret;
    };
    if addr == 0 || d.is_zero() {
        return ret;
    }
    let left = deadline.left();
    let v = [
        left.as_secs() as i64,
        i64::from(left.subsec_nanos()) / (1_000_000_000 / per_sec) as i64,
    ];
    match t.write_struct(addr, &v) {
        Ok(()) => ret,
        Err(_) if ret == Err(Errno::ERESTARTNOHAND) => Err(Errno::EINTR),
        Err(_) => ret,
    }
}

/// Reads a sigset argument (NULL: none); EINVAL unless `size` is 8.
fn read_sigmask(t: &Task, addr: u64, size: u64) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    t.read_struct::<u64>(addr).map(Some)
}

/// Runs `f` with the signal mask replaced by `mask`, if given. Restored
/// after, unless `f` was interrupted: then the temporary mask stays until
/// the signal is delivered, and the old one is saved for the handler's
/// return (Linux's restore_saved_sigmask_unless).
fn with_sigmask(
    t: &mut Task,
    mask: Option<u64>,
    f: impl FnOnce(&mut Task) -> SysResult,
) -> SysResult {
    let Some(mask) = mask else {
        return f(t);
    };
    let old = t.signals.mask;
    t.signals.mask = mask & !UNBLOCKABLE;
    let ret = f(t);
    match ret {
        Err(e) if e == Errno::ERESTARTNOHAND || e == Errno::EINTR => {
            t.signals.saved_mask = Some(old);
        }
        _ => t.signals.mask = old,
    }
    ret
}

/// The file open at `fd` for polling: None for a bad fd (O_PATH files
/// included, as Linux's fdget skips them).
fn pollable(t: &Task, fd: i32) -> Option<Arc<dyn FileDescription>> {
    let f = t.fds.get(fd).ok()?;
    (f.flags() & libc::O_PATH == 0).then_some(f)
}

/// Waits until one of `files` has one of its events, `deadline` passes or
/// a signal is pending (ERESTARTNOHAND); returns each file's ready events.
/// `ready_anyway` returns after one look (poll found a bad fd).
fn wait_any(
    t: &Task,
    files: &[(Arc<dyn FileDescription>, u32)],
    deadline: Deadline,
    ready_anyway: bool,
) -> Result<Vec<u32>, Errno> {
    let mut timed_out = deadline.passed();
    loop {
        let seen = t.waker.seq();
        let mut sources = Vec::new();
        if !timed_out && !ready_anyway {
            for (f, mask) in files {
                wait_sources(f, *mask, &mut sources);
            }
        }
        let mut reg = Registration::new(&t.waker);
        for (f, mask) in &sources {
            if let Some(q) = f.wait_queue() {
                reg.add(q, *mask);
            }
        }
        let ready: Vec<u32> = files.iter().map(|(f, m)| f.readiness(*m)).collect();
        if ready_anyway || ready.iter().any(|&r| r != 0) {
            return Ok(ready);
        }
        if t.signal_pending() {
            return Err(Errno::ERESTARTNOHAND);
        }
        if timed_out {
            return Ok(ready);
        }
        match t.block(seen, deadline.0) {
            Ok(true) => {}
            Ok(false) => timed_out = true,
            Err(e) if e == Errno::ERESTARTSYS => return Err(Errno::ERESTARTNOHAND),
            Err(e) => return Err(e),
        }
    }
}

/// poll and ppoll after their own arguments.
fn do_poll(t: &Task, addr: u64, nfds: u32, deadline: Deadline) -> SysResult {
    if u64::from(nfds) > t.fds.limit() {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; nfds as usize * 8];
    t.mm.copy_in(addr, &mut raw)?;
    // Per pollfd: its index in `files`, or the revents it already has.
    let mut slots: Vec<Result<usize, u16>> = Vec::with_capacity(nfds as usize);
    let mut files = Vec::new();
    for p in raw.chunks_exact(8) {
        let fd = i32::from_ne_bytes([p[0], p[1], p[2], p[3]]);
        let events = u16::from_ne_bytes([p[4], p[5]]);
        if fd < 0 {
            slots.push(Err(0));
            continue;
        }
        match pollable(t, fd) {
            Some(f) => {
                slots.push(Ok(files.len()));
                files.push((f, u32::from(events) | POLLERR | POLLHUP));
            }
            None => slots.push(Err(POLLNVAL)),
        }
    }
    let any_bad = slots.iter().any(|s| matches!(s, Err(r) if *r != 0));
    let ret = wait_any(t, &files, deadline, any_bad);
    let ready = ret
        .as_ref()
        .map_or_else(|_| vec![0; files.len()], |r| r.clone());
    let mut count = 0u64;
    for (p, slot) in raw.chunks_exact_mut(8).zip(&slots) {
        let revents = match *slot {
            Ok(i) => ready[i] as u16,
            Err(r) => r,
        };
        if revents != 0 {
            count += 1;
        }
        p[6..8].copy_from_slice(&revents.to_ne_bytes());
    }
    t.mm.copy_out(addr, &raw)?;
    ret.map(|_| count)
}

fn poll(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_poll(t, a[0], a[1] as u32, Deadline::millis(a[2] as i32))
}

fn ppoll(t: &mut Task, a: [u64; 6]) -> SysResult {
    const NS: i64 = 1_000_000_000;
    let timeout = read_timeout(t, a[2], NS)?;
    let mask = read_sigmask(t, a[3], a[4])?;
    let deadline = timeout.map_or(Deadline(None), Deadline::after);
    let ret = with_sigmask(t, mask, |t| do_poll(t, a[0], a[1] as u32, deadline));
    write_back_left(t, a[2], timeout, deadline, NS as u64, ret)
}

/// select and pselect6 after their own arguments: `sets` are the
/// addresses of the read, write and except sets (0 for none).
fn do_select(t: &Task, n: u64, sets: [u64; 3], deadline: Deadline) -> SysResult {
    let n = n as i32;
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (n as u64).min(t.fds.limit()) as usize;
    let words = n.div_ceil(64);
    let mut input = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
    for (set, &addr) in input.iter_mut().zip(&sets) {
        if addr == 0 {
            continue;
        }
        let mut raw = vec![0u8; words * 8];
        t.mm.copy_in(addr, &mut raw)?;
        for (w, c) in set.iter_mut().zip(raw.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            *w = u64::from_ne_bytes(b);
        }
        if !n.is_multiple_of(64) {
            if let Some(last) = set.last_mut() {
                *last &= (1u64 << (n % 64)) - 1;
            }
        }
    }
    let bit = |set: &[u64], fd: usize| set[fd / 64] & (1u64 << (fd % 64)) != 0;
    let mut fds = Vec::new();
    let mut files = Vec::new();
    for fd in 0..n {
        let mut mask = 0;
        for (set, want) in input.iter().zip([IN_SET, OUT_SET, EX_SET]) {
            if bit(set, fd) {
                mask |= want;
            }
        }
        if mask == 0 {
            continue;
        }
        let f = pollable(t, fd as i32).ok_or(Errno::EBADF)?;
        fds.push(fd);
        files.push((f, mask));
    }
    let ready = wait_any(t, &files, deadline, false)?;
    let mut out = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
    let mut count = 0u64;
    for (&fd, r) in fds.iter().zip(&ready) {
        for ((set, res), want) in input
            .iter()
            .zip(out.iter_mut())
            .zip([IN_SET, OUT_SET, EX_SET])
        {
            if bit(set, fd) && r & want != 0 {
                res[fd / 64] |= 1u64 << (fd % 64);
                count += 1;
            }
        }
    }
    for (res, &addr) in out.iter().zip(&sets) {
        if addr == 0 {
            continue;
        }
        let raw: Vec<u8> = res.iter().flat_map(|w| w.to_ne_bytes()).collect();
        t.mm.copy_out(addr, &raw)?;
    }
    Ok(count)
}

fn select(t: &mut Task, a: [u64; 6]) -> SysResult {
    const US: i64 = 1_000_000;
    let timeout = read_timeout(t, a[4], US)?;
    let deadline = timeout.map_or(Deadline(None), Deadline::after);
    let ret = do_select(t, a[0], [a[1], a[2], a[3]], deadline);
    write_back_left(t, a[4], timeout, deadline, US as u64, ret)
}

fn pselect6(t: &mut Task, a: [u64; 6]) -> SysResult {
    const NS: i64 = 1_000_000_000;
    let timeout = read_timeout(t, a[4], NS)?;
    // The sixth argument points at { const sigset_t *ss; size_t ss_len; }.
    let mask = if a[5] == 0 {
        None
    } else {
        let [ss, len]: [u64; 2] = t.read_struct(a[5])?;
        read_sigmask(t, ss, len)?
    };
    let deadline = timeout.map_or(Deadline(None), Deadline::after);
    let ret = with_sigmask(t, mask, |t| {
        do_select(t, a[0], [a[1], a[2], a[3]], deadline)
    });
    write_back_left(t, a[4], timeout, deadline, NS as u64, ret)
}

fn epoll_create(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[0] as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    Ok(t.fds.install(Arc::new(Epoll::new()), false)? as u64)
}

fn epoll_create1(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[0] as i32;
    if flags & !libc::EPOLL_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let cloexec = flags & libc::EPOLL_CLOEXEC != 0;
    Ok(t.fds.install(Arc::new(Epoll::new()), cloexec)? as u64)
}

/// Size of struct epoll_event on x86-64 (packed: u32 events, u64 data).
const EVENT_SIZE: usize = 12;
/// Most events one epoll_wait returns (Linux's EP_MAX_EVENTS).
const MAX_EVENTS: i32 = i32::MAX / EVENT_SIZE as i32;

/// The thin address of a file description, for identity.
fn addr_of(f: &Arc<dyn FileDescription>) -> *const () {
    Arc::as_ptr(f) as *const ()
}

fn epoll_ctl(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (epfd, op, fd) = (a[0] as i32, a[1] as i32, a[2] as i32);
    let op = match op {
        libc::EPOLL_CTL_ADD => Some(Op::Add),
        libc::EPOLL_CTL_MOD => Some(Op::Mod),
        libc::EPOLL_CTL_DEL => Some(Op::Del),
        _ => None,
    };
    let event = if op == Some(Op::Del) {
        (0, 0)
    } else {
        let mut raw = [0u8; EVENT_SIZE];
        t.mm.copy_in(a[3], &mut raw)?;
        let events = u32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let mut data = [0u8; 8];
        data.copy_from_slice(&raw[4..]);
        (events, u64::from_ne_bytes(data))
    };
    let ep_file = pollable(t, epfd).ok_or(Errno::EBADF)?;
    let file = pollable(t, fd).ok_or(Errno::EBADF)?;
    // Regular files and directories cannot be polled: Linux says EPERM.
    let st = file.stat()?;
    if st.is_regular() || st.is_dir() {
        return Err(Errno::EPERM);
    }
    if addr_of(&ep_file) == addr_of(&file) {
        return Err(Errno::EINVAL);
    }
    let ep = epoll_of(&*ep_file).ok_or(Errno::EINVAL)?;
    let op = op.ok_or(Errno::EINVAL)?;
    ep.ctl(op, &file, fd, event)?;
    Ok(0)
}

/// epoll_wait and friends after their own arguments.
fn do_epoll_wait(t: &Task, epfd: i32, events: u64, max: i32, deadline: Deadline) -> SysResult {
    if max <= 0 || max > MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let len = max as u64 * EVENT_SIZE as u64;
    if len > TASK_SIZE || events > TASK_SIZE - len {
        return Err(Errno::EFAULT);
    }
    let file = pollable(t, epfd).ok_or(Errno::EBADF)?;
    let ep = epoll_of(&*file).ok_or(Errno::EINVAL)?;
    let mut timed_out = deadline.passed();
    loop {
        let seen = t.waker.seq();
        let mut sources = Vec::new();
        if !timed_out {
            ep.wait_sources(&mut sources, 1);
        }
        let mut reg = Registration::new(&t.waker);
        reg.add(ep.queue(), Events::MAX);
        for (f, mask) in &sources {
            if let Some(q) = f.wait_queue() {
                reg.add(q, *mask);
            }
        }
        let ready = ep.collect(max as usize);
        if !ready.is_empty() {
            let mut raw = Vec::with_capacity(ready.len() * EVENT_SIZE);
            for (ev, data) in &ready {
                raw.extend_from_slice(&ev.to_ne_bytes());
                raw.extend_from_slice(&data.to_ne_bytes());
            }
            t.mm.copy_out(events, &raw)?;
            return Ok(ready.len() as u64);
        }
        if timed_out {
            return Ok(0);
        }
        match t.block(seen, deadline.0) {
            Ok(true) => {}
            Ok(false) => timed_out = true,
            Err(e) if e == Errno::ERESTARTSYS => return Err(Errno::EINTR),
            Err(e) => return Err(e),
        }
    }
}

fn epoll_wait(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_epoll_wait(
        t,
        a[0] as i32,
        a[1],
        a[2] as i32,
        Deadline::millis(a[3] as i32),
    )
}

fn epoll_pwait(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mask = read_sigmask(t, a[4], a[5])?;
    let deadline = Deadline::millis(a[3] as i32);
    with_sigmask(t, mask, |t| {
        do_epoll_wait(t, a[0] as i32, a[1], a[2] as i32, deadline)
    })
}

fn epoll_pwait2(t: &mut Task, a: [u64; 6]) -> SysResult {
    let timeout = read_timeout(t, a[3], 1_000_000_000)?;
    let mask = read_sigmask(t, a[4], a[5])?;
    let deadline = timeout.map_or(Deadline(None), Deadline::after);
    with_sigmask(t, mask, |t| {
        do_epoll_wait(t, a[0] as i32, a[1], a[2] as i32, deadline)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timevals_normalise_and_refuse_negatives() {
        assert_eq!(
            duration_of(1, 2_500_000, 1_000_000),
            Ok(Duration::from_millis(3500))
        );
        assert_eq!(duration_of(-1, 0, 1_000_000), Err(Errno::EINVAL));
        assert_eq!(duration_of(0, -1, 1_000_000), Err(Errno::EINVAL));
    }

    #[test]
    fn a_negative_millisecond_timeout_never_passes() {
        assert!(!Deadline::millis(-1).passed());
        assert!(Deadline::millis(0).passed());
    }
}
