//! Confinement of the gofer (DESIGN.md invariant 3): its own mount, ipc, uts
//! and net namespaces, pivot_root to the root it serves, and its own seccomp
//! allowlist ([`GOFER_POLICY`]) admitting only what serving needs: lookups
//! through openat2 beneath a held directory fd, stat, readdir, readlink and
//! the socket to the sentry. No open/openat, no exec, no new sockets. A
//! read-write gofer also gets [`GOFER_RW_POLICY`]: the `*at` calls that
//! change the tree by one name under a held fd.
//! A violation kills the gofer (SECCOMP_RET_KILL_PROCESS); the sentry then
//! sees its socket close and the sandbox ends.
//!
//! [`unshare`] runs first thing in `ward gofer` (single-threaded), [`enter`]
//! after the root and every mount source are open (held as fds: after the
//! pivot_root no source outside the root has a path the gofer can reach)
//! and before the first request is read.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    #[error("{step}: {err}")]
    Ns { step: &'static str, err: io::Error },
    #[error("root {0}: path has a NUL byte")]
    Path(String),
    #[error("building the seccomp filter: {0}")]
    Build(String),
    #[error("installing the seccomp filter: {0}")]
    Install(String),
}

/// A condition on the arguments of an allowed syscall (the same shape as
/// the sentry's table). `int` arguments are compared on their low 32 bits,
/// as the kernel reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Args {
    /// Any arguments.
    Any,
    /// Argument `arg` must have none of `bits` set.
    FlagsClear { arg: u8, bits: u64 },
    /// The low 32 bits of argument `arg` (an `int`) must be one of `values`.
    OneOf32 { arg: u8, values: &'static [u64] },
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

const PROT_EXEC: u64 = libc::PROT_EXEC as u64;

/// The gofer's allowlist, one entry per syscall, grouped by job; a new
/// operation adds its syscalls to its group (path operations go beneath a
/// held fd: `*at` calls, never a bare path). Not here, on purpose: open,
/// openat, creat, execve/execveat, socket, connect, mount, ptrace, ioctl.
pub const GOFER_POLICY: &[Allow] = &[
    // Lookups and attributes, always relative to a held fd.
    any(
        libc::SYS_openat2,
        "openat2",
        "every lookup and open: RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS under a held fd",
    ),
    any(libc::SYS_fstat, "fstat", "attributes of an opened file"),
    any(
        libc::SYS_newfstatat,
        "newfstatat",
        "attributes (glibc fstat)",
    ),
    any(
        libc::SYS_statx,
        "statx",
        "attributes of a held fd or one name beneath it",
    ),
    any(libc::SYS_fstatfs, "fstatfs", "statfs of the served tree"),
    any(libc::SYS_getdents64, "getdents64", "readdir"),
    any(
        libc::SYS_readlinkat,
        "readlinkat",
        "readlink of a symlink beneath the root (never followed)",
    ),
    any(
        libc::SYS_lseek,
        "lseek",
        "rewinding a directory for readdir",
    ),
    // Held fds.
    with(
        libc::SYS_fcntl,
        "fcntl",
        Args::OneOf32 {
            arg: 1,
            values: &[libc::F_GETFL as u64, libc::F_SETFL as u64],
        },
        "F_GETFL/F_SETFL: an open's O_NONBLOCK dropped once it is open (raw.rs); \
         no dup, no locks, no leases",
    ),
    any(libc::SYS_close, "close", "dropping fids and donated fds"),
    any(libc::SYS_read, "read", "reads of held files"),
    any(libc::SYS_pread64, "pread64", "reads at an offset"),
    // The socket to the sentry.
    any(libc::SYS_recvmsg, "recvmsg", "requests from the sentry"),
    any(
        libc::SYS_sendmsg,
        "sendmsg",
        "replies and donated fds (SCM_RIGHTS)",
    ),
    any(libc::SYS_poll, "poll", "waiting for the socket"),
    // The log.
    any(libc::SYS_write, "write", "the log (stderr or --log file)"),
    any(libc::SYS_writev, "writev", "the log"),
    any(libc::SYS_clock_gettime, "clock_gettime", "log timestamps"),
    // The allocator: never executable memory (the gofer runs no code but its own).
    with(
        libc::SYS_mmap,
        "mmap",
        Args::FlagsClear {
            arg: 2,
            bits: PROT_EXEC,
        },
        "the allocator; never PROT_EXEC",
    ),
    any(libc::SYS_munmap, "munmap", "the allocator"),
    any(libc::SYS_mremap, "mremap", "the allocator (realloc)"),
    with(
        libc::SYS_mprotect,
        "mprotect",
        Args::FlagsClear {
            arg: 2,
            bits: PROT_EXEC,
        },
        "the allocator (guard pages); never PROT_EXEC",
    ),
    any(libc::SYS_madvise, "madvise", "the allocator"),
    any(libc::SYS_brk, "brk", "the allocator"),
    // The process itself.
    any(libc::SYS_futex, "futex", "std locks"),
    any(libc::SYS_getrandom, "getrandom", "hash seeds"),
    any(libc::SYS_rt_sigaction, "rt_sigaction", "std, signal setup"),
    any(
        libc::SYS_rt_sigprocmask,
        "rt_sigprocmask",
        "std, signal masks",
    ),
    any(
        libc::SYS_rt_sigreturn,
        "rt_sigreturn",
        "return from a signal handler",
    ),
    any(
        libc::SYS_sigaltstack,
        "sigaltstack",
        "std's signal stack teardown",
    ),
    any(libc::SYS_exit, "exit", "thread exit"),
    any(libc::SYS_exit_group, "exit_group", "the gofer's exit"),
];

/// How many entries of `policy` restrict their arguments.
pub fn with_argument_rules(policy: &[Allow]) -> usize {
    policy.iter().filter(|a| a.args != Args::Any).count()
}

/// One capability the gofer keeps.
#[derive(Clone, Copy, Debug)]
pub struct Keep {
    pub cap: u32,
    pub name: &'static str,
    pub why: &'static str,
}

/// The capabilities the gofer keeps once confined (effective and
/// permitted; the bounding, inheritable and ambient sets are emptied). It
/// serves the root as root, so it keeps what reading any file needs; a
/// write operation adds what it needs here (CAP_DAC_OVERRIDE to open for
/// writing, CAP_CHOWN, CAP_FSETID), with why.
pub const GOFER_CAPS: &[Keep] = &[
    Keep {
        cap: 2,
        name: "CAP_DAC_READ_SEARCH",
        why: "reading and searching every file and directory of the root, whoever owns it",
    },
    Keep {
        cap: 3,
        name: "CAP_FOWNER",
        why: "O_NOATIME on files root does not own (an open's flags pass through)",
    },
];

/// What a read-write gofer keeps besides [`GOFER_CAPS`]: it changes files
/// of every owner, as root does.
pub const GOFER_RW_CAPS: &[Keep] = &[
    Keep {
        cap: 0,
        name: "CAP_CHOWN",
        why: "chown of files to the owner the sandbox asks for",
    },
    Keep {
        cap: 1,
        name: "CAP_DAC_OVERRIDE",
        why:
            "opening for writing, creating and removing in files and directories root does not own",
    },
    Keep {
        cap: 4,
        name: "CAP_FSETID",
        why: "chmod keeping set-id bits on files of other groups",
    },
];

/// The mask of `caps`.
pub fn cap_mask(caps: &[Keep]) -> u64 {
    caps.iter().fold(0, |m, k| m | 1u64 << k.cap)
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Empties the bounding and ambient sets (while CAP_SETPCAP is still
/// effective), then keeps `keep` effective and permitted, nothing
/// inheritable. The gofer is single-threaded, so this covers all of it.
fn keep_only(keep: u64) -> Result<(), ConfineError> {
    for cap in 0..64 {
        // SAFETY: prctl with integer arguments only.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
        if r != 0 {
            if io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
                break; // past the kernel's last capability
            }
            return check("dropping the capability bounding set", r);
        }
    }
    // SAFETY: prctl with integer arguments only.
    check("clearing the ambient capabilities", unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    })?;
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: keep as u32,
            permitted: keep as u32,
            inheritable: 0,
        },
        CapData {
            effective: (keep >> 32) as u32,
            permitted: (keep >> 32) as u32,
            inheritable: 0,
        },
    ];
    // SAFETY: a version-3 header and the two data structs version 3 reads,
    // both alive for the call.
    check("dropping capabilities", unsafe {
        libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) as libc::c_int
    })
}

/// What a read-write gofer (`ward gofer --rw`) may do besides
/// [`GOFER_POLICY`]: each change to the tree, made by one name in a held
/// directory fd or on a held node fd (never a path). Not on the list of
/// a read-only gofer, so it cannot change the tree even if subverted.
pub const GOFER_RW_POLICY: &[Allow] = &[
    any(
        libc::SYS_mkdirat,
        "mkdirat",
        "mkdir of one name in a held directory",
    ),
    any(
        libc::SYS_symlinkat,
        "symlinkat",
        "symlink of one name in a held directory",
    ),
    any(
        libc::SYS_linkat,
        "linkat",
        "hard link between held directories, never following",
    ),
    any(
        libc::SYS_mknodat,
        "mknodat",
        "FIFOs only (the server refuses other types)",
    ),
    any(
        libc::SYS_unlinkat,
        "unlinkat",
        "unlink and rmdir of one name in a held directory",
    ),
    any(
        libc::SYS_renameat2,
        "renameat2",
        "rename between held directories",
    ),
    any(
        libc::SYS_fchmodat2,
        "fchmodat2",
        "chmod of a held node (AT_EMPTY_PATH)",
    ),
    any(
        libc::SYS_fchmod,
        "fchmod",
        "chmod of a reopened node where fchmodat2 is missing",
    ),
    any(
        libc::SYS_fchownat,
        "fchownat",
        "chown of a held node (AT_EMPTY_PATH)",
    ),
    any(
        libc::SYS_utimensat,
        "utimensat",
        "utimes of a held node (AT_EMPTY_PATH)",
    ),
    any(
        libc::SYS_ftruncate,
        "ftruncate",
        "truncate and O_TRUNC of a reopened file",
    ),
    any(
        libc::SYS_umask,
        "umask",
        "cleared once: the sentry applies the sandbox's umask",
    ),
];

/// Syscalls the gofer must never make.
pub const MUST_DENY: &[(i64, &str)] = &[
    (libc::SYS_open, "open"),
    (libc::SYS_openat, "openat"),
    (libc::SYS_creat, "creat"),
    (libc::SYS_execve, "execve"),
    (libc::SYS_execveat, "execveat"),
    (libc::SYS_socket, "socket"),
    (libc::SYS_connect, "connect"),
    (libc::SYS_mount, "mount"),
    (libc::SYS_ptrace, "ptrace"),
    (libc::SYS_capset, "capset"),
    (libc::SYS_ioctl, "ioctl"),
];

fn check(step: &'static str, r: libc::c_int) -> Result<(), ConfineError> {
    if r < 0 {
        Err(ConfineError::Ns {
            step,
            err: io::Error::last_os_error(),
        })
    } else {
        Ok(())
    }
}

/// New mount, ipc, uts and net namespaces, every mount private. Call while
/// the process has a single thread.
pub fn unshare() -> Result<(), ConfineError> {
    let flags = libc::CLONE_NEWNS | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS | libc::CLONE_NEWNET;
    // SAFETY: unshare takes plain flags.
    check("unshare(mnt, ipc, uts, net)", unsafe {
        libc::unshare(flags)
    })?;
    // SAFETY: a NUL-terminated literal; the other pointers are null.
    check("making every mount private", unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    })
}

/// pivot_root to `root` (a no-op for "/", where the openat2 RESOLVE_BENEATH
/// discipline is the wall), then only [`GOFER_CAPS`] kept, then the
/// read-only allowlist.
pub fn enter(root: &Path) -> Result<(), ConfineError> {
    enter_as(root, false)
}

/// [`enter`], with [`GOFER_RW_POLICY`] admitted too when `rw`.
pub fn enter_as(root: &Path, rw: bool) -> Result<(), ConfineError> {
    if root != Path::new("/") {
        let c = CString::new(root.as_os_str().as_bytes())
            .map_err(|_| ConfineError::Path(root.display().to_string()))?;
        // SAFETY: NUL-terminated strings or null pointers, alive for the call.
        check("bind-mounting the root onto itself", unsafe {
            libc::mount(
                c.as_ptr(),
                c.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            )
        })?;
        // SAFETY: a NUL-terminated path.
        check("chdir into the root", unsafe { libc::chdir(c.as_ptr()) })?;
        // SAFETY: two NUL-terminated literals.
        check("pivot_root", unsafe {
            libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) as libc::c_int
        })?;
        // SAFETY: a NUL-terminated literal.
        check("detaching the old root", unsafe {
            libc::umount2(c".".as_ptr(), libc::MNT_DETACH)
        })?;
        // SAFETY: a NUL-terminated literal.
        check("chdir /", unsafe { libc::chdir(c"/".as_ptr()) })?;
    }
    let mut policy = GOFER_POLICY.to_vec();
    let mut caps = cap_mask(GOFER_CAPS);
    if rw {
        policy.extend_from_slice(GOFER_RW_POLICY);
        caps |= cap_mask(GOFER_RW_CAPS);
    }
    keep_only(caps)?;
    let prog = compile(&policy, SeccompAction::KillProcess)?;
    seccompiler::apply_filter_all_threads(&prog)
        .map_err(|e| ConfineError::Install(e.to_string()))?;
    tracing::debug!(
        syscalls = policy.len(),
        rw,
        "gofer seccomp allowlist: {} syscalls ({} with argument rules)",
        policy.len(),
        with_argument_rules(&policy)
    );
    Ok(())
}

fn eq32(name: &str, arg: u8, value: u64) -> Result<SeccompRule, ConfineError> {
    let c = SeccompCondition::new(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, value)
        .map_err(|e| ConfineError::Build(format!("{name}: {e}")))?;
    SeccompRule::new(vec![c]).map_err(|e| ConfineError::Build(format!("{name}: {e}")))
}

/// The seccompiler rules of one entry: any one of them admits the call
/// (none at all: any arguments).
fn rules(a: &Allow) -> Result<Vec<SeccompRule>, ConfineError> {
    let err = |e: seccompiler::BackendError| ConfineError::Build(format!("{}: {e}", a.name));
    match a.args {
        Args::Any => Ok(Vec::new()),
        Args::FlagsClear { arg, bits } => {
            let c = SeccompCondition::new(
                arg,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(bits),
                0,
            )
            .map_err(err)?;
            Ok(vec![SeccompRule::new(vec![c]).map_err(err)?])
        }
        Args::OneOf32 { arg, values } => values.iter().map(|&v| eq32(a.name, arg, v)).collect(),
    }
}

/// Compiles `policy`: listed syscalls allowed (with their argument rules),
/// everything else `mismatch`.
pub fn compile(policy: &[Allow], mismatch: SeccompAction) -> Result<BpfProgram, ConfineError> {
    let mut map: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for a in policy {
        let r = rules(a)?;
        if a.args != Args::Any && r.is_empty() {
            return Err(ConfineError::Build(format!("{}: an empty rule", a.name)));
        }
        if map.insert(a.nr, r).is_some() {
            return Err(ConfineError::Build(format!("{} listed twice", a.name)));
        }
    }
    let filter = SeccompFilter::new(map, mismatch, SeccompAction::Allow, TargetArch::x86_64)
        .map_err(|e| ConfineError::Build(e.to_string()))?;
    BpfProgram::try_from(filter).map_err(|e| ConfineError::Build(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_compiles_and_is_not_empty() {
        assert!(GOFER_POLICY.len() > 10);
        compile(GOFER_POLICY, SeccompAction::KillProcess).expect("compiles");
    }

    #[test]
    fn open_openat_exec_and_sockets_are_denied() {
        for (nr, name) in MUST_DENY {
            assert!(
                !GOFER_POLICY.iter().any(|a| a.nr == *nr),
                "{name} must not be on the gofer's allowlist"
            );
        }
    }

    #[test]
    fn the_read_write_policy_compiles_and_adds_only_changes() {
        let mut both = GOFER_POLICY.to_vec();
        both.extend_from_slice(GOFER_RW_POLICY);
        compile(&both, SeccompAction::KillProcess).expect("compiles, nothing listed twice");
        for (nr, name) in MUST_DENY {
            assert!(
                !GOFER_RW_POLICY.iter().any(|a| a.nr == *nr),
                "{name} must not be on the read-write list"
            );
        }
        for a in GOFER_RW_POLICY {
            assert!(
                !GOFER_POLICY.iter().any(|b| b.nr == a.nr),
                "{} must not be on the read-only list",
                a.name
            );
        }
    }

    #[test]
    fn lookups_go_through_openat2() {
        assert!(GOFER_POLICY.iter().any(|a| a.nr == libc::SYS_openat2));
    }

    #[test]
    fn every_entry_says_why() {
        for a in GOFER_POLICY {
            assert!(!a.why.is_empty(), "{} has no reason", a.name);
        }
        for k in GOFER_CAPS {
            assert!(!k.why.is_empty(), "{} has no reason", k.name);
        }
    }

    #[test]
    fn the_gofer_keeps_only_read_search_and_fowner() {
        assert_eq!(cap_mask(GOFER_CAPS), (1 << 2) | (1 << 3));
    }

    /// Runs `f` in a forked child under the gofer's filter; returns the
    /// signal that ended it, or its exit code as `Err`.
    fn under_filter(f: fn() -> i32) -> Result<i32, i32> {
        let prog = compile(GOFER_POLICY, SeccompAction::KillProcess).expect("compiles");
        // SAFETY: the child only makes raw syscalls on memory prepared
        // before the fork, then _exits.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0, "fork");
            if pid == 0 {
                if seccompiler::apply_filter(&prog).is_err() {
                    libc::_exit(100);
                }
                libc::_exit(f());
            }
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            if libc::WIFSIGNALED(status) {
                Ok(libc::WTERMSIG(status))
            } else {
                assert_ne!(libc::WEXITSTATUS(status), 100, "filter not installed");
                Err(libc::WEXITSTATUS(status))
            }
        }
    }

    fn map(prot: i32) -> bool {
        // SAFETY: a fresh private anonymous mapping.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        p != libc::MAP_FAILED
    }

    #[test]
    fn the_allocator_maps_writable_memory() {
        assert_eq!(
            under_filter(|| i32::from(!map(libc::PROT_READ | libc::PROT_WRITE))),
            Err(0)
        );
    }

    #[test]
    fn executable_memory_kills_the_gofer() {
        assert_eq!(
            under_filter(|| i32::from(map(libc::PROT_READ | libc::PROT_EXEC))),
            Ok(libc::SIGSYS)
        );
    }

    #[test]
    fn fcntl_reads_and_sets_status_flags_and_nothing_else() {
        assert_eq!(
            // SAFETY: fcntl on fd 2 with an integer command.
            under_filter(|| i32::from(unsafe { libc::fcntl(2, libc::F_GETFL) } < 0)),
            Err(0)
        );
        let dup = || {
            // SAFETY: integer arguments only.
            unsafe { libc::fcntl(2, libc::F_DUPFD, 10) };
            0
        };
        assert_eq!(under_filter(dup), Ok(libc::SIGSYS));
    }

    #[test]
    fn ioctl_kills_the_gofer() {
        let f = || {
            let mut n: libc::c_int = 0;
            // SAFETY: a bad fd and a valid int.
            unsafe { libc::ioctl(-1, libc::FIONREAD, &mut n as *mut libc::c_int) };
            0
        };
        assert_eq!(under_filter(f), Ok(libc::SIGSYS));
    }
}
