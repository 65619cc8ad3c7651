//! Freed memory-file ranges kept resident for a while, for reuse.
//!
//! Handing a range back to the host (a punched hole) and taking it again
//! costs a page fault, a page allocation and a page clearing per 4 KiB in
//! the host kernel, which dominates a tmpfs file rewritten in a loop or a
//! buffer freed and allocated again. Freed ranges of `UNIT` bytes (tmpfs
//! chunks, and any free that is a multiple of it) therefore first go to
//! this pool, up to `CAP` bytes, and are taken from it, zeroed in place,
//! by the next allocation of that size. A pool that has served no
//! allocation for `IDLE` is emptied by its trimmer thread: the ranges are
//! punched and returned to the allocator, so an idle sandbox holds no
//! freed memory for longer than that.
//!
//! A range in the pool has no references: nothing maps it (every mapping
//! holds a reference), which is what makes reusing its pages sound.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The size of a pooled range: a tmpfs chunk.
pub const UNIT: u64 = 64 * 1024;
/// The most the pool holds.
pub const CAP: u64 = 64 << 20;
/// How long a pool that serves nothing keeps its ranges.
pub const IDLE: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct WarmPool {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Off: frees punch at once (no trimmer to bound how long memory stays).
    on: bool,
    ranges: Vec<u64>,
    /// When the pool last served an allocation (or was first filled).
    last_hit: Option<Instant>,
    /// A trimmer thread runs (it exits once the pool is empty).
    trimming: bool,
}

/// What `put` did with a freed range.
pub enum Put {
    /// Taken whole.
    Kept,
    /// Taken up to the cap; the rest, `[off, off+len)`, is the caller's to free.
    Rest { off: u64, len: u64 },
    /// Taken (wholly or partly: `rest` as above), and no trimmer runs: the
    /// caller starts one.
    KeptStartTrimmer { rest: Option<(u64, u64)> },
}

impl WarmPool {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets the pool keep ranges (the memory file can run a trimmer).
    pub fn enable(&self) {
        self.lock().on = true;
    }

    /// A pooled range for an allocation of `len` bytes, if there is one;
    /// the caller zeroes it.
    pub fn take(&self, len: u64) -> Option<u64> {
        if len != UNIT {
            return None;
        }
        let mut st = self.lock();
        let off = st.ranges.pop()?;
        st.last_hit = Some(Instant::now());
        Some(off)
    }

    /// Offers the freed range `[off, off+len)`.
    pub fn put(&self, off: u64, len: u64) -> Put {
        let mut st = self.lock();
        if !st.on || len == 0 || !len.is_multiple_of(UNIT) {
            return Put::Rest { off, len };
        }
        let room = (CAP / UNIT).saturating_sub(st.ranges.len() as u64) * UNIT;
        let kept = len.min(room);
        if kept == 0 {
            return Put::Rest { off, len };
        }
        // Highest first, so that allocations pop them in address order.
        let mut at = off + kept;
        while at > off {
            at -= UNIT;
            st.ranges.push(at);
        }
        if st.last_hit.is_none() {
            st.last_hit = Some(Instant::now());
        }
        let rest = (kept < len).then_some((off + kept, len - kept));
        if st.trimming {
            return match rest {
                Some((off, len)) => Put::Rest { off, len },
                None => Put::Kept,
            };
        }
        st.trimming = true;
        Put::KeptStartTrimmer { rest }
    }

    /// The trimmer's step: the ranges to give back if the pool has served
    /// nothing for `IDLE`, and how long to sleep before the next look;
    /// `None` when the pool is empty and the trimmer should exit.
    pub fn trim(&self, now: Instant) -> Option<(Vec<u64>, Duration)> {
        let mut st = self.lock();
        if st.ranges.is_empty() {
            st.trimming = false;
            st.last_hit = None;
            return None;
        }
        let since = st
            .last_hit
            .map_or(IDLE, |t| now.saturating_duration_since(t));
        if since >= IDLE {
            st.last_hit = None;
            return Some((std::mem::take(&mut st.ranges), IDLE));
        }
        Some((Vec::new(), IDLE - since))
    }

    /// The trimmer could not start: the pool gives up its ranges and is off.
    pub fn disable(&self) -> Vec<u64> {
        let mut st = self.lock();
        st.on = false;
        st.trimming = false;
        std::mem::take(&mut st.ranges)
    }

    /// Bytes held.
    pub fn held(&self) -> u64 {
        self.lock().ranges.len() as u64 * UNIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_until_enabled() {
        let p = WarmPool::default();
        assert!(matches!(p.put(0, UNIT), Put::Rest { off: 0, len: UNIT }));
        assert_eq!(p.take(UNIT), None);
    }

    #[test]
    fn keeps_units_up_to_the_cap_and_serves_them_in_order() {
        let p = WarmPool::default();
        p.enable();
        assert!(matches!(
            p.put(0, 3 * UNIT),
            Put::KeptStartTrimmer { rest: None }
        ));
        assert!(matches!(p.put(10 * UNIT, 100), Put::Rest { len: 100, .. }));
        assert_eq!(p.take(UNIT), Some(0));
        assert_eq!(p.take(2 * UNIT), None, "only single units are served");
        let big = CAP + 2 * UNIT;
        match p.put(UNIT << 20, big) {
            Put::Rest { off, len } => {
                assert_eq!(len, big - (CAP - 2 * UNIT));
                assert_eq!(off, (UNIT << 20) + CAP - 2 * UNIT);
            }
            _ => panic!("past the cap the rest is the caller's"),
        }
        assert_eq!(p.held(), CAP);
    }

    #[test]
    fn an_idle_pool_is_trimmed_and_the_trimmer_ends_when_empty() {
        let p = WarmPool::default();
        p.enable();
        p.put(0, 2 * UNIT);
        let t0 = Instant::now();
        let (gone, wait) = p.trim(t0).expect("ranges held");
        assert!(gone.is_empty(), "just used: kept");
        assert!(wait <= IDLE);
        let (gone, _) = p.trim(t0 + IDLE + IDLE).expect("ranges held");
        assert_eq!(gone.len(), 2);
        assert!(p.trim(t0 + IDLE * 3).is_none());
        assert!(matches!(p.put(0, UNIT), Put::KeptStartTrimmer { .. }));
    }
}
