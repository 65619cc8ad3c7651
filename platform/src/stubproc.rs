//! Starting and reaping stub processes, for every platform. A stub is
//! started with a vfork-style clone (CLONE_VM | CLONE_VFORK |
//! CLONE_UNTRACED) whose child executes the stub image at once, so it never
//! carries the sentry's memory; it keeps only the memory file at fd 3 (and,
//! for systrap, its context file at fd 4), sits in its own session so
//! terminal signals never reach it, and dies with the thread that started
//! it (PR_SET_PDEATHSIG) unless its platform clears that later.
//! CLONE_UNTRACED keeps an outside tracer (strace -f) off the stubs. A
//! reaper thread collects stubs whose address space is gone.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::Duration;

use crate::ptrace::raw;

/// The fd number the memory file has inside every stub.
pub const MEMFILE_FD: i32 = 3;

/// The flags of the vfork-style clone that starts a stub (the sentry's
/// seccomp allowlist admits clone with these).
pub const SPAWN_CLONE_FLAGS: u64 =
    (libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_UNTRACED | libc::SIGCHLD) as u64;

/// What the child needs, prepared by the parent so the child never allocates.
struct ChildArgs {
    image_fd: i32,
    memfile_fd: i32,
    /// An extra fd and the number it must have in the stub (-1: none).
    extra_fd: i32,
    extra_at: i32,
    argv: [*const libc::c_char; 2],
    envp: [*const libc::c_char; 1],
}

const STUB_NAME: &CStr = c"ward-stub";
const EMPTY: &CStr = c"";

extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` points to the parent's ChildArgs, alive until this child
    // execs or exits (CLONE_VFORK suspends the parent until then).
    let a = unsafe { &*(arg as *const ChildArgs) };
    // Only raw syscalls from here: the child shares the sentry's memory.
    // SAFETY: each call below takes integers or pointers into `a`, valid here.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        libc::setsid();
        // Move the image and the extra fd out of the way of the fixed
        // numbers first (these copies close at the exec).
        let image = libc::fcntl(a.image_fd, libc::F_DUPFD_CLOEXEC, 10);
        let extra = if a.extra_fd >= 0 {
            libc::fcntl(a.extra_fd, libc::F_DUPFD_CLOEXEC, 10)
        } else {
            -1
        };
        libc::syscall(
            libc::SYS_close_range,
            0u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
        if a.memfile_fd == MEMFILE_FD {
            libc::fcntl(MEMFILE_FD, libc::F_SETFD, 0);
        } else {
            libc::dup2(a.memfile_fd, MEMFILE_FD);
        }
        if image < 0 || (a.extra_fd >= 0 && (extra < 0 || libc::dup2(extra, a.extra_at) < 0)) {
            libc::_exit(126);
        }
        libc::syscall(
            libc::SYS_execveat,
            image,
            EMPTY.as_ptr(),
            a.argv.as_ptr(),
            a.envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
        libc::_exit(127)
    }
}

/// Starts one stub from the calling thread; `extra` is an fd to hand over
/// and the number it gets in the stub. Returns the stub's pid.
pub fn spawn_stub(
    image: &OwnedFd,
    memfile: &OwnedFd,
    extra: Option<(RawFd, i32)>,
) -> io::Result<i32> {
    let (extra_fd, extra_at) = extra.unwrap_or((-1, -1));
    let args = ChildArgs {
        image_fd: image.as_raw_fd(),
        memfile_fd: memfile.as_raw_fd(),
        extra_fd,
        extra_at,
        argv: [STUB_NAME.as_ptr(), std::ptr::null()],
        envp: [std::ptr::null()],
    };
    const STACK: usize = 16 * 1024;
    let mut stack = vec![0u8; STACK];
    // SAFETY: the stack top stays inside `stack`, which outlives the child's
    // use of it (CLONE_VFORK: we resume only after the child execs or exits);
    // `args` likewise outlives the child's reads.
    let pid = unsafe {
        let top = stack.as_mut_ptr().add(STACK - 64);
        libc::clone(
            child_main,
            top as *mut libc::c_void,
            SPAWN_CLONE_FLAGS as libc::c_int,
            &args as *const ChildArgs as *mut libc::c_void,
        )
    };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    drop(stack);
    Ok(pid)
}

enum Request {
    /// Start a stub on the factory thread (extra fd kept open by the sender
    /// until the reply).
    Spawn(Option<(RawFd, i32)>, Sender<io::Result<i32>>),
    Reap(i32),
}

/// A long-lived thread that starts stubs which must outlive the thread
/// asking for them, and reaps stubs whose address space is gone; plus the
/// stub image and memory file every stub gets.
pub struct Factory {
    tx: Mutex<Sender<Request>>,
    image: OwnedFd,
    memfile: OwnedFd,
}

impl Factory {
    /// Writes `image` into a memfd named `name` and starts a factory for
    /// stubs of it over the sandbox's memory file.
    pub fn for_image(
        name: &std::ffi::CStr,
        image: &[u8],
        memfile: std::os::fd::BorrowedFd<'_>,
    ) -> Result<Factory, crate::PlatformError> {
        use std::io::Write;
        let fd = raw::memfd_create(name).map_err(crate::PlatformError::StubImage)?;
        let mut f = std::fs::File::from(fd);
        f.write_all(image)
            .map_err(crate::PlatformError::StubImage)?;
        let memfile = memfile
            .try_clone_to_owned()
            .map_err(crate::PlatformError::StubImage)?;
        let thread = name.to_string_lossy().into_owned();
        Factory::start(&thread, OwnedFd::from(f), memfile).map_err(crate::PlatformError::SpawnStub)
    }

    pub fn start(name: &str, image: OwnedFd, memfile: OwnedFd) -> io::Result<Factory> {
        let (tx, rx) = channel::<Request>();
        let (img, mem) = (image.try_clone()?, memfile.try_clone()?);
        // It needs no capability (stubs drop theirs at exec anyway).
        crate::thread_caps::spawn(std::thread::Builder::new().name(name.into()), move || {
            let mut zombies: Vec<i32> = Vec::new();
            loop {
                let req = if zombies.is_empty() {
                    rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
                } else {
                    rx.recv_timeout(Duration::from_millis(50))
                };
                match req {
                    Ok(Request::Spawn(extra, reply)) => {
                        let _ = reply.send(spawn_stub(&img, &mem, extra));
                    }
                    Ok(Request::Reap(pid)) => zombies.push(pid),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                zombies.retain(|&pid| !raw::try_reap(pid));
            }
        })?;
        Ok(Factory {
            tx: Mutex::new(tx),
            image,
            memfile,
        })
    }

    fn send(&self, r: Request) -> io::Result<()> {
        let tx = match self.tx.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        tx.send(r)
            .map_err(|_| io::Error::other("the stub factory thread is gone"))
    }

    /// A new stub started by the calling thread (fast: no hand-off; it
    /// dies with this thread until its platform says otherwise).
    pub fn spawn_here(&self, extra: Option<(RawFd, i32)>) -> io::Result<i32> {
        spawn_stub(&self.image, &self.memfile, extra)
    }

    /// A new stub started by the factory thread, which lives as long as
    /// the sentry (for stubs no tracer's death would end).
    pub fn spawn_on_factory(&self, extra: Option<(RawFd, i32)>) -> io::Result<i32> {
        let (tx, rx) = channel();
        self.send(Request::Spawn(extra, tx))?;
        rx.recv()
            .map_err(|_| io::Error::other("the stub factory thread is gone"))?
    }

    /// Hands a killed stub to the factory (its parent) to reap.
    pub fn reap(&self, pid: i32) {
        let _ = self.send(Request::Reap(pid));
    }
}

/// The ELF header and the one PT_LOAD (read+execute, the whole file at
/// STUB_BASE) of a stub image of `total` bytes entered at `entry`: the
/// first 120 bytes of every stub image.
pub fn elf_header(entry: u64, total: usize) -> Vec<u8> {
    fn put(v: &mut Vec<u8>, bytes: &[u8]) {
        v.extend_from_slice(bytes);
    }
    let mut v = Vec::with_capacity(total);
    put(&mut v, &[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    put(&mut v, &[0; 8]);
    put(&mut v, &2u16.to_le_bytes()); // ET_EXEC
    put(&mut v, &0x3eu16.to_le_bytes()); // EM_X86_64
    put(&mut v, &1u32.to_le_bytes()); // EV_CURRENT
    put(&mut v, &entry.to_le_bytes());
    put(&mut v, &64u64.to_le_bytes()); // e_phoff
    put(&mut v, &0u64.to_le_bytes()); // e_shoff
    put(&mut v, &0u32.to_le_bytes()); // e_flags
    put(&mut v, &64u16.to_le_bytes()); // e_ehsize
    put(&mut v, &56u16.to_le_bytes()); // e_phentsize
    put(&mut v, &1u16.to_le_bytes()); // e_phnum
    put(&mut v, &64u16.to_le_bytes()); // e_shentsize
    put(&mut v, &0u16.to_le_bytes()); // e_shnum
    put(&mut v, &0u16.to_le_bytes()); // e_shstrndx
    put(&mut v, &1u32.to_le_bytes()); // PT_LOAD
    put(&mut v, &5u32.to_le_bytes()); // PF_R | PF_X
    put(&mut v, &0u64.to_le_bytes()); // p_offset
    put(&mut v, &crate::STUB_BASE.to_le_bytes()); // p_vaddr
    put(&mut v, &crate::STUB_BASE.to_le_bytes()); // p_paddr
    put(&mut v, &(total as u64).to_le_bytes()); // p_filesz
    put(&mut v, &(total as u64).to_le_bytes()); // p_memsz
    put(&mut v, &0x1000u64.to_le_bytes()); // p_align
    v
}

/// The arguments of the mmap a stub makes to map `[addr, addr+len)` to
/// `[offset, …)` of the memory file, shared and fixed.
pub fn memfile_mmap_args(addr: u64, len: u64, prot: crate::Prot, offset: u64) -> [u64; 6] {
    let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
    [
        addr,
        len,
        prot.bits() as u64,
        flags,
        MEMFILE_FD as u64,
        offset,
    ]
}
