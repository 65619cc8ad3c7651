//! Timer syscalls: alarm, setitimer and getitimer (a process's interval
//! timers), and the POSIX timers (timer_create, timer_settime,
//! timer_gettime, timer_getoverrun, timer_delete). The timers themselves
//! live in `kernel::timers`; this file reads and writes the app's structs.

use std::sync::Arc;
use std::time::Duration;

use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::kernel::kernel::tasks;
use crate::kernel::signal::NSIG;
use crate::kernel::timers::{self, Clock, Notify, Setting, ITIMER_REAL};
use crate::kernel::Task;

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(libc::SYS_alarm, alarm, Support::Full, &[Int], "");
    t.set(
        libc::SYS_setitimer,
        setitimer,
        Support::Partial,
        &[Int, Hex, Hex],
        "ITIMER_VIRTUAL and ITIMER_PROF count wall time, not CPU time",
    );
    t.set(
        libc::SYS_getitimer,
        getitimer,
        Support::Partial,
        &[Int, Hex],
        "ITIMER_VIRTUAL and ITIMER_PROF count wall time, not CPU time",
    );
    t.set(
        libc::SYS_timer_create,
        timer_create,
        Support::Partial,
        &[Int, Hex, Hex],
        "CPU-time clocks count wall time",
    );
    t.set(
        libc::SYS_timer_settime,
        timer_settime,
        Support::Full,
        &[Int, Int, Hex, Hex],
        "",
    );
    t.set(
        libc::SYS_timer_gettime,
        timer_gettime,
        Support::Full,
        &[Int, Hex],
        "",
    );
    t.set(
        libc::SYS_timer_getoverrun,
        timer_getoverrun,
        Support::Full,
        &[Int],
        "",
    );
    t.set(
        libc::SYS_timer_delete,
        timer_delete,
        Support::Full,
        &[Int],
        "",
    );
}

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Timeval {
    sec: i64,
    usec: i64,
}

/// struct itimerval: the period first.
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Itimerval {
    interval: Timeval,
    value: Timeval,
}

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

/// struct itimerspec: the period first.
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Itimerspec {
    interval: Timespec,
    value: Timespec,
}

/// struct sigevent (64 bytes): the value, the signal, how to notify, and
/// the thread id of SIGEV_THREAD_ID (the rest of the union unused here).
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct SigEvent {
    value: u64,
    signo: i32,
    notify: i32,
    tid: i32,
    pad: [i32; 11],
}

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;
const SIGEV_THREAD_ID: i32 = 4;

impl Timeval {
    /// EINVAL unless 0 <= sec and 0 <= usec < 1e6.
    fn duration(self) -> Result<Duration, Errno> {
        if self.sec < 0 || !(0..1_000_000).contains(&self.usec) {
            return Err(Errno::EINVAL);
        }
        Ok(Duration::new(self.sec as u64, self.usec as u32 * 1000))
    }

    fn from(d: Duration) -> Timeval {
        Timeval {
            sec: d.as_secs().min(i64::MAX as u64) as i64,
            usec: i64::from(d.subsec_micros()),
        }
    }
}

impl Timespec {
    /// EINVAL unless 0 <= sec and 0 <= nsec < 1e9.
    fn duration(self) -> Result<Duration, Errno> {
        if self.sec < 0 || !(0..1_000_000_000).contains(&self.nsec) {
            return Err(Errno::EINVAL);
        }
        Ok(Duration::new(self.sec as u64, self.nsec as u32))
    }

    fn from(d: Duration) -> Timespec {
        Timespec {
            sec: d.as_secs().min(i64::MAX as u64) as i64,
            nsec: i64::from(d.subsec_nanos()),
        }
    }
}

fn itimerval(s: Setting) -> Itimerval {
    Itimerval {
        interval: Timeval::from(s.interval),
        value: Timeval::from(s.value),
    }
}

fn itimerspec(s: Setting) -> Itimerspec {
    Itimerspec {
        interval: Timespec::from(s.interval),
        value: Timespec::from(s.value),
    }
}

/// What alarm returns for the old ITIMER_REAL value: whole seconds, rounded
/// to the nearest, but never 0 while the alarm is pending (Linux's rule).
fn alarm_seconds(old: Duration) -> u64 {
    let usec = old.subsec_micros();
    let mut secs = old.as_secs();
    if (secs == 0 && usec != 0) || usec >= 500_000 {
        secs += 1;
    }
    secs
}

fn alarm(t: &mut Task, a: [u64; 6]) -> SysResult {
    let secs = u64::from(a[0] as u32);
    let old = timers::set_itimer(
        t.tg(),
        ITIMER_REAL,
        Duration::from_secs(secs),
        Duration::ZERO,
    )?;
    Ok(alarm_seconds(old.value))
}

fn setitimer(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (which, new, old) = (a[0] as i32, a[1], a[2]);
    // Linux still takes a NULL new value as "disarm".
    let v = if new != 0 {
        t.read_struct::<Itimerval>(new)?
    } else {
        Itimerval::default()
    };
    let (value, interval) = (v.value.duration()?, v.interval.duration()?);
    let prev = timers::set_itimer(t.tg(), which, value, interval)?;
    if old != 0 {
        t.write_struct(old, &itimerval(prev))?;
    }
    Ok(0)
}

fn getitimer(t: &mut Task, a: [u64; 6]) -> SysResult {
    let s = timers::get_itimer(t.tg(), a[0] as i32)?;
    t.write_struct(a[1], &itimerval(s))?;
    Ok(0)
}

/// Where a sigevent sends the timer's expiries (Linux's good_sigevent).
fn notify_of(t: &Task, ev: &SigEvent) -> Result<Notify, Errno> {
    let valid_signo = |s: i32| {
        if s <= 0 || s > NSIG as i32 {
            Err(Errno::EINVAL)
        } else {
            Ok(s)
        }
    };
    match ev.notify {
        SIGEV_NONE => Ok(Notify::None),
        // SIGEV_THREAD is the C library's: the kernel sees a signal.
        SIGEV_SIGNAL | SIGEV_THREAD => Ok(Notify::Group {
            signo: valid_signo(ev.signo)?,
            tg: Arc::downgrade(t.tg()),
        }),
        SIGEV_THREAD_ID => {
            let task = tasks()
                .task(ev.tid)
                .filter(|task| Arc::ptr_eq(&task.tg, t.tg()))
                .ok_or(Errno::EINVAL)?;
            Ok(Notify::Thread {
                signo: valid_signo(ev.signo)?,
                task: Arc::downgrade(&task),
            })
        }
        _ => Err(Errno::EINVAL),
    }
}

fn timer_create(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (clockid, sevp, idp) = (a[0] as i32, a[1], a[2]);
    let clock = Clock::for_timer(
        clockid,
        t.tg(),
        t.creds.has_cap(crate::kernel::creds::CAP_WAKE_ALARM),
    )?;
    let (notify, value) = if sevp != 0 {
        let ev: SigEvent = t.read_struct(sevp)?;
        (notify_of(t, &ev)?, Some(ev.value))
    } else {
        // No sigevent: SIGALRM to the process, with the id as the value.
        let ev = SigEvent {
            signo: libc::SIGALRM,
            notify: SIGEV_SIGNAL,
            ..SigEvent::default()
        };
        (notify_of(t, &ev)?, None)
    };
    let limit = t.rlimits.0[libc::RLIMIT_SIGPENDING as usize].0;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let id = timers::create_timer(t.tg(), clock, notify, value, limit)?;
    if let Err(e) = t.write_struct(idp, &id) {
        let _ = timers::delete_timer(t.tg(), id);
        return Err(e);
    }
    Ok(0)
}

fn timer_settime(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (id, flags, new, old) = (a[0] as i32, a[1] as i32, a[2], a[3]);
    if new == 0 {
        return Err(Errno::EINVAL);
    }
    let spec: Itimerspec = t.read_struct(new)?;
    let (value, interval) = (spec.value.duration()?, spec.interval.duration()?);
    let timer = timers::posix_timer(t.tg(), id)?;
    let prev = timer.set(value, interval, flags & libc::TIMER_ABSTIME != 0);
    if old != 0 {
        t.write_struct(old, &itimerspec(prev))?;
    }
    Ok(0)
}

fn timer_gettime(t: &mut Task, a: [u64; 6]) -> SysResult {
    let timer = timers::posix_timer(t.tg(), a[0] as i32)?;
    t.write_struct(a[1], &itimerspec(timer.get()))?;
    Ok(0)
}

fn timer_getoverrun(t: &mut Task, a: [u64; 6]) -> SysResult {
    let timer = timers::posix_timer(t.tg(), a[0] as i32)?;
    Ok(timer.overrun() as u64)
}

fn timer_delete(t: &mut Task, a: [u64; 6]) -> SysResult {
    timers::delete_timer(t.tg(), a[0] as i32)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_structs_have_the_uapi_sizes() {
        assert_eq!(
            std::mem::size_of::<Itimerval>(),
            std::mem::size_of::<libc::itimerval>()
        );
        assert_eq!(
            std::mem::size_of::<Itimerspec>(),
            std::mem::size_of::<libc::itimerspec>()
        );
        assert_eq!(
            std::mem::size_of::<SigEvent>(),
            std::mem::size_of::<libc::sigevent>()
        );
    }

    #[test]
    fn alarm_rounds_the_old_value_to_the_nearest_second_but_never_to_zero() {
        assert_eq!(alarm_seconds(Duration::ZERO), 0);
        assert_eq!(alarm_seconds(Duration::from_micros(1)), 1);
        assert_eq!(alarm_seconds(Duration::from_millis(9_400)), 9);
        assert_eq!(alarm_seconds(Duration::from_millis(9_600)), 10);
    }

    #[test]
    fn out_of_range_times_are_invalid() {
        assert_eq!(Timeval { sec: -1, usec: 0 }.duration(), Err(Errno::EINVAL));
        assert_eq!(
            Timeval {
                sec: 0,
                usec: 1_000_000
            }
            .duration(),
            Err(Errno::EINVAL)
        );
        assert_eq!(Timespec { sec: 0, nsec: -1 }.duration(), Err(Errno::EINVAL));
        assert_eq!(
            Timespec { sec: 1, nsec: 5 }.duration(),
            Ok(Duration::new(1, 5))
        );
    }
}
