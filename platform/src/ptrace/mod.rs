//! The ptrace platform: each address space is a stub process traced by the
//! sentry thread that runs it. App syscalls stop the stub under
//! PTRACE_SYSEMU and never reach the host; memory is mapped into the stub by
//! syscalls the platform injects at the stub's own `syscall; int3` site.
//! Tracer thread and stub are pinned to one CPU: a ptrace wake-up across
//! CPUs costs an order of magnitude more than one on the same CPU.

mod raw;
mod spawn;
mod stub;

use std::any::Any;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex};

use crate::{AddressSpace, Context, Platform, PlatformError, Prot, Regs, Stop};

pub use stub::MEMFILE_FD as STUB_MEMFILE_FD;

/// The ptrace platform: holds the stub image and the memory file.
pub struct PtracePlatform {
    image: OwnedFd,
    memfile: OwnedFd,
}

impl PtracePlatform {
    /// Prepares the stub image in a memfd; `memfile` is the sandbox's memory file.
    pub fn new(memfile: BorrowedFd<'_>) -> Result<PtracePlatform, PlatformError> {
        let image = raw::memfd_create(c"ward-stub").map_err(PlatformError::StubImage)?;
        let mut f = std::fs::File::from(image);
        f.write_all(&stub::image())
            .map_err(PlatformError::StubImage)?;
        let memfile = memfile
            .try_clone_to_owned()
            .map_err(PlatformError::StubImage)?;
        Ok(PtracePlatform {
            image: OwnedFd::from(f),
            memfile,
        })
    }
}

impl Platform for PtracePlatform {
    fn name(&self) -> &'static str {
        "ptrace"
    }

    fn new_address_space(&self) -> Result<Arc<dyn AddressSpace>, PlatformError> {
        Ok(Arc::new(PtraceAddressSpace::start(
            self.image.as_fd(),
            self.memfile.as_fd(),
        )?))
    }

    fn new_context(&self) -> Result<Box<dyn Context>, PlatformError> {
        Ok(Box::new(PtraceContext { tid: raw::gettid() }))
    }
}

fn ptrace_err(op: &'static str, pid: i32) -> impl FnOnce(std::io::Error) -> PlatformError {
    move |err| PlatformError::Ptrace { op, pid, err }
}

/// Decoded wait status of a stopped or dead stub.
enum WaitStatus {
    Stopped(i32),
    Gone(i32),
}

fn wait(pid: i32) -> Result<WaitStatus, PlatformError> {
    let status = raw::wait_all(pid).map_err(ptrace_err("waitpid", pid))?;
    if libc::WIFSTOPPED(status) {
        Ok(WaitStatus::Stopped(libc::WSTOPSIG(status)))
    } else {
        Ok(WaitStatus::Gone(status))
    }
}

/// A stub process and the state the tracer keeps of it.
struct Stub {
    pid: i32,
    /// The tracing host thread: the only one allowed to drive the stub.
    tracer: i32,
    /// Registers of the stub at rest (valid segment registers), used as the
    /// base for injected syscalls.
    rest: Regs,
}

/// An address space backed by one ptrace stub process.
pub struct PtraceAddressSpace {
    stub: Mutex<Stub>,
}

impl PtraceAddressSpace {
    fn start(image: BorrowedFd<'_>, memfile: BorrowedFd<'_>) -> Result<Self, PlatformError> {
        let pid = spawn::spawn_stub(image, memfile).map_err(PlatformError::SpawnStub)?;
        let guard = KillOnDrop(pid);
        // The post-exec trap.
        match wait(pid)? {
            WaitStatus::Stopped(libc::SIGTRAP) => {}
            WaitStatus::Stopped(sig) => return Err(PlatformError::StubStart { pid, status: sig }),
            WaitStatus::Gone(status) => return Err(PlatformError::StubStart { pid, status }),
        }
        raw::set_options(pid, libc::PTRACE_O_EXITKILL | libc::PTRACE_O_TRACESYSGOOD)
            .map_err(ptrace_err("SETOPTIONS", pid))?;
        let cpu = raw::current_cpu();
        raw::pin_to_cpu(0, cpu).map_err(ptrace_err("pin tracer", pid))?;
        raw::pin_to_cpu(pid, cpu).map_err(ptrace_err("pin stub", pid))?;
        // Let it unmap everything but its own page, up to its int3.
        raw::resume(libc::PTRACE_CONT, pid, 0).map_err(ptrace_err("CONT", pid))?;
        match wait(pid)? {
            WaitStatus::Stopped(libc::SIGTRAP) => {}
            WaitStatus::Stopped(sig) => return Err(PlatformError::StubStart { pid, status: sig }),
            WaitStatus::Gone(status) => return Err(PlatformError::StubStart { pid, status }),
        }
        let rest = raw::get_regs(pid).map_err(ptrace_err("GETREGS", pid))?;
        std::mem::forget(guard);
        tracing::debug!(pid, cpu, "ptrace stub ready");
        Ok(PtraceAddressSpace {
            stub: Mutex::new(Stub {
                pid,
                tracer: raw::gettid(),
                rest,
            }),
        })
    }

    /// The host pid of the stub (for diagnostics).
    pub fn stub_pid(&self) -> i32 {
        self.lock().pid
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Stub> {
        match self.stub.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Runs one host syscall inside the stub and returns its raw result.
    fn inject(&self, name: &'static str, nr: i64, args: [u64; 6]) -> Result<i64, PlatformError> {
        let stub = self.lock();
        let tid = raw::gettid();
        if tid != stub.tracer {
            return Err(PlatformError::WrongThread { tid });
        }
        let pid = stub.pid;
        let mut regs = stub.rest;
        regs.0.rip = stub::SYSCALL_SITE;
        regs.0.rax = nr as u64;
        regs.0.orig_rax = u64::MAX;
        regs.0.rdi = args[0];
        regs.0.rsi = args[1];
        regs.0.rdx = args[2];
        regs.0.r10 = args[3];
        regs.0.r8 = args[4];
        regs.0.r9 = args[5];
        raw::set_regs(pid, &regs).map_err(ptrace_err("SETREGS", pid))?;
        raw::resume(libc::PTRACE_CONT, pid, 0).map_err(ptrace_err("CONT", pid))?;
        loop {
            match wait(pid)? {
                WaitStatus::Stopped(libc::SIGTRAP) => break,
                // Another signal arrived meanwhile: drop it and go on to the trap.
                WaitStatus::Stopped(_) => {
                    raw::resume(libc::PTRACE_CONT, pid, 0).map_err(ptrace_err("CONT", pid))?
                }
                WaitStatus::Gone(status) => return Err(PlatformError::StubDied { pid, status }),
            }
        }
        let out = raw::get_regs(pid).map_err(ptrace_err("GETREGS", pid))?;
        let ret = out.0.rax as i64;
        if (-4095..0).contains(&ret) {
            return Err(PlatformError::Injected {
                syscall: name,
                pid,
                errno: (-ret) as i32,
            });
        }
        Ok(ret)
    }
}

/// Kills a half-started stub if start-up fails.
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        raw::kill_hard(self.0);
        let _ = raw::wait_all(self.0);
    }
}

impl Drop for PtraceAddressSpace {
    fn drop(&mut self) {
        let pid = self.lock().pid;
        raw::kill_hard(pid);
        let _ = raw::wait_all(pid);
    }
}

impl AddressSpace for PtraceAddressSpace {
    fn map(&self, addr: u64, len: u64, prot: Prot, offset: u64) -> Result<(), PlatformError> {
        let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
        self.inject(
            "mmap",
            libc::SYS_mmap,
            [
                addr,
                len,
                prot.bits() as u64,
                flags,
                stub::MEMFILE_FD as u64,
                offset,
            ],
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
        let pid = {
            let stub = space.lock();
            if stub.tracer != self.tid {
                return Err(PlatformError::WrongThread { tid: self.tid });
            }
            stub.pid
        };
        raw::set_regs(pid, regs).map_err(ptrace_err("SETREGS", pid))?;
        raw::resume(libc::PTRACE_SYSEMU, pid, 0).map_err(ptrace_err("SYSEMU", pid))?;
        let sig = match wait(pid)? {
            WaitStatus::Stopped(sig) => sig,
            WaitStatus::Gone(status) => return Err(PlatformError::StubDied { pid, status }),
        };
        *regs = raw::get_regs(pid).map_err(ptrace_err("GETREGS", pid))?;
        if sig == libc::SIGTRAP | 0x80 {
            return Ok(Stop::Syscall);
        }
        let info = raw::get_siginfo(pid).map_err(ptrace_err("GETSIGINFO", pid))?;
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
