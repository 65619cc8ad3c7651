//! The sentry's seccomp allowlist, as reviewable data: one entry per host
//! syscall the sentry (and the stubs it spawns, which inherit the filter)
//! may make, with why. Everything else traps: a SIGSYS handler writes the
//! syscall number to stderr and the sentry dies by SIGSYS, which `ward`
//! reports; the sandbox ends with it.
//!
//! Why TRAP and not KILL_PROCESS: systrap stubs inherit this filter, and
//! their own filter TRAPs every app syscall so the sentry can emulate it.
//! With stacked filters the strictest action wins, so a KILL here would kill
//! the stub on an app's `open` instead of letting systrap trap it. Under
//! ptrace app syscalls are SYSEMU-stopped before seccomp runs. Either way
//! the denied syscall never executes.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use super::ConfineError;

/// A condition on one argument of an allowed syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Args {
    /// Any arguments.
    Any,
    /// Argument `arg` must have every bit of `bits` set.
    FlagsSet { arg: u8, bits: u64 },
}

/// One allowed syscall.
#[derive(Clone, Copy, Debug)]
pub struct Allow {
    pub nr: i64,
    pub name: &'static str,
    pub args: Args,
    pub why: &'static str,
}

const fn any(nr: i64, name: &'static str, why: &'static str) -> Allow {
    Allow {
        nr,
        name,
        args: Args::Any,
        why,
    }
}

/// The sentry's allowlist. Not here, on purpose: open, openat, openat2,
/// creat, execve, mount, pivot_root, unshare, setns, socket, connect,
/// bind, process_vm_*, and every path-taking call but the AT_EMPTY_PATH ones.
pub const SENTRY_POLICY: &[Allow] = &[
    // Files the sentry holds (memory file, donated gofer fds, stdio).
    any(
        libc::SYS_read,
        "read",
        "donated host files, the memory file, stdio",
    ),
    any(
        libc::SYS_write,
        "write",
        "stdio, the log file, donated host files",
    ),
    any(libc::SYS_readv, "readv", "vectored reads of donated files"),
    any(
        libc::SYS_writev,
        "writev",
        "vectored writes: stdio, the log",
    ),
    any(
        libc::SYS_pread64,
        "pread64",
        "file reads at an offset (gofer files, memory file)",
    ),
    any(libc::SYS_pwrite64, "pwrite64", "file writes at an offset"),
    any(libc::SYS_preadv, "preadv", "vectored reads at an offset"),
    any(libc::SYS_pwritev, "pwritev", "vectored writes at an offset"),
    any(libc::SYS_lseek, "lseek", "seeking donated host files"),
    any(libc::SYS_close, "close", "dropping fds"),
    any(
        libc::SYS_fcntl,
        "fcntl",
        "fd flags (O_NONBLOCK, CLOEXEC, F_DUPFD)",
    ),
    any(
        libc::SYS_dup,
        "dup",
        "sharing a host fd between file descriptions",
    ),
    any(
        libc::SYS_dup2,
        "dup2",
        "stub spawn: memory file to its fixed fd",
    ),
    any(libc::SYS_dup3, "dup3", "fd moves"),
    any(
        libc::SYS_close_range,
        "close_range",
        "stub spawn: close-on-exec everything else",
    ),
    any(
        libc::SYS_ioctl,
        "ioctl",
        "termios and window size on host stdio ttys",
    ),
    any(libc::SYS_fstat, "fstat", "metadata of held fds"),
    Allow {
        nr: libc::SYS_newfstatat,
        name: "newfstatat",
        args: Args::FlagsSet {
            arg: 3,
            bits: libc::AT_EMPTY_PATH as u64,
        },
        why: "fstat of a held fd (glibc); never a path",
    },
    Allow {
        nr: libc::SYS_statx,
        name: "statx",
        args: Args::FlagsSet {
            arg: 2,
            bits: libc::AT_EMPTY_PATH as u64,
        },
        why: "std's File::metadata of a held fd; never a path",
    },
    any(libc::SYS_fstatfs, "fstatfs", "statfs of donated files"),
    any(libc::SYS_ftruncate, "ftruncate", "sizing the memory file"),
    any(
        libc::SYS_fallocate,
        "fallocate",
        "punching holes in the memory file",
    ),
    any(libc::SYS_fsync, "fsync", "fsync of a donated file"),
    any(
        libc::SYS_fdatasync,
        "fdatasync",
        "fdatasync of a donated file",
    ),
    any(
        libc::SYS_memfd_create,
        "memfd_create",
        "memory file and stub images",
    ),
    any(
        libc::SYS_poll,
        "poll",
        "waiting on stdio and the gofer socket",
    ),
    any(
        libc::SYS_ppoll,
        "ppoll",
        "waiting on stdio (std, glibc variants)",
    ),
    // The gofer connection.
    any(libc::SYS_sendmsg, "sendmsg", "gofer requests"),
    any(
        libc::SYS_recvmsg,
        "recvmsg",
        "gofer replies with donated fds (SCM_RIGHTS)",
    ),
    // Memory.
    any(
        libc::SYS_mmap,
        "mmap",
        "the memory file's mappings, the allocator; stubs map app memory",
    ),
    any(libc::SYS_munmap, "munmap", "unmapping, here and in stubs"),
    any(
        libc::SYS_mprotect,
        "mprotect",
        "thread guard pages; stubs protect app memory",
    ),
    any(libc::SYS_mremap, "mremap", "glibc realloc of large blocks"),
    any(
        libc::SYS_madvise,
        "madvise",
        "the allocator returning memory",
    ),
    any(
        libc::SYS_mincore,
        "mincore",
        "which memory-file pages are present",
    ),
    any(libc::SYS_brk, "brk", "the allocator"),
    // Threads, one per app task, and their plumbing.
    any(
        libc::SYS_clone,
        "clone",
        "stub spawn (CLONE_VM|CLONE_VFORK|CLONE_UNTRACED), stub threads",
    ),
    any(
        libc::SYS_clone3,
        "clone3",
        "std::thread::spawn (glibc pthread_create)",
    ),
    any(libc::SYS_exit, "exit", "thread exit; stub threads"),
    any(
        libc::SYS_exit_group,
        "exit_group",
        "the sentry's own exit; stubs' fatal path",
    ),
    any(
        libc::SYS_futex,
        "futex",
        "locks, condvars; systrap hand-off with stubs",
    ),
    any(
        libc::SYS_set_robust_list,
        "set_robust_list",
        "new threads (glibc)",
    ),
    any(
        libc::SYS_set_tid_address,
        "set_tid_address",
        "new threads (glibc)",
    ),
    any(libc::SYS_rseq, "rseq", "new threads (glibc)"),
    any(
        libc::SYS_arch_prctl,
        "arch_prctl",
        "thread TLS setup (glibc)",
    ),
    any(
        libc::SYS_sigaltstack,
        "sigaltstack",
        "std's per-thread signal stack; systrap stub threads",
    ),
    any(
        libc::SYS_sched_yield,
        "sched_yield",
        "spin-then-yield waits",
    ),
    any(
        libc::SYS_sched_getaffinity,
        "sched_getaffinity",
        "std::thread::available_parallelism; app's view",
    ),
    any(
        libc::SYS_sched_setaffinity,
        "sched_setaffinity",
        "pinning a task thread to the app's affinity",
    ),
    any(
        libc::SYS_prlimit64,
        "prlimit64",
        "thread stack sizing (glibc)",
    ),
    any(libc::SYS_gettid, "gettid", "thread ids for ptrace and logs"),
    any(libc::SYS_getpid, "getpid", "raise(); the SIGSYS handler"),
    any(
        libc::SYS_prctl,
        "prctl",
        "PR_SET_PDEATHSIG in stubs, thread names",
    ),
    any(
        libc::SYS_setsid,
        "setsid",
        "stub spawn: out of the caller's session",
    ),
    // Signals.
    any(
        libc::SYS_rt_sigaction,
        "rt_sigaction",
        "handlers; systrap stubs' SIGSYS handler",
    ),
    any(libc::SYS_rt_sigprocmask, "rt_sigprocmask", "masks; stubs"),
    any(
        libc::SYS_rt_sigreturn,
        "rt_sigreturn",
        "return from a handler; systrap stubs",
    ),
    any(
        libc::SYS_rt_sigtimedwait,
        "rt_sigtimedwait",
        "the signal thread forwarding to the sandbox",
    ),
    any(
        libc::SYS_restart_syscall,
        "restart_syscall",
        "interrupted sleeps",
    ),
    any(
        libc::SYS_kill,
        "kill",
        "signalling stubs and ward's children",
    ),
    any(
        libc::SYS_tgkill,
        "tgkill",
        "interrupting a task thread or a stub thread",
    ),
    any(
        libc::SYS_pause,
        "pause",
        "ptrace stubs wait in pause() to be seized",
    ),
    // Stubs: spawning, tracing, reaping.
    Allow {
        nr: libc::SYS_execveat,
        name: "execveat",
        args: Args::FlagsSet {
            arg: 4,
            bits: libc::AT_EMPTY_PATH as u64,
        },
        why: "stub spawn: exec of the stub image memfd, AT_EMPTY_PATH only",
    },
    any(
        libc::SYS_ptrace,
        "ptrace",
        "the ptrace platform; systrap attach",
    ),
    any(libc::SYS_wait4, "wait4", "ptrace stops and stub exits"),
    any(libc::SYS_waitid, "waitid", "stub exits (systrap)"),
    any(
        libc::SYS_pidfd_open,
        "pidfd_open",
        "systrap: watching a stub for death",
    ),
    any(
        libc::SYS_seccomp,
        "seccomp",
        "systrap stubs install their own (stricter) filter",
    ),
    // Time and randomness.
    any(
        libc::SYS_clock_gettime,
        "clock_gettime",
        "clocks when the vDSO is not used",
    ),
    any(
        libc::SYS_clock_getres,
        "clock_getres",
        "the app's clock_getres",
    ),
    any(libc::SYS_gettimeofday, "gettimeofday", "clocks"),
    any(
        libc::SYS_clock_nanosleep,
        "clock_nanosleep",
        "thread::sleep, app sleeps",
    ),
    any(libc::SYS_nanosleep, "nanosleep", "thread::sleep"),
    any(
        libc::SYS_getrandom,
        "getrandom",
        "hash seeds, the app's getrandom and /dev/urandom",
    ),
    any(
        libc::SYS_sysinfo,
        "sysinfo",
        "the app's sysinfo (memory and load)",
    ),
];

/// The syscalls denied by name in tests and docs: what invariant 2 is about.
pub const MUST_DENY: &[(i64, &str)] = &[
    (libc::SYS_open, "open"),
    (libc::SYS_openat, "openat"),
    (libc::SYS_openat2, "openat2"),
    (libc::SYS_creat, "creat"),
    (libc::SYS_execve, "execve"),
    (libc::SYS_mount, "mount"),
    (libc::SYS_pivot_root, "pivot_root"),
    (libc::SYS_unshare, "unshare"),
    (libc::SYS_setns, "setns"),
    (libc::SYS_socket, "socket"),
    (libc::SYS_connect, "connect"),
    (libc::SYS_process_vm_readv, "process_vm_readv"),
    (libc::SYS_process_vm_writev, "process_vm_writev"),
];

/// Compiles `policy` to BPF: listed syscalls allowed (with their argument
/// rules), everything else `mismatch`.
pub fn compile(policy: &[Allow], mismatch: SeccompAction) -> Result<BpfProgram, ConfineError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for a in policy {
        let r = match a.args {
            Args::Any => Vec::new(),
            Args::FlagsSet { arg, bits } => {
                let c = SeccompCondition::new(
                    arg,
                    SeccompCmpArgLen::Qword,
                    SeccompCmpOp::MaskedEq(bits),
                    bits,
                )
                .map_err(|e| ConfineError::Build(format!("{}: {e}", a.name)))?;
                vec![SeccompRule::new(vec![c])
                    .map_err(|e| ConfineError::Build(format!("{}: {e}", a.name)))?]
            }
        };
        if rules.insert(a.nr, r).is_some() {
            return Err(ConfineError::Build(format!("{} listed twice", a.name)));
        }
    }
    let filter = SeccompFilter::new(rules, mismatch, SeccompAction::Allow, TargetArch::x86_64)
        .map_err(|e| ConfineError::Build(e.to_string()))?;
    BpfProgram::try_from(filter).map_err(|e| ConfineError::Build(e.to_string()))
}

/// Writes "ward sentry: seccomp: host syscall N denied" to stderr and dies
/// by SIGSYS. Only async-signal-safe calls, all on the allowlist.
extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, _uctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers; for
    // a seccomp SIGSYS, _sigsys._syscall (an int) sits at byte offset 24.
    let nr = unsafe { *(info.cast::<u8>().add(24).cast::<i32>()) };
    let mut buf = [0u8; 128];
    let head = b"ward sentry: seccomp: host syscall ";
    let tail = b" is not on the sentry's allowlist; killing the sandbox\n";
    buf[..head.len()].copy_from_slice(head);
    let mut n = head.len();
    let mut digits = [0u8; 12];
    let mut d = 0;
    let mut v = nr.unsigned_abs();
    loop {
        digits[d] = b'0' + (v % 10) as u8;
        d += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    while d > 0 {
        d -= 1;
        buf[n] = digits[d];
        n += 1;
    }
    let t = tail.len().min(buf.len() - n);
    buf[n..n + t].copy_from_slice(&tail[..t]);
    n += t;
    // SAFETY: write, signal, sigprocmask and kill are async-signal-safe and
    // take a valid buffer of `n` bytes or plain integers.
    unsafe {
        libc::write(2, buf.as_ptr().cast(), n);
        libc::signal(libc::SIGSYS, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGSYS);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), libc::SIGSYS);
        libc::_exit(128 + libc::SIGSYS);
    }
}

/// Installs the SIGSYS reporter, then the sentry's filter on every thread.
pub fn install() -> Result<(), ConfineError> {
    let prog = compile(SENTRY_POLICY, SeccompAction::Trap)?;
    // SAFETY: a zeroed sigaction is valid; we set a handler with the
    // SA_SIGINFO signature and an empty mask before passing it to sigaction.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigsys as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(libc::SIGSYS, &sa, std::ptr::null_mut()) != 0 {
            return Err(ConfineError::Install(format!(
                "SIGSYS handler: {}",
                std::io::Error::last_os_error()
            )));
        }
    }
    seccompiler::apply_filter_all_threads(&prog).map_err(|e| ConfineError::Install(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_is_not_empty_and_has_no_duplicates() {
        assert!(SENTRY_POLICY.len() > 20);
        compile(SENTRY_POLICY, SeccompAction::Trap).expect("compiles");
    }

    #[test]
    fn open_openat_execve_and_friends_are_denied() {
        for (nr, name) in MUST_DENY {
            assert!(
                !SENTRY_POLICY.iter().any(|a| a.nr == *nr),
                "{name} must not be on the sentry's allowlist"
            );
        }
    }

    #[test]
    fn execveat_is_allowed_only_with_at_empty_path() {
        let e = SENTRY_POLICY
            .iter()
            .find(|a| a.nr == libc::SYS_execveat)
            .expect("execveat listed for the stub spawn");
        assert_eq!(
            e.args,
            Args::FlagsSet {
                arg: 4,
                bits: libc::AT_EMPTY_PATH as u64
            }
        );
    }

    #[test]
    fn every_entry_says_why() {
        for a in SENTRY_POLICY {
            assert!(!a.why.is_empty(), "{} has no reason", a.name);
        }
    }

    /// Runs `f` in a forked child under the sentry's filter (no handler, so
    /// a trap kills it by SIGSYS); returns the signal that ended it, if any.
    fn under_filter(f: fn()) -> Option<i32> {
        let prog = compile(SENTRY_POLICY, SeccompAction::Trap).expect("compiles");
        // SAFETY: the child only calls async-signal-safe functions (prctl,
        // seccomp, raw syscalls, _exit) on memory prepared before the fork.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0, "fork");
            if pid == 0 {
                if seccompiler::apply_filter(&prog).is_err() {
                    libc::_exit(100);
                }
                f();
                libc::_exit(0);
            }
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            assert!(
                !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 100),
                "filter not installed"
            );
            libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status))
        }
    }

    #[test]
    fn openat_under_the_filter_dies_by_sigsys() {
        let sig = under_filter(|| {
            // SAFETY: a NUL-terminated literal path; the result is ignored.
            unsafe {
                libc::syscall(
                    libc::SYS_openat,
                    libc::AT_FDCWD,
                    c"/etc/passwd".as_ptr(),
                    libc::O_RDONLY,
                )
            };
        });
        assert_eq!(sig, Some(libc::SIGSYS));
    }

    #[test]
    fn execveat_of_a_path_dies_by_sigsys() {
        let sig = under_filter(|| {
            let argv = [std::ptr::null::<libc::c_char>()];
            // SAFETY: valid NUL-terminated path and null-terminated vectors.
            unsafe {
                libc::syscall(
                    libc::SYS_execveat,
                    libc::AT_FDCWD,
                    c"/bin/true".as_ptr(),
                    argv.as_ptr(),
                    argv.as_ptr(),
                    0,
                )
            };
        });
        assert_eq!(sig, Some(libc::SIGSYS));
    }

    #[test]
    fn allowed_calls_run_under_the_filter() {
        let sig = under_filter(|| {
            // SAFETY: getpid and a write of zero bytes take no pointers we own.
            unsafe {
                libc::getpid();
                libc::write(2, std::ptr::null(), 0);
            }
        });
        assert_eq!(sig, None);
    }
}
