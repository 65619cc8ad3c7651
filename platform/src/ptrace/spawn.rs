//! Starting a stub process: a vfork-style clone (CLONE_VM | CLONE_VFORK |
//! CLONE_UNTRACED) whose child asks to be traced by the calling thread and
//! executes the stub image at once, so a stub never carries the sentry's
//! memory. CLONE_UNTRACED keeps an outside tracer (strace -f) off the stubs.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

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
        libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
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

/// Starts a stub traced by the calling thread; returns its pid. The stub is
/// stopped at its post-exec SIGTRAP when this returns (not yet waited for).
pub fn spawn_stub(image: BorrowedFd<'_>, memfile: BorrowedFd<'_>) -> io::Result<i32> {
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
