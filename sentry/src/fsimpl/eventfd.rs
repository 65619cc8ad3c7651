//! eventfd counters (eventfd, eventfd2): a 64-bit count that writes add to
//! and reads take (all of it, or one in semaphore mode), read and written as
//! 8-byte values; a read of zero and a write that would reach 2^64 - 1 wait
//! (or fail with EAGAIN when non-blocking).

use std::sync::{Mutex, MutexGuard};

use super::anon::{self, Flags};
use crate::errno::Errno;
use crate::kernel::task::Task;
use crate::kernel::waiter::{Events, Registration, WaitQueue};
use crate::mm::Segments;
use crate::vfs::file::FileDescription;
use crate::vfs::stat::Stat;

const POLLIN: Events = libc::POLLIN as Events;
const POLLOUT: Events = libc::POLLOUT as Events;
const POLLERR: Events = libc::POLLERR as Events;

/// The most the count can hold.
const MAX: u64 = u64::MAX - 1;

pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    flags: Flags,
    queue: WaitQueue,
}

impl EventFd {
    pub fn new(initval: u32, semaphore: bool, nonblock: bool) -> EventFd {
        EventFd {
            count: Mutex::new(u64::from(initval)),
            semaphore,
            flags: Flags::new(nonblock),
            queue: WaitQueue::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, u64> {
        self.count.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes from the count: None when it is zero.
    fn take(&self) -> Option<u64> {
        let mut c = self.lock();
        if *c == 0 {
            return None;
        }
        let v = if self.semaphore { 1 } else { *c };
        *c -= v;
        Some(v)
    }

    /// Adds `v` to the count: false when it would pass MAX.
    fn add(&self, v: u64) -> bool {
        let mut c = self.lock();
        if MAX - *c < v {
            return false;
        }
        *c += v;
        true
    }

    /// Runs `op` until it succeeds, waiting for `events` between tries.
    fn wait_for<T>(
        &self,
        t: &Task,
        events: Events,
        mut op: impl FnMut() -> Option<T>,
    ) -> Result<T, Errno> {
        loop {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&self.queue, events);
            if let Some(v) = op() {
                return Ok(v);
            }
            if self.flags.nonblocking() {
                return Err(Errno::EAGAIN);
            }
            t.block(seen, None)?;
        }
    }
}

impl FileDescription for EventFd {
    fn read_task(&self, t: &Task, dst: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        if offset.is_some() {
            return Err(Errno::ESPIPE);
        }
        if dst.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let v = self.wait_for(t, POLLIN, || self.take())?;
        self.queue.notify(POLLOUT);
        Ok(dst.fill(&v.to_ne_bytes()))
    }

    fn write_task(&self, t: &Task, src: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        if offset.is_some() {
            return Err(Errno::ESPIPE);
        }
        let mut raw = [0u8; 8];
        if src.len() < 8 || src.read_at(0, &mut raw) < 8 {
            return Err(Errno::EINVAL);
        }
        let v = u64::from_ne_bytes(raw);
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        self.wait_for(t, POLLOUT, || self.add(v).then_some(()))?;
        self.queue.notify(POLLIN);
        Ok(8)
    }

    fn readiness(&self, mask: u32) -> u32 {
        let c = *self.lock();
        let mut ev = 0;
        // Linux's eventfd reports no POLLRDNORM or POLLWRNORM.
        if c > 0 {
            ev |= POLLIN;
        }
        if c < MAX {
            ev |= POLLOUT;
        }
        if c == u64::MAX {
            ev |= POLLERR;
        }
        ev & mask
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
        "anon_inode:[eventfd]".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_takes_the_whole_count() {
        let e = EventFd::new(5, false, true);
        assert!(e.add(2));
        assert_eq!(e.take(), Some(7));
        assert_eq!(e.take(), None);
    }

    #[test]
    fn a_semaphore_read_takes_one() {
        let e = EventFd::new(2, true, true);
        assert_eq!(e.take(), Some(1));
        assert_eq!(e.take(), Some(1));
        assert_eq!(e.take(), None);
    }

    #[test]
    fn the_count_never_reaches_the_all_ones_value() {
        let e = EventFd::new(0, false, true);
        assert!(e.add(MAX));
        assert!(!e.add(1));
        assert_eq!(e.readiness(u32::MAX) & POLLOUT, 0);
    }
}
