//! The ptrace platform: each address space is a stub process; each sentry
//! task thread that runs app code in it owns one stub thread there, which
//! it traces. App syscalls stop the stub thread under PTRACE_SYSEMU and
//! never reach the host; memory is mapped by syscalls the tracer injects at
//! the stub's own `syscall; int3` site, and new stub threads are cloned at
//! its clone site. A tracer thread and its stub thread are pinned to one
//! CPU: a ptrace wake-up across CPUs costs an order of magnitude more.

pub(crate) mod raw;
mod stub;

use std::any::Any;
use std::collections::HashMap;
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::stubproc;
use crate::{
    AddressSpace, Context, Interrupter, Platform, PlatformError, Prot, Regs, Stop, ThreadTicket,
    STUB_BASE, TASK_SIZE,
};

/// End of the ptrace stub's one page (the reserved range goes on, for systrap).
const STUB_PAGE_END: u64 = STUB_BASE + 0x1000;

pub use stub::MEMFILE_FD as STUB_MEMFILE_FD;

/// The host signal used to kick a stub thread out of app code.
pub const INTERRUPT_SIGNAL: i32 = libc::SIGURG;

/// The ptrace platform: the stub factory over the stub image and the memory file.
pub struct PtracePlatform {
    factory: Arc<stubproc::Factory>,
}

impl PtracePlatform {
    /// Prepares the stub image in a memfd; `memfile` is the sandbox's memory file.
    pub fn new(memfile: BorrowedFd<'_>) -> Result<PtracePlatform, PlatformError> {
        let factory = stubproc::Factory::for_image(c"ward-stub", &stub::image(), memfile)?;
        Ok(PtracePlatform {
            factory: Arc::new(factory),
        })
    }
}

impl Platform for PtracePlatform {
    fn name(&self) -> &'static str {
        "ptrace"
    }

    fn new_address_space(&self) -> Result<Arc<dyn AddressSpace>, PlatformError> {
        Ok(Arc::new(PtraceAddressSpace::start(self.factory.clone())?))
    }

    fn new_context(&self) -> Result<Box<dyn Context>, PlatformError> {
        Ok(Box::new(PtraceContext { tid: raw::gettid() }))
    }
}

fn ptrace_err(op: &'static str, pid: i32) -> impl FnOnce(std::io::Error) -> PlatformError {
    move |err| PlatformError::Ptrace { op, pid, err }
}

/// Decoded wait status of a stopped or dead stub thread.
enum WaitStatus {
    Stopped(i32),
    Gone(i32),
}

fn wait(tid: i32) -> Result<WaitStatus, PlatformError> {
    let status = raw::wait_all(tid).map_err(ptrace_err("waitpid", tid))?;
    if libc::WIFSTOPPED(status) {
        Ok(WaitStatus::Stopped(libc::WSTOPSIG(status)))
    } else {
        Ok(WaitStatus::Gone(status))
    }
}

const OPTIONS: libc::c_int = libc::PTRACE_O_EXITKILL | libc::PTRACE_O_TRACESYSGOOD;

/// A stub thread, as its tracer keeps it.
#[derive(Clone, Copy)]
struct StubThread {
    tid: i32,
    /// Registers at rest (valid segment registers): the base for injections.
    rest: Regs,
}

/// Seizes `tid` (waiting in pause()) for the calling thread and stops it.
fn attach(tid: i32) -> Result<StubThread, PlatformError> {
    raw::seize(tid, OPTIONS).map_err(ptrace_err("SEIZE", tid))?;
    raw::request(libc::PTRACE_INTERRUPT, tid, 0).map_err(ptrace_err("INTERRUPT", tid))?;
    loop {
        match wait(tid)? {
            WaitStatus::Stopped(libc::SIGTRAP) => break,
            // A signal that raced the interrupt: suppress it and wait again.
            WaitStatus::Stopped(_) => {
                raw::resume(libc::PTRACE_CONT, tid, 0).map_err(ptrace_err("CONT", tid))?;
                raw::request(libc::PTRACE_INTERRUPT, tid, 0)
                    .map_err(ptrace_err("INTERRUPT", tid))?;
            }
            WaitStatus::Gone(status) => return Err(PlatformError::StubStart { pid: tid, status }),
        }
    }
    let cpu = raw::current_cpu();
    raw::pin_to_cpu(0, cpu).map_err(ptrace_err("pin tracer", tid))?;
    raw::pin_to_cpu(tid, cpu).map_err(ptrace_err("pin stub", tid))?;
    let mut rest = raw::get_regs(tid).map_err(ptrace_err("GETREGS", tid))?;
    // The interrupted pause() must not restart.
    rest.0.orig_rax = u64::MAX;
    Ok(StubThread { tid, rest })
}

/// Runs one host syscall in stub thread `st` at `site`; returns rax.
fn inject_at(
    st: &StubThread,
    site: u64,
    name: &'static str,
    nr: i64,
    args: [u64; 6],
) -> Result<i64, PlatformError> {
    let tid = st.tid;
    let mut regs = st.rest;
    regs.0.rip = site;
    regs.0.rax = nr as u64;
    regs.0.orig_rax = u64::MAX;
    regs.0.rdi = args[0];
    regs.0.rsi = args[1];
    regs.0.rdx = args[2];
    regs.0.r10 = args[3];
    regs.0.r8 = args[4];
    regs.0.r9 = args[5];
    raw::set_regs(tid, &regs).map_err(ptrace_err("SETREGS", tid))?;
    raw::resume(libc::PTRACE_CONT, tid, 0).map_err(ptrace_err("CONT", tid))?;
    loop {
        match wait(tid)? {
            WaitStatus::Stopped(libc::SIGTRAP) => break,
            // Another signal (an interrupt) arrived meanwhile: the task is in
            // the sentry anyway and sees its pending signals next.
            WaitStatus::Stopped(_) => {
                raw::resume(libc::PTRACE_CONT, tid, 0).map_err(ptrace_err("CONT", tid))?
            }
            WaitStatus::Gone(status) => return Err(PlatformError::StubDied { pid: tid, status }),
        }
    }
    let out = raw::get_regs(tid).map_err(ptrace_err("GETREGS", tid))?;
    let ret = out.0.rax as i64;
    if (-4095..0).contains(&ret) {
        return Err(PlatformError::Injected {
            syscall: name,
            pid: tid,
            errno: (-ret) as i32,
        });
    }
    Ok(ret)
}

/// An address space backed by one ptrace stub process.
pub struct PtraceAddressSpace {
    pid: i32,
    factory: Arc<stubproc::Factory>,
    /// Tracer host tid → the stub thread it owns.
    threads: Mutex<HashMap<i32, StubThread>>,
}

impl PtraceAddressSpace {
    fn start(factory: Arc<stubproc::Factory>) -> Result<Self, PlatformError> {
        let t0 = std::time::Instant::now();
        let pid = factory.spawn_here(None).map_err(PlatformError::SpawnStub)?;
        tracing::debug!(pid, spawned = ?t0.elapsed(), "stub spawned");
        let st = match attach(pid) {
            Ok(st) => st,
            Err(e) => {
                raw::kill_hard(pid);
                factory.reap(pid);
                return Err(e);
            }
        };
        let space = PtraceAddressSpace {
            pid,
            factory,
            threads: Mutex::new(HashMap::from([(raw::gettid(), st)])),
        };
        tracing::debug!(pid, attached = ?t0.elapsed(), "stub attached");
        // From here the stub dies with its tracer (EXITKILL), not with the
        // thread that happened to start it.
        space.inject(
            "prctl",
            libc::SYS_prctl,
            [libc::PR_SET_PDEATHSIG as u64, 0, 0, 0, 0, 0],
        )?;
        // Leave nothing but the stub page: the exec'd stack, vDSO and vvar go.
        space.inject("munmap", libc::SYS_munmap, [0, STUB_BASE, 0, 0, 0, 0])?;
        space.inject(
            "munmap",
            libc::SYS_munmap,
            [STUB_PAGE_END, TASK_SIZE - STUB_PAGE_END, 0, 0, 0, 0],
        )?;
        tracing::debug!(pid, "ptrace stub ready");
        Ok(space)
    }

    /// The host pid of the stub process (for diagnostics).
    pub fn stub_pid(&self) -> i32 {
        self.pid
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<i32, StubThread>> {
        match self.threads.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The calling thread's stub thread.
    fn mine(&self) -> Result<StubThread, PlatformError> {
        let tid = raw::gettid();
        self.lock()
            .get(&tid)
            .copied()
            .ok_or(PlatformError::WrongThread { tid })
    }

    fn inject(&self, name: &'static str, nr: i64, args: [u64; 6]) -> Result<i64, PlatformError> {
        inject_at(&self.mine()?, stub::SYSCALL_SITE, name, nr, args)
    }
}

impl Drop for PtraceAddressSpace {
    fn drop(&mut self) {
        raw::kill_hard(self.pid);
        // Our own traced thread's exit must be collected before the leader's.
        if let Ok(st) = self.mine() {
            if st.tid != self.pid {
                let _ = raw::wait_all(st.tid);
            }
        }
        if !raw::try_reap(self.pid) {
            self.factory.reap(self.pid);
        }
    }
}

/// Flags of a stub thread clone: a thread of the stub process, untraced
/// until its own tracer seizes it.
const THREAD_CLONE_FLAGS: u64 = crate::STUB_THREAD_CLONE_FLAGS;

impl AddressSpace for PtraceAddressSpace {
    fn map(&self, addr: u64, len: u64, prot: Prot, offset: u64) -> Result<(), PlatformError> {
        self.inject(
            "mmap",
            libc::SYS_mmap,
            crate::stubproc::memfile_mmap_args(addr, len, prot, offset),
        )
        .map(|_| ())
    }

    fn unmap(&self, addr: u64, len: u64) -> Result<(), PlatformError> {
        self.inject("munmap", libc::SYS_munmap, [addr, len, 0, 0, 0, 0])
            .map(|_| ())
    }

    fn protect(&self, addr: u64, len: u64, prot: Prot) -> Result<(), PlatformError> {
        self.inject(
            "mprotect",
            libc::SYS_mprotect,
            [addr, len, prot.bits() as u64, 0, 0, 0],
        )
        .map(|_| ())
    }

    fn new_thread(&self) -> Result<ThreadTicket, PlatformError> {
        let st = self.mine()?;
        let tid = inject_at(
            &st,
            stub::CLONE_SITE,
            "clone",
            libc::SYS_clone,
            [THREAD_CLONE_FLAGS, 0, 0, 0, 0, 0],
        )?;
        Ok(ThreadTicket(tid as i32))
    }

    fn bind_thread(&self, ticket: ThreadTicket) -> Result<(), PlatformError> {
        let st = attach(ticket.0)?;
        self.lock().insert(raw::gettid(), st);
        Ok(())
    }

    fn release_thread(&self) {
        let tid = raw::gettid();
        let Some(st) = self.lock().remove(&tid) else {
            return;
        };
        // Let the stub thread exit on its own, untraced, without taking the
        // other stub threads with it (no EXITKILL once we are gone).
        let _ = raw::set_options(st.tid, libc::PTRACE_O_TRACESYSGOOD);
        let mut regs = st.rest;
        regs.0.rip = stub::SYSCALL_SITE;
        regs.0.rax = libc::SYS_exit as u64;
        regs.0.rdi = 0;
        if raw::set_regs(st.tid, &regs).is_err()
            || raw::request(libc::PTRACE_DETACH, st.tid, 0).is_err()
        {
            raw::tgkill(self.pid, st.tid, libc::SIGKILL);
        }
    }

    fn interrupter(&self) -> Option<Interrupter> {
        let st = self.mine().ok()?;
        Some(Interrupter {
            pid: self.pid,
            tid: st.tid,
            signal: INTERRUPT_SIGNAL,
        })
    }

    fn fp_state(&self) -> Result<Vec<u8>, PlatformError> {
        let st = self.mine()?;
        raw::get_xstate(st.tid).map_err(ptrace_err("GETREGSET", st.tid))
    }

    fn set_fp_state(&self, state: &[u8]) -> Result<(), PlatformError> {
        let st = self.mine()?;
        raw::set_xstate(st.tid, state).map_err(ptrace_err("SETREGSET", st.tid))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The calling host thread's context.
pub struct PtraceContext {
    tid: i32,
}

impl Context for PtraceContext {
    fn switch(&mut self, space: &dyn AddressSpace, regs: &mut Regs) -> Result<Stop, PlatformError> {
        let Some(space) = space.as_any().downcast_ref::<PtraceAddressSpace>() else {
            return Err(PlatformError::WrongThread { tid: self.tid });
        };
        let tid = space.mine()?.tid;
        raw::set_regs(tid, regs).map_err(ptrace_err("SETREGS", tid))?;
        raw::resume(libc::PTRACE_SYSEMU, tid, 0).map_err(ptrace_err("SYSEMU", tid))?;
        let sig = match wait(tid)? {
            WaitStatus::Stopped(sig) => sig,
            WaitStatus::Gone(status) => return Err(PlatformError::StubDied { pid: tid, status }),
        };
        *regs = raw::get_regs(tid).map_err(ptrace_err("GETREGS", tid))?;
        if sig == libc::SIGTRAP | 0x80 {
            return Ok(Stop::Syscall);
        }
        if sig == INTERRUPT_SIGNAL {
            return Ok(Stop::Interrupt);
        }
        let info = raw::get_siginfo(tid).map_err(ptrace_err("GETSIGINFO", tid))?;
        // SAFETY: for the signals that carry one, si_addr is the fault address;
        // for others it reads whatever the union holds, which is only logged.
        let addr = unsafe { info.si_addr() } as u64;
        let code = info.si_code;
        Ok(match sig {
            libc::SIGSEGV | libc::SIGBUS if code > 0 => Stop::Fault {
                signo: sig,
                code,
                addr,
            },
            _ => Stop::Signal {
                signo: sig,
                code,
                addr,
            },
        })
    }
}
