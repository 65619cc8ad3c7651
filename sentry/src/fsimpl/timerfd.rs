//! timerfd timers (timerfd_create, timerfd_settime, timerfd_gettime): a
//! one-shot or interval timer whose expirations a read takes as an 8-byte
//! count. Expirations are counted from the clock, lazily, whenever the timer
//! is looked at; the sandbox's timer thread (`kernel::timers`) only wakes
//! the timer's waiters (poll, epoll) at each expiry. Every clock is kept on the
//! host's monotonic clock: an absolute CLOCK_REALTIME time is converted
//! when the timer is set (a later change of the wall clock does not move
//! it).

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::anon::{self, Flags};
use crate::errno::Errno;
use crate::kernel::task::Task;
use crate::kernel::timers::{timer_thread, Handle};
use crate::kernel::waiter::{Events, Registration, WaitQueue};
use crate::mm::Segments;
use crate::vfs::file::FileDescription;
use crate::vfs::stat::Stat;

/// What an expired timer reports (only POLLIN, as Linux's).
const POLLIN: Events = libc::POLLIN as Events;

/// While expirations go unread, waiters are woken at most this often.
const UNREAD_WAKE_INTERVAL: Duration = Duration::from_millis(10);

/// A timer's setting: the next expiry (None: disarmed) and the period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Setting {
    pub next: Option<Instant>,
    pub interval: Duration,
}

/// The expiry bookkeeping (pure).
#[derive(Debug, Default)]
struct State {
    setting: Setting,
    /// Expirations not yet read.
    ticks: u64,
    /// Bumped by every settime, so an alarm that fires as it is replaced
    /// is ignored.
    generation: u64,
    /// The alarm on the timer thread for the next expiry.
    alarm: Option<Handle>,
}

impl State {
    /// Counts the expirations up to `now` and moves `next` past it.
    fn update(&mut self, now: Instant) {
        let Some(next) = self.setting.next else {
            return;
        };
        if now < next {
            return;
        }
        let interval = self.setting.interval;
        if interval.is_zero() {
            self.ticks = self.ticks.saturating_add(1);
            self.setting.next = None;
            return;
        }
        let late = (now - next).as_nanos();
        let n = late / interval.as_nanos() + 1;
        self.ticks = self
            .ticks
            .saturating_add(n.min(u128::from(u64::MAX)) as u64);
        let advance = interval.as_nanos().saturating_mul(n);
        self.setting.next = Some(after(next, nanos(advance)));
    }

    /// timerfd_gettime's view at `now`: time left and the period.
    fn remaining(&self, now: Instant) -> (Duration, Duration) {
        let left = self
            .setting
            .next
            .map_or(Duration::ZERO, |n| n.saturating_duration_since(now));
        (left, self.setting.interval)
    }
}

fn nanos(n: u128) -> Duration {
    let secs = (n / 1_000_000_000).min(u128::from(u64::MAX)) as u64;
    Duration::new(secs, (n % 1_000_000_000) as u32)
}

/// `t + d`, or as far as an Instant reaches (a timer that never fires).
fn after(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(1 << 32)))
        .unwrap_or(t)
}

/// The clock a timerfd counts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock(libc::clockid_t);

impl Clock {
    /// The clocks timerfd_create takes; EINVAL for others.
    pub fn from_id(id: i32) -> Result<Clock, Errno> {
        match id {
            libc::CLOCK_REALTIME
            | libc::CLOCK_MONOTONIC
            | libc::CLOCK_BOOTTIME
            | libc::CLOCK_REALTIME_ALARM
            | libc::CLOCK_BOOTTIME_ALARM => Ok(Clock(id)),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The host clock that reads it (the alarm clocks are their base clocks).
    fn host(self) -> libc::clockid_t {
        match self.0 {
            libc::CLOCK_REALTIME_ALARM => libc::CLOCK_REALTIME,
            libc::CLOCK_BOOTTIME_ALARM => libc::CLOCK_BOOTTIME,
            c => c,
        }
    }

    /// The clock's reading now, as time since its epoch.
    fn now(self) -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; the clock id is one
        // of the fixed ids `from_id` accepts.
        unsafe { libc::clock_gettime(self.host(), &mut ts) };
        Duration::new(
            ts.tv_sec.max(0) as u64,
            ts.tv_nsec.clamp(0, 999_999_999) as u32,
        )
    }

    /// The monotonic instant at which this clock reads `at`.
    fn instant_of(self, at: Duration) -> Instant {
        let now = Instant::now();
        after(now, at.saturating_sub(self.now()))
    }
}

pub struct TimerFd {
    clock: Clock,
    state: Mutex<State>,
    flags: Flags,
    queue: WaitQueue,
    /// This timer, for the alarms it schedules.
    me: Weak<TimerFd>,
}

impl TimerFd {
    pub fn new(clock: Clock, nonblock: bool) -> Arc<TimerFd> {
        Arc::new_cyclic(|me| TimerFd {
            clock,
            state: Mutex::new(State::default()),
            flags: Flags::new(nonblock),
            queue: WaitQueue::new(),
            me: me.clone(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// timerfd_gettime: (time to the next expiry, period).
    pub fn get(&self) -> (Duration, Duration) {
        let now = Instant::now();
        let mut st = self.lock();
        st.update(now);
        st.remaining(now)
    }

    /// timerfd_settime: arms the timer to expire after `value` (or at
    /// `value` on the timer's clock when `absolute`) and every `interval`
    /// after; a zero `value` disarms it. Unread expirations are dropped.
    /// Returns the old setting as `get` reports it.
    pub fn set(&self, value: Duration, interval: Duration, absolute: bool) -> (Duration, Duration) {
        let now = Instant::now();
        let mut st = self.lock();
        st.update(now);
        let old = st.remaining(now);
        let next = if value.is_zero() {
            None
        } else if absolute {
            Some(self.clock.instant_of(value))
        } else {
            Some(after(now, value))
        };
        st.setting = Setting { next, interval };
        st.ticks = 0;
        st.generation += 1;
        if let Some(h) = st.alarm.take() {
            timer_thread().cancel(h);
        }
        if let Some(at) = next {
            st.alarm = Some(self.schedule(at, st.generation));
        }
        old
    }

    /// Has the timer thread call `fire(generation)` at `at`.
    fn schedule(&self, at: Instant, generation: u64) -> Handle {
        let me = self.me.clone();
        timer_thread().schedule(
            at,
            Box::new(move || {
                if let Some(t) = me.upgrade() {
                    t.fire(generation);
                }
            }),
        )
    }

    /// Takes the unread expirations (None when there are none) and says
    /// when the next is due.
    fn take(&self) -> (Option<u64>, Option<Instant>) {
        let mut st = self.lock();
        st.update(Instant::now());
        let next = st.setting.next;
        if st.ticks == 0 {
            return (None, next);
        }
        (Some(std::mem::take(&mut st.ticks)), next)
    }

    /// The alarm set for `generation` went off: wake the waiters and set
    /// the alarm for the next expiry.
    fn fire(&self, generation: u64) {
        let now = Instant::now();
        let ready = {
            let mut st = self.lock();
            if st.generation != generation {
                return;
            }
            let unread = st.ticks > 0;
            st.update(now);
            st.alarm = st.setting.next.map(|n| {
                // Expirations nobody reads are still counted; their
                // waiters need no wake at every one of them.
                let at = if unread {
                    n.max(after(now, UNREAD_WAKE_INTERVAL))
                } else {
                    n
                };
                self.schedule(at, generation)
            });
            st.ticks > 0
        };
        if ready {
            self.queue.notify(POLLIN);
        }
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        if let Some(h) = self.lock().alarm.take() {
            timer_thread().cancel(h);
        }
    }
}

impl FileDescription for TimerFd {
    fn read_task(&self, t: &Task, dst: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        if offset.is_some() {
            return Err(Errno::ESPIPE);
        }
        if dst.len() < 8 {
            return Err(Errno::EINVAL);
        }
        loop {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&self.queue, POLLIN);
            let (ticks, next) = self.take();
            if let Some(n) = ticks {
                return Ok(dst.fill(&n.to_ne_bytes()));
            }
            if self.flags.nonblocking() {
                return Err(Errno::EAGAIN);
            }
            // The next expiry is a deadline of its own: the read needs no
            // alarm to end.
            t.block(seen, next)?;
        }
    }

    fn readiness(&self, mask: u32) -> u32 {
        let mut st = self.lock();
        st.update(Instant::now());
        if st.ticks > 0 {
            POLLIN & mask
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }

    /// lseek is a no-op (Linux's noop_llseek).
    fn seek(&self, _offset: i64, _whence: i32) -> Result<u64, Errno> {
        Ok(0)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(anon::stat())
    }

    fn flags(&self) -> i32 {
        self.flags.get()
    }

    fn set_flags(&self, flags: i32) {
        self.flags.set(flags);
    }

    fn path(&self) -> String {
        "anon_inode:[timerfd]".to_string()
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn armed(next: Instant, interval: Duration) -> State {
        State {
            setting: Setting {
                next: Some(next),
                interval,
            },
            ..State::default()
        }
    }

    #[test]
    fn a_one_shot_timer_expires_once_and_disarms() {
        let t0 = Instant::now();
        let mut st = armed(t0, Duration::ZERO);
        st.update(t0 + Duration::from_secs(5));
        assert_eq!(st.ticks, 1);
        assert_eq!(st.setting.next, None);
    }

    #[test]
    fn nothing_expires_before_the_deadline() {
        let t0 = Instant::now();
        let mut st = armed(t0 + Duration::from_secs(1), Duration::ZERO);
        st.update(t0);
        assert_eq!(st.ticks, 0);
    }

    #[test]
    fn an_interval_timer_counts_every_period_passed() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut st = armed(t0, ms(10));
        st.update(t0 + ms(35));
        assert_eq!(st.ticks, 4);
        assert_eq!(st.setting.next, Some(t0 + ms(40)));
        assert_eq!(st.remaining(t0 + ms(35)), (ms(5), ms(10)));
    }

    #[test]
    fn a_disarmed_timer_reports_zero_remaining() {
        let st = State::default();
        assert_eq!(
            st.remaining(Instant::now()),
            (Duration::ZERO, Duration::ZERO)
        );
    }

    #[test]
    fn only_timerfd_clocks_are_accepted() {
        assert!(Clock::from_id(libc::CLOCK_MONOTONIC).is_ok());
        assert_eq!(
            Clock::from_id(libc::CLOCK_PROCESS_CPUTIME_ID),
            Err(Errno::EINVAL)
        );
    }
}
