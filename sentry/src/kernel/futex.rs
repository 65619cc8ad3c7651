//! Futexes: wait queues keyed by address. A private futex is keyed by its
//! address space and address; a shared one by the memory-file offset behind
//! it, so processes sharing a MAP_SHARED page meet on the same key. Also the
//! robust-list walk done when a thread exits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::task::Task;
use super::waiter::Waker;
use crate::errno::Errno;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Private { mm: usize, addr: u64 },
    Shared { off: u64 },
}

struct Waiter {
    woken: AtomicBool,
    waker: Arc<Waker>,
    bitset: u32,
}

#[derive(Default)]
pub struct FutexTable {
    queues: Mutex<HashMap<Key, Vec<Arc<Waiter>>>>,
}

impl FutexTable {
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Vec<Arc<Waiter>>>> {
        match self.queues.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

/// The key of the futex word at `addr` (4-byte aligned, mapped readable).
pub fn key(t: &Task, addr: u64, private: bool) -> Result<Key, Errno> {
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    if private {
        // Still check the address is mapped, as Linux does on access.
        t.mm.translate(addr, 4, false)?;
        return Ok(Key::Private {
            mm: Arc::as_ptr(&t.mm) as usize,
            addr,
        });
    }
    let segs = t.mm.translate(addr, 4, false)?;
    let off = segs.first().map(|s| s.0).ok_or(Errno::EFAULT)?;
    Ok(Key::Shared { off })
}

/// The futex word, read atomically through the memory file.
fn word(t: &Task, addr: u64) -> Result<&'static AtomicU32, Errno> {
    let segs = t.mm.translate(addr, 4, false)?;
    let off = segs.first().map(|s| s.0).ok_or(Errno::EFAULT)?;
    let p = t.mm.memfile().ptr(off, 4) as *const AtomicU32;
    // SAFETY: `p` is 4-byte aligned (addr % 4 == 0 and pages are aligned),
    // inside the memory file mapping, which lives as long as the sandbox;
    // AtomicU32 is the right way to touch memory other processes write.
    Ok(unsafe { &*p })
}

/// FUTEX_WAIT / FUTEX_WAIT_BITSET: sleeps while *addr == val.
pub fn wait(
    t: &Task,
    addr: u64,
    val: u32,
    bitset: u32,
    private: bool,
    deadline: Option<Instant>,
) -> Result<u64, Errno> {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let k = key(t, addr, private)?;
    let w = Arc::new(Waiter {
        woken: AtomicBool::new(false),
        waker: t.waker.clone(),
        bitset,
    });
    {
        let mut q = t.kernel.futexes.lock();
        let cur = word(t, addr)?.load(Ordering::SeqCst);
        if cur != val {
            return Err(Errno::EAGAIN);
        }
        q.entry(k).or_default().push(w.clone());
    }
    let result = loop {
        let seen = t.waker.seq();
        if w.woken.load(Ordering::SeqCst) {
            break Ok(0);
        }
        match t.block(seen, deadline) {
            Ok(true) => {}
            Ok(false) => {
                if w.woken.load(Ordering::SeqCst) {
                    break Ok(0);
                }
                break Err(Errno::ETIMEDOUT);
            }
            Err(e) => {
                if w.woken.load(Ordering::SeqCst) {
                    break Ok(0);
                }
                break Err(e);
            }
        }
    };
    if result.is_err() {
        // Leave the queue (we may have been requeued under another key).
        let mut q = t.kernel.futexes.lock();
        for v in q.values_mut() {
            v.retain(|x| !Arc::ptr_eq(x, &w));
        }
        q.retain(|_, v| !v.is_empty());
    }
    result
}

fn wake_key(q: &mut HashMap<Key, Vec<Arc<Waiter>>>, k: Key, n: u32, bitset: u32) -> u64 {
    let mut woken = 0u64;
    if let Some(v) = q.get_mut(&k) {
        let mut i = 0;
        while i < v.len() && woken < n as u64 {
            if v[i].bitset & bitset != 0 {
                let w = v.remove(i);
                w.woken.store(true, Ordering::SeqCst);
                w.waker.wake();
                woken += 1;
            } else {
                i += 1;
            }
        }
        if v.is_empty() {
            q.remove(&k);
        }
    }
    woken
}

/// FUTEX_WAKE / FUTEX_WAKE_BITSET: wakes up to `n` waiters.
pub fn wake(t: &Task, addr: u64, n: u32, bitset: u32, private: bool) -> Result<u64, Errno> {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let k = key(t, addr, private)?;
    let mut q = t.kernel.futexes.lock();
    Ok(wake_key(&mut q, k, n, bitset))
}

/// FUTEX_REQUEUE / FUTEX_CMP_REQUEUE.
#[allow(clippy::too_many_arguments)]
pub fn requeue(
    t: &Task,
    addr: u64,
    n_wake: u32,
    n_requeue: u32,
    addr2: u64,
    cmp: Option<u32>,
    private: bool,
) -> Result<u64, Errno> {
    let k1 = key(t, addr, private)?;
    let k2 = key(t, addr2, private)?;
    let mut q = t.kernel.futexes.lock();
    if let Some(c) = cmp {
        if word(t, addr)?.load(Ordering::SeqCst) != c {
            return Err(Errno::EAGAIN);
        }
    }
    let woken = wake_key(&mut q, k1, n_wake, u32::MAX);
    let mut moved = 0u64;
    if k1 != k2 {
        let mut take = Vec::new();
        if let Some(v) = q.get_mut(&k1) {
            while moved < n_requeue as u64 && !v.is_empty() {
                take.push(v.remove(0));
                moved += 1;
            }
            if v.is_empty() {
                q.remove(&k1);
            }
        }
        q.entry(k2).or_default().extend(take);
    }
    Ok(woken + moved)
}

/// FUTEX_WAKE_OP.
pub fn wake_op(
    t: &Task,
    addr: u64,
    n1: u32,
    addr2: u64,
    n2: u32,
    op: u32,
    private: bool,
) -> Result<u64, Errno> {
    let k1 = key(t, addr, private)?;
    let k2 = key(t, addr2, private)?;
    // The second word must be writable.
    t.mm.translate(addr2, 4, true)?;
    let mut q = t.kernel.futexes.lock();
    let w2 = word(t, addr2)?;
    let shift = (op >> 31) & 1 != 0;
    let kind = (op >> 28) & 7;
    let cmp = (op >> 24) & 15;
    let mut oparg = (op >> 12) & 0xfff;
    let cmparg = op & 0xfff;
    if shift {
        oparg = 1u32.checked_shl(oparg).unwrap_or(0);
    }
    let old = match kind {
        0 => w2.swap(oparg, Ordering::SeqCst),
        1 => w2.fetch_add(oparg, Ordering::SeqCst),
        2 => w2.fetch_or(oparg, Ordering::SeqCst),
        3 => w2.fetch_and(!oparg, Ordering::SeqCst),
        4 => w2.fetch_xor(oparg, Ordering::SeqCst),
        _ => return Err(Errno::ENOSYS),
    };
    let o = old as i32;
    let c = cmparg as i32;
    let hit = match cmp {
        0 => o == c,
        1 => o != c,
        2 => o < c,
        3 => o <= c,
        4 => o > c,
        5 => o >= c,
        _ => return Err(Errno::ENOSYS),
    };
    let mut n = wake_key(&mut q, k1, n1, u32::MAX);
    if hit {
        n += wake_key(&mut q, k2, n2, u32::MAX);
    }
    Ok(n)
}

const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// Linux's bound on a robust list walk.
const ROBUST_LIST_LIMIT: usize = 2048;

/// Marks the robust futexes a dying thread still holds as owner-died and
/// wakes one waiter of each.
pub fn exit_robust_list(t: &Task) {
    let (head, _) = t.robust_list;
    if head == 0 {
        return;
    }
    let Ok(mut entry) = t.read_struct::<u64>(head) else {
        return;
    };
    let Ok(offset) = t.read_struct::<i64>(head + 8) else {
        return;
    };
    let pending = t.read_struct::<u64>(head + 16).unwrap_or(0);
    let handle = |e: u64| {
        let addr = (e as i64).wrapping_add(offset) as u64;
        if let Ok(w) = word(t, addr) {
            let v = w.load(Ordering::SeqCst);
            if v & FUTEX_TID_MASK == t.tid as u32 {
                w.store((v & FUTEX_WAITERS) | FUTEX_OWNER_DIED, Ordering::SeqCst);
                if v & FUTEX_WAITERS != 0 {
                    let _ = wake(t, addr, 1, u32::MAX, false);
                    let _ = wake(t, addr, 1, u32::MAX, true);
                }
            }
        }
    };
    let mut n = 0;
    while entry != head && entry != 0 && n < ROBUST_LIST_LIMIT {
        let next = t.read_struct::<u64>(entry).unwrap_or(head);
        if entry != pending {
            handle(entry);
        }
        entry = next;
        n += 1;
    }
    if pending != 0 {
        handle(pending);
    }
}
