//! Clocks and sleeps: clock_gettime, clock_getres, gettimeofday, time,
//! nanosleep, clock_nanosleep.

use std::time::{Duration, Instant};

use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::kernel::Task;

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_clock_gettime,
        clock_gettime,
        Support::Full,
        &[Int, Hex],
        "",
    );
    t.set(
        libc::SYS_clock_getres,
        clock_getres,
        Support::Full,
        &[Int, Hex],
        "",
    );
    t.set(
        libc::SYS_gettimeofday,
        gettimeofday,
        Support::Full,
        &[Hex, Hex],
        "",
    );
    t.set(libc::SYS_time, time, Support::Full, &[Hex], "");
    t.set(
        libc::SYS_nanosleep,
        nanosleep,
        Support::Partial,
        &[Hex, Hex],
        "not interruptible yet",
    );
    t.set(
        libc::SYS_clock_nanosleep,
        clock_nanosleep,
        Support::Partial,
        &[Int, Int, Hex, Hex],
        "not interruptible yet",
    );
}

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

/// The clocks the sandbox offers, mapped to the host clock that backs them.
fn host_clock(id: u64) -> Result<libc::clockid_t, Errno> {
    let id = id as i32;
    match id {
        libc::CLOCK_REALTIME
        | libc::CLOCK_MONOTONIC
        | libc::CLOCK_MONOTONIC_RAW
        | libc::CLOCK_REALTIME_COARSE
        | libc::CLOCK_MONOTONIC_COARSE
        | libc::CLOCK_BOOTTIME
        | libc::CLOCK_REALTIME_ALARM
        | libc::CLOCK_BOOTTIME_ALARM
        | libc::CLOCK_TAI => Ok(id),
        // The app's CPU time is approximated by the sentry thread's.
        libc::CLOCK_PROCESS_CPUTIME_ID | libc::CLOCK_THREAD_CPUTIME_ID => {
            Ok(libc::CLOCK_THREAD_CPUTIME_ID)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn now(clock: libc::clockid_t) -> Timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and `clock` a valid id.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    Timespec {
        sec: ts.tv_sec,
        nsec: ts.tv_nsec,
    }
}

fn clock_gettime(t: &mut Task, a: [u64; 6]) -> SysResult {
    let c = host_clock(a[0])?;
    t.write_struct(a[1], &now(c)).map(|_| 0)
}

fn clock_getres(t: &mut Task, a: [u64; 6]) -> SysResult {
    let c = host_clock(a[0])?;
    if a[1] == 0 {
        return Ok(0);
    }
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and `c` a valid id.
    unsafe { libc::clock_getres(c, &mut ts) };
    t.write_struct(
        a[1],
        &Timespec {
            sec: ts.tv_sec,
            nsec: ts.tv_nsec,
        },
    )
    .map(|_| 0)
}

fn gettimeofday(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[0] != 0 {
        let ts = now(libc::CLOCK_REALTIME);
        t.write_struct(
            a[0],
            &Timespec {
                sec: ts.sec,
                nsec: ts.nsec / 1000,
            },
        )?;
    }
    if a[1] != 0 {
        // struct timezone: always zero on Linux.
        t.write_struct(a[1], &0u64)?;
    }
    Ok(0)
}

fn time(t: &mut Task, a: [u64; 6]) -> SysResult {
    let s = now(libc::CLOCK_REALTIME).sec;
    if a[0] != 0 {
        t.write_struct(a[0], &s)?;
    }
    Ok(s as u64)
}

fn read_timespec(t: &Task, addr: u64) -> Result<Timespec, Errno> {
    let ts: Timespec = t.read_struct(addr)?;
    if ts.sec < 0 || !(0..1_000_000_000).contains(&ts.nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(ts)
}

/// Sleeps until `deadline` (interruptibly). On a signal, stores the time
/// left in `rem` (when given) and returns the restart code Linux uses.
fn sleep_until(t: &Task, deadline: Instant, rem: u64) -> SysResult {
    loop {
        let seen = t.waker.seq();
        match t.block(seen, Some(deadline)) {
            Ok(true) => continue,
            Ok(false) => return Ok(0),
            Err(_) => {
                if rem != 0 {
                    let left = deadline.saturating_duration_since(Instant::now());
                    t.write_struct(
                        rem,
                        &Timespec {
                            sec: left.as_secs() as i64,
                            nsec: left.subsec_nanos() as i64,
                        },
                    )?;
                }
                return Err(Errno::ERESTART_RESTARTBLOCK);
            }
        }
    }
}

fn nanosleep(t: &mut Task, a: [u64; 6]) -> SysResult {
    let ts = read_timespec(t, a[0])?;
    let deadline = Instant::now() + Duration::new(ts.sec as u64, ts.nsec as u32);
    sleep_until(t, deadline, a[1])
}

fn clock_nanosleep(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (clock, flags, req, rem) = (a[0], a[1] as i32, a[2], a[3]);
    let c = match clock as i32 {
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME | libc::CLOCK_TAI => {
            clock as i32
        }
        libc::CLOCK_PROCESS_CPUTIME_ID => return Err(Errno::EOPNOTSUPP),
        libc::CLOCK_THREAD_CPUTIME_ID => return Err(Errno::EINVAL),
        _ => return Err(Errno::EINVAL),
    };
    let ts = read_timespec(t, req)?;
    let deadline = if flags & libc::TIMER_ABSTIME != 0 {
        let n = now(c);
        let target = ts.sec as i128 * 1_000_000_000 + ts.nsec as i128;
        let cur = n.sec as i128 * 1_000_000_000 + n.nsec as i128;
        let d = (target - cur).clamp(0, u64::MAX as i128) as u64;
        Instant::now() + Duration::from_nanos(d)
    } else {
        Instant::now() + Duration::new(ts.sec as u64, ts.nsec as u32)
    };
    // An absolute sleep reports nothing left and simply restarts.
    let rem = if flags & libc::TIMER_ABSTIME != 0 {
        0
    } else {
        rem
    };
    sleep_until(t, deadline, rem)
}
