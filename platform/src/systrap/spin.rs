//! When a sentry thread waits for its stub thread by spinning on another
//! CPU instead of sleeping beside it on one.
//!
//! A sentry thread and its stub thread normally share one CPU and hand the
//! CPU to each other by futex: a trapped call then costs two same-CPU
//! context switches. While an app traps in quick succession, a sentry
//! thread may instead take a *spin token*, move to a partner CPU and spin
//! there, with the stub spinning on its own CPU for the answer: no context
//! switch at all, about a third of the cost. The price is a second CPU kept
//! busy, so spinning is bounded everywhere:
//!
//! - at most half the sandbox's CPUs hold a token (none with one CPU);
//! - a thread enters only after `need` consecutive quick cycles (stop to
//!   stop under `ENTER_NS`), and `need` doubles each time a stint ends soon
//!   after it began;
//! - it leaves when a wait for the app outlasts `SPIN_NS` (the app
//!   computes, or the partner CPU is contended and the thread was not
//!   running), or the stub stopped spinning and went to sleep (the sentry
//!   blocked on something: waking it across CPUs costs more than the two
//!   switches saved) — at the second such miss within `MISS_WINDOW`
//!   cycles: a lone miss (the thread preempted for a moment) costs one
//!   wake-up across CPUs, less than leaving and coming back.
//!
//! Leaving moves the sentry thread back to its stub's CPU before the stub
//! is woken, so that every wake-up that sleeps stays on one CPU.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Slot, SPIN, STUB_SLEEPING};
use crate::ptrace::raw;

/// A cycle (stop to next stop, sentry work and app code included) shorter
/// than this is a quick one.
const ENTER_NS: u64 = 30_000;
/// How long a spinning sentry thread waits for the app before sleeping.
const SPIN_NS: u64 = 50_000;
/// The same for a stint's first wait, which includes waking the stub
/// across CPUs (it slept beside the sentry thread until then): 60–90 µs on
/// a VM.
const FIRST_SPIN_NS: u64 = 250_000;
/// How long a stub spins for the sentry's answer before sleeping (turned
/// into `pause` iterations at start).
const STUB_SPIN_NS: u64 = 30_000;
/// Quick cycles needed before the first stint, and the most ever needed.
const NEED_MIN: u32 = 8;
const NEED_MAX: u32 = 4096;
/// A stint of at least this many cycles was worth entering.
const STINT_GOOD: u32 = 64;
/// A second miss this many cycles or fewer after one ends the stint.
const MISS_WINDOW: u32 = 256;

/// The sandbox-wide part: the CPUs, the tokens, the stub's spin budget.
pub(super) struct SpinPolicy {
    /// CPUs this process may run on, ascending.
    cpus: Vec<usize>,
    /// Tokens left (a sentry thread spins only while it holds one).
    tokens: AtomicUsize,
    /// `pause` iterations a stub spins for.
    stub_budget: u64,
}

impl SpinPolicy {
    /// The policy for this process's CPUs; spinning is off with fewer than two.
    pub(super) fn new() -> SpinPolicy {
        SpinPolicy::for_cpus(allowed_cpus())
    }

    fn for_cpus(cpus: Vec<usize>) -> SpinPolicy {
        let tokens = cpus.len() / 2;
        let stub_budget = if tokens > 0 {
            pause_iterations(STUB_SPIN_NS)
        } else {
            0
        };
        SpinPolicy {
            cpus,
            tokens: AtomicUsize::new(tokens),
            stub_budget,
        }
    }

    /// A short description for `--debug`.
    pub(super) fn describe(&self) -> String {
        match self.tokens.load(Ordering::Relaxed) {
            0 => format!(
                "same-CPU futex hand-off only ({} CPU usable)",
                self.cpus.len()
            ),
            n => format!(
                "same-CPU futex hand-off, spinning on a second CPU for quick callers (up to {n} of {} CPUs)",
                self.cpus.len()
            ),
        }
    }

    fn take_token(&self) -> bool {
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(1))
            .is_ok()
    }

    fn give_token(&self) {
        self.tokens.fetch_add(1, Ordering::AcqRel);
    }

    /// The CPU a thread whose stub runs on `home` spins on.
    fn partner(&self, home: usize) -> Option<usize> {
        let i = self.cpus.iter().position(|&c| c == home)?;
        let p = self.cpus[(i + 1) % self.cpus.len()];
        (p != home).then_some(p)
    }
}

/// One sentry thread's spinning state.
pub(super) struct Spinner {
    policy: Arc<SpinPolicy>,
    /// While spinning: the stub's CPU, to come back to.
    home: Option<usize>,
    /// Quick cycles in a row, while not spinning.
    quick: u32,
    /// Quick cycles needed to start spinning.
    need: u32,
    /// Cycles in the current stint.
    stint: u32,
    /// The stint's cycle count at its last miss.
    last_miss: Option<u32>,
    last_stop: Option<Instant>,
}

impl Spinner {
    pub(super) fn new(policy: Arc<SpinPolicy>) -> Spinner {
        Spinner {
            policy,
            home: None,
            quick: 0,
            need: NEED_MIN,
            stint: 0,
            last_miss: None,
            last_stop: None,
        }
    }

    pub(super) fn spinning(&self) -> bool {
        self.home.is_some()
    }

    /// Before the stub is resumed: a stub that went to sleep during the
    /// stint ends it (the sentry took long; its wake-up must not cross
    /// CPUs). At a stint's first resume the stub still sleeps from before.
    pub(super) fn before_resume(&mut self, slot: &Slot) {
        if self.spinning() && self.stint > 0 && slot.word(STUB_SLEEPING).load(Ordering::SeqCst) != 0
        {
            self.miss(slot, "the stub slept");
        }
    }

    /// Waits, spinning, until `word` holds `want`; false if the app took
    /// longer than `SPIN_NS` (the caller then sleeps; the stint may end).
    pub(super) fn spin_wait(&mut self, slot: &Slot, word: &AtomicU32, want: u32) -> bool {
        let limit = Duration::from_nanos(if self.stint == 0 {
            FIRST_SPIN_NS
        } else {
            SPIN_NS
        });
        let start = Instant::now();
        loop {
            for _ in 0..64 {
                if word.load(Ordering::Acquire) == want {
                    return true;
                }
                std::hint::spin_loop();
            }
            if start.elapsed() > limit {
                self.miss(slot, "the app took long");
                return false;
            }
        }
    }

    /// After the stub stopped: counts the cycle, and starts a stint after
    /// enough quick ones.
    pub(super) fn after_stop(&mut self, slot: &Slot) {
        let now = Instant::now();
        let cycle = self.last_stop.map(|t| now.duration_since(t));
        self.last_stop = Some(now);
        if self.spinning() {
            self.stint = self.stint.saturating_add(1);
            return;
        }
        match cycle {
            Some(c) if c < Duration::from_nanos(ENTER_NS) => self.quick += 1,
            _ => self.quick = 0,
        }
        if self.quick >= self.need {
            self.quick = 0;
            self.enter(slot);
        }
    }

    /// The binding changed (another address space or stub thread, pinned
    /// together with this thread where it ran): the stint, if any, ends
    /// without touching the old slot.
    pub(super) fn rebind(&mut self) {
        if self.home.take().is_some() {
            self.policy.give_token();
        }
        self.quick = 0;
        self.last_stop = None;
    }

    fn enter(&mut self, slot: &Slot) {
        let home = raw::current_cpu();
        let Some(partner) = self.policy.partner(home) else {
            return;
        };
        if !self.policy.take_token() {
            return;
        }
        if raw::pin_to_cpu(0, partner).is_err() {
            self.policy.give_token();
            return;
        }
        slot.set(SPIN, self.policy.stub_budget);
        self.home = Some(home);
        self.stint = 0;
        self.last_miss = None;
        tracing::trace!(home, partner, "systrap: spinning");
    }

    /// A wait that went wrong: the stint ends if another did lately.
    fn miss(&mut self, slot: &Slot, why: &'static str) {
        let recent = self
            .last_miss
            .is_some_and(|m| self.stint.saturating_sub(m) <= MISS_WINDOW);
        if recent || self.stint == 0 {
            self.leave(slot, why);
        } else {
            self.last_miss = Some(self.stint);
        }
    }

    fn leave(&mut self, slot: &Slot, why: &'static str) {
        let Some(home) = self.home.take() else {
            return;
        };
        slot.set(SPIN, 0);
        self.policy.give_token();
        // Back beside the stub: if this fails the thread stays where it is,
        // which costs speed only.
        let _ = raw::pin_to_cpu(0, home);
        self.need = if self.stint >= STINT_GOOD {
            NEED_MIN
        } else {
            (self.need * 2).min(NEED_MAX)
        };
        self.quick = 0;
        tracing::trace!(
            home,
            stint = self.stint,
            need = self.need,
            why,
            "systrap: sleeping"
        );
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if self.home.take().is_some() {
            self.policy.give_token();
        }
    }
}

/// The CPUs the calling thread may run on.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is a plain bit array; zeroed is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable cpu_set_t of the size passed.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r != 0 {
        return Vec::new();
    }
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: CPU_ISSET only reads bit `c` of `set`, in bounds.
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect()
}

/// How many `pause` iterations take about `ns` here.
fn pause_iterations(ns: u64) -> u64 {
    const PROBE: u64 = 2000;
    let start = Instant::now();
    for _ in 0..PROBE {
        std::hint::spin_loop();
    }
    let each = (start.elapsed().as_nanos() as u64 / PROBE).clamp(1, 200);
    ns / each
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::systrap::{stub, CtxMap, STATE, STOPPED};

    #[test]
    fn tokens_are_half_the_cpus_and_partners_differ() {
        let one = SpinPolicy::for_cpus(vec![3]);
        assert!(!one.take_token());
        assert_eq!(one.partner(3), None);
        assert_eq!(one.stub_budget, 0);

        let four = SpinPolicy::for_cpus(vec![0, 1, 2, 5]);
        assert!(four.take_token());
        assert!(four.take_token());
        assert!(!four.take_token());
        four.give_token();
        assert!(four.take_token());
        assert_eq!(four.partner(1), Some(2));
        assert_eq!(four.partner(5), Some(0));
        assert_eq!(four.partner(4), None);
        assert!(four.stub_budget > 0);
    }

    /// A real slot (in a memfd mapping, as the sentry's); the thread's CPU
    /// affinity is put back at the end.
    #[test]
    fn a_thread_spins_after_quick_cycles_and_stops_when_its_stub_sleeps() {
        let cpus = allowed_cpus();
        if cpus.len() < 2 {
            eprintln!("skipped: one CPU");
            return;
        }
        let fd = raw::memfd_create(c"spin-test").expect("memfd");
        let len = stub::FILE_LEN as i64;
        // SAFETY: ftruncate on our own fd.
        let r = unsafe { libc::ftruncate(std::os::fd::AsRawFd::as_raw_fd(&fd), len) };
        assert_eq!(r, 0);
        let map = CtxMap::new(&fd).expect("map");
        let slot = map.slot(1);
        slot.prepare();

        let policy = Arc::new(SpinPolicy::for_cpus(cpus.clone()));
        let mut s = Spinner::new(Arc::clone(&policy));
        let home = raw::current_cpu();
        raw::pin_to_cpu(0, home).expect("pin");
        for _ in 0..=NEED_MIN {
            assert!(!s.spinning());
            s.after_stop(&slot);
        }
        assert!(s.spinning(), "quick cycles start a stint");
        assert_eq!(raw::current_cpu(), policy.partner(home).expect("partner"));
        assert_eq!(slot.get(SPIN), policy.stub_budget);
        assert!(!policy.take_token(), "the one token of two CPUs is held");

        // The stub still sleeps from before the stint at its first resume.
        slot.word(STUB_SLEEPING).store(1, Ordering::SeqCst);
        s.before_resume(&slot);
        assert!(s.spinning());
        slot.word(STUB_SLEEPING).store(0, Ordering::SeqCst);
        slot.word(STATE).store(STOPPED, Ordering::SeqCst);
        assert!(s.spin_wait(&slot, slot.word(STATE), STOPPED));
        s.after_stop(&slot);

        // Later, a stub that slept once is a lone miss: the stint goes on.
        slot.word(STUB_SLEEPING).store(1, Ordering::SeqCst);
        s.before_resume(&slot);
        assert!(s.spinning(), "a lone miss is borne");
        s.after_stop(&slot);

        // A second one soon after ends it: back home, budget and token
        // back, and a short stint makes the next one harder to start.
        s.before_resume(&slot);
        assert!(!s.spinning());
        assert_eq!(raw::current_cpu(), home);
        assert_eq!(slot.get(SPIN), 0);
        assert_eq!(s.need, NEED_MIN * 2);
        assert!(policy.take_token());
        policy.give_token();

        // A wait for the app that outlasts the limit also ends a stint (at
        // once when it is the stint's first, whose limit is the longer).
        s.need = 1;
        s.after_stop(&slot);
        s.after_stop(&slot);
        assert!(s.spinning());
        slot.word(STATE).store(0, Ordering::SeqCst);
        assert!(!s.spin_wait(&slot, slot.word(STATE), STOPPED));
        assert!(!s.spinning());
        assert_eq!(raw::current_cpu(), home);

        restore_affinity(&cpus);
    }

    fn restore_affinity(cpus: &[usize]) {
        // SAFETY: cpu_set_t is a plain bit array; zeroed is the empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for &c in cpus {
            // SAFETY: CPU_SET writes bit `c` of `set`, bounds-checked by libc.
            unsafe { libc::CPU_SET(c, &mut set) };
        }
        // SAFETY: `set` is a valid cpu_set_t of the size passed.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    }
}
