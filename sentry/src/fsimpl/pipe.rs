//! Anonymous pipes (pipe, pipe2), wholly inside the sentry: no host pipe
//! ever holds app data. A pipe is a ring of page-sized slots, as Linux's
//! is: 16 slots (64 KiB) by default, resized by F_SETPIPE_SZ; a write of up
//! to PIPE_BUF bytes lands whole in one slot or waits, so it is atomic;
//! small writes merge into the last slot; in packet mode (O_DIRECT on the
//! write end) each slot is a packet and a read returns at most one. The
//! read and write ends share the `Pipe`; closing every write end gives
//! readers EOF and POLLHUP, closing every read end gives writers EPIPE
//! (after SIGPIPE, through the signal hook) and POLLERR.
//!
//! Named pipes (FIFOs made by mknod) are the same pipe, kept by their inode
//! (`Fifo`) for as long as any end is open: opening one for reading waits
//! for a writer and for writing waits for a reader (ENXIO with O_NONBLOCK),
//! O_RDWR waits for nothing, as fs/pipe.c's fifo_open does.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::devnums;
use crate::errno::{Errno, SysResult};
use crate::kernel::signal_hooks::raise_sigpipe;
use crate::kernel::task::Task;
use crate::kernel::waiter::{Events, Registration, WaitQueue};
use crate::mm::Segments;
use crate::vfs::ctx::Ctx;
use crate::vfs::dentry::Dentry;
use crate::vfs::dirfile::{description_flags, with_setfl};
use crate::vfs::file::FileDescription;
use crate::vfs::stat::Stat;
use crate::vfs::synthetic::boot_time;

/// One slot's size.
pub const PAGE: usize = 4096;
/// Writes up to this size are atomic (POSIX PIPE_BUF).
pub const PIPE_BUF: usize = 4096;
/// A new pipe's capacity, in slots (64 KiB).
pub const DEFAULT_SLOTS: usize = 16;
/// The largest F_SETPIPE_SZ allows (Linux's /proc/sys/fs/pipe-max-size).
pub const MAX_SIZE: usize = 1 << 20;

const POLLIN: Events = (libc::POLLIN | libc::POLLRDNORM) as Events;
const POLLOUT: Events = (libc::POLLOUT | libc::POLLWRNORM) as Events;
const POLLHUP: Events = libc::POLLHUP as Events;
const POLLERR: Events = libc::POLLERR as Events;

/// One page of pipe data: bytes `start..data.len()` are unread.
struct Slot {
    data: Vec<u8>,
    start: usize,
    /// Written in packet mode: read whole or not at all, never merged into.
    packet: bool,
}

impl Slot {
    fn len(&self) -> usize {
        self.data.len() - self.start
    }
}

/// A pipe's contents: a bounded ring of slots (pure; the locking and the
/// waiting are `Pipe`'s).
pub struct Ring {
    slots: VecDeque<Slot>,
    max_slots: usize,
    bytes: usize,
}

impl Ring {
    pub fn new(max_slots: usize) -> Ring {
        Ring {
            slots: VecDeque::new(),
            max_slots,
            bytes: 0,
        }
    }

    /// Unread bytes.
    pub fn len(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Whether every slot is taken (a write may still merge into the last).
    pub fn is_full(&self) -> bool {
        self.slots.len() >= self.max_slots
    }

    /// Capacity in bytes, as F_GETPIPE_SZ reports it.
    pub fn capacity(&self) -> usize {
        self.max_slots * PAGE
    }

    /// Changes the number of slots; EBUSY if fewer than are in use.
    pub fn resize(&mut self, slots: usize) -> Result<(), Errno> {
        if slots < self.slots.len() {
            return Err(Errno::EBUSY);
        }
        self.max_slots = slots;
        Ok(())
    }

    /// Takes bytes `pos..total` of a write as far as they fit; returns how
    /// many. `src(at, buf)` fills `buf` with the write's bytes from `at`.
    /// As Linux: at the start of a write (`pos` 0) its sub-page head merges
    /// into the last slot if it fits there whole; the rest goes a page per
    /// free slot. So a write of up to PIPE_BUF bytes goes in whole or not
    /// at all.
    pub fn write(
        &mut self,
        src: &mut dyn FnMut(usize, &mut [u8]),
        pos: usize,
        total: usize,
        packet: bool,
    ) -> usize {
        let mut at = pos;
        let head = total % PAGE;
        if pos == 0 && head != 0 {
            if let Some(last) = self.slots.back_mut() {
                let end = last.data.len();
                if !last.packet && end + head <= PAGE {
                    last.data.resize(end + head, 0);
                    src(0, &mut last.data[end..]);
                    at = head;
                }
            }
        }
        while at < total && !self.is_full() {
            let n = (total - at).min(PAGE);
            let mut data = Vec::with_capacity(PAGE);
            data.resize(n, 0);
            src(at, &mut data);
            self.slots.push_back(Slot {
                data,
                start: 0,
                packet,
            });
            at += n;
        }
        self.bytes += at - pos;
        at - pos
    }

    /// Up to `total` of the unread bytes, left unread (tee).
    pub fn peek(&self, total: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for slot in &self.slots {
            let n = slot.len().min(total - out.len());
            out.extend_from_slice(&slot.data[slot.start..slot.start + n]);
            if out.len() == total {
                break;
            }
        }
        out
    }

    /// Takes up to `total` bytes; returns how many. `dst(at, bytes)` stores
    /// `bytes` at offset `at` of the reader's buffer. A packet is read
    /// alone; what of it does not fit is discarded.
    pub fn read(&mut self, dst: &mut dyn FnMut(usize, &[u8]), total: usize) -> usize {
        let mut done = 0;
        while done < total {
            let Some(front) = self.slots.front_mut() else {
                break;
            };
            let n = front.len().min(total - done);
            dst(done, &front.data[front.start..front.start + n]);
            front.start += n;
            done += n;
            self.bytes -= n;
            let packet = front.packet;
            if packet {
                self.bytes -= front.len();
                front.start = front.data.len();
            }
            if front.len() == 0 {
                self.slots.pop_front();
            }
            if packet {
                break;
            }
        }
        done
    }
}

/// F_SETPIPE_SZ's size: at least a page, rounded up to a power of two;
/// EINVAL past 2^31, EPERM past MAX_SIZE.
pub fn round_size(arg: u32) -> Result<usize, Errno> {
    if arg > 1 << 31 {
        return Err(Errno::EINVAL);
    }
    let size = (arg as usize).max(PAGE).next_power_of_two();
    if size > MAX_SIZE {
        return Err(Errno::EPERM);
    }
    Ok(size)
}

struct State {
    ring: Ring,
    readers: usize,
    writers: usize,
    /// Opens for reading and for writing so far (a FIFO's open waits for
    /// the other's count to move).
    r_counter: u64,
    w_counter: u64,
}

/// What both ends of one pipe share.
pub struct Pipe {
    state: Mutex<State>,
    /// Notified with POLLIN when data arrives, POLLOUT when room is made,
    /// everything when an end closes.
    queue: WaitQueue,
    ino: u64,
    uid: u32,
    gid: u32,
    ctime: (i64, i64),
}

/// Pipe inode numbers, fresh per pipe.
static NEXT_INO: AtomicU64 = AtomicU64::new(4096);

impl Pipe {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// F_GETPIPE_SZ.
    pub fn size(&self) -> usize {
        self.lock().ring.capacity()
    }

    /// F_SETPIPE_SZ: returns the new size.
    pub fn set_size(&self, arg: u32) -> Result<usize, Errno> {
        let size = round_size(arg)?;
        self.lock().ring.resize(size / PAGE)?;
        self.queue.notify(POLLOUT);
        Ok(size)
    }

    /// Up to `max` unread bytes, left in the pipe (tee).
    pub fn peek(&self, max: usize) -> Vec<u8> {
        self.lock().ring.peek(max)
    }

    /// Whether a write would find no free slot.
    pub fn is_full(&self) -> bool {
        self.lock().ring.is_full()
    }

    /// Whether nothing is waiting to be read, and whether a writer is left.
    pub fn empty_and_writers(&self) -> (bool, bool) {
        let st = self.lock();
        (st.ring.is_empty(), st.writers > 0)
    }

    /// The queue notified on readiness changes (POLLIN, POLLOUT, closes).
    pub fn queue(&self) -> &WaitQueue {
        &self.queue
    }

    /// FIONREAD: unread bytes.
    pub fn unread(&self) -> usize {
        self.lock().ring.len()
    }
}

/// One end of a pipe: what a pipe fd refers to.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    writer: bool,
    flags: AtomicI32,
    /// Both ends at once (a FIFO opened O_RDWR).
    both: bool,
    /// A FIFO's end: its name, and for a reader opened O_NONBLOCK before
    /// any writer the writer count then (no POLLHUP until a writer came).
    named: Option<(Arc<Dentry>, Option<u64>)>,
}

/// A new pipe: its read end and its write end. `flags` takes O_NONBLOCK
/// (both ends) and O_DIRECT (packet mode, the write end).
pub fn new_pipe(uid: u32, gid: u32, flags: i32) -> (Arc<PipeEnd>, Arc<PipeEnd>) {
    let pipe = Arc::new(Pipe {
        state: Mutex::new(State {
            ring: Ring::new(DEFAULT_SLOTS),
            readers: 1,
            writers: 1,
            r_counter: 1,
            w_counter: 1,
        }),
        queue: WaitQueue::new(),
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        uid,
        gid,
        ctime: now(),
    });
    let end = |writer, fl| {
        Arc::new(PipeEnd {
            pipe: Arc::clone(&pipe),
            writer,
            flags: AtomicI32::new(fl),
            both: false,
            named: None,
        })
    };
    let reader = end(false, libc::O_RDONLY | (flags & libc::O_NONBLOCK));
    let writer = end(
        true,
        libc::O_WRONLY | (flags & (libc::O_NONBLOCK | libc::O_DIRECT)),
    );
    (reader, writer)
}

/// The pipe behind `file`, if it is a pipe end.
pub fn pipe_of(file: &dyn FileDescription) -> Option<&Pipe> {
    file.as_any()?.downcast_ref::<PipeEnd>().map(|e| &*e.pipe)
}

fn now() -> (i64, i64) {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, i64::from(d.subsec_nanos())),
        Err(_) => boot_time(),
    }
}

impl PipeEnd {
    fn nonblocking(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & libc::O_NONBLOCK != 0
    }

    fn packet(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & libc::O_DIRECT != 0
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        {
            let mut st = self.pipe.lock();
            if self.writer || self.both {
                st.writers -= 1;
            }
            if !self.writer || self.both {
                st.readers -= 1;
            }
            if st.readers == 0 && st.writers == 0 {
                // The last end of a FIFO: its data goes, as Linux frees
                // the pipe.
                st.ring = Ring::new(DEFAULT_SLOTS);
            }
        }
        self.pipe.queue.notify(Events::MAX);
    }
}

impl FileDescription for PipeEnd {
    fn read_task(&self, t: &Task, dst: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        if offset.is_some() {
            return Err(Errno::ESPIPE);
        }
        let total = dst.len();
        if total == 0 {
            return Ok(0);
        }
        let pipe = &*self.pipe;
        loop {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&pipe.queue, POLLIN | POLLHUP);
            {
                let mut st = pipe.lock();
                if !st.ring.is_empty() {
                    let n = st.ring.read(
                        &mut |at, bytes| {
                            dst.fill_at(at, bytes);
                        },
                        total,
                    );
                    drop(st);
                    pipe.queue.notify(POLLOUT);
                    return Ok(n);
                }
                if st.writers == 0 {
                    return Ok(0);
                }
            }
            if self.nonblocking() {
                return Err(Errno::EAGAIN);
            }
            t.block(seen, None)?;
        }
    }

    fn write_task(&self, t: &Task, src: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        if offset.is_some() {
            return Err(Errno::ESPIPE);
        }
        let total = src.len();
        if total == 0 {
            return Ok(0);
        }
        let pipe = &*self.pipe;
        let mut done = 0;
        loop {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&pipe.queue, POLLOUT | POLLERR);
            let n = {
                let mut st = pipe.lock();
                if st.readers == 0 {
                    drop(st);
                    raise_sigpipe(t);
                    return if done > 0 {
                        Ok(done)
                    } else {
                        Err(Errno::EPIPE)
                    };
                }
                st.ring.write(
                    &mut |at, buf| {
                        src.read_at(at, buf);
                    },
                    done,
                    total,
                    self.packet(),
                )
            };
            if n > 0 {
                done += n;
                pipe.queue.notify(POLLIN);
            }
            if done == total {
                return Ok(done);
            }
            if self.nonblocking() {
                return if done > 0 {
                    Ok(done)
                } else {
                    Err(Errno::EAGAIN)
                };
            }
            if let Err(e) = t.block(seen, None) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
    }

    fn readiness(&self, mask: u32) -> u32 {
        let st = self.pipe.lock();
        let mut ev = 0;
        if self.writer || self.both {
            if !st.ring.is_full() {
                ev |= POLLOUT;
            }
            if st.readers == 0 {
                ev |= POLLERR;
            }
        }
        if !self.writer || self.both {
            if !st.ring.is_empty() {
                ev |= POLLIN;
            }
            let unseen = matches!(self.named, Some((_, Some(w))) if w == st.w_counter);
            if st.writers == 0 && !unseen {
                ev |= POLLHUP;
            }
        }
        ev & mask
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pipe.queue)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        if let Some((d, _)) = &self.named {
            return d.inode().stat(&Ctx::kernel());
        }
        let p = &*self.pipe;
        Ok(Stat {
            dev: devnums::PIPE,
            ino: p.ino,
            mode: libc::S_IFIFO | 0o600,
            nlink: 1,
            uid: p.uid,
            gid: p.gid,
            rdev: 0,
            size: 0,
            blksize: PAGE as i64,
            blocks: 0,
            atime: p.ctime,
            mtime: p.ctime,
            ctime: p.ctime,
            btime: (0, 0),
        })
    }

    fn ioctl(&self, task: &mut Task, cmd: u64, arg: u64) -> SysResult {
        if cmd == libc::FIONREAD {
            let n = self.pipe.unread().min(i32::MAX as usize) as i32;
            task.write_struct(arg, &n)?;
            return Ok(0);
        }
        Err(Errno::ENOTTY)
    }

    fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_flags(&self, flags: i32) {
        let old = self.flags.load(Ordering::Relaxed);
        self.flags.store(with_setfl(old, flags), Ordering::Relaxed);
    }

    fn path(&self) -> String {
        match &self.named {
            Some((d, _)) => String::from_utf8_lossy(&d.path()).into_owned(),
            None => format!("pipe:[{}]", self.pipe.ino),
        }
    }

    fn dentry(&self) -> Option<Arc<Dentry>> {
        self.named.as_ref().map(|(d, _)| Arc::clone(d))
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// A FIFO inode's pipe: made with the inode, emptied when its last end
/// closes.
pub struct Fifo {
    pipe: Arc<Pipe>,
}

impl Fifo {
    pub fn new(uid: u32, gid: u32) -> Fifo {
        Fifo {
            pipe: Arc::new(Pipe {
                state: Mutex::new(State {
                    ring: Ring::new(DEFAULT_SLOTS),
                    readers: 0,
                    writers: 0,
                    r_counter: 0,
                    w_counter: 0,
                }),
                queue: WaitQueue::new(),
                ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
                uid,
                gid,
                ctime: now(),
            }),
        }
    }

    /// Opens an end of the FIFO named by `dentry`, with `flags` (checked by
    /// the VFS): O_RDONLY waits for a writer unless O_NONBLOCK; O_WRONLY
    /// waits for a reader, or is ENXIO with O_NONBLOCK when there is none;
    /// O_RDWR never waits. A signal while waiting undoes the open
    /// (ERESTARTSYS). The kernel itself (no task) never waits.
    pub fn open(
        &self,
        ctx: &Ctx<'_>,
        dentry: &Arc<Dentry>,
        flags: i32,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        let pipe = &*self.pipe;
        let nonblock = flags & libc::O_NONBLOCK != 0;
        let acc = flags & libc::O_ACCMODE;
        let (writer, both) = match acc {
            libc::O_RDONLY => (false, false),
            libc::O_WRONLY => (true, false),
            libc::O_RDWR => (false, true),
            _ => return Err(Errno::EINVAL),
        };
        let mut unseen = None;
        // Join, and see whether the other side has to be waited for: the
        // value of its counter that must move.
        let wait_for = {
            let mut st = pipe.lock();
            if writer && nonblock && st.readers == 0 {
                return Err(Errno::ENXIO);
            }
            if writer || both {
                st.writers += 1;
                st.w_counter += 1;
            }
            if !writer || both {
                st.readers += 1;
                st.r_counter += 1;
            }
            if both {
                None
            } else if writer {
                (st.readers == 0).then_some(st.r_counter)
            } else if st.writers == 0 {
                if nonblock {
                    unseen = Some(st.w_counter);
                    None
                } else {
                    Some(st.w_counter)
                }
            } else {
                None
            }
        };
        // A partner may be waiting for this open.
        pipe.queue.notify(Events::MAX);
        let end = Arc::new(PipeEnd {
            pipe: Arc::clone(&self.pipe),
            writer,
            flags: AtomicI32::new(description_flags(flags)),
            both,
            named: Some((Arc::clone(dentry), unseen)),
        });
        if let (Some(seen_count), Some(t)) = (wait_for, ctx.task()) {
            loop {
                let seen = t.waker.seq();
                let mut reg = Registration::new(&t.waker);
                reg.add(&pipe.queue, Events::MAX);
                {
                    let st = pipe.lock();
                    let now = if writer { st.r_counter } else { st.w_counter };
                    if now != seen_count {
                        break;
                    }
                }
                // Dropping `end` on error undoes the join.
                t.block(seen, None)?;
            }
        }
        Ok(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `data` whole from its start, as one write(2) call would.
    fn put(r: &mut Ring, data: &[u8], packet: bool) -> usize {
        r.write(
            &mut |at, buf| buf.copy_from_slice(&data[at..at + buf.len()]),
            0,
            data.len(),
            packet,
        )
    }

    fn take(r: &mut Ring, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        let n = r.read(
            &mut |at, bytes| out[at..at + bytes.len()].copy_from_slice(bytes),
            len,
        );
        out.truncate(n);
        out
    }

    #[test]
    fn bytes_come_out_in_the_order_they_went_in() {
        let mut r = Ring::new(DEFAULT_SLOTS);
        put(&mut r, b"hello ", false);
        put(&mut r, b"world", false);
        assert_eq!(take(&mut r, 64), b"hello world");
        assert!(r.is_empty());
    }

    #[test]
    fn small_writes_merge_into_one_slot() {
        let mut r = Ring::new(1);
        for _ in 0..PAGE {
            assert_eq!(put(&mut r, b"x", false), 1);
        }
        assert_eq!(r.len(), PAGE);
        assert_eq!(put(&mut r, b"x", false), 0);
    }

    #[test]
    fn the_default_capacity_takes_exactly_sixteen_pages() {
        let mut r = Ring::new(DEFAULT_SLOTS);
        let page = [7u8; PAGE];
        let mut n = 0;
        while put(&mut r, &page, false) == PAGE {
            n += 1;
        }
        assert_eq!(n, 16);
        assert_eq!(r.len(), 16 * PAGE);
    }

    #[test]
    fn a_pipe_buf_write_goes_in_whole_or_not_at_all() {
        let mut r = Ring::new(2);
        put(&mut r, b"a", false);
        assert_eq!(put(&mut r, &[1u8; PIPE_BUF], false), PIPE_BUF);
        assert_eq!(put(&mut r, &[2u8; PIPE_BUF], false), 0);
        assert_eq!(r.len(), 1 + PIPE_BUF);
    }

    #[test]
    fn a_large_write_takes_what_fits() {
        let mut r = Ring::new(2);
        let big = vec![3u8; 3 * PAGE];
        assert_eq!(put(&mut r, &big, false), 2 * PAGE);
        assert!(r.is_full());
    }

    #[test]
    fn a_write_resumes_from_where_it_stopped() {
        let mut r = Ring::new(1);
        let data: Vec<u8> = (0..2 * PAGE).map(|i| i as u8).collect();
        let mut src = |at: usize, buf: &mut [u8]| buf.copy_from_slice(&data[at..at + buf.len()]);
        assert_eq!(r.write(&mut src, 0, data.len(), false), PAGE);
        assert_eq!(take(&mut r, PAGE), &data[..PAGE]);
        assert_eq!(r.write(&mut src, PAGE, data.len(), false), PAGE);
        assert_eq!(take(&mut r, PAGE), &data[PAGE..]);
    }

    #[test]
    fn a_read_of_a_packet_returns_that_packet_only() {
        let mut r = Ring::new(DEFAULT_SLOTS);
        put(&mut r, b"one", true);
        put(&mut r, b"two", true);
        assert_eq!(take(&mut r, 64), b"one");
        assert_eq!(take(&mut r, 64), b"two");
    }

    #[test]
    fn a_short_read_of_a_packet_discards_its_rest() {
        let mut r = Ring::new(DEFAULT_SLOTS);
        put(&mut r, b"abcdef", true);
        put(&mut r, b"gh", true);
        assert_eq!(take(&mut r, 2), b"ab");
        assert_eq!(r.len(), 2);
        assert_eq!(take(&mut r, 64), b"gh");
    }

    #[test]
    fn shrinking_below_the_slots_in_use_is_ebusy() {
        let mut r = Ring::new(DEFAULT_SLOTS);
        put(&mut r, &[0u8; 3 * PAGE], false);
        assert_eq!(r.resize(2), Err(Errno::EBUSY));
        assert_eq!(r.resize(4), Ok(()));
        assert_eq!(r.capacity(), 4 * PAGE);
    }

    #[test]
    fn sizes_round_up_to_a_power_of_two_pages() {
        assert_eq!(round_size(0), Ok(PAGE));
        assert_eq!(round_size(4097), Ok(2 * PAGE));
        assert_eq!(round_size(100_000), Ok(128 * 1024));
        assert_eq!(round_size(MAX_SIZE as u32), Ok(MAX_SIZE));
        assert_eq!(round_size(MAX_SIZE as u32 + 1), Err(Errno::EPERM));
        assert_eq!(round_size(u32::MAX), Err(Errno::EINVAL));
    }
}
