//! Advisory file locks, sandbox-wide: flock(2) locks and fcntl byte-range
//! locks (classic POSIX locks owned by a process, OFD locks owned by an
//! open file description), keyed by the file's identity (dev, ino) so every
//! description of one file sees the same locks.
//!
//! Owners that are descriptions are held weakly: a lock whose description
//! is gone (its last fd closed) no longer counts, and is pruned on the next
//! look. Process-owned locks are dropped by `release_process` (close of any
//! fd of the file by that process) and `release_all` (exit). Every release
//! notifies `queue()`, which blocked lockers sleep on.
//!
//! Never does: block (callers sleep with `Task::block`), or talk to the
//! host: locks are not shared with anything outside the sandbox.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use super::file::FileDescription;
use crate::kernel::waiter::WaitQueue;

/// A file's identity: (st_dev, st_ino).
pub type FileKey = (u64, u64);

/// Who holds a lock.
#[derive(Clone)]
pub enum Owner {
    /// A classic POSIX lock: the process (thread group id).
    Process(i32),
    /// An OFD lock or a flock lock: the open file description.
    File(Weak<dyn FileDescription>),
}

impl Owner {
    /// The owner of OFD and flock locks taken through `file`.
    pub fn of_file(file: &Arc<dyn FileDescription>) -> Owner {
        Owner::File(Arc::downgrade(file))
    }

    fn same(&self, other: &Owner) -> bool {
        match (self, other) {
            (Owner::Process(a), Owner::Process(b)) => a == b,
            (Owner::File(a), Owner::File(b)) => std::ptr::addr_eq(a.as_ptr(), b.as_ptr()),
            _ => false,
        }
    }

    fn alive(&self) -> bool {
        match self {
            Owner::Process(_) => true,
            Owner::File(w) => w.strong_count() > 0,
        }
    }
}

/// One byte-range lock: `[start, end)`, `end` u64::MAX meaning "to the end
/// of the file, however far it grows".
#[derive(Clone)]
pub struct Range {
    pub start: u64,
    pub end: u64,
    pub exclusive: bool,
}

/// A conflicting lock, as F_GETLK reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub start: u64,
    pub end: u64,
    pub exclusive: bool,
    /// The holder's pid; -1 for an OFD lock.
    pub pid: i32,
}

struct Held {
    owner: Owner,
    range: Range,
}

struct FlockHeld {
    owner: Owner,
    exclusive: bool,
}

#[derive(Default)]
struct Table {
    ranges: HashMap<FileKey, Vec<Held>>,
    flocks: HashMap<FileKey, Vec<FlockHeld>>,
}

fn table() -> MutexGuard<'static, Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    let m = TABLE.get_or_init(|| Mutex::new(Table::default()));
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The queue notified whenever a lock is released: lockers that found a
/// conflict sleep on it and try again.
pub fn queue() -> &'static WaitQueue {
    static QUEUE: OnceLock<WaitQueue> = OnceLock::new();
    QUEUE.get_or_init(WaitQueue::new)
}

fn notify() {
    queue().notify(u32::MAX);
}

fn overlaps(a: &Range, start: u64, end: u64) -> bool {
    a.start < end && start < a.end
}

/// The first lock of another owner over `[start, end)` that conflicts with
/// a lock of kind `exclusive`.
pub fn test_range(key: FileKey, owner: &Owner, r: &Range) -> Option<Conflict> {
    let mut t = table();
    let list = t.ranges.get_mut(&key)?;
    list.retain(|h| h.owner.alive());
    list.iter()
        .find(|h| {
            !h.owner.same(owner)
                && overlaps(&h.range, r.start, r.end)
                && (h.range.exclusive || r.exclusive)
        })
        .map(|h| Conflict {
            start: h.range.start,
            end: h.range.end,
            exclusive: h.range.exclusive,
            pid: match h.owner {
                Owner::Process(p) => p,
                Owner::File(_) => -1,
            },
        })
}

/// Takes the byte-range lock `r` for `owner`, replacing what `owner` held
/// over that range; Err(conflict) leaves everything as it was.
pub fn set_range(key: FileKey, owner: Owner, r: Range) -> Result<(), Conflict> {
    if let Some(c) = test_range(key, &owner, &r) {
        return Err(c);
    }
    let mut t = table();
    let list = t.ranges.entry(key).or_default();
    cut(list, &owner, r.start, r.end);
    list.push(Held { owner, range: r });
    Ok(())
}

/// Drops what `owner` holds over `[start, end)`.
pub fn unlock_range(key: FileKey, owner: &Owner, start: u64, end: u64) {
    {
        let mut t = table();
        if let Some(list) = t.ranges.get_mut(&key) {
            cut(list, owner, start, end);
            if list.is_empty() {
                t.ranges.remove(&key);
            }
        }
    }
    notify();
}

/// Removes `[start, end)` from `owner`'s locks in `list`, splitting any
/// that extend past it.
fn cut(list: &mut Vec<Held>, owner: &Owner, start: u64, end: u64) {
    let mut out = Vec::with_capacity(list.len());
    for h in list.drain(..) {
        if !h.owner.alive() {
            continue;
        }
        if !h.owner.same(owner) || !overlaps(&h.range, start, end) {
            out.push(h);
            continue;
        }
        if h.range.start < start {
            out.push(Held {
                owner: h.owner.clone(),
                range: Range {
                    start: h.range.start,
                    end: start,
                    exclusive: h.range.exclusive,
                },
            });
        }
        if h.range.end > end {
            out.push(Held {
                owner: h.owner.clone(),
                range: Range {
                    start: end,
                    end: h.range.end,
                    exclusive: h.range.exclusive,
                },
            });
        }
    }
    *list = out;
}

/// Whether process `tgid` holds any classic lock (so a close need not look
/// the file up).
pub fn process_holds_locks(tgid: i32) -> bool {
    let owner = Owner::Process(tgid);
    table()
        .ranges
        .values()
        .any(|list| list.iter().any(|h| h.owner.same(&owner)))
}

/// Close of any fd of `key` by process `tgid`: its classic locks on the
/// file go (POSIX's rule, however many other fds it still has).
pub fn release_process(key: FileKey, tgid: i32) {
    unlock_range(key, &Owner::Process(tgid), 0, u64::MAX);
}

/// Exit of process `tgid`: every classic lock it holds goes; and locks of
/// descriptions that are gone with it are pruned.
pub fn release_all(tgid: i32) {
    {
        let mut t = table();
        let owner = Owner::Process(tgid);
        t.ranges.retain(|_, list| {
            list.retain(|h| h.owner.alive() && !h.owner.same(&owner));
            !list.is_empty()
        });
        t.flocks.retain(|_, list| {
            list.retain(|h| h.owner.alive());
            !list.is_empty()
        });
    }
    notify();
}

/// A closed fd may have been the last reference to a description holding
/// OFD or flock locks: wakes lockers so they look again.
pub fn description_closed() {
    notify();
}

/// flock(2) LOCK_SH/LOCK_EX for `owner` (a description): converts a lock
/// it already holds; false when another description holds a conflicting one
/// (after dropping `owner`'s own, as Linux's conversion does).
pub fn flock(key: FileKey, owner: Owner, exclusive: bool) -> bool {
    let granted = {
        let mut t = table();
        let list = t.flocks.entry(key).or_default();
        list.retain(|h| h.owner.alive() && !h.owner.same(&owner));
        let conflict = list.iter().any(|h| h.exclusive || exclusive);
        if !conflict {
            list.push(FlockHeld { owner, exclusive });
        }
        !conflict
    };
    if !granted {
        notify();
    }
    granted
}

/// flock(2) LOCK_UN.
pub fn funlock(key: FileKey, owner: &Owner) {
    {
        let mut t = table();
        if let Some(list) = t.flocks.get_mut(&key) {
            list.retain(|h| h.owner.alive() && !h.owner.same(owner));
            if list.is_empty() {
                t.flocks.remove(&key);
            }
        }
    }
    notify();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u64, end: u64, exclusive: bool) -> Range {
        Range {
            start,
            end,
            exclusive,
        }
    }

    #[test]
    fn shared_ranges_coexist_and_exclusive_ones_conflict() {
        let key = (u64::MAX, 1);
        assert!(set_range(key, Owner::Process(100), r(0, 10, false)).is_ok());
        assert!(set_range(key, Owner::Process(101), r(5, 15, false)).is_ok());
        let c = set_range(key, Owner::Process(102), r(8, 9, true)).unwrap_err();
        assert!(c.pid == 100 || c.pid == 101);
        release_all(100);
        release_all(101);
        assert!(set_range(key, Owner::Process(102), r(8, 9, true)).is_ok());
        release_all(102);
    }

    #[test]
    fn unlocking_the_middle_splits_a_lock() {
        let key = (u64::MAX, 2);
        set_range(key, Owner::Process(200), r(0, 30, true)).unwrap();
        unlock_range(key, &Owner::Process(200), 10, 20);
        assert!(test_range(key, &Owner::Process(201), &r(10, 20, true)).is_none());
        assert!(test_range(key, &Owner::Process(201), &r(0, 1, false)).is_some());
        assert!(test_range(key, &Owner::Process(201), &r(25, 26, false)).is_some());
        release_all(200);
    }
}
