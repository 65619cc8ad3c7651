//! Address spaces ready ahead of need, and stubs reused.
//!
//! Fork and exec take an address space from the pool instead of waiting for
//! a stub to start: a filler thread keeps `POOL_SIZE` of them ready. It
//! starts on the first request for a second address space, so a sandbox
//! that never forks never pays for it.
//!
//! A stub whose address space is gone is reused rather than killed when it
//! is clean: all its app threads ended through the sentry (each slot's exit
//! acknowledged), none pending, the process alive. The filler then unmaps
//! everything below and above the stub's reserved range (all app memory)
//! and starts a fresh stub thread in it, cloned by the memory thread (which
//! never runs app code, so the thread starts with clean registers and FP
//! state); the result is the same as a newly started stub at its first
//! stop. This saves the spawn, exec and exit of a process per fork.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::SystrapAddressSpace;
use crate::stubproc;

/// How many ready address spaces the filler keeps by starting new stubs
/// (stubs given back for reuse count as ready).
const POOL_SIZE: usize = 2;
/// How many it holds at most, reused stubs included: above `POOL_SIZE`, so
/// that in a fork loop each child's stub serves a later fork and no new
/// stub has to start.
const POOL_MAX: usize = POOL_SIZE + 2;

pub(super) struct Pool {
    spaces: Mutex<PoolState>,
    wanted: Condvar,
}

#[derive(Default)]
struct PoolState {
    ready: Vec<SystrapAddressSpace>,
    /// Stubs given back, still holding their last app's memory.
    used: Vec<SystrapAddressSpace>,
    /// Address spaces asked for so far.
    asked: usize,
    filler: bool,
    closed: bool,
}

impl Pool {
    pub(super) fn new() -> Pool {
        Pool {
            spaces: Mutex::new(PoolState::default()),
            wanted: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.spaces.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A ready address space, if one is; starts the filler on first use.
    pub(super) fn take(
        self: &Arc<Pool>,
        factory: &Arc<stubproc::Factory>,
    ) -> Option<SystrapAddressSpace> {
        let mut st = self.lock();
        st.asked += 1;
        if st.asked > 1 {
            self.ensure_filler(&mut st, factory);
        }
        let s = st.ready.pop();
        self.wanted.notify_one();
        s
    }

    fn ensure_filler(self: &Arc<Pool>, st: &mut PoolState, factory: &Arc<stubproc::Factory>) {
        if st.filler || st.closed {
            return;
        }
        st.filler = true;
        let (pool, factory) = (Arc::clone(self), Arc::clone(factory));
        let spawned = std::thread::Builder::new()
            .name("ward-systrap-pool".into())
            .spawn(move || pool.fill(&factory));
        if spawned.is_err() {
            st.filler = false;
        }
    }

    /// Offers the stub of a dropped address space for reuse; hands it
    /// back when the pool has no use for it (the caller then ends it).
    pub(super) fn recycle(self: &Arc<Pool>, s: SystrapAddressSpace) -> Option<SystrapAddressSpace> {
        let mut st = self.lock();
        if st.closed || st.ready.len() + st.used.len() >= POOL_MAX {
            return Some(s);
        }
        let factory = Arc::clone(&s.factory);
        st.used.push(s);
        self.ensure_filler(&mut st, &factory);
        self.wanted.notify_one();
        None
    }

    /// Closes the pool: what it holds, for the caller to drop outside the lock.
    pub(super) fn close(&self) -> Vec<SystrapAddressSpace> {
        let mut st = self.lock();
        st.closed = true;
        let mut all = std::mem::take(&mut st.ready);
        all.append(&mut st.used);
        self.wanted.notify_all();
        all
    }

    /// The filler: readies used stubs first, and starts new ones while
    /// fewer than `POOL_SIZE` are ready or being readied, until closed. A failure to start
    /// one leaves the work to `new_address_space`, which reports it.
    fn fill(self: &Arc<Pool>, factory: &Arc<stubproc::Factory>) {
        loop {
            let used = {
                let mut st = self.lock();
                loop {
                    if st.closed {
                        return;
                    }
                    if let Some(s) = st.used.pop() {
                        break Some(s);
                    }
                    if st.ready.len() + st.used.len() < POOL_SIZE {
                        break None;
                    }
                    st = self.wanted.wait(st).unwrap_or_else(|p| p.into_inner());
                }
            };
            let made = match used {
                Some(mut s) => match s.refresh() {
                    Ok(()) => Ok(s),
                    Err(e) => {
                        tracing::debug!("systrap pool: reusing stub {}: {e}", s.pid);
                        s.end();
                        continue;
                    }
                },
                None => SystrapAddressSpace::start(Arc::clone(factory), Arc::downgrade(self)),
            };
            match made {
                Ok(s) => {
                    let mut st = self.lock();
                    if st.closed || st.ready.len() >= POOL_MAX {
                        drop(st);
                        s.end();
                    } else {
                        st.ready.push(s);
                    }
                }
                Err(e) => {
                    tracing::debug!("systrap pool: {e}");
                    self.lock().filler = false;
                    return;
                }
            }
        }
    }
}
