//! Timers that raise signals: the sandbox's one timer thread with its queue
//! of deadlines, the interval timers of alarm(2) and setitimer(2) (three per
//! process), and the POSIX timers of timer_create(2) (per process, by id).
//!
//! Every timer runs on the host's monotonic clock: an absolute time on
//! another clock is converted when the timer is set (the sandbox cannot set
//! the wall clock, so it never moves under a timer). The sentry does not
//! account app CPU time, so the CPU-time clocks and ITIMER_VIRTUAL and
//! ITIMER_PROF count wall time: they expire no earlier than on Linux.
//!
//! A POSIX timer's signal counts overruns as Linux's does: an expiry while
//! the previous signal is still queued adds to that signal's `si_overrun`
//! instead of queueing another, and timer_getoverrun reports the count of
//! the last signal taken.
//!
//! The timer thread never blocks on a task: it only queues signals. Timers
//! end with their process: the exit path calls `exit_process_timers`, and
//! exec calls `exec_process_timers` (POSIX timers go, the interval timers of
//! alarm and setitimer survive exec as POSIX requires).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once, OnceLock, Weak};
use std::time::{Duration, Instant};

use super::kernel::tasks;
use super::process::{lock, TaskShared, ThreadGroup};
use super::signal::{send_to_group, send_to_task};
use crate::arch::siginfo::{SigInfo, SI_TIMER};
use crate::errno::Errno;

/// Work the timer thread runs at a deadline.
pub type Callback = Box<dyn FnOnce() + Send>;

/// A scheduled callback, to cancel it. Ordered by deadline, then by the
/// order of scheduling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Handle {
    at: Instant,
    seq: u64,
}

/// Deadlines in order, each with its callback (pure: no thread, no clock).
#[derive(Default)]
pub struct TimerQueue {
    due: BTreeMap<Handle, Callback>,
    seq: u64,
}

impl TimerQueue {
    /// Schedules `cb` for `at`.
    pub fn insert(&mut self, at: Instant, cb: Callback) -> Handle {
        let h = Handle { at, seq: self.seq };
        self.seq += 1;
        self.due.insert(h, cb);
        h
    }

    /// Takes back a callback that has not run yet.
    pub fn cancel(&mut self, h: Handle) -> Option<Callback> {
        self.due.remove(&h)
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.due.keys().next().map(|h| h.at)
    }

    /// Takes every callback due by `now`, earliest first.
    pub fn take_due(&mut self, now: Instant) -> Vec<Callback> {
        let mut out = Vec::new();
        while let Some(e) = self.due.first_entry() {
            if e.key().at > now {
                break;
            }
            out.push(e.remove());
        }
        out
    }

    pub fn len(&self) -> usize {
        self.due.len()
    }

    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }
}

/// The sandbox's timer thread: sleeps until the earliest deadline, then
/// runs the callbacks due, outside its lock (a callback may schedule).
#[derive(Default)]
pub struct TimerThread {
    queue: Mutex<TimerQueue>,
    cv: Condvar,
}

/// The timer thread, started on first use. One sentry process runs one
/// sandbox, so it is process-wide.
pub fn timer_thread() -> &'static TimerThread {
    static THREAD: OnceLock<TimerThread> = OnceLock::new();
    static START: Once = Once::new();
    let t = THREAD.get_or_init(TimerThread::default);
    START.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("ward-timers".into())
            .spawn(move || t.run());
        if let Err(e) = spawned {
            tracing::error!("starting the timer thread: {e}");
        }
    });
    t
}

impl TimerThread {
    /// Runs `cb` on the timer thread at `at` (at once if it has passed).
    pub fn schedule(&self, at: Instant, cb: Callback) -> Handle {
        let mut q = lock(&self.queue);
        let earliest = q.next_deadline().is_none_or(|d| at < d);
        let h = q.insert(at, cb);
        drop(q);
        if earliest {
            self.cv.notify_one();
        }
        h
    }

    /// Cancels a callback; nothing if it already ran or is running.
    pub fn cancel(&self, h: Handle) {
        let cb = lock(&self.queue).cancel(h);
        // Dropped outside the lock: a callback owns what it captured.
        drop(cb);
    }

    fn run(&self) {
        loop {
            for cb in self.wait_due() {
                cb();
            }
        }
    }

    /// Sleeps until at least one callback is due; takes every due one.
    fn wait_due(&self) -> Vec<Callback> {
        let mut q = lock(&self.queue);
        loop {
            let now = Instant::now();
            let due = q.take_due(now);
            if !due.is_empty() {
                return due;
            }
            q = match q.next_deadline() {
                Some(at) => match self.cv.wait_timeout(q, at - now) {
                    Ok((g, _)) => g,
                    Err(p) => p.into_inner().0,
                },
                None => self.cv.wait(q).unwrap_or_else(|p| p.into_inner()),
            };
        }
    }
}

/// The longest time a timer can be set for (Linux's KTIME_MAX).
const KTIME_MAX: Duration = Duration::from_nanos(i64::MAX as u64);

/// An interval timer fires at most this often; expiries in between are
/// counted (as overruns) rather than each waking the timer thread.
const MIN_GAP: Duration = Duration::from_micros(200);

/// `t + d`, or as far as an Instant reaches (a timer that never fires).
fn after(t: Instant, d: Duration) -> Instant {
    t.checked_add(d.min(KTIME_MAX))
        .or_else(|| t.checked_add(Duration::from_secs(1 << 32)))
        .unwrap_or(t)
}

fn clamp_i32(n: u64) -> i32 {
    n.min(i32::MAX as u64) as i32
}

/// The clock a POSIX timer counts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    Realtime,
    Monotonic,
    Boottime,
    Tai,
    /// A process or thread CPU-time clock, counted as wall time.
    Cpu,
}

/// clockid_t bits of the CPU-time clocks clock_getcpuclockid makes.
const CPUCLOCK_PERTHREAD: i32 = 4;
const CPUCLOCK_WHICH_MASK: i32 = 3;
const CPUCLOCK_MAX: i32 = 3;
const CLOCKFD: i32 = 3;
const CLOCKFD_MASK: i32 = CPUCLOCK_PERTHREAD | CPUCLOCK_WHICH_MASK;

impl Clock {
    /// The clock timer_create takes `id` for: EINVAL for an unknown clock
    /// or a CPU clock of no such process, EOPNOTSUPP for clocks that only
    /// read (raw and coarse), EPERM for the alarm clocks without root.
    pub fn for_timer(id: i32, caller: &Arc<ThreadGroup>, root: bool) -> Result<Clock, Errno> {
        if id < 0 {
            return cpu_clock(id, caller);
        }
        match id {
            libc::CLOCK_REALTIME => Ok(Clock::Realtime),
            libc::CLOCK_MONOTONIC => Ok(Clock::Monotonic),
            libc::CLOCK_BOOTTIME => Ok(Clock::Boottime),
            libc::CLOCK_TAI => Ok(Clock::Tai),
            libc::CLOCK_PROCESS_CPUTIME_ID | libc::CLOCK_THREAD_CPUTIME_ID => Ok(Clock::Cpu),
            libc::CLOCK_MONOTONIC_RAW
            | libc::CLOCK_REALTIME_COARSE
            | libc::CLOCK_MONOTONIC_COARSE => Err(Errno::EOPNOTSUPP),
            libc::CLOCK_REALTIME_ALARM | libc::CLOCK_BOOTTIME_ALARM if !root => Err(Errno::EPERM),
            libc::CLOCK_REALTIME_ALARM => Ok(Clock::Realtime),
            libc::CLOCK_BOOTTIME_ALARM => Ok(Clock::Boottime),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The host clock that reads it. A CPU clock reads the calling sentry
    /// thread's CPU time, as clock_gettime reports it to the app.
    fn host(self) -> libc::clockid_t {
        match self {
            Clock::Realtime => libc::CLOCK_REALTIME,
            Clock::Monotonic => libc::CLOCK_MONOTONIC,
            Clock::Boottime => libc::CLOCK_BOOTTIME,
            Clock::Tai => libc::CLOCK_TAI,
            Clock::Cpu => libc::CLOCK_THREAD_CPUTIME_ID,
        }
    }

    /// The clock's reading now, as time since its epoch.
    fn now(self) -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec and the clock id one
        // of the fixed host ids above.
        unsafe { libc::clock_gettime(self.host(), &mut ts) };
        Duration::new(
            ts.tv_sec.max(0) as u64,
            ts.tv_nsec.clamp(0, 999_999_999) as u32,
        )
    }

    /// The monotonic instant at which this clock reads `at` (now if passed).
    pub fn instant_of(self, at: Duration) -> Instant {
        let now = Instant::now();
        after(now, at.saturating_sub(self.now()))
    }
}

/// A CPU-time clock id from clock_getcpuclockid / pthread_getcpuclockid:
/// `~pid << 3 | which`, with bit 2 for a thread's. A thread's clock must
/// name a thread of the caller's process; a process's, any process.
fn cpu_clock(id: i32, caller: &Arc<ThreadGroup>) -> Result<Clock, Errno> {
    if id & CLOCKFD_MASK == CLOCKFD {
        // A dynamic (fd-backed) clock: none can hold timers here.
        return Err(Errno::EOPNOTSUPP);
    }
    if id & CPUCLOCK_WHICH_MASK >= CPUCLOCK_MAX {
        return Err(Errno::EINVAL);
    }
    let pid = !(id >> 3);
    if pid == 0 {
        return Ok(Clock::Cpu);
    }
    let found = if id & CPUCLOCK_PERTHREAD != 0 {
        tasks()
            .task(pid)
            .is_some_and(|t| Arc::ptr_eq(&t.tg, caller))
    } else {
        tasks().group(pid).is_some_and(|g| !g.lock().zombie)
    };
    if found {
        Ok(Clock::Cpu)
    } else {
        Err(Errno::EINVAL)
    }
}

/// Where a timer's expiries go.
#[derive(Clone)]
pub enum Notify {
    /// Nowhere (SIGEV_NONE): only timer_gettime sees them.
    None,
    /// Signal `signo` to the whole process.
    Group { signo: i32, tg: Weak<ThreadGroup> },
    /// Signal `signo` to one thread (SIGEV_THREAD_ID).
    Thread { signo: i32, task: Weak<TaskShared> },
}

impl Notify {
    fn signo(&self) -> Option<i32> {
        match self {
            Notify::None => None,
            Notify::Group { signo, .. } | Notify::Thread { signo, .. } => Some(*signo),
        }
    }

    /// Whether the receiver still exists.
    fn alive(&self) -> bool {
        match self {
            Notify::None => true,
            Notify::Group { tg, .. } => tg.strong_count() > 0,
            Notify::Thread { task, .. } => task.strong_count() > 0,
        }
    }

    fn send(&self, info: SigInfo) {
        match self {
            Notify::None => {}
            Notify::Group { tg, .. } => {
                if let Some(tg) = tg.upgrade() {
                    send_to_group(&tg, info);
                }
            }
            Notify::Thread { task, .. } => {
                if let Some(task) = task.upgrade() {
                    send_to_task(&task, info);
                }
            }
        }
    }

    /// Runs `f` on the queued signals of the receiver until it returns
    /// true; says whether it did.
    fn find_queued(&self, f: impl FnMut(&mut SigInfo) -> bool) -> bool {
        match self {
            Notify::None => false,
            Notify::Group { tg, .. } => tg.upgrade().is_some_and(|tg| tg.pending.find_mut(f)),
            Notify::Thread { task, .. } => task.upgrade().is_some_and(|t| t.pending.find_mut(f)),
        }
    }
}

/// A timer's setting as the get calls report it: time to the next expiry
/// (zero: disarmed) and the period (zero: one-shot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Setting {
    pub value: Duration,
    pub interval: Duration,
}

/// When a timer next expires and how often after (pure).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Expiry {
    next: Option<Instant>,
    interval: Duration,
}

impl Expiry {
    /// Counts the expiries up to `now` and moves `next` past it (a one-shot
    /// timer disarms).
    fn expire(&mut self, now: Instant) -> u64 {
        let Some(next) = self.next else {
            return 0;
        };
        if now < next {
            return 0;
        }
        if self.interval.is_zero() {
            self.next = None;
            return 1;
        }
        let iv = self.interval.as_nanos();
        let n = (now - next).as_nanos() / iv + 1;
        self.next = Some(after(next, nanos(iv.saturating_mul(n))));
        n.min(u128::from(u64::MAX)) as u64
    }

    /// What get reports at `now`, without counting expiries: an interval
    /// timer's next expiry after `now`; `due` for a one-shot timer whose
    /// expiry has passed but is not yet handled.
    fn remaining(&self, now: Instant, due: Duration) -> Setting {
        let value = match self.next {
            None => Duration::ZERO,
            Some(next) if next > now => next - now,
            Some(next) if !self.interval.is_zero() => {
                let iv = self.interval.as_nanos();
                let k = (now - next).as_nanos() / iv + 1;
                after(next, nanos(iv.saturating_mul(k))).saturating_duration_since(now)
            }
            Some(_) => due,
        };
        Setting {
            value,
            interval: self.interval,
        }
    }
}

fn nanos(n: u128) -> Duration {
    let secs = (n / 1_000_000_000).min(u128::from(u64::MAX)) as u64;
    Duration::new(secs, (n % 1_000_000_000) as u32)
}

/// What a timer is, for the signal it sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// alarm/setitimer: SI_KERNEL signals that coalesce like any other.
    Itimer,
    /// timer_create: SI_TIMER signals carrying the id, the value and overruns.
    Posix { id: i32, value: u64 },
}

#[derive(Default)]
struct State {
    expiry: Expiry,
    /// Bumped by every set, so a callback scheduled before is ignored.
    generation: u64,
    handle: Option<Handle>,
    /// While this timer's last signal may still be queued: the overrun
    /// count it carries.
    queued: Option<i32>,
    /// The overrun count of the last signal taken (timer_getoverrun).
    overrun_last: i32,
    dead: bool,
}

/// One timer: an interval timer of setitimer or a POSIX timer.
pub struct Timer {
    kind: Kind,
    notify: Notify,
    clock: Clock,
    state: Mutex<State>,
    me: Weak<Timer>,
}

impl Timer {
    fn new(kind: Kind, notify: Notify, clock: Clock) -> Arc<Timer> {
        Arc::new_cyclic(|me| Timer {
            kind,
            notify,
            clock,
            state: Mutex::new(State::default()),
            me: me.clone(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// What get reports for a one-shot timer past its expiry whose signal
    /// is not sent yet: Linux shows it still armed, by the smallest unit
    /// the call reports.
    fn due_value(&self) -> Duration {
        match self.kind {
            Kind::Itimer => Duration::from_micros(1),
            Kind::Posix { .. } => Duration::from_nanos(1),
        }
    }

    fn report(&self, st: &mut State, now: Instant) -> Setting {
        if matches!(self.notify, Notify::None) {
            // Nothing else consumes a SIGEV_NONE timer's expiries.
            st.expiry.expire(now);
        }
        st.expiry.remaining(now, self.due_value())
    }

    /// getitimer / timer_gettime.
    pub fn get(&self) -> Setting {
        let now = Instant::now();
        let mut st = self.lock();
        self.report(&mut st, now)
    }

    /// setitimer / timer_settime: arms the timer to expire after `value`
    /// (at `value` on its clock when `absolute`) and every `interval` after;
    /// a zero `value` disarms it. Returns the old setting.
    pub fn set(&self, value: Duration, interval: Duration, absolute: bool) -> Setting {
        let now = Instant::now();
        let mut st = self.lock();
        let old = self.report(&mut st, now);
        if let Some(h) = st.handle.take() {
            timer_thread().cancel(h);
        }
        st.generation += 1;
        st.overrun_last = 0;
        st.expiry = if value.is_zero() || st.dead {
            Expiry::default()
        } else {
            let at = if absolute {
                self.clock.instant_of(value)
            } else {
                after(now, value)
            };
            Expiry {
                next: Some(at),
                interval: interval.min(KTIME_MAX),
            }
        };
        if let Some(at) = st.expiry.next {
            self.arm(&mut st, at);
        }
        old
    }

    /// timer_getoverrun: the overruns of the last signal taken.
    pub fn overrun(&self) -> i32 {
        let mut st = self.lock();
        self.settle(&mut st);
        st.overrun_last
    }

    /// Notes that this timer's signal was taken, if it was.
    fn settle(&self, st: &mut State) {
        let (Some(q), Kind::Posix { id, .. }, Some(signo)) =
            (st.queued, self.kind, self.notify.signo())
        else {
            return;
        };
        if !self.notify.find_queued(|i| is_ours(i, signo, id)) {
            st.overrun_last = q;
            st.queued = None;
        }
    }

    /// Schedules the next expiry check (nothing for SIGEV_NONE timers).
    fn arm(&self, st: &mut State, at: Instant) {
        if matches!(self.notify, Notify::None) {
            return;
        }
        let me = self.me.clone();
        let generation = st.generation;
        st.handle = Some(timer_thread().schedule(
            at,
            Box::new(move || {
                if let Some(t) = me.upgrade() {
                    t.fire(generation);
                }
            }),
        ));
    }

    /// Stops the timer for good.
    fn kill(&self) {
        let mut st = self.lock();
        st.dead = true;
        st.expiry = Expiry::default();
        st.generation += 1;
        if let Some(h) = st.handle.take() {
            timer_thread().cancel(h);
        }
    }

    /// The timer thread's callback: counts the expiries, sends the signal
    /// (or counts an overrun on the one still queued), and rearms.
    fn fire(&self, generation: u64) {
        let now = Instant::now();
        let info = {
            let mut st = self.lock();
            if st.dead || st.generation != generation {
                return;
            }
            st.handle = None;
            if !self.notify.alive() {
                st.dead = true;
                return;
            }
            let n = st.expiry.expire(now);
            let info = if n > 0 {
                self.expired(&mut st, n)
            } else {
                None
            };
            if let Some(next) = st.expiry.next {
                self.arm(&mut st, next.max(after(now, MIN_GAP)));
            }
            info
        };
        // Sent outside the timer's lock: sending takes the group's locks.
        if let Some(info) = info {
            self.notify.send(info);
        }
    }

    /// `n` expiries happened: the signal to send, if any.
    fn expired(&self, st: &mut State, n: u64) -> Option<SigInfo> {
        let signo = self.notify.signo()?;
        match self.kind {
            Kind::Itimer => Some(SigInfo::kernel(signo)),
            Kind::Posix { id, value } => {
                if let Some(q) = st.queued {
                    let add = clamp_i32(n);
                    let bumped = self.notify.find_queued(|i| {
                        if !is_ours(i, signo, id) {
                            return false;
                        }
                        *i = SigInfo::timer(signo, id, i.overrun().saturating_add(add), i.value());
                        true
                    });
                    if bumped {
                        st.queued = Some(q.saturating_add(add));
                        return None;
                    }
                    st.overrun_last = q;
                }
                let missed = clamp_i32(n - 1);
                st.queued = Some(missed);
                Some(SigInfo::timer(signo, id, missed, value))
            }
        }
    }
}

/// Whether a queued siginfo is the signal of POSIX timer `id`.
fn is_ours(i: &SigInfo, signo: i32, id: i32) -> bool {
    i.code == SI_TIMER && i.signo == signo && i.timer_id() == id
}

pub const ITIMER_REAL: i32 = 0;
pub const ITIMER_VIRTUAL: i32 = 1;
pub const ITIMER_PROF: i32 = 2;

/// The signal each interval timer sends.
fn itimer_signal(which: i32) -> Result<i32, Errno> {
    match which {
        ITIMER_REAL => Ok(libc::SIGALRM),
        ITIMER_VIRTUAL => Ok(libc::SIGVTALRM),
        ITIMER_PROF => Ok(libc::SIGPROF),
        _ => Err(Errno::EINVAL),
    }
}

/// Most POSIX timers a process may hold at once (Linux bounds them by
/// RLIMIT_SIGPENDING; this also bounds the sentry's memory).
pub const MAX_POSIX_TIMERS: usize = 1 << 16;

/// A process's timers.
struct Process {
    /// The process they belong to (a reused pid finds a stale entry).
    tg: Weak<ThreadGroup>,
    itimers: [Option<Arc<Timer>>; 3],
    posix: BTreeMap<i32, Arc<Timer>>,
    next_id: i32,
}

impl Process {
    fn new(tg: &Arc<ThreadGroup>) -> Process {
        Process {
            tg: Arc::downgrade(tg),
            itimers: [None, None, None],
            posix: BTreeMap::new(),
            next_id: 0,
        }
    }

    fn all(self) -> impl Iterator<Item = Arc<Timer>> {
        self.itimers
            .into_iter()
            .flatten()
            .chain(self.posix.into_values())
    }

    /// The lowest free id from `next_id` on, wrapping at INT_MAX.
    fn alloc_id(&mut self) -> i32 {
        loop {
            let id = self.next_id;
            self.next_id = if id == i32::MAX { 0 } else { id + 1 };
            if !self.posix.contains_key(&id) {
                return id;
            }
        }
    }
}

fn registry() -> MutexGuard<'static, HashMap<i32, Process>> {
    static REGISTRY: OnceLock<Mutex<HashMap<i32, Process>>> = OnceLock::new();
    lock(REGISTRY.get_or_init(Mutex::default))
}

/// Runs `f` on `tg`'s timers (made empty the first time, and again if a
/// process with the same pid left some behind).
fn with_process<R>(tg: &Arc<ThreadGroup>, f: impl FnOnce(&mut Process) -> R) -> R {
    let mut reg = registry();
    let stale = reg
        .get(&tg.tgid)
        .is_some_and(|p| !std::ptr::eq(p.tg.as_ptr(), Arc::as_ptr(tg)));
    if stale {
        if let Some(old) = reg.remove(&tg.tgid) {
            old.all().for_each(|t| t.kill());
        }
    }
    f(reg.entry(tg.tgid).or_insert_with(|| Process::new(tg)))
}

/// setitimer (and alarm): sets interval timer `which` of `tg`; returns the
/// old setting. EINVAL for an unknown timer.
pub fn set_itimer(
    tg: &Arc<ThreadGroup>,
    which: i32,
    value: Duration,
    interval: Duration,
) -> Result<Setting, Errno> {
    let signo = itimer_signal(which)?;
    let timer = with_process(tg, |p| {
        p.itimers[which as usize]
            .get_or_insert_with(|| {
                Timer::new(
                    Kind::Itimer,
                    Notify::Group {
                        signo,
                        tg: Arc::downgrade(tg),
                    },
                    Clock::Monotonic,
                )
            })
            .clone()
    });
    Ok(timer.set(value, interval, false))
}

/// getitimer: interval timer `which` of `tg`.
pub fn get_itimer(tg: &Arc<ThreadGroup>, which: i32) -> Result<Setting, Errno> {
    itimer_signal(which)?;
    let timer = with_process(tg, |p| p.itimers[which as usize].clone());
    Ok(timer.map(|t| t.get()).unwrap_or_default())
}

/// timer_create: a disarmed POSIX timer of `tg`; returns its id. `value`
/// is the signal's si_value (None: the timer's id, as Linux does without a
/// sigevent). EAGAIN past `limit` timers.
pub fn create_timer(
    tg: &Arc<ThreadGroup>,
    clock: Clock,
    notify: Notify,
    value: Option<u64>,
    limit: usize,
) -> Result<i32, Errno> {
    with_process(tg, |p| {
        if p.posix.len() >= limit.min(MAX_POSIX_TIMERS) {
            return Err(Errno::EAGAIN);
        }
        let id = p.alloc_id();
        let value = value.unwrap_or(id as u32 as u64);
        let timer = Timer::new(Kind::Posix { id, value }, notify, clock);
        p.posix.insert(id, timer);
        Ok(id)
    })
}

/// POSIX timer `id` of `tg`; EINVAL if there is none.
pub fn posix_timer(tg: &Arc<ThreadGroup>, id: i32) -> Result<Arc<Timer>, Errno> {
    with_process(tg, |p| p.posix.get(&id).cloned()).ok_or(Errno::EINVAL)
}

/// timer_delete. A signal it already queued stays queued (as on Linux 6.12).
pub fn delete_timer(tg: &Arc<ThreadGroup>, id: i32) -> Result<(), Errno> {
    let timer = with_process(tg, |p| p.posix.remove(&id)).ok_or(Errno::EINVAL)?;
    timer.kill();
    Ok(())
}

/// Deletes every timer of process `tgid`. The exit path calls this once
/// the process's last thread is gone (or it is reaped).
pub fn exit_process_timers(tgid: i32) {
    let gone = registry().remove(&tgid);
    if let Some(p) = gone {
        p.all().for_each(|t| t.kill());
    }
}

/// Deletes the POSIX timers of process `tgid` at exec; its alarm and
/// setitimer timers survive exec, as POSIX requires.
pub fn exec_process_timers(tgid: i32) {
    let gone: Vec<Arc<Timer>> = match registry().get_mut(&tgid) {
        Some(p) => std::mem::take(&mut p.posix).into_values().collect(),
        None => Vec::new(),
    };
    gone.iter().for_each(|t| t.kill());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    fn actions() -> Arc<Mutex<[crate::kernel::signal::SigAction; crate::kernel::signal::NSIG]>> {
        Arc::new(Mutex::new(
            [Default::default(); crate::kernel::signal::NSIG],
        ))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn counter() -> (Arc<AtomicUsize>, impl Fn() -> Callback) {
        let c = Arc::new(AtomicUsize::new(0));
        let c2 = c.clone();
        (c, move || {
            let c = c2.clone();
            Box::new(move || {
                c.fetch_add(1, Ordering::SeqCst);
            })
        })
    }

    #[test]
    fn the_queue_hands_out_due_callbacks_earliest_first() {
        let t0 = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut q = TimerQueue::default();
        for (i, d) in [(1, 30), (2, 10), (3, 20)] {
            let o = order.clone();
            q.insert(t0 + ms(d), Box::new(move || lock(&o).push(i)));
        }
        for cb in q.take_due(t0 + ms(25)) {
            cb();
        }
        assert_eq!(*lock(&order), vec![2, 3]);
        assert_eq!(q.next_deadline(), Some(t0 + ms(30)));
    }

    #[test]
    fn nothing_is_due_before_its_deadline() {
        let t0 = Instant::now();
        let (_, cb) = counter();
        let mut q = TimerQueue::default();
        q.insert(t0 + ms(5), cb());
        assert!(q.take_due(t0).is_empty());
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn a_cancelled_callback_never_runs() {
        let t0 = Instant::now();
        let (count, cb) = counter();
        let mut q = TimerQueue::default();
        let h = q.insert(t0, cb());
        q.insert(t0, cb());
        assert!(q.cancel(h).is_some());
        assert!(q.cancel(h).is_none());
        for cb in q.take_due(t0) {
            cb();
        }
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert!(q.is_empty());
    }

    #[test]
    fn equal_deadlines_run_in_scheduling_order() {
        let t0 = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut q = TimerQueue::default();
        for i in 0..4 {
            let o = order.clone();
            q.insert(t0, Box::new(move || lock(&o).push(i)));
        }
        q.take_due(t0).into_iter().for_each(|cb| cb());
        assert_eq!(*lock(&order), vec![0, 1, 2, 3]);
    }

    #[test]
    fn the_timer_thread_runs_a_scheduled_callback() {
        let (tx, rx) = mpsc::channel();
        timer_thread().schedule(
            Instant::now(),
            Box::new(move || {
                let _ = tx.send(());
            }),
        );
        assert!(rx.recv_timeout(Duration::from_secs(30)).is_ok());
    }

    #[test]
    fn a_one_shot_expiry_counts_once_and_disarms() {
        let t0 = Instant::now();
        let mut e = Expiry {
            next: Some(t0),
            interval: Duration::ZERO,
        };
        assert_eq!(e.expire(t0 + ms(50)), 1);
        assert_eq!(e.next, None);
        assert_eq!(e.expire(t0 + ms(100)), 0);
    }

    #[test]
    fn an_interval_expiry_counts_every_period_passed() {
        let t0 = Instant::now();
        let mut e = Expiry {
            next: Some(t0),
            interval: ms(10),
        };
        assert_eq!(e.expire(t0 + ms(35)), 4);
        assert_eq!(e.next, Some(t0 + ms(40)));
    }

    #[test]
    fn remaining_time_counts_down_to_the_next_expiry() {
        let t0 = Instant::now();
        let e = Expiry {
            next: Some(t0 + ms(30)),
            interval: ms(10),
        };
        let s = e.remaining(t0 + ms(5), Duration::ZERO);
        assert_eq!(
            s,
            Setting {
                value: ms(25),
                interval: ms(10)
            }
        );
    }

    #[test]
    fn an_interval_timer_past_due_reports_its_next_period() {
        let t0 = Instant::now();
        let e = Expiry {
            next: Some(t0),
            interval: ms(10),
        };
        assert_eq!(e.remaining(t0 + ms(25), Duration::ZERO).value, ms(5));
    }

    #[test]
    fn a_one_shot_timer_past_due_reports_it_is_still_armed() {
        let t0 = Instant::now();
        let e = Expiry {
            next: Some(t0),
            interval: Duration::ZERO,
        };
        let due = Duration::from_nanos(1);
        assert_eq!(e.remaining(t0 + ms(1), due).value, due);
    }

    #[test]
    fn a_disarmed_timer_reports_zero() {
        let e = Expiry::default();
        assert_eq!(e.remaining(Instant::now(), ms(1)), Setting::default());
    }

    #[test]
    fn a_sigev_none_timer_disarms_once_expired() {
        let t = Timer::new(
            Kind::Posix { id: 0, value: 0 },
            Notify::None,
            Clock::Monotonic,
        );
        // An absolute time already passed: expired at once.
        t.set(Duration::from_nanos(1), Duration::ZERO, true);
        assert_eq!(t.get(), Setting::default());
    }

    #[test]
    fn setting_a_timer_returns_the_old_setting() {
        let t = Timer::new(
            Kind::Posix { id: 0, value: 0 },
            Notify::None,
            Clock::Monotonic,
        );
        assert_eq!(
            t.set(Duration::from_secs(100), ms(7), false),
            Setting::default()
        );
        let old = t.set(Duration::ZERO, Duration::ZERO, false);
        assert!(old.value > Duration::from_secs(99) && old.value <= Duration::from_secs(100));
        assert_eq!(old.interval, ms(7));
        assert_eq!(t.get(), Setting::default());
    }

    #[test]
    fn an_absolute_time_in_the_past_is_due_now() {
        let before = Instant::now();
        let at = Clock::Realtime.instant_of(Duration::from_secs(1));
        assert!(at >= before && at <= Instant::now());
    }

    #[test]
    fn timer_clocks_are_checked() {
        let tg = tasks().new_group(i32::MAX - 7, 0, 0, 0, actions());
        assert_eq!(
            Clock::for_timer(libc::CLOCK_MONOTONIC, &tg, false),
            Ok(Clock::Monotonic)
        );
        assert_eq!(
            Clock::for_timer(libc::CLOCK_PROCESS_CPUTIME_ID, &tg, false),
            Ok(Clock::Cpu)
        );
        assert_eq!(
            Clock::for_timer(libc::CLOCK_MONOTONIC_RAW, &tg, false),
            Err(Errno::EOPNOTSUPP)
        );
        assert_eq!(Clock::for_timer(10, &tg, false), Err(Errno::EINVAL));
        assert_eq!(Clock::for_timer(1000, &tg, false), Err(Errno::EINVAL));
        // clock_getcpuclockid(0) and of a process that does not exist.
        assert_eq!(Clock::for_timer(!0 << 3 | 2, &tg, false), Ok(Clock::Cpu));
        assert_eq!(
            Clock::for_timer(!(i32::MAX - 8) << 3 | 2, &tg, false),
            Err(Errno::EINVAL)
        );
        tasks().remove_group(tg.tgid);
    }

    #[test]
    fn posix_timer_ids_are_per_process_and_reused_after_exit() {
        let tg = tasks().new_group(i32::MAX - 9, 0, 0, 0, actions());
        let a = create_timer(&tg, Clock::Monotonic, Notify::None, None, 10);
        let b = create_timer(&tg, Clock::Monotonic, Notify::None, None, 10);
        assert_eq!((a, b), (Ok(0), Ok(1)));
        assert_eq!(delete_timer(&tg, 0), Ok(()));
        assert_eq!(delete_timer(&tg, 0), Err(Errno::EINVAL));
        assert!(posix_timer(&tg, 1).is_ok());
        exit_process_timers(tg.tgid);
        assert!(posix_timer(&tg, 1).is_err());
        tasks().remove_group(tg.tgid);
    }

    #[test]
    fn timer_create_stops_at_the_limit() {
        let tg = tasks().new_group(i32::MAX - 11, 0, 0, 0, actions());
        assert!(create_timer(&tg, Clock::Monotonic, Notify::None, None, 1).is_ok());
        assert_eq!(
            create_timer(&tg, Clock::Monotonic, Notify::None, None, 1),
            Err(Errno::EAGAIN)
        );
        exit_process_timers(tg.tgid);
        tasks().remove_group(tg.tgid);
    }

    #[test]
    fn an_expired_posix_timer_queues_its_signal_and_counts_overruns() {
        let tg = tasks().new_group(i32::MAX - 13, 0, 0, 0, actions());
        let notify = Notify::Group {
            signo: libc::SIGRTMIN(),
            tg: Arc::downgrade(&tg),
        };
        let t = Timer::new(Kind::Posix { id: 3, value: 9 }, notify, Clock::Monotonic);
        let mut st = State::default();
        let first = t
            .expired(&mut st, 1)
            .map(|i| (i.timer_id(), i.overrun(), i.value()));
        assert_eq!(first, Some((3, 0, 9)));
        tg.pending.push(SigInfo::timer(libc::SIGRTMIN(), 3, 0, 9));
        // Two more expiries while the signal is still queued.
        assert!(t.expired(&mut st, 2).is_none());
        let queued = tg.pending.take(u64::MAX);
        assert_eq!(queued.map(|i| i.overrun()), Some(2));
        t.settle(&mut st);
        assert_eq!(st.overrun_last, 2);
        tasks().remove_group(tg.tgid);
    }
}
