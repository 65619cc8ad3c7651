//! Starting stub processes. One long-lived factory thread starts them all
//! with a vfork-style clone (CLONE_VM | CLONE_VFORK | CLONE_UNTRACED) whose
//! child executes the stub image at once, so a stub never carries the
//! sentry's memory and dies with the factory (PR_SET_PDEATHSIG), that is
//! with the sentry. CLONE_UNTRACED keeps an outside tracer (strace -f) off
//! the stubs. The factory also reaps stubs whose address space is gone.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::Duration;

use super::raw;
use super::stub::MEMFILE_FD;

/// What the child needs, prepared by the parent so the child never allocates.
struct ChildArgs {
    image_fd: i32,
    memfile_fd: i32,
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
        // Its own session: terminal signals meant for ward never reach a stub.
        libc::setsid();
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
        libc::syscall(
            libc::SYS_execveat,
            a.image_fd,
            EMPTY.as_ptr(),
            a.argv.as_ptr(),
            a.envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
        libc::_exit(127)
    }
}

/// Starts one stub from the calling thread; it waits in pause() to be
/// seized. Its parent-death signal is tied to the calling thread until the
/// tracer clears it after attaching (then PTRACE_O_EXITKILL takes over).
pub fn spawn_stub(image: &OwnedFd, memfile: &OwnedFd) -> io::Result<i32> {
    let args = ChildArgs {
        image_fd: image.as_raw_fd(),
        memfile_fd: memfile.as_raw_fd(),
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
            libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_UNTRACED | libc::SIGCHLD,
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
    Reap(i32),
}

/// Starts stubs and reaps the dead ones.
pub struct Factory {
    tx: Mutex<Sender<Request>>,
    image: OwnedFd,
    memfile: OwnedFd,
}

impl Factory {
    pub fn start(image: OwnedFd, memfile: OwnedFd) -> io::Result<Factory> {
        let (tx, rx) = channel::<Request>();
        std::thread::Builder::new()
            .name("stub-reaper".into())
            .spawn(move || {
                let mut zombies: Vec<i32> = Vec::new();
                loop {
                    let req = if zombies.is_empty() {
                        rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
                    } else {
                        rx.recv_timeout(Duration::from_millis(50))
                    };
                    match req {
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

    /// A new stub process, waiting to be seized by the calling thread.
    /// Started here rather than on another thread: a vfork from the caller
    /// stays on its CPU, where a hand-off to a sleeping thread costs
    /// milliseconds on a busy machine.
    pub fn spawn(&self) -> io::Result<i32> {
        spawn_stub(&self.image, &self.memfile)
    }

    /// Hands a killed stub to the factory (its parent) to reap.
    pub fn reap(&self, pid: i32) {
        let _ = self.send(Request::Reap(pid));
    }
}
