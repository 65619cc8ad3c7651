//! Blocking inside the sentry: wait queues that objects (pipes, futexes,
//! child exits, timers) notify, and the per-task waker that a blocked task
//! sleeps on. A task's waker is also kicked when a signal arrives for it, so
//! every blocking syscall can be interrupted.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Instant;

/// What a blocked task sleeps on.
#[derive(Default)]
pub struct Waker {
    /// Bumped on every wake; a sleeper compares it with what it saw.
    seq: Mutex<u64>,
    cv: Condvar,
    /// Threads asleep in `sleep` (what /proc shows as state S).
    sleepers: std::sync::atomic::AtomicU32,
}

/// Counts a sleeper for as long as it lives.
struct Asleep<'a>(&'a std::sync::atomic::AtomicU32);

impl Drop for Asleep<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Waker {
    pub fn new() -> Arc<Waker> {
        Arc::new(Waker::default())
    }

    /// The current wake count, taken before checking a condition.
    pub fn seq(&self) -> u64 {
        *lock(&self.seq)
    }

    /// Whether the task is asleep in the sentry (for /proc's state).
    pub fn is_sleeping(&self) -> bool {
        self.sleepers.load(std::sync::atomic::Ordering::Relaxed) > 0
    }

    pub fn wake(&self) {
        *lock(&self.seq) += 1;
        self.cv.notify_all();
    }

    /// Sleeps until woken after `seen` or until `deadline`; returns false on timeout.
    pub fn sleep(&self, seen: u64, deadline: Option<Instant>) -> bool {
        self.sleepers
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _asleep = Asleep(&self.sleepers);
        let mut g = lock(&self.seq);
        while *g == seen {
            match deadline {
                None => {
                    g = match self.cv.wait(g) {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    }
                }
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    g = match self.cv.wait_timeout(g, d - now) {
                        Ok((g, _)) => g,
                        Err(p) => p.into_inner().0,
                    };
                }
            }
        }
        true
    }
}

/// Event bits a queue is notified with (poll's POLL* bits).
pub type Events = u32;

struct Entry {
    waker: Weak<Waker>,
    mask: Events,
}

/// Tasks waiting on one object.
#[derive(Default)]
pub struct WaitQueue {
    entries: Mutex<Vec<Entry>>,
}

impl WaitQueue {
    pub fn new() -> WaitQueue {
        WaitQueue::default()
    }

    /// Registers `waker` for the events in `mask` until `remove`.
    pub fn add(&self, waker: &Arc<Waker>, mask: Events) {
        let mut e = lock(&self.entries);
        e.retain(|x| x.waker.strong_count() > 0);
        e.push(Entry {
            waker: Arc::downgrade(waker),
            mask,
        });
    }

    pub fn remove(&self, waker: &Arc<Waker>) {
        let p = Arc::as_ptr(waker);
        lock(&self.entries).retain(|x| x.waker.as_ptr() != p && x.waker.strong_count() > 0);
    }

    /// Wakes every waiter interested in any of `events`.
    pub fn notify(&self, events: Events) {
        let wakers: Vec<Arc<Waker>> = lock(&self.entries)
            .iter()
            .filter(|x| x.mask & events != 0)
            .filter_map(|x| x.waker.upgrade())
            .collect();
        for w in wakers {
            w.wake();
        }
    }
}

/// Registers a waker on several queues and removes it when dropped.
pub struct Registration<'a> {
    waker: Arc<Waker>,
    queues: Vec<&'a WaitQueue>,
}

impl<'a> Registration<'a> {
    pub fn new(waker: &Arc<Waker>) -> Registration<'a> {
        Registration {
            waker: waker.clone(),
            queues: Vec::new(),
        }
    }

    pub fn add(&mut self, q: &'a WaitQueue, mask: Events) {
        q.add(&self.waker, mask);
        self.queues.push(q);
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        for q in &self.queues {
            q.remove(&self.waker);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_notify_wakes_a_sleeper_on_a_matching_mask() {
        let q = Arc::new(WaitQueue::new());
        let w = Waker::new();
        q.add(&w, 1);
        let seen = w.seq();
        let q2 = q.clone();
        let t = std::thread::spawn(move || q2.notify(1));
        assert!(w.sleep(seen, Some(Instant::now() + Duration::from_secs(10))));
        t.join().unwrap();
    }

    #[test]
    fn a_sleep_times_out_without_a_wake() {
        let w = Waker::new();
        let seen = w.seq();
        assert!(!w.sleep(seen, Some(Instant::now() + Duration::from_millis(5))));
    }

    #[test]
    fn a_wake_before_sleep_is_not_lost() {
        let w = Waker::new();
        let seen = w.seq();
        w.wake();
        assert!(w.sleep(seen, None));
    }
}
