//! epoll instances (epoll_create, epoll_ctl, epoll_wait and friends): the
//! interest list, keyed by (file, fd) as Linux's is, and the scan that
//! turns it into events, level- or edge-triggered, with EPOLLONESHOT.
//!
//! The epoll holds its files weakly: an interest goes away when its file
//! description is last closed, never keeping a pipe end open. Each interest
//! has a waker of its own registered on its file's wait queue; the waker's
//! count moving on (with, for a watched epoll, the counts of what that one
//! watches) is what edge triggering sees as "an event happened". A
//! waiting task registers on every watched file's queue (`wait_sources`)
//! and rescans when any of them, or the epoll itself, is notified.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use super::anon::{self, Flags};
use crate::errno::Errno;
use crate::kernel::waiter::{Events, WaitQueue, Waker};
use crate::vfs::file::FileDescription;
use crate::vfs::stat::Stat;

pub const EPOLLET: u32 = libc::EPOLLET as u32;
pub const EPOLLONESHOT: u32 = libc::EPOLLONESHOT as u32;
pub const EPOLLEXCLUSIVE: u32 = libc::EPOLLEXCLUSIVE as u32;
pub const EPOLLWAKEUP: u32 = libc::EPOLLWAKEUP as u32;
/// The bits that say how to report, not what.
pub const PRIVATE_BITS: u32 = EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP;
const EPOLLERR: u32 = libc::EPOLLERR as u32;
const EPOLLHUP: u32 = libc::EPOLLHUP as u32;
/// What EPOLLEXCLUSIVE may be combined with (Linux's EPOLLEXCLUSIVE_OK_BITS).
const EXCLUSIVE_OK: u32 = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLERR | libc::EPOLLHUP) as u32
    | EPOLLWAKEUP
    | EPOLLET
    | EPOLLEXCLUSIVE;
/// Deepest chain of epolls watching epolls (Linux's EP_MAX_NESTS).
const MAX_NESTS: usize = 4;

/// epoll_ctl's operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Mod,
    Del,
}

/// A file and fd, as one interest's key: the file by address.
type Key = (usize, i32);

fn key_of(file: &Arc<dyn FileDescription>, fd: i32) -> Key {
    (Arc::as_ptr(file) as *const () as usize, fd)
}

struct Interest {
    key: Key,
    file: Weak<dyn FileDescription>,
    /// The requested events with EPOLLERR and EPOLLHUP, and the private bits.
    events: u32,
    data: u64,
    /// Registered on the file's queue; its count moves on every event.
    waker: Arc<Waker>,
    /// The waker's count when the interest was last scanned (edge mode).
    seen: u64,
    /// Set by ADD and MOD: report once if ready, whatever the waker says.
    fresh: bool,
}

impl Interest {
    /// The poll events asked for: nothing for a spent ONESHOT interest.
    fn wanted(&self) -> u32 {
        self.events & !PRIVATE_BITS
    }

    /// A count that moves on with every event of the file: its waker's,
    /// and for an epoll, the events of what it watches (whose queues wake
    /// its waiters, not its own queue).
    fn event_count(&self, file: &dyn FileDescription) -> u64 {
        let inner = epoll_of(file).map_or(0, Epoll::event_count);
        self.waker.seq().wrapping_add(inner)
    }

    fn register(&self, file: &dyn FileDescription) {
        if let Some(q) = file.wait_queue() {
            q.add(&self.waker, self.wanted() | EPOLLERR | EPOLLHUP);
        }
    }

    fn unregister(&self) {
        if let Some(f) = self.file.upgrade() {
            if let Some(q) = f.wait_queue() {
                q.remove(&self.waker);
            }
        }
    }
}

/// The interest list: insertion order kept for fair reporting.
#[derive(Default)]
struct Interests {
    items: BTreeMap<u64, Interest>,
    index: HashMap<Key, u64>,
    /// The last id given out (ids start at 1, after the initial cursor).
    next: u64,
    /// The last interest reported: the next scan starts after it.
    cursor: u64,
}

impl Interests {
    fn remove(&mut self, key: Key) -> Option<Interest> {
        let id = self.index.remove(&key)?;
        self.items.remove(&id)
    }

    /// Interest ids in scan order: after the cursor, then from the start.
    fn scan_order(&self) -> Vec<u64> {
        let c = self.cursor;
        self.items
            .range(c + 1..)
            .chain(self.items.range(..=c))
            .map(|(&id, _)| id)
            .collect()
    }

    /// Drops an interest whose file is gone.
    fn forget(&mut self, id: u64) {
        if let Some(it) = self.items.remove(&id) {
            self.index.remove(&it.key);
        }
    }
}

pub struct Epoll {
    interests: Mutex<Interests>,
    /// Notified when the interest list changes, so waiters rescan.
    queue: WaitQueue,
    flags: Flags,
}

/// Serialises adding one epoll to another, so two of them cannot race
/// into a loop (Linux's epnested_mutex).
static NESTING: Mutex<()> = Mutex::new(());

/// The epoll behind `file`, if it is one.
pub fn epoll_of(file: &dyn FileDescription) -> Option<&Epoll> {
    file.as_any()?.downcast_ref::<Epoll>()
}

impl Default for Epoll {
    fn default() -> Self {
        Epoll::new()
    }
}

impl Epoll {
    pub fn new() -> Epoll {
        Epoll {
            interests: Mutex::new(Interests::default()),
            queue: WaitQueue::new(),
            flags: Flags::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Interests> {
        self.interests.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live files of the epolls this one watches.
    fn child_epolls(&self) -> Vec<Arc<dyn FileDescription>> {
        self.lock()
            .items
            .values()
            .filter_map(|it| it.file.upgrade())
            .filter(|f| epoll_of(&**f).is_some())
            .collect()
    }

    /// Whether `target` is this epoll or watched by it, directly or not,
    /// or the chain below this one is deeper than `depth` allows.
    fn reaches(&self, target: *const Epoll, depth: usize) -> bool {
        if std::ptr::eq(self, target) || depth > MAX_NESTS {
            return true;
        }
        self.child_epolls()
            .iter()
            .any(|f| epoll_of(&**f).is_some_and(|child| child.reaches(target, depth + 1)))
    }

    /// A count that moves on whenever a file this epoll watches (directly
    /// or through nested epolls) has an event.
    fn event_count(&self) -> u64 {
        self.lock()
            .items
            .values()
            .fold(0u64, |sum, it| match it.file.upgrade() {
                Some(f) => sum.wrapping_add(it.event_count(&*f)),
                None => sum,
            })
    }

    /// epoll_ctl on `file` open at `fd`. `event` is (events, data) for ADD
    /// and MOD. The caller has checked that `file` is not this epoll.
    pub fn ctl(
        &self,
        op: Op,
        file: &Arc<dyn FileDescription>,
        fd: i32,
        event: (u32, u64),
    ) -> Result<(), Errno> {
        let (mut events, data) = event;
        events &= !EPOLLWAKEUP;
        let exclusive = op != Op::Del && events & EPOLLEXCLUSIVE != 0;
        if exclusive
            && (op == Op::Mod || epoll_of(&**file).is_some() || events & !EXCLUSIVE_OK != 0)
        {
            return Err(Errno::EINVAL);
        }
        let _nesting = match (op, epoll_of(&**file)) {
            (Op::Add, Some(inner)) => {
                let g = NESTING.lock().unwrap_or_else(|p| p.into_inner());
                if inner.reaches(self, 1) {
                    return Err(Errno::ELOOP);
                }
                Some(g)
            }
            _ => None,
        };
        let key = key_of(file, fd);
        let mut g = self.lock();
        match op {
            Op::Add => {
                if g.index.contains_key(&key) {
                    return Err(Errno::EEXIST);
                }
                let it = Interest {
                    key,
                    file: Arc::downgrade(file),
                    events: events | EPOLLERR | EPOLLHUP,
                    data,
                    waker: Waker::new(),
                    seen: 0,
                    fresh: true,
                };
                it.register(&**file);
                g.next += 1;
                let id = g.next;
                g.index.insert(key, id);
                g.items.insert(id, it);
            }
            Op::Mod => {
                let id = *g.index.get(&key).ok_or(Errno::ENOENT)?;
                let it = g.items.get_mut(&id).ok_or(Errno::ENOENT)?;
                if it.events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                it.unregister();
                it.events = events | EPOLLERR | EPOLLHUP;
                it.data = data;
                it.fresh = true;
                it.register(&**file);
            }
            Op::Del => {
                let it = g.remove(key).ok_or(Errno::ENOENT)?;
                it.unregister();
            }
        }
        drop(g);
        self.queue.notify(Events::MAX);
        Ok(())
    }

    /// Up to `max` events ready now, as (events, data); `consume` false
    /// only looks (edge-triggered and one-shot interests stay as they are).
    fn scan(&self, max: usize, consume: bool) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let mut g = self.lock();
        for id in g.scan_order() {
            if out.len() >= max {
                break;
            }
            let Some(it) = g.items.get_mut(&id) else {
                continue;
            };
            let wanted = it.wanted();
            if wanted == 0 {
                continue;
            }
            let Some(file) = it.file.upgrade() else {
                g.forget(id);
                continue;
            };
            let seq = it.event_count(&*file);
            let edge = it.events & EPOLLET != 0;
            if edge && !it.fresh && seq == it.seen {
                continue;
            }
            let ready = file.readiness(wanted);
            if consume && edge {
                it.fresh = false;
                it.seen = seq;
            }
            if ready == 0 {
                continue;
            }
            out.push((ready, it.data));
            if consume {
                if it.events & EPOLLONESHOT != 0 {
                    it.events &= PRIVATE_BITS;
                }
                g.cursor = id;
            }
        }
        out
    }

    /// epoll_wait's harvest: up to `max` events ready now.
    pub fn collect(&self, max: usize) -> Vec<(u32, u64)> {
        self.scan(max, true)
    }

    /// What a waiter must register on, with the events to wait for: this
    /// epoll's own queue and, through nested epolls, every watched file's.
    pub fn wait_sources(&self, out: &mut Vec<(Arc<dyn FileDescription>, u32)>, depth: usize) {
        let files: Vec<(Arc<dyn FileDescription>, u32)> = self
            .lock()
            .items
            .values()
            .filter_map(|it| Some((it.file.upgrade()?, it.wanted() | EPOLLERR | EPOLLHUP)))
            .collect();
        for (f, mask) in files {
            if depth < MAX_NESTS + 1 {
                if let Some(inner) = epoll_of(&*f) {
                    inner.wait_sources(out, depth + 1);
                }
            }
            out.push((f, mask));
        }
    }

    /// This epoll's own queue (interest list changes).
    pub fn queue(&self) -> &WaitQueue {
        &self.queue
    }
}

/// The files a task waiting for `file`'s `mask` events must register on:
/// the file itself and, for an epoll, everything it watches.
pub fn wait_sources(
    file: &Arc<dyn FileDescription>,
    mask: u32,
    out: &mut Vec<(Arc<dyn FileDescription>, u32)>,
) {
    if let Some(ep) = epoll_of(&**file) {
        ep.wait_sources(out, 1);
    }
    out.push((Arc::clone(file), mask));
}

impl FileDescription for Epoll {
    /// An epoll is readable when epoll_wait would report something.
    fn readiness(&self, mask: u32) -> u32 {
        if self.scan(1, false).is_empty() {
            0
        } else {
            (libc::POLLIN | libc::POLLRDNORM) as u32 & mask
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
        "anon_inode:[eventpoll]".to_string()
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A file whose readiness the test sets, notifying its queue.
    struct Fake {
        ready: AtomicU32,
        queue: WaitQueue,
    }

    impl Fake {
        fn new() -> Arc<Fake> {
            Arc::new(Fake {
                ready: AtomicU32::new(0),
                queue: WaitQueue::new(),
            })
        }

        fn set(&self, ev: u32) {
            self.ready.store(ev, Ordering::SeqCst);
            self.queue.notify(ev);
        }
    }

    impl FileDescription for Fake {
        fn readiness(&self, mask: u32) -> u32 {
            self.ready.load(Ordering::SeqCst) & mask
        }
        fn wait_queue(&self) -> Option<&WaitQueue> {
            Some(&self.queue)
        }
        fn stat(&self) -> Result<Stat, Errno> {
            Ok(Stat::default())
        }
        fn flags(&self) -> i32 {
            libc::O_RDWR
        }
        fn path(&self) -> String {
            "fake".into()
        }
    }

    const IN: u32 = libc::EPOLLIN as u32;
    const OUT: u32 = libc::EPOLLOUT as u32;

    fn file(f: &Arc<Fake>) -> Arc<dyn FileDescription> {
        f.clone()
    }

    #[test]
    fn add_twice_is_eexist_and_del_of_unknown_is_enoent() {
        let ep = Epoll::new();
        let f = file(&Fake::new());
        assert_eq!(ep.ctl(Op::Add, &f, 3, (IN, 0)), Ok(()));
        assert_eq!(ep.ctl(Op::Add, &f, 3, (IN, 0)), Err(Errno::EEXIST));
        assert_eq!(ep.ctl(Op::Add, &f, 4, (IN, 0)), Ok(()));
        assert_eq!(ep.ctl(Op::Del, &f, 5, (0, 0)), Err(Errno::ENOENT));
        assert_eq!(ep.ctl(Op::Mod, &f, 5, (IN, 0)), Err(Errno::ENOENT));
        assert_eq!(ep.ctl(Op::Del, &f, 3, (0, 0)), Ok(()));
        assert_eq!(ep.ctl(Op::Del, &f, 3, (0, 0)), Err(Errno::ENOENT));
    }

    #[test]
    fn level_triggered_reports_while_ready() {
        let ep = Epoll::new();
        let fake = Fake::new();
        let f = file(&fake);
        ep.ctl(Op::Add, &f, 3, (IN, 7)).unwrap();
        assert!(ep.collect(8).is_empty());
        fake.set(IN);
        assert_eq!(ep.collect(8), vec![(IN, 7)]);
        assert_eq!(ep.collect(8), vec![(IN, 7)]);
    }

    #[test]
    fn edge_triggered_reports_once_per_event() {
        let ep = Epoll::new();
        let fake = Fake::new();
        let f = file(&fake);
        ep.ctl(Op::Add, &f, 3, (IN | EPOLLET, 1)).unwrap();
        fake.set(IN);
        assert_eq!(ep.collect(8), vec![(IN, 1)]);
        assert!(ep.collect(8).is_empty());
        fake.set(IN);
        assert_eq!(ep.collect(8), vec![(IN, 1)]);
    }

    #[test]
    fn edge_triggered_reports_a_file_ready_when_added() {
        let ep = Epoll::new();
        let fake = Fake::new();
        fake.set(OUT);
        let f = file(&fake);
        ep.ctl(Op::Add, &f, 3, (OUT | EPOLLET, 1)).unwrap();
        assert_eq!(ep.collect(8), vec![(OUT, 1)]);
        assert!(ep.collect(8).is_empty());
    }

    #[test]
    fn oneshot_reports_once_until_modified() {
        let ep = Epoll::new();
        let fake = Fake::new();
        fake.set(IN);
        let f = file(&fake);
        ep.ctl(Op::Add, &f, 3, (IN | EPOLLONESHOT, 2)).unwrap();
        assert_eq!(ep.collect(8), vec![(IN, 2)]);
        assert!(ep.collect(8).is_empty());
        ep.ctl(Op::Mod, &f, 3, (IN | EPOLLONESHOT, 3)).unwrap();
        assert_eq!(ep.collect(8), vec![(IN, 3)]);
    }

    #[test]
    fn an_interest_goes_when_its_file_is_closed() {
        let ep = Epoll::new();
        let fake = Fake::new();
        fake.set(IN);
        let f = file(&fake);
        ep.ctl(Op::Add, &f, 3, (IN, 0)).unwrap();
        drop((f, fake));
        assert!(ep.collect(8).is_empty());
        assert!(ep.lock().items.is_empty());
    }

    #[test]
    fn reports_rotate_when_max_is_smaller_than_what_is_ready() {
        let ep = Epoll::new();
        let fakes: Vec<Arc<Fake>> = (0..3).map(|_| Fake::new()).collect();
        let files: Vec<_> = fakes.iter().map(file).collect();
        for (i, f) in files.iter().enumerate() {
            fakes[i].set(IN);
            ep.ctl(Op::Add, f, i as i32, (IN, i as u64)).unwrap();
        }
        assert_eq!(ep.collect(2), vec![(IN, 0), (IN, 1)]);
        assert_eq!(ep.collect(2), vec![(IN, 2), (IN, 0)]);
    }

    #[test]
    fn epoll_loops_are_eloop() {
        let a: Arc<dyn FileDescription> = Arc::new(Epoll::new());
        let b: Arc<dyn FileDescription> = Arc::new(Epoll::new());
        let ea = epoll_of(&*a).unwrap();
        let eb = epoll_of(&*b).unwrap();
        assert_eq!(ea.ctl(Op::Add, &b, 4, (IN, 0)), Ok(()));
        assert_eq!(eb.ctl(Op::Add, &a, 3, (IN, 0)), Err(Errno::ELOOP));
    }

    #[test]
    fn exclusive_is_refused_on_mod_and_with_oneshot() {
        let ep = Epoll::new();
        let f = file(&Fake::new());
        assert_eq!(
            ep.ctl(Op::Add, &f, 3, (IN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0)),
            Err(Errno::EINVAL)
        );
        let rdnorm = libc::EPOLLRDNORM as u32;
        assert_eq!(
            ep.ctl(Op::Add, &f, 3, (IN | rdnorm | EPOLLEXCLUSIVE, 0)),
            Err(Errno::EINVAL)
        );
        assert_eq!(ep.ctl(Op::Add, &f, 3, (IN | EPOLLEXCLUSIVE, 0)), Ok(()));
        assert_eq!(ep.ctl(Op::Mod, &f, 3, (IN, 0)), Err(Errno::EINVAL));
    }

    #[test]
    fn an_edge_triggered_nested_epoll_reports_each_inner_event() {
        let inner: Arc<dyn FileDescription> = Arc::new(Epoll::new());
        let fake = Fake::new();
        let f = file(&fake);
        epoll_of(&*inner)
            .unwrap()
            .ctl(Op::Add, &f, 3, (IN, 0))
            .unwrap();
        let outer = Epoll::new();
        outer.ctl(Op::Add, &inner, 4, (IN | EPOLLET, 5)).unwrap();
        fake.set(IN);
        assert_eq!(outer.collect(8), vec![(IN, 5)]);
        assert!(outer.collect(8).is_empty());
        fake.set(IN);
        assert_eq!(outer.collect(8), vec![(IN, 5)]);
    }

    #[test]
    fn a_nested_epoll_is_readable_when_its_file_is() {
        let inner: Arc<dyn FileDescription> = Arc::new(Epoll::new());
        let fake = Fake::new();
        let f = file(&fake);
        epoll_of(&*inner)
            .unwrap()
            .ctl(Op::Add, &f, 3, (IN, 0))
            .unwrap();
        let outer = Epoll::new();
        outer.ctl(Op::Add, &inner, 4, (IN, 9)).unwrap();
        assert!(outer.collect(8).is_empty());
        fake.set(IN);
        assert_eq!(outer.collect(8), vec![(IN, 9)]);
    }
}
