//! How app code runs and traps.
//!
//! The platform owns address spaces (host processes whose memory is the
//! sandbox's memory file, mapped in by the platform) and contexts (a host
//! thread's handle for running app code in one of them). `switch()` runs app
//! code until it makes a system call, faults, or receives a signal, and hands
//! back its registers.
//!
//! The platform knows registers and pages, never Linux semantics: it must
//! never let an app system call reach the host kernel (DESIGN.md invariant 1)
//! and never imports the sentry.

pub mod ptrace;
mod regs;
mod stubproc;
pub mod systrap;
pub mod thread_caps;

pub use regs::Regs;

use std::os::fd::BorrowedFd;
use std::sync::Arc;

/// Lowest address of the range the platform keeps for its own code in every
/// address space. The sentry must never place app mappings in
/// `[STUB_BASE, STUB_END)`.
pub const STUB_BASE: u64 = 0x7ff0_0000_0000;
/// End (exclusive) of the platform's reserved range: the stub's code page
/// (ptrace and systrap), then systrap's per-thread contexts and signal
/// stacks (64 MiB, 1023 threads of 64 KiB).
pub const STUB_END: u64 = STUB_BASE + 0x400_0000;
/// Flags of the clone a stub makes for each new app thread, on both
/// platforms: a thread of the stub process, untraced until its own tracer
/// seizes it. The sentry's seccomp allowlist admits clone with these.
pub const STUB_THREAD_CLONE_FLAGS: u64 = (libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM
    | libc::CLONE_UNTRACED) as u64;
pub use stubproc::{MEMFILE_FD, SPAWN_CLONE_FLAGS as STUB_SPAWN_CLONE_FLAGS};
/// One past the highest user address on x86-64 with 4-level paging.
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;

/// Page protection bits, as in mmap(2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    /// PROT_* bits for the host.
    pub fn bits(self) -> i32 {
        let mut b = 0;
        if self.read {
            b |= libc::PROT_READ;
        }
        if self.write {
            b |= libc::PROT_WRITE;
        }
        if self.exec {
            b |= libc::PROT_EXEC;
        }
        b
    }

    /// From PROT_* bits; unknown bits are ignored (the caller validates).
    pub fn from_bits(bits: i32) -> Prot {
        Prot {
            read: bits & libc::PROT_READ != 0,
            write: bits & libc::PROT_WRITE != 0,
            exec: bits & libc::PROT_EXEC != 0,
        }
    }
}

/// Why `switch()` returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The app executed a system call instruction. The registers hold the
    /// number (`orig_rax`) and arguments; the syscall did not run on the host.
    Syscall,
    /// The app touched memory it may not: a SIGSEGV or SIGBUS raised by the
    /// hardware, with the faulting address and the host's si_code.
    Fault { signo: i32, code: i32, addr: u64 },
    /// Any other signal the app's thread received (SIGFPE, SIGILL, SIGTRAP
    /// from int3, or an asynchronous signal sent to the stub).
    Signal { signo: i32, code: i32, addr: u64 },
    /// The sentry kicked the thread out of app code (an `Interrupter`).
    Interrupt,
    /// The app made a system call of another ABI (i386's `int 0x80`); it
    /// did not run. Only from platforms whose `tells_foreign_syscalls` is
    /// true; the others report such a call as `Syscall`.
    ForeignSyscall,
}

/// A stub thread prepared by `AddressSpace::new_thread` for another host
/// thread to bind.
#[derive(Clone, Copy, Debug)]
pub struct ThreadTicket(pub i32);

/// Kicks one host thread's app code back into the sentry (`Stop::Interrupt`).
#[derive(Clone, Copy, Debug)]
pub struct Interrupter {
    pub pid: i32,
    pub tid: i32,
    pub signal: i32,
}

impl Interrupter {
    pub fn interrupt(&self) {
        // SAFETY: tgkill takes plain integers; a gone thread is an ignored ESRCH.
        unsafe {
            libc::syscall(libc::SYS_tgkill, self.pid, self.tid, self.signal);
        }
    }
}

/// Errors of the platform itself (not of the app).
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("creating the memory-file stub image: {0}")]
    StubImage(std::io::Error),
    #[error("starting a stub process: {0}")]
    SpawnStub(std::io::Error),
    #[error("stub process {pid} did not reach its start trap (wait status {status:#x})")]
    StubStart { pid: i32, status: i32 },
    #[error("ptrace {op} on stub {pid}: {err}")]
    Ptrace {
        op: &'static str,
        pid: i32,
        err: std::io::Error,
    },
    #[error("stub {pid} exited unexpectedly (wait status {status:#x})")]
    StubDied { pid: i32, status: i32 },
    #[error("injected {syscall} in stub {pid} failed: errno {errno}")]
    Injected {
        syscall: &'static str,
        pid: i32,
        errno: i32,
    },
    #[error("address space used from host thread {tid}, which is not its tracer")]
    WrongThread { tid: i32 },
    #[error("systrap {op} for stub {pid}: {err}")]
    Systrap {
        op: &'static str,
        pid: i32,
        err: std::io::Error,
    },
}

/// One app address space: a stub process whose pages all come from the
/// sandbox's memory file.
/// One memory operation of a batch (`AddressSpace::apply`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemOp {
    Map {
        addr: u64,
        len: u64,
        prot: Prot,
        offset: u64,
    },
    Unmap {
        addr: u64,
        len: u64,
    },
    Protect {
        addr: u64,
        len: u64,
        prot: Prot,
    },
}

pub trait AddressSpace: Send + Sync {
    /// Maps `[addr, addr+len)` to `[offset, offset+len)` of the memory file,
    /// shared, replacing whatever was there.
    fn map(&self, addr: u64, len: u64, prot: Prot, offset: u64) -> Result<(), PlatformError>;
    /// Removes every mapping in `[addr, addr+len)`.
    fn unmap(&self, addr: u64, len: u64) -> Result<(), PlatformError>;
    /// Changes the protection of `[addr, addr+len)`.
    fn protect(&self, addr: u64, len: u64, prot: Prot) -> Result<(), PlatformError>;
    /// Applies `ops` in order, as one request where the platform can batch
    /// them. On failure, the error of the first op that failed; whether the
    /// ops after it ran is up to the platform (the caller undoes or drops
    /// the address space either way).
    fn apply(&self, ops: &[MemOp]) -> Result<(), PlatformError> {
        for op in ops {
            match *op {
                MemOp::Map {
                    addr,
                    len,
                    prot,
                    offset,
                } => self.map(addr, len, prot, offset)?,
                MemOp::Unmap { addr, len } => self.unmap(addr, len)?,
                MemOp::Protect { addr, len, prot } => self.protect(addr, len, prot)?,
            }
        }
        Ok(())
    }
    /// Prepares a thread in this address space for another host thread
    /// (called by a thread already bound here).
    fn new_thread(&self) -> Result<ThreadTicket, PlatformError>;
    /// Binds the calling host thread to a thread from `new_thread`.
    fn bind_thread(&self, ticket: ThreadTicket) -> Result<(), PlatformError>;
    /// Ends the calling host thread's use of this address space (its task
    /// exits or execs) without disturbing the other threads.
    fn release_thread(&self);
    /// How to interrupt the calling host thread's app code.
    fn interrupter(&self) -> Option<Interrupter>;
    /// The calling thread's app FP/vector state (XSAVE layout).
    fn fp_state(&self) -> Result<Vec<u8>, PlatformError>;
    /// Restores the calling thread's app FP/vector state.
    fn set_fp_state(&self, state: &[u8]) -> Result<(), PlatformError>;
    /// For the platform's own contexts to find their concrete type.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// A host thread's way into app code.
pub trait Context: Send {
    /// Runs app code in `space` with `regs` until the next syscall, fault or
    /// signal; `regs` is updated to the app's state at that point.
    fn switch(&mut self, space: &dyn AddressSpace, regs: &mut Regs) -> Result<Stop, PlatformError>;
}

/// A way of running app code.
pub trait Platform: Send + Sync {
    /// The platform's name, as `--platform` spells it.
    fn name(&self) -> &'static str;
    /// A new, empty address space, bound to the calling host thread.
    fn new_address_space(&self) -> Result<Arc<dyn AddressSpace>, PlatformError>;
    /// A context for the calling host thread.
    fn new_context(&self) -> Result<Box<dyn Context>, PlatformError>;
    /// Whether `switch` tells another ABI's syscalls apart
    /// (`Stop::ForeignSyscall`); if not, the caller must look at the
    /// instruction itself.
    fn tells_foreign_syscalls(&self) -> bool {
        false
    }
}

/// Names `--platform` accepts: the two platforms, and `auto`.
pub const PLATFORM_NAMES: &[&str] = &["auto", "systrap", "ptrace"];

/// Picks and creates the platform for `name` (`auto`: systrap where this
/// kernel and CPU support it, else ptrace); with a line saying why.
pub fn select(
    name: &str,
    memfile: BorrowedFd<'_>,
) -> Result<(Arc<dyn Platform>, String), UnknownPlatform> {
    if name != "auto" {
        return create(name, memfile).map(|p| (p, "asked for with --platform".to_string()));
    }
    match systrap::SystrapPlatform::new(memfile) {
        Ok(p) => Ok((
            Arc::new(p),
            "the default: this kernel and CPU support systrap (seccomp traps, FSGSBASE)"
                .to_string(),
        )),
        Err(e) => create("ptrace", memfile)
            .map(|p| (p, format!("the fallback: systrap cannot run here ({e})"))),
    }
}

/// Creates the named platform over the sandbox's memory file.
pub fn create(name: &str, memfile: BorrowedFd<'_>) -> Result<Arc<dyn Platform>, UnknownPlatform> {
    match name {
        "ptrace" => ptrace::PtracePlatform::new(memfile)
            .map(|p| Arc::new(p) as Arc<dyn Platform>)
            .map_err(|e| UnknownPlatform(format!("ptrace: {e}"))),
        "systrap" => systrap::SystrapPlatform::new(memfile)
            .map(|p| Arc::new(p) as Arc<dyn Platform>)
            .map_err(|e| UnknownPlatform(format!("systrap: {e}"))),
        other => Err(UnknownPlatform(format!(
            "unknown platform {other:?} (known: ptrace, systrap)"
        ))),
    }
}

/// A platform name that is unknown or cannot start here.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UnknownPlatform(pub String);
