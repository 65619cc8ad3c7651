//! The systrap platform (gVisor's systrap, written here): no ptrace stops.
//! Each address space is a stub process running the stub image
//! (`stub.rs`, `stub.s`) under a seccomp filter (`bpf.rs`) that traps every
//! system call not made from the stub's own page. App code's calls, faults
//! and the sentry's interrupt signal all land in the stub's signal handler,
//! on a per-thread alternate stack in the platform's reserved range; the
//! handler copies the registers into the thread's slot of a context file
//! shared with the sentry, sets the slot's state to STOPPED, wakes the
//! sentry by futex, and waits for its answer: new registers to resume
//! with, or exit. Map, unmap, protect and thread clones are batches of
//! requests to the stub's memory thread, which never runs app code and
//! reads them from a region the stub maps read-only (`stub.rs` says why).
//! A sentry thread and its stub thread are pinned to one CPU, except while
//! the app traps in quick succession, when the sentry thread may spin for
//! it on a second CPU (`spin.rs`); the memory thread follows the sentry
//! thread that calls on it. The slots are
//! touched here only with atomics and volatile accesses: the stub (and app
//! code) write them concurrently, and nothing read from them is trusted
//! beyond being a value.

mod bpf;
mod pool;
mod spin;
mod stub;
mod stub_code;

use std::any::Any;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use pool::Pool;

use crate::ptrace::raw;
use crate::stubproc;
use crate::{
    AddressSpace, Context, Interrupter, MemOp, Platform, PlatformError, Prot, Regs, Stop,
    ThreadTicket,
};

pub use stub::MEMFILE_FD as STUB_MEMFILE_FD;

/// The stub's page as every stub maps it at `STUB_BASE` (for diagnostics
/// and the tests that attack it).
pub fn stub_page() -> Vec<u8> {
    stub::image()
}

/// The host signal used to kick a stub thread out of app code.
pub const INTERRUPT_SIGNAL: i32 = libc::SIGURG;

// The control page of a slot (see stub.s).
const STATE: usize = 0x00;
const STUB_SLEEPING: usize = 0x04;
const SENTRY_SLEEPING: usize = 0x08;
const CMD: usize = 0x0c;
const SPIN: usize = 0x18;
const FS_BASE: usize = 0x20;
const GS_BASE: usize = 0x28;
const ALTSTACK: usize = 0x30;
const SIGINFO: usize = 0x60;
const MCONTEXT: usize = 0x80;

/// `state`: the stub (or app code) runs; the sentry waits.
const RUNNING: u32 = 1;
/// `state`: the stub waits in its handler for the sentry.
const STOPPED: u32 = 2;

const CMD_RESUME: u32 = 0;
const CMD_EXIT: u32 = 2;

/// uc_mcontext.gregs indexes (the kernel's struct sigcontext order).
const NGREGS_BACK: usize = 18;
const REG_RAX: usize = 13;
const REG_RIP: usize = 16;
const REG_CSGSFS: usize = 18;
const REG_FPSTATE: usize = 23;

/// Spins before sleeping on the futex while the two threads share one CPU,
/// where the other side cannot answer while we spin: none. (`spin.rs`
/// decides when a thread spins on another CPU instead.)
const SENTRY_SPIN: u32 = 0;
const STUB_SPIN: u64 = 0;

/// How long the sentry sleeps before checking that the stub is alive.
const LIVENESS_POLL_NS: i64 = 100_000_000;

/// si_code of a seccomp SIGSYS.
const SYS_SECCOMP: i32 = 1;
/// FP_XSTATE_MAGIC1 in the signal frame's fxsave sw_reserved bytes.
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
/// Where sw_reserved (struct _fpx_sw_bytes) starts in the fxsave area.
const FPX_SW_BYTES: usize = 464;
/// The legacy fxsave area, then the XSAVE header.
const FXSAVE_LEN: usize = 512;

fn sys_err(op: &'static str, pid: i32) -> impl FnOnce(io::Error) -> PlatformError {
    move |err| PlatformError::Systrap { op, pid, err }
}

/// Whether the kernel lets user space use rd/wr{fs,gs}base.
fn have_fsgsbase() -> bool {
    const HWCAP2_FSGSBASE: u64 = 1 << 1;
    // SAFETY: getauxval takes an integer and only reads the auxv.
    let h = unsafe { libc::getauxval(libc::AT_HWCAP2) };
    h & HWCAP2_FSGSBASE != 0
}

/// Whether seccomp filters and their RET_TRAP action are available.
fn have_seccomp_trap() -> bool {
    const SECCOMP_GET_ACTION_AVAIL: libc::c_long = 2;
    let action: u32 = bpf::RET_TRAP;
    // SAFETY: the kernel reads one u32 from the live `action`.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_ACTION_AVAIL,
            0,
            &action as *const u32,
        )
    };
    r == 0
}

/// The systrap platform: the stub factory over the stub image and the memory file.
pub struct SystrapPlatform {
    factory: Arc<stubproc::Factory>,
    pool: Arc<Pool>,
    spin: Arc<spin::SpinPolicy>,
}

impl SystrapPlatform {
    /// Prepares the stub image; `memfile` is the sandbox's memory file.
    pub fn new(memfile: BorrowedFd<'_>) -> Result<SystrapPlatform, PlatformError> {
        if !have_fsgsbase() {
            return Err(PlatformError::StubImage(io::Error::other(
                "the kernel does not enable FSGSBASE for user space",
            )));
        }
        if !have_seccomp_trap() {
            return Err(PlatformError::StubImage(io::Error::other(
                "the kernel has no seccomp filters with SECCOMP_RET_TRAP",
            )));
        }
        let factory = stubproc::Factory::for_image(c"ward-systrap-stub", &stub::image(), memfile)?;
        let spin = spin::SpinPolicy::new();
        tracing::debug!("systrap: {}", spin.describe());
        Ok(SystrapPlatform {
            spin: Arc::new(spin),
            factory: Arc::new(factory),
            pool: Arc::new(Pool::new()),
        })
    }
}

impl Drop for SystrapPlatform {
    fn drop(&mut self) {
        for s in self.pool.close() {
            s.end();
        }
    }
}

impl Platform for SystrapPlatform {
    fn name(&self) -> &'static str {
        "systrap"
    }

    fn new_address_space(&self) -> Result<Arc<dyn AddressSpace>, PlatformError> {
        if let Some(space) = self.pool.take(&self.factory) {
            if space.adopt().is_ok() {
                return Ok(Arc::new(space));
            }
        }
        Ok(Arc::new(SystrapAddressSpace::start(
            self.factory.clone(),
            Arc::downgrade(&self.pool),
        )?))
    }

    fn tells_foreign_syscalls(&self) -> bool {
        true
    }

    fn new_context(&self) -> Result<Box<dyn Context>, PlatformError> {
        Ok(Box::new(SystrapContext {
            tid: raw::gettid(),
            bound: None,
            spinner: spin::Spinner::new(Arc::clone(&self.spin)),
        }))
    }
}

/// The sentry's mapping of one address space's context file.
struct CtxMap {
    ptr: *mut u8,
}

// SAFETY: the mapping is process-wide memory; it is only accessed through
// `Slot`, with atomics and volatile reads and writes, never as references.
unsafe impl Send for CtxMap {}
// SAFETY: as for Send.
unsafe impl Sync for CtxMap {}

impl CtxMap {
    fn new(fd: &OwnedFd) -> io::Result<CtxMap> {
        // SAFETY: a fresh shared mapping of a file we own, at an address the
        // kernel picks; nothing else is affected.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                stub::FILE_LEN as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(CtxMap { ptr: p as *mut u8 })
    }

    fn slot(&self, k: usize) -> Slot {
        assert!(k < stub::MAX_SLOTS);
        // SAFETY: slot k lies inside the mapping (CTX_LEN of slots first).
        let base = unsafe { self.ptr.add(k * stub::SLOT_SIZE as usize) };
        Slot { base, k }
    }

    /// The memory thread's request region, as a slot-like window (the
    /// sentry's side of it is writable).
    fn requests(&self) -> Slot {
        // SAFETY: the region follows the slots inside the FILE_LEN mapping.
        let base = unsafe { self.ptr.add(stub::CTX_LEN as usize) };
        Slot {
            base,
            k: stub::MAX_SLOTS,
        }
    }
}

impl Drop for CtxMap {
    fn drop(&mut self) {
        if self.ptr.is_null() {
            return; // moved to the stub's next address space
        }
        // SAFETY: the mapping is ours and no Slot outlives the address space.
        unsafe {
            libc::munmap(self.ptr as *mut libc::c_void, stub::FILE_LEN as usize);
        }
    }
}

/// One stub thread's slot, as the sentry sees it.
#[derive(Clone, Copy)]
struct Slot {
    base: *mut u8,
    k: usize,
}

impl Slot {
    fn word(&self, off: usize) -> &AtomicU32 {
        // SAFETY: `off` is a 4-aligned offset inside the slot's control
        // page, which lives as long as the address space; AtomicU32 is the
        // shared-memory accessor for it.
        unsafe { &*(self.base.add(off) as *const AtomicU32) }
    }

    fn get(&self, off: usize) -> u64 {
        debug_assert!(off.is_multiple_of(8) && off < stub::CMD_LEN as usize);
        // SAFETY: an aligned u64 inside the slot; volatile because the stub
        // writes it concurrently.
        unsafe { std::ptr::read_volatile(self.base.add(off) as *const u64) }
    }

    fn set(&self, off: usize, v: u64) {
        debug_assert!(off.is_multiple_of(8) && off < stub::CMD_LEN as usize);
        // SAFETY: as for `get`.
        unsafe { std::ptr::write_volatile(self.base.add(off) as *mut u64, v) }
    }

    fn get_byte(&self, off: usize) -> u8 {
        // SAFETY: inside the slot (callers bound `off`); volatile as above.
        unsafe { std::ptr::read_volatile(self.base.add(off)) }
    }

    fn set_byte(&self, off: usize, v: u8) {
        // SAFETY: as for `get_byte`.
        unsafe { std::ptr::write_volatile(self.base.add(off), v) }
    }

    /// The slot's address inside the stub.
    fn stub_addr(&self) -> u64 {
        stub::CTX_BASE + self.k as u64 * stub::SLOT_SIZE
    }

    /// Readies a slot for a new stub thread: its alternate stack, spin budget.
    fn prepare(&self) {
        self.word(STATE).store(0, Ordering::SeqCst);
        self.word(STUB_SLEEPING).store(0, Ordering::SeqCst);
        self.word(SENTRY_SLEEPING).store(0, Ordering::SeqCst);
        self.word(CMD).store(CMD_RESUME, Ordering::SeqCst);
        self.set(SPIN, STUB_SPIN);
        self.set(ALTSTACK, self.stub_addr() + stub::ALTSTACK_OFFSET);
        self.set(ALTSTACK + 8, 0);
        self.set(ALTSTACK + 16, stub::SLOT_SIZE - stub::ALTSTACK_OFFSET);
    }

    /// Hands the slot to the stub with `cmd`.
    fn hand_over(&self, cmd: u32) {
        self.word(CMD).store(cmd, Ordering::SeqCst);
        self.word(STATE).swap(RUNNING, Ordering::SeqCst);
        if self.word(STUB_SLEEPING).load(Ordering::SeqCst) != 0 {
            futex_wake(self.word(STATE));
        }
    }

    fn gregs_in(&self, i: usize) -> u64 {
        self.get(MCONTEXT + i * 8)
    }

    fn set_greg(&self, i: usize, v: u64) {
        self.set(MCONTEXT + i * 8, v)
    }
}

fn futex_wake(w: &AtomicU32) {
    // SAFETY: a shared (not private) futex wake on a word of the context
    // mapping; the kernel only reads the address.
    unsafe {
        libc::syscall(libc::SYS_futex, w.as_ptr(), libc::FUTEX_WAKE, 1, 0, 0, 0);
    }
}

/// Sleeps while `*w == val`, at most `ns`; false on timeout.
fn futex_wait(w: &AtomicU32, val: u32, ns: i64) -> bool {
    let ts = libc::timespec {
        tv_sec: ns / 1_000_000_000,
        tv_nsec: ns % 1_000_000_000,
    };
    // SAFETY: `ts` is valid for the call; the address is a word of the
    // context mapping.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            w.as_ptr(),
            libc::FUTEX_WAIT,
            val,
            &ts as *const libc::timespec,
            0,
            0,
        )
    };
    !(r < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT))
}

fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes integers.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new fd that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// A stub thread bound to a sentry thread.
#[derive(Clone, Copy)]
struct Bound {
    slot: usize,
    tid: i32,
}

struct Threads {
    /// Sentry host tid → its stub thread.
    bound: HashMap<i32, Bound>,
    /// Stub tid from `new_thread` → its slot, until bound.
    pending: HashMap<i32, usize>,
    /// Slots in use.
    used: Vec<bool>,
}

impl Threads {
    fn alloc(&mut self) -> Option<usize> {
        let k = self.used.iter().position(|u| !u)?;
        self.used[k] = true;
        Some(k)
    }
}

/// The sentry's side of the memory thread: one batch at a time.
struct MemThread {
    /// The last batch posted.
    seq: u32,
    /// The CPU the memory thread is pinned to.
    cpu: usize,
}

/// Numbers address spaces, so a context can cache its binding to one.
static SPACE_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// An address space backed by one systrap stub process.
pub struct SystrapAddressSpace {
    /// Unique among this sentry's address spaces (never reused).
    id: u64,
    pid: i32,
    /// None once the stub moved on to a new address space (`detach`).
    pidfd: Option<OwnedFd>,
    ctx: CtxMap,
    factory: Arc<stubproc::Factory>,
    /// Where the stub goes for reuse when this address space is dropped.
    pool: std::sync::Weak<Pool>,
    /// The stub thread that `adopt` binds: the process's first thread, or
    /// in a reused stub the thread `refresh` started.
    first: Bound,
    /// Cleared where the stub must end with this address space.
    reusable: bool,
    threads: Mutex<Threads>,
    /// The memory thread's tid (read before any app code ran) and channel.
    mem_tid: i32,
    mem: Mutex<MemThread>,
}

impl SystrapAddressSpace {
    fn start(
        factory: Arc<stubproc::Factory>,
        pool: std::sync::Weak<Pool>,
    ) -> Result<Self, PlatformError> {
        let fd = raw::memfd_create(c"ward-systrap-ctx").map_err(PlatformError::StubImage)?;
        // SAFETY: ftruncate on our own fd.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), stub::FILE_LEN as i64) } < 0 {
            return Err(PlatformError::StubImage(io::Error::last_os_error()));
        }
        let ctx = CtxMap::new(&fd).map_err(PlatformError::StubImage)?;
        ctx.slot(0).prepare();
        let pid = factory
            .spawn_on_factory(Some((fd.as_raw_fd(), stub::CTXFILE_FD)))
            .map_err(PlatformError::SpawnStub)?;
        drop(fd);
        let pidfd = match pidfd_open(pid) {
            Ok(p) => p,
            Err(e) => {
                raw::kill_hard(pid);
                factory.reap(pid);
                return Err(PlatformError::SpawnStub(e));
            }
        };
        let mut used = vec![false; stub::MAX_SLOTS];
        used[0] = true;
        used[stub::MEM_SLOT] = true;
        let mut space = SystrapAddressSpace {
            id: SPACE_IDS.fetch_add(1, Ordering::Relaxed),
            pid,
            pidfd: Some(pidfd),
            ctx,
            factory,
            pool,
            first: Bound { slot: 0, tid: pid },
            reusable: true,
            threads: Mutex::new(Threads {
                bound: HashMap::new(),
                pending: HashMap::new(),
                used,
            }),
            mem_tid: 0,
            mem: Mutex::new(MemThread { seq: 0, cpu: 0 }),
        };
        // The stub's first stop: set up, in its first int3. The memory
        // thread's tid is in its slot by then, and no app code has run yet.
        space.first_stop(0, pid).map_err(|e| match e {
            PlatformError::StubDied { pid, status } => PlatformError::StubStart { pid, status },
            e => e,
        })?;
        let mem_tid = space
            .ctx
            .slot(stub::MEM_SLOT)
            .word(stub::MEM_TID)
            .load(Ordering::SeqCst);
        if mem_tid == 0 || mem_tid > i32::MAX as u32 {
            return Err(PlatformError::Systrap {
                op: "start",
                pid,
                err: io::Error::other("the stub reported no memory thread"),
            });
        }
        space.mem_tid = mem_tid as i32;
        space.pin(pid)?;
        let cpu = raw::current_cpu();
        raw::pin_to_cpu(space.mem_tid, cpu).map_err(sys_err("pin memory thread", pid))?;
        space.mem.get_mut().map(|m| m.cpu = cpu).ok();
        space
            .lock()
            .bound
            .insert(raw::gettid(), Bound { slot: 0, tid: pid });
        tracing::debug!(pid, "systrap stub ready");
        Ok(space)
    }

    /// The stub as a new address space (a fresh id, no thread but the
    /// memory thread), if it may be reused (`pool.rs`): every app thread
    /// ended through the sentry (its exit acknowledged), none is pending,
    /// and the process lives. `self` is left an empty shell.
    fn detach(&mut self) -> Option<SystrapAddressSpace> {
        if !self.reusable || self.pidfd.is_none() || self.pool.strong_count() == 0 {
            return None;
        }
        {
            let t = self.threads.get_mut().unwrap_or_else(|p| p.into_inner());
            let only_memory_thread = t
                .used
                .iter()
                .enumerate()
                .all(|(k, &u)| u == (k == stub::MEM_SLOT));
            if !(t.bound.is_empty() && t.pending.is_empty() && only_memory_thread) {
                return None;
            }
        }
        if self.stub_gone().is_some() {
            return None;
        }
        let mem = self.mem.get_mut().unwrap_or_else(|p| p.into_inner());
        let (seq, cpu) = (mem.seq, mem.cpu);
        let mut used = vec![false; stub::MAX_SLOTS];
        used[stub::MEM_SLOT] = true;
        Some(SystrapAddressSpace {
            id: SPACE_IDS.fetch_add(1, Ordering::Relaxed),
            pid: self.pid,
            pidfd: self.pidfd.take(),
            ctx: std::mem::replace(
                &mut self.ctx,
                CtxMap {
                    ptr: std::ptr::null_mut(),
                },
            ),
            factory: Arc::clone(&self.factory),
            pool: self.pool.clone(),
            // Set by `refresh`, which runs before any `adopt`.
            first: Bound {
                slot: usize::MAX,
                tid: 0,
            },
            reusable: true,
            threads: Mutex::new(Threads {
                bound: HashMap::new(),
                pending: HashMap::new(),
                used,
            }),
            mem_tid: self.mem_tid,
            mem: Mutex::new(MemThread { seq, cpu }),
        })
    }

    /// Drops this address space with its stub, never reusing it.
    fn end(mut self) {
        self.reusable = false;
        drop(self);
    }

    /// Readies a reused stub: all app memory unmapped (everything outside
    /// the reserved range, as the stub left it at start), and a new stub
    /// thread, cloned by the memory thread, waiting at its first stop for
    /// `adopt`.
    fn refresh(&mut self) -> Result<(), PlatformError> {
        let results = self.run_ops(&[
            (libc::SYS_munmap, [0, crate::STUB_BASE, 0, 0, 0, 0]),
            (
                libc::SYS_munmap,
                [
                    crate::STUB_END,
                    crate::TASK_SIZE - crate::STUB_END,
                    0,
                    0,
                    0,
                    0,
                ],
            ),
        ])?;
        if let Some(&r) = results.iter().find(|&&r| r != 0) {
            return Err(PlatformError::Injected {
                syscall: "munmap",
                pid: self.mem_tid,
                errno: (-r) as i32,
            });
        }
        let ticket = self.new_thread()?;
        let k = self
            .lock()
            .pending
            .remove(&ticket.0)
            .ok_or(PlatformError::WrongThread { tid: ticket.0 })?;
        self.first_stop(k, ticket.0)?;
        self.first = Bound {
            slot: k,
            tid: ticket.0,
        };
        tracing::debug!(pid = self.pid, "systrap stub reused");
        Ok(())
    }

    /// Binds a pooled address space's first thread to the calling host
    /// thread (the filler started it), and moves its stub threads to this
    /// thread's CPU.
    fn adopt(&self) -> Result<(), PlatformError> {
        {
            let mut t = self.lock();
            let first = self.first;
            t.bound.retain(|_, b| b.slot != first.slot);
            t.bound.insert(raw::gettid(), first);
        }
        self.pin(self.first.tid)?;
        let cpu = raw::current_cpu();
        raw::pin_to_cpu(self.mem_tid, cpu).map_err(sys_err("pin memory thread", self.pid))?;
        let mut mem = self.mem.lock().unwrap_or_else(|p| p.into_inner());
        mem.cpu = cpu;
        Ok(())
    }

    /// The host pid of the stub process (for diagnostics).
    pub fn stub_pid(&self) -> i32 {
        self.pid
    }

    fn lock(&self) -> MutexGuard<'_, Threads> {
        match self.threads.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn mine(&self) -> Result<Bound, PlatformError> {
        let tid = raw::gettid();
        self.lock()
            .bound
            .get(&tid)
            .copied()
            .ok_or(PlatformError::WrongThread { tid })
    }

    /// Pins the calling thread and stub thread `tid` to the current CPU.
    fn pin(&self, tid: i32) -> Result<(), PlatformError> {
        let cpu = raw::current_cpu();
        raw::pin_to_cpu(0, cpu).map_err(sys_err("pin sentry thread", self.pid))?;
        raw::pin_to_cpu(tid, cpu).map_err(sys_err("pin stub thread", self.pid))
    }

    /// The stub process's wait status if it has exited (left for its
    /// reaper: WNOWAIT).
    fn stub_gone(&self) -> Option<i32> {
        // SAFETY: siginfo_t is plain data; zeroed is valid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable siginfo_t; the pidfd is ours.
        let r = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                self.pidfd.as_ref().map_or(-1, |p| p.as_raw_fd()) as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        // SAFETY: si_pid/si_status are valid for a WEXITED report.
        let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
        if r == 0 && pid != 0 {
            Some(status)
        } else {
            None
        }
    }

    /// Waits until the stub thread `tid` of `slot` has stopped.
    fn wait_stopped(&self, slot: &Slot, tid: i32) -> Result<(), PlatformError> {
        self.wait_word(slot, STATE, SENTRY_SLEEPING, STOPPED, tid)
    }

    /// Waits until `slot`'s word at `off` holds `want`, flagging
    /// `sleeping_off` while asleep so that the stub wakes us. Between naps
    /// it checks that the stub process and its thread `tid` still live:
    /// app code can end its own stub thread, which must not wedge us.
    fn wait_word(
        &self,
        slot: &Slot,
        off: usize,
        sleeping_off: usize,
        want: u32,
        tid: i32,
    ) -> Result<(), PlatformError> {
        let word = slot.word(off);
        let mut budget = SENTRY_SPIN;
        while budget > 0 {
            if word.load(Ordering::Acquire) == want {
                return Ok(());
            }
            std::hint::spin_loop();
            budget -= 1;
        }
        let sleeping = slot.word(sleeping_off);
        loop {
            sleeping.swap(1, Ordering::SeqCst);
            let s = word.load(Ordering::SeqCst);
            if s == want {
                sleeping.store(0, Ordering::Relaxed);
                return Ok(());
            }
            if futex_wait(word, s, LIVENESS_POLL_NS) {
                continue;
            }
            if let Some(status) = self.stub_gone() {
                sleeping.store(0, Ordering::Relaxed);
                return Err(PlatformError::StubDied {
                    pid: self.pid,
                    status,
                });
            }
            if !raw::thread_alive(self.pid, tid) {
                sleeping.store(0, Ordering::Relaxed);
                return Err(PlatformError::Systrap {
                    op: "wait",
                    pid: self.pid,
                    err: io::Error::other(format!("stub thread {tid} is gone")),
                });
            }
        }
    }

    /// Waits for a new stub thread's first stop (its int3 in `thread_init`).
    fn first_stop(&self, k: usize, tid: i32) -> Result<(), PlatformError> {
        let slot = self.ctx.slot(k);
        self.wait_stopped(&slot, tid)?;
        let ip = slot.gregs_in(REG_RIP);
        if ip != stub::ENTRY_ADDR + stub::FIRST_TRAP_OFFSET + 1 {
            return Err(PlatformError::Systrap {
                op: "first stop",
                pid: self.pid,
                err: io::Error::other(format!("stopped at {ip:#x}, outside the stub")),
            });
        }
        Ok(())
    }

    /// Runs `ops` (nr, args) in the memory thread, in batches of at most
    /// what the request region holds; their results.
    fn run_ops(&self, ops: &[(i64, [u64; 6])]) -> Result<Vec<i64>, PlatformError> {
        let mut mem = match self.mem.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        // The memory thread runs where its caller runs: a wake-up across
        // CPUs costs ten times one on the same CPU.
        let cpu = raw::current_cpu();
        if cpu != mem.cpu {
            raw::pin_to_cpu(self.mem_tid, cpu).map_err(sys_err("pin memory thread", self.pid))?;
            mem.cpu = cpu;
        }
        let req = self.ctx.requests();
        let mslot = self.ctx.slot(stub::MEM_SLOT);
        let mut results = Vec::with_capacity(ops.len());
        for batch in ops.chunks(stub::MAX_OPS) {
            for (i, (nr, args)) in batch.iter().enumerate() {
                let o = stub::CMD_OPS + i * stub::OP_SIZE;
                req.set(o, *nr as u64);
                for (j, a) in args.iter().enumerate() {
                    req.set(o + 8 + j * 8, *a);
                }
                mslot.set(stub::MEM_RESULTS + i * 8, (-libc::ENOSYS) as u64);
            }
            req.set(stub::CMD_NOPS, batch.len() as u64);
            mem.seq = mem.seq.wrapping_add(1);
            req.word(stub::CMD_SEQ).store(mem.seq, Ordering::SeqCst);
            if mslot.word(stub::MEM_SLEEPING).load(Ordering::SeqCst) != 0 {
                futex_wake(req.word(stub::CMD_SEQ));
            }
            self.wait_word(
                &mslot,
                stub::MEM_DONE,
                stub::MEM_SENTRY_SLEEPING,
                mem.seq,
                self.mem_tid,
            )?;
            results.extend((0..batch.len()).map(|i| mslot.get(stub::MEM_RESULTS + i * 8) as i64));
        }
        Ok(results)
    }

    /// One op in the memory thread; an error for -errno.
    fn op(&self, name: &'static str, nr: i64, args: [u64; 6]) -> Result<i64, PlatformError> {
        let r = self.run_ops(&[(nr, args)])?[0];
        if (-4095..0).contains(&r) {
            return Err(PlatformError::Injected {
                syscall: name,
                pid: self.mem_tid,
                errno: (-r) as i32,
            });
        }
        Ok(r)
    }

    /// Where the FP state of the frame the stub thread of `slot` stopped
    /// in lies (offset in the slot) and its length, checked against the slot.
    fn fp_area(&self, slot: &Slot) -> Result<(usize, usize, u64), PlatformError> {
        let bad = |what: &str| PlatformError::Systrap {
            op: "fp state",
            pid: self.pid,
            err: io::Error::other(what.to_string()),
        };
        let fp = slot.gregs_in(REG_FPSTATE);
        let lo = slot.stub_addr() + stub::ALTSTACK_OFFSET;
        let hi = slot.stub_addr() + stub::SLOT_SIZE;
        if fp < lo || !fp.is_multiple_of(64) || fp + FXSAVE_LEN as u64 + 64 > hi {
            return Err(bad("no fp state in the stub's frame"));
        }
        let off = (fp - slot.stub_addr()) as usize;
        let sw = |i: usize| slot.get_byte(off + FPX_SW_BYTES + i);
        let u32_at = |i: usize| u32::from_le_bytes([sw(i), sw(i + 1), sw(i + 2), sw(i + 3)]);
        if u32_at(0) != FP_XSTATE_MAGIC1 {
            return Ok((off, FXSAVE_LEN, 0));
        }
        let xfeatures = u32_at(8) as u64 | (u32_at(12) as u64) << 32;
        let size = u32_at(16) as usize;
        if size < FXSAVE_LEN + 64 || fp + size as u64 > hi {
            return Err(bad("bad xstate size in the stub's frame"));
        }
        Ok((off, size, xfeatures))
    }
}

impl Drop for SystrapAddressSpace {
    fn drop(&mut self) {
        if let Some(next) = self.detach() {
            if let Some(pool) = self.pool.upgrade() {
                if let Some(next) = pool.recycle(next) {
                    next.end();
                }
            }
            return;
        }
        if self.pidfd.is_none() {
            return;
        }
        raw::kill_hard(self.pid);
        if !raw::try_reap(self.pid) {
            self.factory.reap(self.pid);
        }
    }
}

impl AddressSpace for SystrapAddressSpace {
    fn map(&self, addr: u64, len: u64, prot: Prot, offset: u64) -> Result<(), PlatformError> {
        self.apply(&[MemOp::Map {
            addr,
            len,
            prot,
            offset,
        }])
    }

    fn unmap(&self, addr: u64, len: u64) -> Result<(), PlatformError> {
        self.apply(&[MemOp::Unmap { addr, len }])
    }

    fn protect(&self, addr: u64, len: u64, prot: Prot) -> Result<(), PlatformError> {
        self.apply(&[MemOp::Protect { addr, len, prot }])
    }

    /// Every op is one syscall of the memory thread, all in one request.
    fn apply(&self, ops: &[MemOp]) -> Result<(), PlatformError> {
        let calls: Vec<(i64, [u64; 6])> = ops
            .iter()
            .map(|op| match *op {
                MemOp::Map {
                    addr,
                    len,
                    prot,
                    offset,
                } => (
                    libc::SYS_mmap,
                    crate::stubproc::memfile_mmap_args(addr, len, prot, offset),
                ),
                MemOp::Unmap { addr, len } => (libc::SYS_munmap, [addr, len, 0, 0, 0, 0]),
                MemOp::Protect { addr, len, prot } => {
                    (libc::SYS_mprotect, [addr, len, prot.bits() as u64, 0, 0, 0])
                }
            })
            .collect();
        let results = self.run_ops(&calls)?;
        for ((nr, _), r) in calls.iter().zip(results) {
            if (-4095..0).contains(&r) {
                return Err(PlatformError::Injected {
                    syscall: match *nr {
                        libc::SYS_mmap => "mmap",
                        libc::SYS_munmap => "munmap",
                        _ => "mprotect",
                    },
                    pid: self.mem_tid,
                    errno: (-r) as i32,
                });
            }
        }
        Ok(())
    }

    fn new_thread(&self) -> Result<ThreadTicket, PlatformError> {
        let Some(k) = self.lock().alloc() else {
            return Err(PlatformError::Injected {
                syscall: "clone",
                pid: self.pid,
                errno: libc::EAGAIN,
            });
        };
        let child = self.ctx.slot(k);
        child.prepare();
        let sp = child.stub_addr() + stub::TOKEN_SP_OFFSET;
        let r = self.op(
            "clone",
            libc::SYS_clone,
            [bpf::THREAD_CLONE_FLAGS, sp, 0, 0, 0, 0],
        );
        let mut t = self.lock();
        match r {
            Ok(tid) => {
                t.pending.insert(tid as i32, k);
                Ok(ThreadTicket(tid as i32))
            }
            Err(e) => {
                t.used[k] = false;
                Err(e)
            }
        }
    }

    fn bind_thread(&self, ticket: ThreadTicket) -> Result<(), PlatformError> {
        let tid = raw::gettid();
        let Some(k) = self.lock().pending.remove(&ticket.0) else {
            return Err(PlatformError::WrongThread { tid });
        };
        if let Err(e) = self
            .first_stop(k, ticket.0)
            .and_then(|_| self.pin(ticket.0))
        {
            self.lock().used[k] = false;
            raw::tgkill(self.pid, ticket.0, libc::SIGKILL);
            return Err(e);
        }
        self.lock().bound.insert(
            tid,
            Bound {
                slot: k,
                tid: ticket.0,
            },
        );
        Ok(())
    }

    fn release_thread(&self) {
        let tid = raw::gettid();
        let Some(b) = self.lock().bound.remove(&tid) else {
            return;
        };
        let slot = self.ctx.slot(b.slot);
        slot.hand_over(CMD_EXIT);
        // The acknowledgement: past it the stub thread no longer touches its
        // slot, which may then be reused.
        if self.wait_stopped(&slot, b.tid).is_ok() {
            self.lock().used[b.slot] = false;
        }
    }

    fn interrupter(&self) -> Option<Interrupter> {
        let b = self.mine().ok()?;
        Some(Interrupter {
            pid: self.pid,
            tid: b.tid,
            signal: INTERRUPT_SIGNAL,
        })
    }

    fn fp_state(&self) -> Result<Vec<u8>, PlatformError> {
        let slot = self.ctx.slot(self.mine()?.slot);
        let (off, len, _) = self.fp_area(&slot)?;
        Ok((0..len).map(|i| slot.get_byte(off + i)).collect())
    }

    fn set_fp_state(&self, state: &[u8]) -> Result<(), PlatformError> {
        let slot = self.ctx.slot(self.mine()?.slot);
        let (off, len, xfeatures) = self.fp_area(&slot)?;
        let n = state.len().min(len);
        if n >= FXSAVE_LEN + 16 {
            let bv = u64::from_le_bytes(
                state[FXSAVE_LEN..FXSAVE_LEN + 8]
                    .try_into()
                    .unwrap_or([0; 8]),
            );
            let comp = u64::from_le_bytes(
                state[FXSAVE_LEN + 8..FXSAVE_LEN + 16]
                    .try_into()
                    .unwrap_or([0; 8]),
            );
            if bv & !xfeatures != 0 || comp != 0 {
                return Err(PlatformError::Systrap {
                    op: "set fp state",
                    pid: self.pid,
                    err: io::Error::from_raw_os_error(libc::EINVAL),
                });
            }
        }
        // The kernel's sw_reserved bytes (magic, sizes, features) stay: they
        // tell rt_sigreturn how to restore the frame.
        for (i, &b) in state[..n].iter().enumerate() {
            if !(FPX_SW_BYTES..FXSAVE_LEN).contains(&i) {
                slot.set_byte(off + i, b);
            }
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The app's registers into the slot's saved ucontext (r8..eflags) and bases.
fn put_regs(slot: &Slot, regs: &Regs) {
    let r = &regs.0;
    let g = [
        r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx, r.rdx,
        r.rax, r.rcx, r.rsp, r.rip, r.eflags,
    ];
    for (i, v) in g.iter().enumerate().take(NGREGS_BACK) {
        slot.set_greg(i, *v);
    }
    slot.set(FS_BASE, r.fs_base);
    slot.set(GS_BASE, r.gs_base);
}

/// The stop the stub reported, and the app's registers at it.
fn take_stop(slot: &Slot, regs: &mut Regs) -> Stop {
    let g = |i| slot.gregs_in(i);
    let r = &mut regs.0;
    r.r8 = g(0);
    r.r9 = g(1);
    r.r10 = g(2);
    r.r11 = g(3);
    r.r12 = g(4);
    r.r13 = g(5);
    r.r14 = g(6);
    r.r15 = g(7);
    r.rdi = g(8);
    r.rsi = g(9);
    r.rbp = g(10);
    r.rbx = g(11);
    r.rdx = g(12);
    r.rax = g(REG_RAX);
    r.rcx = g(14);
    r.rsp = g(15);
    r.rip = g(REG_RIP);
    r.eflags = g(17);
    let csgsfs = g(REG_CSGSFS);
    r.cs = csgsfs & 0xffff;
    r.ss = csgsfs >> 48;
    r.ds = 0;
    r.es = 0;
    r.fs = 0;
    r.gs = 0;
    r.fs_base = slot.get(FS_BASE);
    r.gs_base = slot.get(GS_BASE);
    r.orig_rax = u64::MAX;

    let head = slot.get(SIGINFO);
    let signo = head as u32 as i32;
    let code = slot.get(SIGINFO + 8) as u32 as i32;
    let addr = slot.get(SIGINFO + 16);
    match signo {
        // siginfo's si_arch (SIGSYS): an i386 call trapped by the filter.
        libc::SIGSYS
            if code == SYS_SECCOMP
                && slot.get(SIGINFO + 24) >> 32 != u64::from(bpf::AUDIT_ARCH_X86_64) =>
        {
            r.orig_rax = r.rax;
            Stop::ForeignSyscall
        }
        libc::SIGSYS if code == SYS_SECCOMP => {
            // The kernel rolled rax back to the syscall number; report it
            // as PTRACE_SYSEMU does.
            r.orig_rax = r.rax;
            r.rax = (-libc::ENOSYS) as u64;
            Stop::Syscall
        }
        INTERRUPT_SIGNAL => Stop::Interrupt,
        libc::SIGSEGV | libc::SIGBUS if code > 0 => Stop::Fault { signo, code, addr },
        _ => Stop::Signal { signo, code, addr },
    }
}

/// A user address the CPU accepts as an FS/GS base (canonical, lower half).
fn canonical(v: u64) -> bool {
    v < (1 << 47)
}

/// The calling host thread's context.
pub struct SystrapContext {
    tid: i32,
    /// The binding last used: (address space id, its stub thread).
    bound: Option<(u64, Bound)>,
    spinner: spin::Spinner,
}

impl Context for SystrapContext {
    fn switch(&mut self, space: &dyn AddressSpace, regs: &mut Regs) -> Result<Stop, PlatformError> {
        let Some(space) = space.as_any().downcast_ref::<SystrapAddressSpace>() else {
            return Err(PlatformError::WrongThread { tid: self.tid });
        };
        if !canonical(regs.0.fs_base) || !canonical(regs.0.gs_base) {
            return Err(PlatformError::Systrap {
                op: "switch",
                pid: space.pid,
                err: io::Error::from_raw_os_error(libc::EINVAL),
            });
        }
        let b = match self.bound {
            Some((id, b)) if id == space.id => b,
            _ => {
                let b = space.mine()?;
                self.bound = Some((space.id, b));
                self.spinner.rebind();
                b
            }
        };
        let slot = space.ctx.slot(b.slot);
        self.spinner.before_resume(&slot);
        put_regs(&slot, regs);
        slot.hand_over(CMD_RESUME);
        if !(self.spinner.spinning() && self.spinner.spin_wait(&slot, slot.word(STATE), STOPPED)) {
            space.wait_stopped(&slot, b.tid)?;
        }
        self.spinner.after_stop(&slot);
        Ok(take_stop(&slot, regs))
    }
}
