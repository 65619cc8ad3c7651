//! inotify instances: the file inotify_init1 returns. It owns the event
//! queue of one group of watches (the watches themselves live in
//! `vfs::notify`, which calls `Queue::event`): events are read as
//! `struct inotify_event` records, each name NUL-padded to a multiple of
//! the record header's 16 bytes; an event equal to the last unread one is
//! merged into it; past `MAX_QUEUED` events one IN_Q_OVERFLOW (wd -1)
//! ends the queue and later events are dropped until it is read. A read
//! waits for an event (EAGAIN when non-blocking), returns whole events
//! only (EINVAL when the first does not fit); FIONREAD gives the bytes
//! queued; poll sees POLLIN while any are.
//!
//! At most `MAX_INSTANCES` instances and `notify::MAX_WATCHES` watches
//! exist in a sandbox, as Linux's per-user limits bound them.
//!
//! Never does: touch a file system or the watch table while holding the
//! queue's lock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::anon;
use crate::errno::{Errno, SysResult};
use crate::kernel::task::Task;
use crate::kernel::waiter::{Events, Registration, WaitQueue};
use crate::mm::Segments;
use crate::vfs::dirfile::with_setfl;
use crate::vfs::file::FileDescription;
use crate::vfs::notify::{self, Sink};
use crate::vfs::stat::Stat;

const POLLIN: Events = (libc::POLLIN | libc::POLLRDNORM) as Events;

/// Events one instance queues before IN_Q_OVERFLOW
/// (/proc/sys/fs/inotify/max_queued_events' default).
pub const MAX_QUEUED: usize = 16384;

/// Instances the sandbox may hold at once (Linux's
/// fs.inotify.max_user_instances default): past it inotify_init is EMFILE.
pub const MAX_INSTANCES: usize = 128;

static INSTANCES: AtomicUsize = AtomicUsize::new(0);

/// sizeof(struct inotify_event): wd, mask, cookie, len.
const HEADER: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Event {
    wd: i32,
    mask: u32,
    cookie: u32,
    name: Vec<u8>,
}

impl Event {
    /// The name's length with its NUL padding (`len`): 0 for no name.
    fn padded(&self) -> usize {
        if self.name.is_empty() {
            0
        } else {
            (self.name.len() + 1).div_ceil(HEADER) * HEADER
        }
    }

    /// Bytes the event takes in a read.
    fn size(&self) -> usize {
        HEADER + self.padded()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.wd.to_ne_bytes());
        out.extend_from_slice(&self.mask.to_ne_bytes());
        out.extend_from_slice(&self.cookie.to_ne_bytes());
        out.extend_from_slice(&(self.padded() as u32).to_ne_bytes());
        out.extend_from_slice(&self.name);
        out.resize(out.len() + self.padded() - self.name.len(), 0);
    }
}

#[derive(Default)]
struct State {
    events: VecDeque<Event>,
    /// Bytes the queued events take (FIONREAD).
    bytes: usize,
    /// An IN_Q_OVERFLOW is queued and unread.
    overflowed: bool,
}

/// One instance's queue: what the watch table delivers to.
pub struct Queue {
    state: Mutex<State>,
    waiters: WaitQueue,
    limit: usize,
}

impl Queue {
    fn new(limit: usize) -> Queue {
        Queue {
            state: Mutex::new(State::default()),
            waiters: WaitQueue::new(),
            limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the events that fit in `room` bytes, encoded: None when the
    /// queue is empty, EINVAL when the first does not fit.
    fn take(&self, room: usize) -> Option<Result<Vec<u8>, Errno>> {
        let mut s = self.lock();
        let first = s.events.front()?.size();
        if first > room {
            return Some(Err(Errno::EINVAL));
        }
        let mut out = Vec::new();
        while s
            .events
            .front()
            .is_some_and(|e| out.len() + e.size() <= room)
        {
            let Some(e) = s.events.pop_front() else {
                break;
            };
            e.encode(&mut out);
            s.bytes -= e.size();
            if e.mask & libc::IN_Q_OVERFLOW != 0 {
                s.overflowed = false;
            }
        }
        Some(Ok(out))
    }
}

impl Sink for Queue {
    fn event(&self, wd: i32, mask: u32, cookie: u32, name: &[u8]) {
        let e = Event {
            wd,
            mask,
            cookie,
            name: name.to_vec(),
        };
        {
            let mut s = self.lock();
            if s.events.len() >= self.limit {
                if s.overflowed {
                    return;
                }
                s.overflowed = true;
                let o = Event {
                    wd: -1,
                    mask: libc::IN_Q_OVERFLOW,
                    cookie: 0,
                    name: Vec::new(),
                };
                s.bytes += o.size();
                s.events.push_back(o);
            } else {
                // Linux's inotify_merge: the same event as the last unread
                // one (cookie aside) is merged into it.
                if let Some(last) = s.events.back() {
                    if last.mask & libc::IN_IGNORED == 0
                        && last.mask == e.mask
                        && last.wd == e.wd
                        && last.name == e.name
                    {
                        return;
                    }
                }
                s.bytes += e.size();
                s.events.push_back(e);
            }
        }
        self.waiters.notify(POLLIN);
    }
}

/// An inotify instance.
pub struct Inotify {
    group: u64,
    queue: Arc<Queue>,
    flags: AtomicI32,
}

impl Inotify {
    /// A new instance, O_NONBLOCK when `nonblock`; EMFILE when the
    /// sandbox has `MAX_INSTANCES`.
    pub fn new(nonblock: bool) -> Result<Inotify, Errno> {
        let taken = INSTANCES.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < MAX_INSTANCES).then_some(n + 1)
        });
        if taken.is_err() {
            return Err(Errno::EMFILE);
        }
        let flags = libc::O_RDONLY | if nonblock { libc::O_NONBLOCK } else { 0 };
        Ok(Inotify {
            group: notify::new_group(),
            queue: Arc::new(Queue::new(MAX_QUEUED)),
            flags: AtomicI32::new(flags),
        })
    }

    /// The group id the watch table knows this instance by.
    pub fn group(&self) -> u64 {
        self.group
    }

    /// Where the watch table delivers this instance's events.
    pub fn sink(&self) -> Arc<dyn Sink> {
        self.queue.clone()
    }

    fn nonblocking(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & libc::O_NONBLOCK != 0
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        notify::release(self.group);
        INSTANCES.fetch_sub(1, Ordering::AcqRel);
    }
}

impl FileDescription for Inotify {
    fn read_task(&self, t: &Task, dst: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        if offset.is_some() {
            return Err(Errno::ESPIPE);
        }
        loop {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&self.queue.waiters, POLLIN);
            if let Some(got) = self.queue.take(dst.len()) {
                let bytes = got?;
                return Ok(dst.fill(&bytes));
            }
            if self.nonblocking() {
                return Err(Errno::EAGAIN);
            }
            t.block(seen, None)?;
        }
    }

    fn readiness(&self, mask: u32) -> u32 {
        if self.queue.lock().events.is_empty() {
            0
        } else {
            POLLIN & mask
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue.waiters)
    }

    fn ioctl(&self, task: &mut Task, cmd: u64, arg: u64) -> SysResult {
        if cmd == libc::FIONREAD {
            let n = self.queue.lock().bytes.min(i32::MAX as usize) as i32;
            task.write_struct(arg, &n)?;
            return Ok(0);
        }
        Err(Errno::ENOTTY)
    }

    /// lseek is a no-op (Linux's noop_llseek).
    fn seek(&self, _offset: i64, _whence: i32) -> Result<u64, Errno> {
        Ok(0)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(anon::stat())
    }

    fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_flags(&self, flags: i32) {
        let old = self.flags.load(Ordering::Relaxed);
        self.flags.store(with_setfl(old, flags), Ordering::Relaxed);
    }

    fn path(&self) -> String {
        "anon_inode:inotify".to_string()
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(b: &[u8]) -> (i32, u32, u32, u32) {
        let w = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
        (
            i32::from_ne_bytes(w(0)),
            u32::from_ne_bytes(w(4)),
            u32::from_ne_bytes(w(8)),
            u32::from_ne_bytes(w(12)),
        )
    }

    #[test]
    fn names_are_nul_padded_to_a_multiple_of_the_header() {
        let q = Queue::new(8);
        q.event(1, libc::IN_CREATE, 0, b"fifteen-chars.x");
        q.event(1, libc::IN_DELETE, 0, b"sixteen-chars.xy");
        let got = q.take(4096).unwrap().unwrap();
        assert_eq!(got.len(), 16 + 16 + 16 + 32);
        assert_eq!(header(&got), (1, libc::IN_CREATE, 0, 16));
        assert_eq!(&got[16..32], b"fifteen-chars.x\0");
        assert_eq!(header(&got[32..]), (1, libc::IN_DELETE, 0, 32));
        assert!(got[48 + 16..].iter().all(|&b| b == 0));
    }

    #[test]
    fn identical_consecutive_events_merge() {
        let q = Queue::new(8);
        q.event(1, libc::IN_MODIFY, 0, b"a");
        q.event(1, libc::IN_MODIFY, 0, b"a");
        q.event(1, libc::IN_MODIFY, 0, b"b");
        q.event(1, libc::IN_MODIFY, 0, b"a");
        assert_eq!(q.lock().events.len(), 3);
        assert_eq!(q.lock().bytes, 3 * 32);
    }

    #[test]
    fn a_full_queue_ends_with_one_overflow_event() {
        let q = Queue::new(2);
        for i in 0..5 {
            q.event(1, libc::IN_CREATE, 0, format!("f{i}").as_bytes());
        }
        let got = q.take(4096).unwrap().unwrap();
        assert_eq!(got.len(), 32 + 32 + 16);
        assert_eq!(header(&got[64..]), (-1, libc::IN_Q_OVERFLOW, 0, 0));
        assert!(q.take(4096).is_none());
    }

    #[test]
    fn a_read_too_small_for_the_first_event_is_einval() {
        let q = Queue::new(2);
        q.event(1, libc::IN_CREATE, 0, b"a");
        assert_eq!(q.take(16), Some(Err(Errno::EINVAL)));
        assert_eq!(q.take(32).map(|r| r.map(|b| b.len())), Some(Ok(32)));
    }
}
