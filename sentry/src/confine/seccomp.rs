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
//!
//! Where an argument matters the entry says which values pass ([`Args`]):
//! ioctl requests, fcntl commands, clone flags, prctl options, signals,
//! ptrace requests, mmap protections. Rules must hold for the stubs too,
//! since they inherit this filter: their thread clones, PR_SET_NO_NEW_PRIVS,
//! seccomp and their mmap/mprotect of app memory with the app's
//! protections, PROT_EXEC included. seccompiler cannot tell a stub from the
//! sentry, so a second, hand-assembled filter ([`wall`]) admits PROT_EXEC
//! only from the stub range, where the sentry's own code never runs.

use std::collections::BTreeMap;

use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};

use super::ConfineError;

/// A condition on the arguments of an allowed syscall. Arguments the
/// kernel declares `int` (ioctl and fcntl commands, prctl options, signal
/// numbers, fds) are compared on their low 32 bits, as the kernel reads
/// them; the rest on all 64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Args {
    /// Any arguments.
    Any,
    /// Argument `arg` must have every bit of `bits` set.
    FlagsSet { arg: u8, bits: u64 },
    /// Argument `arg` must have none of `bits` set.
    FlagsClear { arg: u8, bits: u64 },
    /// The low 32 bits of argument `arg` (an `int`) must be one of `values`.
    OneOf32 { arg: u8, values: &'static [u64] },
    /// Argument `arg` (all 64 bits) must be one of `values`.
    OneOf64 { arg: u8, values: &'static [u64] },
    /// At least one of these alternatives, each a list of conditions that
    /// must all hold.
    AnyOf(&'static [&'static [Cond]]),
}

/// One condition of an [`Args::AnyOf`] alternative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    /// The low 32 bits of `arg` equal `value`.
    Eq32 { arg: u8, value: u64 },
    /// `arg` equals `value`.
    Eq64 { arg: u8, value: u64 },
    /// `arg` has every bit of `bits` set.
    Set { arg: u8, bits: u64 },
    /// `arg` has none of `bits` set.
    Clear { arg: u8, bits: u64 },
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

const fn with(nr: i64, name: &'static str, args: Args, why: &'static str) -> Allow {
    Allow {
        nr,
        name,
        args,
        why,
    }
}

/// The fd `ward sentry --control` has its listening control socket at.
pub const CONTROL_FD: u64 = 3;
/// The fd every stub has the memory file at.
const MEMFILE_FD: u64 = platform::MEMFILE_FD as u64;
/// How every stub maps the memory file (`platform::stubproc::memfile_mmap_args`).
const MEMFILE_MAP_FLAGS: u64 = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
const PROT_EXEC: u64 = libc::PROT_EXEC as u64;

/// Thread flags of glibc's pthread_create (std::thread::spawn), in its
/// clone fallback once clone3 answers ENOSYS.
pub const PTHREAD_CLONE_FLAGS: u64 = (libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM
    | libc::CLONE_SETTLS
    | libc::CLONE_PARENT_SETTID
    | libc::CLONE_CHILD_CLEARTID) as u64;

// Both platforms kick a task out of app code with the same signal, the one
// tgkill admits.
const _: () = assert!(platform::ptrace::INTERRUPT_SIGNAL == platform::systrap::INTERRUPT_SIGNAL);

/// prctl(PR_SET_VMA): glibc 2.39 and later name thread stacks and malloc
/// arenas with it (not in the libc crate yet).
const PR_SET_VMA: u64 = 0x5356_4d41;

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
    with(
        libc::SYS_fcntl,
        "fcntl",
        Args::OneOf32 {
            arg: 1,
            values: &[
                libc::F_GETFD as u64,
                libc::F_SETFD as u64,
                libc::F_GETFL as u64,
                libc::F_SETFL as u64,
                libc::F_DUPFD_CLOEXEC as u64,
            ],
        },
        "F_GETFL of donated fds (vfs/raw.rs); F_SETFL for O_APPEND on a writable gofer \
         file's own fd; F_DUPFD_CLOEXEC (std's try_clone, stub spawn); F_SETFD/F_GETFD (stub \
         spawn keeps the memory file across exec); no locks",
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
    with(
        libc::SYS_ioctl,
        "ioctl",
        Args::OneOf32 {
            arg: 1,
            values: &[libc::TCGETS, libc::TIOCGWINSZ],
        },
        "TCGETS and TIOCGWINSZ on donated stdio ttys (vfs/raw.rs; isatty); \
         the sentry never sets host terminal state, and the sandbox's ptys are its own",
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
        "punching holes in the memory file; fallocate(2) of the app on a read-write gofer file's donated fd",
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
    // The OCI runtime's control socket (`ward sentry --control`): it is
    // always fd 3, so connections are accepted from nothing else.
    with(
        libc::SYS_accept4,
        "accept4",
        Args::OneOf32 {
            arg: 0,
            values: &[CONTROL_FD],
        },
        "connections on the control socket (fd 3)",
    ),
    // The gofer connection.
    any(libc::SYS_sendmsg, "sendmsg", "gofer requests"),
    any(
        libc::SYS_recvmsg,
        "recvmsg",
        "gofer replies with donated fds (SCM_RIGHTS)",
    ),
    // Memory.
    with(
        libc::SYS_mmap,
        "mmap",
        Args::AnyOf(&[
            &[Cond::Clear {
                arg: 2,
                bits: PROT_EXEC,
            }],
            &[
                Cond::Eq32 {
                    arg: 4,
                    value: MEMFILE_FD,
                },
                Cond::Eq64 {
                    arg: 3,
                    value: MEMFILE_MAP_FLAGS,
                },
            ],
        ]),
        "the sentry's own maps (memory file, allocator, thread stacks) are never executable; \
         PROT_EXEC only as stubs map app memory: the memory file at fd 3, MAP_SHARED|MAP_FIXED \
         (in the sentry fd 3 is the gofer socket, which cannot be mapped); the wall filter \
         further admits PROT_EXEC only from the stub page",
    ),
    any(libc::SYS_munmap, "munmap", "unmapping, here and in stubs"),
    any(
        libc::SYS_mprotect,
        "mprotect",
        "thread guard pages; stubs apply the app's mprotect, PROT_EXEC included (seccompiler \
         cannot tell a stub from the sentry: the wall filter admits PROT_EXEC only from the \
         stub page)",
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
    with(
        libc::SYS_clone,
        "clone",
        Args::OneOf64 {
            arg: 0,
            values: &[
                PTHREAD_CLONE_FLAGS,
                platform::STUB_SPAWN_CLONE_FLAGS,
                platform::STUB_THREAD_CLONE_FLAGS,
            ],
        },
        "std::thread::spawn (glibc's clone fallback), stub spawn (vfork-style), stub threads; \
         never a fork, never a new namespace",
    ),
    any(
        libc::SYS_clone3,
        "clone3",
        "listed only so the wall filter's ENOSYS is the answer (its flags sit behind a \
         pointer seccomp cannot read): glibc then falls back to clone, whose flags are checked",
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
    with(
        libc::SYS_prlimit64,
        "prlimit64",
        Args::OneOf64 {
            arg: 2,
            values: &[0],
        },
        "reading limits only (glibc getrlimit: thread stack sizing); new_limit must be NULL",
    ),
    any(libc::SYS_gettid, "gettid", "thread ids for ptrace and logs"),
    any(libc::SYS_getpid, "getpid", "raise(); the SIGSYS handler"),
    with(
        libc::SYS_prctl,
        "prctl",
        Args::OneOf32 {
            arg: 0,
            values: &[
                libc::PR_SET_PDEATHSIG as u64,
                libc::PR_SET_NAME as u64,
                libc::PR_SET_NO_NEW_PRIVS as u64,
                PR_SET_VMA,
            ],
        },
        "PR_SET_PDEATHSIG (stub spawn; the ptrace platform clears it), PR_SET_NAME (std thread \
         names), PR_SET_NO_NEW_PRIVS (systrap stubs and seccompiler, before a filter), \
         PR_SET_VMA (newer glibc names stacks and arenas); never capabilities or dumpability",
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
    with(
        libc::SYS_kill,
        "kill",
        Args::OneOf32 {
            arg: 1,
            values: &[libc::SIGKILL as u64, libc::SIGSYS as u64],
        },
        "SIGKILL to a stub (ptrace/raw.rs); SIGSYS to itself (the seccomp reporter)",
    ),
    with(
        libc::SYS_tgkill,
        "tgkill",
        Args::OneOf32 {
            arg: 2,
            values: &[
                0,
                libc::SIGKILL as u64,
                platform::ptrace::INTERRUPT_SIGNAL as u64,
                libc::SIGABRT as u64,
            ],
        },
        "0 (is a stub thread alive), SIGKILL (a stub thread), SIGURG (the platforms' \
         INTERRUPT_SIGNAL, kicking a task out of app code), SIGABRT (abort() on a sentry panic)",
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
    with(
        libc::SYS_ptrace,
        "ptrace",
        Args::OneOf64 {
            arg: 0,
            values: &[
                libc::PTRACE_SEIZE as u64,
                libc::PTRACE_INTERRUPT as u64,
                libc::PTRACE_SETOPTIONS as u64,
                libc::PTRACE_CONT as u64,
                libc::PTRACE_SYSEMU as u64,
                libc::PTRACE_DETACH as u64,
                libc::PTRACE_GETREGS as u64,
                libc::PTRACE_SETREGS as u64,
                libc::PTRACE_GETREGSET as u64,
                libc::PTRACE_SETREGSET as u64,
                libc::PTRACE_GETSIGINFO as u64,
            ],
        },
        "the ptrace platform's requests (platform/src/ptrace/raw.rs): seize, stop, resume, \
         registers and FP state, siginfo; never PEEK/POKE (app memory is the memory file), \
         ATTACH or TRACEME",
    ),
    any(libc::SYS_wait4, "wait4", "ptrace stops and stub exits"),
    any(libc::SYS_waitid, "waitid", "stub exits (systrap)"),
    any(
        libc::SYS_pidfd_open,
        "pidfd_open",
        "systrap: watching a stub for death",
    ),
    with(
        libc::SYS_seccomp,
        "seccomp",
        Args::OneOf32 {
            arg: 0,
            values: &[libc::SECCOMP_SET_MODE_FILTER as u64],
        },
        "systrap stubs install their own (stricter) filters; a filter only ever adds walls",
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
    (libc::SYS_capset, "capset"),
    (libc::SYS_personality, "personality"),
];

fn cond(name: &str, c: Cond) -> Result<SeccompCondition, ConfineError> {
    let (arg, len, op, value) = match c {
        Cond::Eq32 { arg, value } => (arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, value),
        Cond::Eq64 { arg, value } => (arg, SeccompCmpArgLen::Qword, SeccompCmpOp::Eq, value),
        Cond::Set { arg, bits } => (
            arg,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(bits),
            bits,
        ),
        Cond::Clear { arg, bits } => (
            arg,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(bits),
            0,
        ),
    };
    SeccompCondition::new(arg, len, op, value)
        .map_err(|e| ConfineError::Build(format!("{name}: {e}")))
}

fn rule(name: &str, conds: &[Cond]) -> Result<SeccompRule, ConfineError> {
    let conds = conds
        .iter()
        .map(|&c| cond(name, c))
        .collect::<Result<Vec<_>, _>>()?;
    SeccompRule::new(conds).map_err(|e| ConfineError::Build(format!("{name}: {e}")))
}

/// The seccompiler rules of one entry: any one of them admits the call
/// (none at all: any arguments).
fn rules(a: &Allow) -> Result<Vec<SeccompRule>, ConfineError> {
    match a.args {
        Args::Any => Ok(Vec::new()),
        Args::FlagsSet { arg, bits } => Ok(vec![rule(a.name, &[Cond::Set { arg, bits }])?]),
        Args::FlagsClear { arg, bits } => Ok(vec![rule(a.name, &[Cond::Clear { arg, bits }])?]),
        Args::OneOf32 { arg, values } => values
            .iter()
            .map(|&value| rule(a.name, &[Cond::Eq32 { arg, value }]))
            .collect(),
        Args::OneOf64 { arg, values } => values
            .iter()
            .map(|&value| rule(a.name, &[Cond::Eq64 { arg, value }]))
            .collect(),
        Args::AnyOf(alts) => alts.iter().map(|conds| rule(a.name, conds)).collect(),
    }
}

/// Compiles `policy` to BPF: listed syscalls allowed (with their argument
/// rules), everything else `mismatch`.
pub fn compile(policy: &[Allow], mismatch: SeccompAction) -> Result<BpfProgram, ConfineError> {
    let mut map: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for a in policy {
        if a.args != Args::Any && rules(a)?.is_empty() {
            return Err(ConfineError::Build(format!("{}: an empty rule", a.name)));
        }
        if map.insert(a.nr, rules(a)?).is_some() {
            return Err(ConfineError::Build(format!("{} listed twice", a.name)));
        }
    }
    let filter = SeccompFilter::new(map, mismatch, SeccompAction::Allow, TargetArch::x86_64)
        .map_err(|e| ConfineError::Build(e.to_string()))?;
    BpfProgram::try_from(filter).map_err(|e| ConfineError::Build(e.to_string()))
}

/// How many entries of `policy` restrict their arguments.
pub fn with_argument_rules(policy: &[Allow]) -> usize {
    policy.iter().filter(|a| a.args != Args::Any).count()
}

/// The instruction-pointer wall, a second filter stacked on the allowlist
/// (the strictest answer of the two wins), hand-assembled because
/// seccompiler cannot read the instruction pointer:
/// - mmap and mprotect with PROT_EXEC TRAP unless made from the stub range
///   `[STUB_BASE, STUB_END)`, where only stub code runs (the systrap memory
///   thread's `syscall`, the ptrace platform's injection site). The sentry
///   itself never makes memory executable; stubs must, for app code, and
///   they inherit this filter;
/// - clone3 answers ENOSYS (its flags are behind a pointer): glibc falls
///   back to clone, whose flags the allowlist checks. App clone3s are not
///   affected: systrap's own filter TRAPs them first (TRAP outranks ERRNO)
///   and ptrace stops them before seccomp runs.
///
/// Everything else: ALLOW (the allowlist decides).
pub fn wall() -> BpfProgram {
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    const NR: u32 = 0;
    const IP_LO: u32 = 8;
    const IP_HI: u32 = 12;
    const ARG2_LO: u32 = 16 + 2 * 8;
    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const TRAP: u32 = libc::SECCOMP_RET_TRAP;
    const ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
    // The stub range lies within one 4 GiB block: its high words agree.
    const _: () = assert!(platform::STUB_BASE >> 32 == (platform::STUB_END - 1) >> 32);
    let base_hi = (platform::STUB_BASE >> 32) as u32;
    let base_lo = platform::STUB_BASE as u32;
    let end_lo = platform::STUB_END as u32;
    let i = |code: u16, jt: u8, jf: u8, k: u32| sock_filter { code, jt, jf, k };
    vec![
        /* 0 */ i(LD_W_ABS, 0, 0, NR),
        /* 1 */ i(JEQ, 0, 1, libc::SYS_clone3 as u32),
        /* 2 */ i(RET, 0, 0, ENOSYS),
        /* 3 */ i(JEQ, 1, 0, libc::SYS_mmap as u32),
        /* 4 */ i(JEQ, 0, 9, libc::SYS_mprotect as u32), // else 14: allow
        /* 5 */ i(LD_W_ABS, 0, 0, ARG2_LO),
        /* 6 */ i(JSET, 0, 7, libc::PROT_EXEC as u32), // not executable: 14
        /* 7 */ i(LD_W_ABS, 0, 0, IP_HI),
        /* 8 */ i(JEQ, 0, 4, base_hi), // outside the block: 13
        /* 9 */ i(LD_W_ABS, 0, 0, IP_LO),
        /* 10 */ i(JGE, 0, 2, base_lo), // below the range: 13
        /* 11 */ i(JGE, 1, 0, end_lo), // at or past its end: 13
        /* 12 */ i(RET, 0, 0, ALLOW),
        /* 13 */ i(RET, 0, 0, TRAP),
        /* 14 */ i(RET, 0, 0, ALLOW),
    ]
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

/// The sentry's allowlist as installed: unlisted calls and other
/// architectures' calls trap.
pub fn sentry_program() -> Result<BpfProgram, ConfineError> {
    let mut prog = compile(SENTRY_POLICY, SeccompAction::Trap)?;
    trap_other_arches(&mut prog);
    Ok(prog)
}

/// seccompiler ends its architecture check with RET_KILL_PROCESS. Stubs
/// inherit this filter, and the strictest of stacked filters wins, so an
/// app's i386 call (`int 0x80`) would kill its stub instead of trapping to
/// the sentry, which answers it as Linux without IA32 emulation does. The
/// sentry itself never makes one: for it TRAP ends the same way (the
/// SIGSYS reporter). Only that check returns KILL_PROCESS here (the
/// program's own verdicts are TRAP and ALLOW).
fn trap_other_arches(prog: &mut BpfProgram) {
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    for insn in prog.iter_mut() {
        if insn.code == RET && insn.k == libc::SECCOMP_RET_KILL_PROCESS {
            insn.k = libc::SECCOMP_RET_TRAP;
        }
    }
}

/// Installs the SIGSYS reporter, then the wall and the sentry's allowlist
/// on every thread.
pub fn install() -> Result<(), ConfineError> {
    let prog = sentry_program()?;
    let wall = wall();
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
    seccompiler::apply_filter_all_threads(&wall)
        .map_err(|e| ConfineError::Install(format!("the wall: {e}")))?;
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

    /// How a forked child under the filters ended.
    #[derive(Debug, PartialEq, Eq)]
    enum End {
        Exited(i32),
        Killed(i32),
    }

    /// Runs `f` in a forked child under the wall and the sentry's allowlist
    /// (no SIGSYS handler, so a trap kills it by SIGSYS), after `before`
    /// has run unconfined; the child exits with what `f` returns.
    fn confined(before: fn(), f: fn() -> i32) -> End {
        let prog = sentry_program().expect("compiles");
        let wall = wall();
        // SAFETY: the child only makes raw syscalls (and glibc's
        // pthread_create, which fork leaves usable) on memory prepared
        // before the fork, then _exits.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0, "fork");
            if pid == 0 {
                before();
                if seccompiler::apply_filter(&wall).is_err()
                    || seccompiler::apply_filter(&prog).is_err()
                {
                    libc::_exit(100);
                }
                libc::_exit(f());
            }
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            if libc::WIFSIGNALED(status) {
                End::Killed(libc::WTERMSIG(status))
            } else {
                let code = libc::WEXITSTATUS(status);
                assert_ne!(code, 100, "filters not installed");
                End::Exited(code)
            }
        }
    }

    fn nothing() {}

    /// Runs `f` in a forked child under the sentry's filters; returns the
    /// signal that ended it, if any.
    fn under_filter(f: fn()) -> Option<i32> {
        fn run(f: fn()) -> i32 {
            f();
            0
        }
        // A fn pointer cannot capture `f`: stash it for the child.
        static F: std::sync::Mutex<Option<fn()>> = std::sync::Mutex::new(None);
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        *F.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
        let end = confined(nothing, || {
            let f = F.lock().unwrap_or_else(|p| p.into_inner()).expect("set");
            run(f)
        });
        match end {
            End::Killed(sig) => Some(sig),
            End::Exited(_) => None,
        }
    }

    /// under_filter's stash is one slot: its users take turns.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    #[test]
    fn ioctl_with_a_request_the_sentry_makes_runs() {
        let end = confined(nothing, || {
            // SAFETY: a zeroed termios is a valid value.
            let mut t: libc::termios = unsafe { std::mem::zeroed() };
            // SAFETY: a bad fd and a valid termios buffer.
            let r = unsafe { libc::ioctl(-1, libc::TCGETS, &mut t as *mut libc::termios) };
            i32::from(!(r == -1 && errno() == libc::EBADF))
        });
        assert_eq!(end, End::Exited(0));
    }

    #[test]
    fn ioctl_with_any_other_request_dies_by_sigsys() {
        for f in [
            (|| {
                let mut n: libc::c_int = 0;
                // SAFETY: a bad fd and a valid int.
                unsafe { libc::ioctl(-1, libc::FIONREAD, &mut n as *mut libc::c_int) };
                0
            }) as fn() -> i32,
            || {
                let c = 0u8;
                // SAFETY: a bad fd and a valid byte.
                unsafe { libc::ioctl(-1, libc::TIOCSTI, &c as *const u8) };
                0
            },
        ] {
            assert_eq!(confined(nothing, f), End::Killed(libc::SIGSYS));
        }
    }

    fn map(prot: i32) -> *mut libc::c_void {
        // SAFETY: a fresh private anonymous mapping.
        unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        }
    }

    #[test]
    fn mapping_writable_memory_runs() {
        let end = confined(nothing, || {
            i32::from(map(libc::PROT_READ | libc::PROT_WRITE) == libc::MAP_FAILED)
        });
        assert_eq!(end, End::Exited(0));
    }

    #[test]
    fn mapping_executable_memory_dies_by_sigsys() {
        let end = confined(nothing, || {
            map(libc::PROT_READ | libc::PROT_EXEC);
            0
        });
        assert_eq!(end, End::Killed(libc::SIGSYS));
    }

    #[test]
    fn making_memory_executable_dies_by_sigsys() {
        let end = confined(nothing, || {
            let p = map(libc::PROT_READ | libc::PROT_WRITE);
            // SAFETY: our own fresh page.
            unsafe { libc::mprotect(p, 4096, libc::PROT_READ | libc::PROT_EXEC) };
            0
        });
        assert_eq!(end, End::Killed(libc::SIGSYS));
    }

    /// fd 3 made a memfd, as in a stub: the allowlist's memory-file rule
    /// matches, and the wall still refuses, the call not being made from
    /// the stub range.
    #[test]
    fn mapping_fd_3_executable_from_sentry_code_dies_by_sigsys() {
        let end = confined(
            || {
                // SAFETY: a memfd of one page moved to fd 3 in this child.
                unsafe {
                    let fd = libc::memfd_create(c"t".as_ptr(), 0);
                    libc::ftruncate(fd, 4096);
                    libc::dup2(fd, 3);
                }
            },
            || {
                let p = map(libc::PROT_READ | libc::PROT_WRITE);
                // SAFETY: replaces our own fresh page.
                unsafe {
                    libc::mmap(
                        p,
                        4096,
                        libc::PROT_READ | libc::PROT_EXEC,
                        libc::MAP_SHARED | libc::MAP_FIXED,
                        3,
                        0,
                    )
                };
                0
            },
        );
        assert_eq!(end, End::Killed(libc::SIGSYS));
    }

    /// Code at STUB_BASE (`mov eax, SYS_mprotect; syscall; ret`, called with
    /// mprotect's arguments) may make memory executable, as stubs must.
    #[test]
    fn the_stub_range_may_make_memory_executable() {
        let end = confined(
            || {
                let code: [u8; 8] = [0xb8, 10, 0, 0, 0, 0x0f, 0x05, 0xc3];
                // SAFETY: maps one page at STUB_BASE in this child (refusing
                // to replace anything) and writes the code into it.
                unsafe {
                    let p = libc::mmap(
                        platform::STUB_BASE as *mut libc::c_void,
                        4096,
                        libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                        -1,
                        0,
                    );
                    if p as u64 != platform::STUB_BASE {
                        libc::_exit(101);
                    }
                    std::ptr::copy_nonoverlapping(code.as_ptr(), p.cast::<u8>(), code.len());
                }
            },
            || {
                let page = map(libc::PROT_READ | libc::PROT_WRITE);
                // SAFETY: the code written above follows the C calling
                // convention: its three arguments are mprotect's.
                let r = unsafe {
                    let f: extern "C" fn(*mut libc::c_void, usize, i32) -> i64 =
                        std::mem::transmute(platform::STUB_BASE as usize);
                    f(page, 4096, libc::PROT_READ | libc::PROT_EXEC)
                };
                i32::from(r != 0)
            },
        );
        assert_eq!(end, End::Exited(0));
    }

    #[test]
    fn clone3_answers_enosys() {
        let end = confined(nothing, || {
            let args = [0u64; 11];
            // SAFETY: a zeroed clone_args of the size passed.
            let r = unsafe { libc::syscall(libc::SYS_clone3, args.as_ptr(), 88usize) };
            i32::from(!(r == -1 && errno() == libc::ENOSYS))
        });
        assert_eq!(end, End::Exited(0));
    }

    #[test]
    fn a_fork_dies_by_sigsys() {
        let end = confined(nothing, || {
            // SAFETY: clone with fork's flags and no stack: returns twice or fails.
            unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0) };
            0
        });
        assert_eq!(end, End::Killed(libc::SIGSYS));
    }

    #[test]
    fn threads_start_under_the_filter() {
        extern "C" fn body(_: *mut libc::c_void) -> *mut libc::c_void {
            std::ptr::null_mut()
        }
        let end = confined(nothing, || {
            let mut t: libc::pthread_t = 0;
            // SAFETY: a valid pthread_t slot, default attributes, a body
            // that touches nothing.
            let r = unsafe {
                libc::pthread_create(&mut t, std::ptr::null(), body, std::ptr::null_mut())
            };
            if r != 0 {
                return 1;
            }
            // SAFETY: `t` was just created and is joined once.
            i32::from(unsafe { libc::pthread_join(t, std::ptr::null_mut()) } != 0)
        });
        assert_eq!(end, End::Exited(0));
    }

    #[test]
    fn prctl_names_a_thread_and_nothing_else() {
        let ok = confined(nothing, || {
            // SAFETY: a NUL-terminated name.
            i32::from(unsafe { libc::prctl(libc::PR_SET_NAME, c"t".as_ptr()) } != 0)
        });
        assert_eq!(ok, End::Exited(0));
        for option in [libc::PR_SET_DUMPABLE, libc::PR_CAPBSET_DROP] {
            static OPTION: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
            OPTION.store(option, std::sync::atomic::Ordering::SeqCst);
            let end = confined(nothing, || {
                let o = OPTION.load(std::sync::atomic::Ordering::SeqCst);
                // SAFETY: integer arguments only.
                unsafe { libc::prctl(o, 0, 0, 0, 0) };
                0
            });
            assert_eq!(end, End::Killed(libc::SIGSYS), "prctl option {option}");
        }
    }

    #[test]
    fn fcntl_takes_no_locks() {
        let ok = confined(nothing, || {
            // SAFETY: fcntl on fd 2 with an integer command.
            i32::from(unsafe { libc::fcntl(2, libc::F_GETFL) } < 0)
        });
        assert_eq!(ok, End::Exited(0));
        let end = confined(nothing, || {
            // SAFETY: a zeroed struct flock, alive for the call.
            let mut l: libc::flock = unsafe { std::mem::zeroed() };
            // SAFETY: as above.
            unsafe { libc::fcntl(2, libc::F_SETLK, &mut l as *mut libc::flock) };
            0
        });
        assert_eq!(end, End::Killed(libc::SIGSYS));
    }

    #[test]
    fn signals_only_those_the_sentry_sends() {
        let ok = confined(nothing, || {
            // SAFETY: signal 0 to our own thread only checks it exists.
            let r = unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), libc::gettid(), 0) };
            i32::from(r != 0)
        });
        assert_eq!(ok, End::Exited(0));
        let end = confined(nothing, || {
            // SAFETY: SIGUSR1 to ourselves (never delivered: the call traps).
            unsafe {
                libc::syscall(
                    libc::SYS_tgkill,
                    libc::getpid(),
                    libc::gettid(),
                    libc::SIGUSR1,
                )
            };
            0
        });
        assert_eq!(end, End::Killed(libc::SIGSYS));
        let end = confined(nothing, || {
            // SAFETY: signal 0 to ourselves.
            unsafe { libc::kill(libc::getpid(), 0) };
            0
        });
        assert_eq!(end, End::Killed(libc::SIGSYS));
    }

    #[test]
    fn limits_are_read_never_set() {
        let ok = confined(nothing, || {
            // SAFETY: a zeroed rlimit, alive for the call.
            let mut r: libc::rlimit = unsafe { std::mem::zeroed() };
            // SAFETY: as above.
            i32::from(unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut r) } != 0)
        });
        assert_eq!(ok, End::Exited(0));
        let end = confined(nothing, || {
            let r = libc::rlimit {
                rlim_cur: 1 << 20,
                rlim_max: libc::RLIM_INFINITY,
            };
            // SAFETY: a valid rlimit, alive for the call.
            unsafe { libc::setrlimit(libc::RLIMIT_STACK, &r) };
            0
        });
        assert_eq!(end, End::Killed(libc::SIGSYS));
    }

    #[test]
    fn ptrace_never_peeks_or_attaches() {
        for request in [
            libc::PTRACE_PEEKDATA,
            libc::PTRACE_ATTACH,
            libc::PTRACE_TRACEME,
        ] {
            static REQUEST: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            REQUEST.store(request, std::sync::atomic::Ordering::SeqCst);
            let end = confined(nothing, || {
                let r = REQUEST.load(std::sync::atomic::Ordering::SeqCst);
                // SAFETY: a request on pid 1 with null pointers: the call traps.
                unsafe { libc::syscall(libc::SYS_ptrace, r as libc::c_long, 1, 0, 0) };
                0
            });
            assert_eq!(end, End::Killed(libc::SIGSYS), "ptrace request {request}");
        }
    }

    /// A sentry panic aborts (invariant 4): abort's own tgkill(SIGABRT)
    /// must pass, or the sandbox would end by SIGSYS instead.
    #[test]
    fn abort_ends_by_sigabrt() {
        let end = confined(nothing, || {
            // SAFETY: ends this forked child.
            unsafe { libc::abort() }
        });
        assert_eq!(end, End::Killed(libc::SIGABRT));
    }

    #[test]
    fn the_wall_allows_all_but_what_it_names() {
        let end = confined(nothing, || {
            // SAFETY: getpid takes nothing.
            unsafe { libc::getpid() };
            0
        });
        assert_eq!(end, End::Exited(0));
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

    #[test]
    fn other_architectures_trap_rather_than_kill() {
        let prog = sentry_program().expect("compiles");
        const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
        let rets: Vec<u32> = prog.iter().filter(|i| i.code == RET).map(|i| i.k).collect();
        assert!(rets.contains(&libc::SECCOMP_RET_TRAP));
        assert!(!rets.contains(&libc::SECCOMP_RET_KILL_PROCESS));
    }
}
