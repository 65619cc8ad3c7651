//! One pseudo-terminal: the `Tty` both ends share (the line discipline,
//! the lock flag, the window size, the session and foreground group) and
//! the open files of its two ends. Master writes go through the line
//! discipline to replica reads; replica writes are post-processed into
//! master reads. Closing the last master hangs the replica up (reads end
//! of file, writes EIO, POLLHUP; SIGHUP and SIGCONT to the session
//! leader); closing the last replica after one was opened makes master
//! reads EIO once drained, with POLLHUP.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::jobctl;
use super::ldisc::Ldisc;
use super::termios::{Termios, Winsize, VMIN, VTIME};
use crate::errno::{Errno, SysResult};
use crate::kernel::task::Task;
use crate::kernel::waiter::{Events, Registration, WaitQueue};
use crate::mm::Segments;
use crate::vfs::ctx::Ctx;
use crate::vfs::dentry::Dentry;
use crate::vfs::dirfile::with_setfl;
use crate::vfs::file::FileDescription;
use crate::vfs::stat::Stat;

const POLLIN: Events = (libc::POLLIN | libc::POLLRDNORM) as Events;
const POLLOUT: Events = (libc::POLLOUT | libc::POLLWRNORM) as Events;
const POLLHUP: Events = libc::POLLHUP as Events;
const POLLERR: Events = libc::POLLERR as Events;

/// Most bytes one read or write moves under the lock at a time.
const CHUNK: usize = 4096;

/// The mutable part of a pty.
pub struct TtyState {
    pub ld: Ldisc,
    /// Open master descriptions; the pair is gone when this drops to 0.
    pub masters: usize,
    /// Open replica descriptions.
    pub replicas: usize,
    /// A replica was opened once (master reads give EIO only after that).
    pub replica_opened: bool,
    /// TIOCSPTLCK: replica opens fail with EIO while set.
    pub locked: bool,
    /// TIOCEXCL: further replica opens need CAP_SYS_ADMIN.
    pub excl: bool,
    /// The master is gone: the replica is hung up.
    pub hung_up: bool,
    pub winsize: Winsize,
    /// The session this is the controlling terminal of.
    pub session: Option<i32>,
    /// The foreground process group.
    pub pgrp: Option<i32>,
}

/// A pseudo-terminal pair.
pub struct Tty {
    pub index: u32,
    /// Owner of /dev/pts/N: the uid that opened the master.
    pub uid: u32,
    state: Mutex<TtyState>,
    /// Notified on every change either end may wait for.
    queue: WaitQueue,
}

impl Tty {
    pub fn new(index: u32, uid: u32) -> Tty {
        Tty {
            index,
            uid,
            state: Mutex::new(TtyState {
                ld: Ldisc::new(Termios::default()),
                masters: 1,
                replicas: 0,
                replica_opened: false,
                locked: true,
                excl: false,
                hung_up: false,
                winsize: Winsize::default(),
                session: None,
                pgrp: None,
            }),
            queue: WaitQueue::new(),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, TtyState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes everyone waiting on either end.
    pub fn notify(&self) {
        self.queue.notify(Events::MAX);
    }

    pub fn session_pgrp(&self) -> (Option<i32>, Option<i32>) {
        let st = self.lock();
        (st.session, st.pgrp)
    }

    /// Forgets session `sid` (a new session of that number has none).
    pub fn clear_session_if(&self, sid: i32) {
        let mut st = self.lock();
        if st.session == Some(sid) {
            st.session = None;
            st.pgrp = None;
        }
    }

    /// Whether the master is still open.
    pub fn alive(&self) -> bool {
        self.lock().masters > 0
    }

    /// Opens a replica end at `dentry` for `ctx`'s task: EIO while locked
    /// or hung up, EBUSY under TIOCEXCL without CAP_SYS_ADMIN. A session
    /// leader without a controlling terminal that opens it without
    /// O_NOCTTY acquires it.
    pub fn open_replica(
        self: &Arc<Self>,
        ctx: &Ctx<'_>,
        dentry: &Arc<Dentry>,
        flags: i32,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        let task = ctx.task();
        let ids = task.map(jobctl::ids);
        let leader = task.is_some_and(jobctl::is_session_leader);
        let has_ctty = ids.is_some_and(|(_, sid)| jobctl::ctty_of(sid).is_some());
        let mut st = self.lock();
        if st.locked || st.hung_up || st.masters == 0 {
            return Err(Errno::EIO);
        }
        if st.excl && !ctx.fs_cred().has_cap(crate::kernel::creds::CAP_SYS_ADMIN) {
            return Err(Errno::EBUSY);
        }
        if flags & libc::O_NOCTTY == 0 && leader && !has_ctty && st.session.is_none() {
            if let Some((pgid, sid)) = ids {
                st.session = Some(sid);
                st.pgrp = Some(pgid);
            }
        }
        st.replicas += 1;
        st.replica_opened = true;
        drop(st);
        self.notify();
        Ok(End::new(self, false, dentry, flags))
    }

    /// A new master end for a pair just made at `dentry` (/dev/ptmx).
    pub fn master_file(self: &Arc<Self>, dentry: &Arc<Dentry>, flags: i32) -> Arc<End> {
        End::new(self, true, dentry, flags)
    }

    /// Input from the master into the line discipline (and the signals it
    /// raises, sent to the foreground group).
    fn master_write(&self, t: &Task, src: &Segments, nonblock: bool) -> Result<usize, Errno> {
        let total = src.len();
        if total == 0 {
            return Ok(0);
        }
        let mut done = 0;
        loop {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&self.queue, POLLOUT);
            let (n, sigs, pgrp) = {
                let mut st = self.lock();
                let mut n = 0;
                let mut sigs = Vec::new();
                while done + n < total && st.ld.input_room() {
                    let len = (total - done - n).min(CHUNK);
                    let mut buf = vec![0u8; len];
                    src.read_at(done + n, &mut buf);
                    let (took, s) = st.ld.receive(&buf);
                    n += took;
                    sigs.extend(s);
                    if took < len {
                        break;
                    }
                }
                (n, sigs, st.pgrp)
            };
            if n > 0 {
                done += n;
                self.notify();
            }
            if let Some(pg) = pgrp {
                for sig in sigs {
                    jobctl::signal_pgrp(pg, sig);
                }
            }
            if done == total {
                return Ok(done);
            }
            if nonblock {
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

    /// What the replica wrote, for the master.
    fn master_read(&self, t: &Task, dst: &Segments, nonblock: bool) -> Result<usize, Errno> {
        let total = dst.len();
        if total == 0 {
            return Ok(0);
        }
        loop {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&self.queue, POLLIN | POLLHUP);
            {
                let mut st = self.lock();
                if st.ld.output_len() > 0 {
                    let data = st.ld.take_output(total);
                    drop(st);
                    self.notify();
                    return Ok(dst.fill(&data));
                }
                if st.replica_opened && st.replicas == 0 {
                    return Err(Errno::EIO);
                }
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            t.block(seen, None)?;
        }
    }

    /// A replica read: a line in canonical mode, else VMIN/VTIME rules.
    fn replica_read(&self, t: &Task, dst: &Segments, nonblock: bool) -> Result<usize, Errno> {
        let total = dst.len();
        if total == 0 {
            return Ok(0);
        }
        jobctl::check_read(t, self)?;
        let start = Instant::now();
        let mut deadline: Option<Instant> = None;
        loop {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&self.queue, POLLIN | POLLHUP);
            {
                let mut st = self.lock();
                if st.hung_up {
                    return Ok(0);
                }
                let t_ = st.ld.termios;
                if t_.has_l(libc::ICANON) {
                    if st.ld.can_read() {
                        let data = st.ld.read(total);
                        drop(st);
                        self.notify();
                        return Ok(dst.fill(&data));
                    }
                } else {
                    let (vmin, vtime) = (t_.cc[VMIN] as usize, t_.cc[VTIME] as u64);
                    let avail = st.ld.raw_len();
                    let want = vmin.clamp(1, total);
                    let timer = Duration::from_millis(vtime * 100);
                    let expired = deadline.is_some_and(|d| Instant::now() >= d);
                    if avail >= want || (avail > 0 && (vmin == 0 || expired)) {
                        let data = st.ld.read(total);
                        drop(st);
                        self.notify();
                        return Ok(dst.fill(&data));
                    }
                    if vmin == 0 && (vtime == 0 || expired) {
                        return Ok(0);
                    }
                    if vtime > 0 {
                        if vmin == 0 {
                            deadline = Some(start + timer);
                        } else if avail > 0 && deadline.is_none() {
                            deadline = Some(Instant::now() + timer);
                        }
                    }
                }
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            t.block(seen, deadline)?;
        }
    }

    /// Replica output, post-processed for the master.
    fn replica_write(&self, t: &Task, src: &Segments, nonblock: bool) -> Result<usize, Errno> {
        let tostop = self.lock().ld.termios.has_l(libc::TOSTOP);
        if tostop {
            jobctl::check_change(t, self)?;
        }
        let total = src.len();
        let mut done = 0;
        loop {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&self.queue, POLLOUT | POLLHUP);
            let n = {
                let mut st = self.lock();
                if st.hung_up {
                    return if done > 0 { Ok(done) } else { Err(Errno::EIO) };
                }
                let mut n = 0;
                while done + n < total && st.ld.output_room() {
                    let len = (total - done - n).min(CHUNK);
                    let mut buf = vec![0u8; len];
                    src.read_at(done + n, &mut buf);
                    let took = st.ld.write_output(&buf);
                    n += took;
                    if took < len {
                        break;
                    }
                }
                n
            };
            if n > 0 {
                done += n;
                self.notify();
            }
            if done == total {
                return Ok(done);
            }
            if nonblock {
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

    fn master_readiness(&self) -> Events {
        let st = self.lock();
        let mut ev = 0;
        if st.ld.output_len() > 0 {
            ev |= POLLIN;
        }
        if st.ld.input_room() {
            ev |= POLLOUT;
        }
        if st.replica_opened && st.replicas == 0 {
            ev |= POLLHUP;
        }
        ev
    }

    fn replica_readiness(&self) -> Events {
        let st = self.lock();
        if st.hung_up {
            return POLLIN | POLLOUT | POLLERR | POLLHUP;
        }
        let mut ev = 0;
        let t = st.ld.termios;
        let readable = if t.has_l(libc::ICANON) {
            st.ld.can_read()
        } else {
            let amt = if t.cc[VTIME] == 0 && t.cc[VMIN] > 0 {
                t.cc[VMIN] as usize
            } else {
                1
            };
            st.ld.raw_len() >= amt
        };
        if readable {
            ev |= POLLIN;
        }
        if st.ld.output_room() {
            ev |= POLLOUT;
        }
        ev
    }

    /// The last master closed: the replica hangs up.
    fn master_closed(&self) {
        let leader = {
            let mut st = self.lock();
            st.masters -= 1;
            if st.masters > 0 {
                return;
            }
            st.hung_up = true;
            st.ld.flush_input();
            st.pgrp = None;
            st.session.take()
        };
        super::forget(self.index);
        self.notify();
        if let Some(sid) = leader {
            jobctl::signal_process(sid, libc::SIGHUP);
            jobctl::signal_process(sid, libc::SIGCONT);
        }
    }

    fn replica_closed(&self) {
        self.lock().replicas -= 1;
        self.notify();
    }
}

fn nonblock(flags: &AtomicI32) -> bool {
    flags.load(Ordering::Relaxed) & libc::O_NONBLOCK != 0
}

/// An open end of a pair: the master (/dev/ptmx) or the replica
/// (/dev/pts/N, /dev/tty).
pub struct End {
    pub tty: Arc<Tty>,
    master: bool,
    flags: AtomicI32,
    dentry: Arc<Dentry>,
}

impl End {
    fn new(tty: &Arc<Tty>, master: bool, dentry: &Arc<Dentry>, flags: i32) -> Arc<End> {
        Arc::new(End {
            tty: Arc::clone(tty),
            master,
            flags: AtomicI32::new(crate::vfs::dirfile::description_flags(flags)),
            dentry: Arc::clone(dentry),
        })
    }

    /// Whether this is the master end.
    pub fn is_master(&self) -> bool {
        self.master
    }
}

impl Drop for End {
    fn drop(&mut self) {
        if self.master {
            self.tty.master_closed();
        } else {
            self.tty.replica_closed();
        }
    }
}

impl FileDescription for End {
    fn read_task(&self, t: &Task, dst: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        if offset.is_some() {
            return Err(Errno::ESPIPE);
        }
        let nb = nonblock(&self.flags);
        if self.master {
            self.tty.master_read(t, dst, nb)
        } else {
            self.tty.replica_read(t, dst, nb)
        }
    }

    fn write_task(&self, t: &Task, src: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        if offset.is_some() {
            return Err(Errno::ESPIPE);
        }
        let nb = nonblock(&self.flags);
        if self.master {
            self.tty.master_write(t, src, nb)
        } else {
            self.tty.replica_write(t, src, nb)
        }
    }

    fn readiness(&self, mask: u32) -> u32 {
        let ready = if self.master {
            self.tty.master_readiness()
        } else {
            self.tty.replica_readiness()
        };
        ready & mask
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.tty.queue)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.dentry.stat(&Ctx::kernel())
    }

    fn ioctl(&self, task: &mut Task, cmd: u64, arg: u64) -> SysResult {
        super::ioctl::ioctl(&self.tty, self.master, task, cmd, arg)
    }

    fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_flags(&self, flags: i32) {
        let old = self.flags.load(Ordering::Relaxed);
        self.flags.store(with_setfl(old, flags), Ordering::Relaxed);
    }

    fn path(&self) -> String {
        String::from_utf8_lossy(&self.dentry.path()).into_owned()
    }

    fn dentry(&self) -> Option<Arc<Dentry>> {
        Some(Arc::clone(&self.dentry))
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
