//! Starting systrap stub processes: as the ptrace platform does (one
//! factory thread, a vfork-style clone that execs the stub image at once,
//! PR_SET_PDEATHSIG, its own session), but each stub also gets its address
//! space's context file as fd 4 next to the memory file at fd 3.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::Duration;

use super::stub::{CTXFILE_FD, MEMFILE_FD};
use crate::ptrace::raw;

/// What the child needs, prepared by the parent so the child never allocates.
struct ChildArgs {
    image_fd: i32,
    memfile_fd: i32,
    ctx_fd: i32,
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
        // The image and the context file out of the way of fds 3 and 4
        // first (these copies close at the exec).
        let image = libc::fcntl(a.image_fd, libc::F_DUPFD_CLOEXEC, 10);
        let ctx = libc::fcntl(a.ctx_fd, libc::F_DUPFD_CLOEXEC, 10);
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
        if image < 0 || ctx < 0 || libc::dup2(ctx, CTXFILE_FD) < 0 {
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

/// Starts one stub (on the factory thread).
fn spawn_stub(image: &OwnedFd, memfile: &OwnedFd, ctx_fd: RawFd) -> io::Result<i32> {
    let args = ChildArgs {
        image_fd: image.as_raw_fd(),
        memfile_fd: memfile.as_raw_fd(),
        ctx_fd,
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
    /// Start a stub with this context file (the sender keeps it open until
    /// the reply).
    Spawn(RawFd, Sender<io::Result<i32>>),
    Reap(i32),
}

/// The factory thread's mailbox.
pub struct Factory {
    tx: Mutex<Sender<Request>>,
}

impl Factory {
    pub fn start(image: OwnedFd, memfile: OwnedFd) -> io::Result<Factory> {
        let (tx, rx) = channel::<Request>();
        std::thread::Builder::new()
            .name("systrap-factory".into())
            .spawn(move || {
                let mut zombies: Vec<i32> = Vec::new();
                loop {
                    let req = if zombies.is_empty() {
                        rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
                    } else {
                        rx.recv_timeout(Duration::from_millis(50))
                    };
                    match req {
                        Ok(Request::Spawn(ctx, reply)) => {
                            let _ = reply.send(spawn_stub(&image, &memfile, ctx));
                        }
                        Ok(Request::Reap(pid)) => zombies.push(pid),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                    zombies.retain(|&pid| !raw::try_reap(pid));
                }
            })?;
        Ok(Factory { tx: Mutex::new(tx) })
    }

    fn send(&self, r: Request) -> io::Result<()> {
        let tx = match self.tx.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        tx.send(r)
            .map_err(|_| io::Error::other("the stub factory thread is gone"))
    }

    /// A new stub process with `ctx` as its context file.
    pub fn spawn(&self, ctx: &OwnedFd) -> io::Result<i32> {
        let (tx, rx) = channel();
        self.send(Request::Spawn(ctx.as_raw_fd(), tx))?;
        rx.recv()
            .map_err(|_| io::Error::other("the stub factory thread is gone"))?
    }

    /// Hands a killed stub to the factory (its parent) to reap.
    pub fn reap(&self, pid: i32) {
        let _ = self.send(Request::Reap(pid));
    }
}
