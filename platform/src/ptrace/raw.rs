//! The unsafe edge of the ptrace platform: one small safe wrapper per host
//! system call it makes. Nothing here knows about stubs or apps.

use std::io;

use crate::Regs;

fn check(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// PTRACE_GETREGS.
pub fn get_regs(pid: i32) -> io::Result<Regs> {
    let mut regs = Regs::default();
    // SAFETY: `regs.0` is a valid, writable user_regs_struct for the kernel to fill.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GETREGS,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            &mut regs.0 as *mut libc::user_regs_struct,
        )
    };
    check(r).map(|_| regs)
}

/// PTRACE_SETREGS.
pub fn set_regs(pid: i32, regs: &Regs) -> io::Result<()> {
    // SAFETY: `regs.0` is a valid user_regs_struct; the kernel only reads it.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_SETREGS,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            &regs.0 as *const libc::user_regs_struct,
        )
    };
    check(r).map(|_| ())
}

/// PTRACE_GETSIGINFO.
pub fn get_siginfo(pid: i32) -> io::Result<libc::siginfo_t> {
    // SAFETY: siginfo_t is plain data; zeroed is valid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid, writable siginfo_t.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GETSIGINFO,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            &mut info as *mut libc::siginfo_t,
        )
    };
    check(r).map(|_| info)
}

/// A resuming request (PTRACE_CONT, PTRACE_SYSEMU, …) delivering `sig`.
pub fn resume(request: libc::c_uint, pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: resuming requests take no pointers; `data` is a signal number.
    let r = unsafe {
        libc::ptrace(
            request,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            sig as libc::c_long as *mut libc::c_void,
        )
    };
    check(r).map(|_| ())
}

/// PTRACE_SETOPTIONS.
pub fn set_options(pid: i32, options: libc::c_int) -> io::Result<()> {
    // SAFETY: SETOPTIONS takes its options by value in `data`.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_SETOPTIONS,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            options as libc::c_long as *mut libc::c_void,
        )
    };
    check(r).map(|_| ())
}

/// waitpid(pid, &status, __WALL), retried on EINTR.
pub fn wait_all(pid: i32) -> io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid, writable int.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if r >= 0 {
            return Ok(status);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// kill(pid, SIGKILL); errors (already dead) are ignored.
pub fn kill_hard(pid: i32) {
    // SAFETY: kill takes plain integers.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// The host thread id of the caller.
/// The calling thread's host tid, asked of the kernel once per thread (the
/// platforms look their binding up by it on every switch).
pub fn gettid() -> i32 {
    thread_local! {
        static TID: i32 = {
            // SAFETY: gettid takes no arguments and cannot fail.
            unsafe { libc::gettid() }
        };
    }
    TID.with(|t| *t)
}

/// The CPU the caller is running on.
pub fn current_cpu() -> usize {
    // SAFETY: sched_getcpu takes no arguments.
    let c = unsafe { libc::sched_getcpu() };
    if c < 0 {
        0
    } else {
        c as usize
    }
}

/// Pins thread or process `tid` (0: the caller) to one CPU.
pub fn pin_to_cpu(tid: i32, cpu: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is a plain bit array; zeroed is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET only writes bit `cpu` of `set`, bounds-checked by libc.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed.
    let r = unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    check(r as libc::c_long).map(|_| ())
}

/// memfd_create(name, MFD_CLOEXEC).
pub fn memfd_create(name: &std::ffi::CStr) -> io::Result<std::os::fd::OwnedFd> {
    // SAFETY: `name` is a valid NUL-terminated string.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    check(fd as libc::c_long)?;
    // SAFETY: `fd` was just returned by memfd_create and is owned by nobody else.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
}

/// A ptrace request that takes no data (PTRACE_INTERRUPT, PTRACE_DETACH…).
pub fn request(req: libc::c_uint, pid: i32, data: libc::c_long) -> io::Result<()> {
    // SAFETY: these requests take no pointers; `data` is an integer.
    let r = unsafe {
        libc::ptrace(
            req,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            data as *mut libc::c_void,
        )
    };
    check(r).map(|_| ())
}

/// PTRACE_SEIZE with options.
pub fn seize(pid: i32, options: libc::c_int) -> io::Result<()> {
    request(libc::PTRACE_SEIZE, pid, options as libc::c_long)
}

const NT_X86_XSTATE: libc::c_long = 0x202;
/// Room for the XSAVE area of any x86-64 CPU this runs on.
pub const XSTATE_MAX: usize = 8192;

/// PTRACE_GETREGSET NT_X86_XSTATE: the thread's whole FP/vector state.
pub fn get_xstate(pid: i32) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; XSTATE_MAX];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `iov` describes `buf`, valid and writable for its length.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GETREGSET,
            pid,
            NT_X86_XSTATE as *mut libc::c_void,
            &mut iov as *mut libc::iovec,
        )
    };
    check(r)?;
    buf.truncate(iov.iov_len);
    Ok(buf)
}

/// PTRACE_SETREGSET NT_X86_XSTATE.
pub fn set_xstate(pid: i32, state: &[u8]) -> io::Result<()> {
    let mut iov = libc::iovec {
        iov_base: state.as_ptr() as *mut libc::c_void,
        iov_len: state.len(),
    };
    // SAFETY: `iov` describes `state`; the kernel only reads it for SETREGSET.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_SETREGSET,
            pid,
            NT_X86_XSTATE as *mut libc::c_void,
            &mut iov as *mut libc::iovec,
        )
    };
    check(r).map(|_| ())
}

/// tgkill(pid, tid, sig); errors (the thread is gone) are ignored.
pub fn tgkill(pid: i32, tid: i32, sig: i32) {
    // SAFETY: tgkill takes plain integers.
    unsafe {
        libc::syscall(libc::SYS_tgkill, pid, tid, sig);
    }
}

/// waitpid(pid, WNOHANG|__WALL): whether `pid` was reaped.
pub fn try_reap(pid: i32) -> bool {
    let mut status = 0;
    // SAFETY: `status` is a valid, writable int.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG | libc::__WALL) };
    r == pid || (r < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD))
}

/// Whether thread `tid` of process `pid` still exists (tgkill with signal 0).
pub fn thread_alive(pid: i32, tid: i32) -> bool {
    // SAFETY: tgkill with signal 0 only checks that the thread exists.
    let r = unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}
