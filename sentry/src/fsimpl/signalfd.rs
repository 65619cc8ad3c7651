//! signalfd files (signalfd, signalfd4): a read takes the reading thread's
//! pending signals that are in the file's mask, its own first and then its
//! process's, each as a 128-byte `struct signalfd_siginfo`; it waits for
//! one unless the file is non-blocking (EAGAIN).
//!
//! poll and epoll ask a file for readiness without saying who asks, so a
//! signalfd is ready when a signal in its mask is pending for the thread
//! that made it or for that thread's process (Linux looks at the polling
//! thread; they differ only for a thread-directed signal to another
//! thread). The process's `signal_events` queue is notified whenever a
//! signal is queued for it or one of its threads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use super::anon::{self, Flags};
use crate::arch::siginfo::{SigInfo, SI_KERNEL, SI_SIGIO, SI_TIMER, SI_USER};
use crate::errno::Errno;
use crate::kernel::process::{TaskShared, ThreadGroup};
use crate::kernel::signal::UNBLOCKABLE;
use crate::kernel::task::Task;
use crate::kernel::waiter::{Events, Registration, WaitQueue};
use crate::mm::Segments;
use crate::vfs::file::FileDescription;
use crate::vfs::stat::Stat;

const POLLIN: Events = (libc::POLLIN | libc::POLLRDNORM) as Events;

/// Size of `struct signalfd_siginfo`.
pub const SIGNALFD_SIGINFO_SIZE: usize = 128;

pub struct SignalFd {
    /// The signals a read takes (never SIGKILL or SIGSTOP).
    mask: AtomicU64,
    flags: Flags,
    /// The process of the thread that made the file, and that thread: what
    /// readiness looks at.
    tg: Arc<ThreadGroup>,
    task: Weak<TaskShared>,
}

impl SignalFd {
    /// A signalfd for the signals in `mask`, made by `t`.
    pub fn new(t: &Task, mask: u64, nonblock: bool) -> SignalFd {
        SignalFd {
            mask: AtomicU64::new(mask & !UNBLOCKABLE),
            flags: Flags::new(nonblock),
            tg: t.tg().clone(),
            task: Arc::downgrade(&t.shared),
        }
    }

    pub fn mask(&self) -> u64 {
        self.mask.load(Ordering::SeqCst)
    }

    /// signalfd on an existing signalfd: replaces the mask and wakes its
    /// waiters, who look again.
    pub fn set_mask(&self, mask: u64) {
        self.mask.store(mask & !UNBLOCKABLE, Ordering::SeqCst);
        self.tg.signal_events.notify(POLLIN);
    }

    /// Takes one of `t`'s pending signals in the mask.
    fn take(&self, t: &Task) -> Option<SigInfo> {
        let mask = self.mask();
        t.shared
            .pending
            .take(mask)
            .or_else(|| t.tg().pending.take(mask))
    }
}

impl FileDescription for SignalFd {
    fn read_task(&self, t: &Task, dst: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        if offset.is_some() {
            return Err(Errno::ESPIPE);
        }
        let room = dst.len() / SIGNALFD_SIGINFO_SIZE;
        if room == 0 {
            return Err(Errno::EINVAL);
        }
        loop {
            let seen = t.waker.seq();
            let mut reg = Registration::new(&t.waker);
            reg.add(&t.tg().signal_events, POLLIN);
            let mut n = 0;
            while n < room {
                let Some(info) = self.take(t) else {
                    break;
                };
                dst.fill_at(n * SIGNALFD_SIGINFO_SIZE, &signalfd_siginfo(&info));
                n += 1;
            }
            if n > 0 {
                return Ok(n * SIGNALFD_SIGINFO_SIZE);
            }
            if self.flags.nonblocking() {
                return Err(Errno::EAGAIN);
            }
            t.block(seen, None)?;
        }
    }

    fn readiness(&self, mask: u32) -> u32 {
        let thread = self.task.upgrade().map_or(0, |t| t.pending.bits());
        if (thread | self.tg.pending.bits()) & self.mask() != 0 {
            POLLIN & mask
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.tg.signal_events)
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
        "anon_inode:[signalfd]".to_string()
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// Which members of the siginfo union a signal carries (Linux's
/// siginfo_layout, for the layouts x86-64 has).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Kill,
    Timer,
    Poll,
    Fault,
    Chld,
    Rt,
    Sys,
}

fn layout(signo: i32, code: i32) -> Layout {
    if code > SI_USER && code < SI_KERNEL {
        // Signal-specific codes, up to each signal's last one.
        let specific = match signo {
            libc::SIGILL => Some((11, Layout::Fault)),
            libc::SIGFPE => Some((15, Layout::Fault)),
            libc::SIGSEGV => Some((9, Layout::Fault)),
            libc::SIGBUS => Some((5, Layout::Fault)),
            libc::SIGTRAP => Some((6, Layout::Fault)),
            libc::SIGCHLD => Some((6, Layout::Chld)),
            libc::SIGPOLL => Some((6, Layout::Poll)),
            libc::SIGSYS => Some((2, Layout::Sys)),
            _ => None,
        };
        match specific {
            Some((last, l)) if code <= last => l,
            // NSIGPOLL: other small positive codes read as poll's.
            _ if code <= 6 => Layout::Poll,
            _ => Layout::Kill,
        }
    } else if code == SI_TIMER {
        Layout::Timer
    } else if code == SI_SIGIO {
        Layout::Poll
    } else if code < 0 {
        Layout::Rt
    } else {
        Layout::Kill
    }
}

/// Field offsets of `struct signalfd_siginfo` (uapi linux/signalfd.h).
mod off {
    pub const SIGNO: usize = 0;
    pub const ERRNO: usize = 4;
    pub const CODE: usize = 8;
    pub const PID: usize = 12;
    pub const UID: usize = 16;
    pub const FD: usize = 20;
    pub const TID: usize = 24;
    pub const BAND: usize = 28;
    pub const OVERRUN: usize = 32;
    pub const STATUS: usize = 40;
    pub const INT: usize = 44;
    pub const PTR: usize = 48;
    pub const UTIME: usize = 56;
    pub const STIME: usize = 64;
    pub const ADDR: usize = 72;
    pub const SYSCALL: usize = 84;
    pub const CALL_ADDR: usize = 88;
    pub const ARCH: usize = 96;
}

/// `siginfo` as a read of a signalfd returns it: `struct signalfd_siginfo`,
/// filled per the signal's layout as Linux's signalfd_copyinfo does.
pub fn signalfd_siginfo(info: &SigInfo) -> [u8; SIGNALFD_SIGINFO_SIZE] {
    // The union starts at byte 16 of siginfo_t.
    const U: usize = 16;
    let raw = info.to_bytes();
    let mut out = [0u8; SIGNALFD_SIGINFO_SIZE];
    // Copies `n` bytes of the union at `from` to `to` in the result.
    let mut copy = |to: usize, from: usize, n: usize| {
        out[to..to + n].copy_from_slice(&raw[U + from..U + from + n]);
    };
    match layout(info.signo, info.code) {
        Layout::Kill => {
            copy(off::PID, 0, 4);
            copy(off::UID, 4, 4);
        }
        Layout::Timer => {
            copy(off::TID, 0, 4);
            copy(off::OVERRUN, 4, 4);
            copy(off::INT, 8, 4);
            copy(off::PTR, 8, 8);
        }
        Layout::Poll => {
            // si_band is a long: its low half, as Linux's u32 copy keeps.
            copy(off::BAND, 0, 4);
            copy(off::FD, 8, 4);
        }
        Layout::Fault => copy(off::ADDR, 0, 8),
        Layout::Chld => {
            copy(off::PID, 0, 4);
            copy(off::UID, 4, 4);
            copy(off::STATUS, 8, 4);
            copy(off::UTIME, 16, 8);
            copy(off::STIME, 24, 8);
        }
        Layout::Rt => {
            copy(off::PID, 0, 4);
            copy(off::UID, 4, 4);
            copy(off::INT, 8, 4);
            copy(off::PTR, 8, 8);
        }
        Layout::Sys => {
            copy(off::CALL_ADDR, 0, 8);
            copy(off::SYSCALL, 8, 4);
            copy(off::ARCH, 12, 4);
        }
    }
    // ssi_signo, ssi_errno and ssi_code sit where siginfo has them.
    for o in [off::SIGNO, off::ERRNO, off::CODE] {
        out[o..o + 4].copy_from_slice(&raw[o..o + 4]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
    }

    fn u64_at(b: &[u8], o: usize) -> u64 {
        u64::from(u32_at(b, o)) | u64::from(u32_at(b, o + 4)) << 32
    }

    #[test]
    fn offsets_match_the_uapi_header() {
        assert_eq!(
            std::mem::size_of::<libc::signalfd_siginfo>(),
            SIGNALFD_SIGINFO_SIZE
        );
        assert_eq!(offset_of!(libc::signalfd_siginfo, ssi_errno), off::ERRNO);
        assert_eq!(offset_of!(libc::signalfd_siginfo, ssi_code), off::CODE);
        assert_eq!(offset_of!(libc::signalfd_siginfo, ssi_pid), off::PID);
        assert_eq!(offset_of!(libc::signalfd_siginfo, ssi_uid), off::UID);
        assert_eq!(offset_of!(libc::signalfd_siginfo, ssi_fd), off::FD);
        assert_eq!(offset_of!(libc::signalfd_siginfo, ssi_tid), off::TID);
        assert_eq!(offset_of!(libc::signalfd_siginfo, ssi_band), off::BAND);
        assert_eq!(
            offset_of!(libc::signalfd_siginfo, ssi_overrun),
            off::OVERRUN
        );
        assert_eq!(offset_of!(libc::signalfd_siginfo, ssi_status), off::STATUS);
        assert_eq!(offset_of!(libc::signalfd_siginfo, ssi_int), off::INT);
        assert_eq!(offset_of!(libc::signalfd_siginfo, ssi_ptr), off::PTR);
        assert_eq!(offset_of!(libc::signalfd_siginfo, ssi_utime), off::UTIME);
        assert_eq!(offset_of!(libc::signalfd_siginfo, ssi_stime), off::STIME);
        assert_eq!(offset_of!(libc::signalfd_siginfo, ssi_addr), off::ADDR);
        assert_eq!(
            offset_of!(libc::signalfd_siginfo, ssi_syscall),
            off::SYSCALL
        );
        assert_eq!(
            offset_of!(libc::signalfd_siginfo, ssi_call_addr),
            off::CALL_ADDR
        );
        assert_eq!(offset_of!(libc::signalfd_siginfo, ssi_arch), off::ARCH);
    }

    #[test]
    fn a_kill_carries_the_sender() {
        let b = signalfd_siginfo(&SigInfo::kill(libc::SIGUSR1, SI_USER, 42, 1000));
        assert_eq!(u32_at(&b, off::SIGNO), libc::SIGUSR1 as u32);
        assert_eq!(u32_at(&b, off::CODE), SI_USER as u32);
        assert_eq!((u32_at(&b, off::PID), u32_at(&b, off::UID)), (42, 1000));
        assert_eq!(u64_at(&b, off::PTR), 0);
    }

    #[test]
    fn a_timer_signal_carries_id_overrun_and_value() {
        let b = signalfd_siginfo(&SigInfo::timer(libc::SIGALRM, 3, 2, 0x1_0000_0007));
        assert_eq!(u32_at(&b, off::CODE), SI_TIMER as u32);
        assert_eq!((u32_at(&b, off::TID), u32_at(&b, off::OVERRUN)), (3, 2));
        assert_eq!(u32_at(&b, off::INT), 7);
        assert_eq!(u64_at(&b, off::PTR), 0x1_0000_0007);
        assert_eq!(u32_at(&b, off::PID), 0);
    }

    #[test]
    fn a_queued_signal_carries_sender_and_value() {
        let b = signalfd_siginfo(&SigInfo::queue(libc::SIGRTMIN(), -1, 5, 6, 99));
        assert_eq!((u32_at(&b, off::PID), u32_at(&b, off::UID)), (5, 6));
        assert_eq!((u32_at(&b, off::INT), u64_at(&b, off::PTR)), (99, 99));
    }

    #[test]
    fn a_child_signal_carries_status_and_times() {
        let b = signalfd_siginfo(&SigInfo::child(1, 7, 0, 3, 11, 22));
        assert_eq!((u32_at(&b, off::PID), u32_at(&b, off::STATUS)), (7, 3));
        assert_eq!((u64_at(&b, off::UTIME), u64_at(&b, off::STIME)), (11, 22));
    }

    #[test]
    fn a_fault_carries_the_address() {
        let b = signalfd_siginfo(&SigInfo::fault(libc::SIGSEGV, 1, 0xdead_0000));
        assert_eq!(u64_at(&b, off::ADDR), 0xdead_0000);
        assert_eq!(u32_at(&b, off::PID), 0);
    }

    #[test]
    fn layouts_follow_linux() {
        assert_eq!(layout(libc::SIGUSR1, SI_USER), Layout::Kill);
        assert_eq!(layout(libc::SIGUSR1, SI_KERNEL), Layout::Kill);
        assert_eq!(layout(libc::SIGUSR1, 3), Layout::Poll);
        assert_eq!(layout(libc::SIGSEGV, 2), Layout::Fault);
        assert_eq!(layout(libc::SIGSEGV, 10), Layout::Kill);
        assert_eq!(layout(libc::SIGCHLD, 1), Layout::Chld);
        assert_eq!(layout(libc::SIGALRM, SI_TIMER), Layout::Timer);
        assert_eq!(layout(libc::SIGUSR1, -6), Layout::Rt);
    }
}
