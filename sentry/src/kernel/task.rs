//! A task: one app thread, run by one sentry host thread. The run loop
//! delivers pending signals, calls the platform's `switch()`, answers each
//! syscall from the table, and turns faults into signals (or copy-on-write
//! breaks). Everything other tasks may touch lives in `TaskShared`.

use std::sync::{Arc, Mutex};

use platform::{Context, Regs, Stop};

use super::fd_table::FdTable;
use super::kernel::Kernel;
use super::process::{TaskShared, ThreadGroup};
use super::signal::SignalState;
use super::waiter::Waker;
use crate::errno::Errno;
use crate::mm::MemoryManager;
use crate::vfs::FsContext;

/// How a task (and so the sandbox's init) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    /// As a shell reports it: the exit code, or 128 + the signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c & 0xff,
            ExitStatus::Signaled(s) => 128 + s,
        }
    }

    /// The status word wait4 reports.
    pub fn wait_status(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => (c & 0xff) << 8,
            ExitStatus::Signaled(s) => {
                let core = matches!(
                    s,
                    libc::SIGQUIT
                        | libc::SIGILL
                        | libc::SIGTRAP
                        | libc::SIGABRT
                        | libc::SIGBUS
                        | libc::SIGFPE
                        | libc::SIGSEGV
                        | libc::SIGXCPU
                        | libc::SIGXFSZ
                        | libc::SIGSYS
                );
                s | if core { 0x80 } else { 0 }
            }
        }
    }
}

pub use super::creds::Creds;

/// Resource limits: (soft, hard), RLIM_INFINITY as u64::MAX.
#[derive(Clone, Debug)]
pub struct Rlimits(pub [(u64, u64); 16]);

impl Default for Rlimits {
    fn default() -> Self {
        let inf = u64::MAX;
        let mut r = [(inf, inf); 16];
        r[libc::RLIMIT_STACK as usize] = (8 << 20, inf);
        r[libc::RLIMIT_CORE as usize] = (0, inf);
        r[libc::RLIMIT_NOFILE as usize] = (1024, 1 << 20);
        r[libc::RLIMIT_NPROC as usize] = (63_000, 63_000);
        r[libc::RLIMIT_MEMLOCK as usize] = (8 << 20, 8 << 20);
        r[libc::RLIMIT_SIGPENDING as usize] = (63_000, 63_000);
        r[libc::RLIMIT_MSGQUEUE as usize] = (819_200, 819_200);
        r[libc::RLIMIT_NICE as usize] = (0, 0);
        r[libc::RLIMIT_RTPRIO as usize] = (0, 0);
        Rlimits(r)
    }
}

pub struct Task {
    pub kernel: Arc<Kernel>,
    pub regs: Regs,
    pub mm: Arc<MemoryManager>,
    pub fds: Arc<FdTable>,
    pub fs: Arc<Mutex<FsContext>>,
    pub creds: Creds,
    pub signals: SignalState,
    pub rlimits: Rlimits,
    /// Sandbox thread id and thread-group id.
    pub tid: i32,
    pub tgid: i32,
    pub shared: Arc<TaskShared>,
    pub clear_child_tid: u64,
    pub robust_list: (u64, u64),
    pub pdeathsig: i32,
    pub nice: i32,
    /// The CPU mask set by sched_setaffinity, if any (None: all CPUs).
    pub affinity: Option<Vec<u8>>,
    /// The executable's sandbox path, for /proc.
    pub exe: String,
    /// Set when this thread must end (exit, exit_group, a fatal signal).
    pub exit: Option<ExitStatus>,
    /// What this task sleeps on when it blocks in the sentry (= shared.waker).
    pub waker: Arc<Waker>,
    /// The restart code of the last syscall, if it was interrupted.
    pub restart: Option<Errno>,
    /// A vfork child's parent, released at exec or exit.
    pub vfork_parent: Option<Arc<ThreadGroup>>,
    pub(crate) ctx: Box<dyn Context>,
}

impl Task {
    /// The thread group this task belongs to.
    pub fn tg(&self) -> &Arc<ThreadGroup> {
        &self.shared.tg
    }

    /// The parent process's pid (0 for the sandbox's init).
    pub fn ppid(&self) -> i32 {
        self.tg().lock().parent
    }

    /// Whether a signal is pending that the task does not block.
    pub fn signal_pending(&self) -> bool {
        let pending = self.shared.pending.bits() | self.tg().pending.bits();
        pending & !self.signals.mask != 0
            || self.shared.kill.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Sleeps until the waker moves past `seen` (an object the task
    /// registered with was notified), a signal arrives, or `deadline`.
    /// Ok(true): woken; Ok(false): deadline passed; Err(ERESTARTSYS): a
    /// signal is pending, the syscall must unwind (the signal code turns it
    /// into EINTR or a restart).
    ///
    /// The pattern: `let seen = t.waker.seq();` register on the queues,
    /// check the condition, then `t.block(seen, deadline)?` and loop.
    pub fn block(&self, seen: u64, deadline: Option<std::time::Instant>) -> Result<bool, Errno> {
        if self.signal_pending() {
            return Err(Errno::ERESTARTSYS);
        }
        let woken = self.waker.sleep(seen, deadline);
        if self.signal_pending() {
            return Err(Errno::ERESTARTSYS);
        }
        Ok(woken)
    }

    /// Publishes what other tasks need to see of this one's state.
    fn publish(&self) {
        self.shared
            .mask
            .store(self.signals.mask, std::sync::atomic::Ordering::SeqCst);
        self.shared
            .ruid
            .store(self.creds.uid, std::sync::atomic::Ordering::Relaxed);
    }

    /// The i386 ABI is not offered: as on a kernel built without IA32
    /// emulation, int 0x80 faults.
    fn refuse_foreign_syscall(&mut self) {
        const SI_KERNEL: i32 = 0x80;
        super::deliver::force_fault(self, libc::SIGSEGV, SI_KERNEL, 0);
    }

    /// Whether the syscall stop came from `int 0x80` (the two bytes before
    /// the return address), for platforms that report it like `syscall`.
    fn came_by_int80(&self) -> bool {
        let mut insn = [0u8; 2];
        let at = self.regs.0.rip.wrapping_sub(2);
        self.mm.copy_in(at, &mut insn).is_ok() && insn == [0xcd, 0x80]
    }

    /// Makes this task reachable by `kick()` while it runs app code.
    pub fn refresh_interrupter(&self) {
        *super::process::lock(&self.shared.interrupter) = self.mm.space().interrupter();
    }

    /// Runs the task until it exits; returns how it ended.
    pub fn run(&mut self) -> ExitStatus {
        self.refresh_interrupter();
        loop {
            if let Some(status) = self.exit_check() {
                return status;
            }
            super::deliver::deliver_signals(self);
            if let Some(status) = self.exit_check() {
                return status;
            }
            self.publish();
            let epoch = self.mm.fault_epoch();
            let stop = match self.ctx.switch(&**self.mm.space(), &mut self.regs) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(tid = self.tid, "platform failed: {e}");
                    super::exit::group_exit(self, ExitStatus::Signaled(libc::SIGKILL));
                    continue;
                }
            };
            match stop {
                Stop::ForeignSyscall => self.refuse_foreign_syscall(),
                Stop::Syscall => {
                    if !self.kernel.platform.tells_foreign_syscalls() && self.came_by_int80() {
                        self.refuse_foreign_syscall();
                        continue;
                    }
                    let nr = self.regs.syscall_nr();
                    let args = self.regs.syscall_args();
                    let ret = crate::syscalls::dispatch(self, nr, args);
                    if self.exit.is_some() {
                        continue;
                    }
                    self.restart = match ret {
                        Err(e) if e.is_restart() => Some(e),
                        _ => None,
                    };
                    self.regs.set_return(match ret {
                        Ok(v) => v,
                        Err(e) => e.as_return(),
                    });
                }
                Stop::Interrupt => {}
                Stop::Fault { signo, code, addr } => {
                    if signo == libc::SIGSEGV && self.mm.handle_fault(addr, epoch).is_ok() {
                        continue;
                    }
                    if signo == libc::SIGSEGV && self.mm.beyond_eof(addr) {
                        const BUS_ADRERR: i32 = 2;
                        super::deliver::force_fault(self, libc::SIGBUS, BUS_ADRERR, addr);
                        continue;
                    }
                    super::deliver::force_fault(self, signo, code, addr);
                }
                Stop::Signal { signo, code, addr } => {
                    super::deliver::force_fault(self, signo, code, addr);
                }
            }
        }
    }

    /// Whether this thread must stop running: its own exit, or the group's.
    fn exit_check(&mut self) -> Option<ExitStatus> {
        if let Some(s) = self.exit {
            return Some(s);
        }
        if self.shared.kill.load(std::sync::atomic::Ordering::SeqCst) {
            let status = self
                .tg()
                .lock()
                .exit
                .unwrap_or(ExitStatus::Signaled(libc::SIGKILL));
            self.exit = Some(status);
            return Some(status);
        }
        None
    }

    /// Reads a path argument: NUL-terminated, at most PATH_MAX bytes.
    pub fn read_path(&self, addr: u64) -> Result<Vec<u8>, Errno> {
        let p = self.mm.read_cstring(addr, libc::PATH_MAX as usize - 1)?;
        Ok(p)
    }

    /// Copies a plain-data value into app memory.
    pub fn write_struct<T: Copy>(&self, addr: u64, v: &T) -> Result<(), Errno> {
        // SAFETY: T is Copy plain data; viewing its bytes is sound for the
        // structs the syscall layer passes (no padding-sensitive readers).
        let bytes = unsafe {
            std::slice::from_raw_parts(v as *const T as *const u8, std::mem::size_of::<T>())
        };
        self.mm.copy_out(addr, bytes)
    }

    /// Copies a plain-data value out of app memory.
    ///
    /// Only for types for which every bit pattern is valid (integers and
    /// structs of integers).
    pub fn read_struct<T: Copy + Default>(&self, addr: u64) -> Result<T, Errno> {
        let mut v = T::default();
        // SAFETY: `v` is a valid T; we overwrite its bytes with app bytes,
        // and callers only use integer-only types, valid for any bit pattern.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(&mut v as *mut T as *mut u8, std::mem::size_of::<T>())
        };
        self.mm.copy_in(addr, bytes)?;
        Ok(v)
    }
}
