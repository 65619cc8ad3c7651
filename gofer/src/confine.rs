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
//! after the root fd is open and before the first request is read.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, SeccompRule, TargetArch};

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

/// The gofer's allowlist: (syscall, name, why). Not here, on purpose: open,
/// openat, creat, execve/execveat, socket, connect, mount, ptrace.
pub const GOFER_POLICY: &[(i64, &str, &str)] = &[
    (
        libc::SYS_openat2,
        "openat2",
        "every lookup: RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS under a held fd",
    ),
    (libc::SYS_fstat, "fstat", "attributes of an opened file"),
    (
        libc::SYS_newfstatat,
        "newfstatat",
        "attributes (glibc fstat)",
    ),
    (
        libc::SYS_statx,
        "statx",
        "attributes of a held fd or one name beneath it",
    ),
    (libc::SYS_fstatfs, "fstatfs", "statfs of the served tree"),
    (libc::SYS_getdents64, "getdents64", "readdir"),
    (
        libc::SYS_readlinkat,
        "readlinkat",
        "readlink of a symlink beneath the root (never followed)",
    ),
    (
        libc::SYS_lseek,
        "lseek",
        "rewinding a directory for readdir",
    ),
    (libc::SYS_fcntl, "fcntl", "fd flags"),
    (libc::SYS_close, "close", "dropping fids and donated fds"),
    (libc::SYS_recvmsg, "recvmsg", "requests from the sentry"),
    (
        libc::SYS_sendmsg,
        "sendmsg",
        "replies and donated fds (SCM_RIGHTS)",
    ),
    (libc::SYS_poll, "poll", "waiting for the socket"),
    (libc::SYS_read, "read", "reads of held files"),
    (libc::SYS_pread64, "pread64", "reads at an offset"),
    (libc::SYS_write, "write", "the log (stderr or --log file)"),
    (libc::SYS_writev, "writev", "the log"),
    (libc::SYS_mmap, "mmap", "the allocator"),
    (libc::SYS_munmap, "munmap", "the allocator"),
    (libc::SYS_mremap, "mremap", "the allocator (realloc)"),
    (libc::SYS_mprotect, "mprotect", "the allocator"),
    (libc::SYS_madvise, "madvise", "the allocator"),
    (libc::SYS_brk, "brk", "the allocator"),
    (libc::SYS_futex, "futex", "std locks"),
    (libc::SYS_getrandom, "getrandom", "hash seeds"),
    (libc::SYS_clock_gettime, "clock_gettime", "log timestamps"),
    (libc::SYS_rt_sigaction, "rt_sigaction", "std, signal setup"),
    (
        libc::SYS_rt_sigprocmask,
        "rt_sigprocmask",
        "std, signal masks",
    ),
    (
        libc::SYS_rt_sigreturn,
        "rt_sigreturn",
        "return from a signal handler",
    ),
    (
        libc::SYS_sigaltstack,
        "sigaltstack",
        "std's signal stack teardown",
    ),
    (libc::SYS_exit, "exit", "thread exit"),
    (libc::SYS_exit_group, "exit_group", "the gofer's exit"),
];

/// What a read-write gofer (`ward gofer --rw`) may do besides
/// [`GOFER_POLICY`]: each change to the tree, made by one name in a held
/// directory fd or on a held node fd (never a path). Not on the list of
/// a read-only gofer, so it cannot change the tree even if subverted.
pub const GOFER_RW_POLICY: &[(i64, &str, &str)] = &[
    (
        libc::SYS_mkdirat,
        "mkdirat",
        "mkdir of one name in a held directory",
    ),
    (
        libc::SYS_symlinkat,
        "symlinkat",
        "symlink of one name in a held directory",
    ),
    (
        libc::SYS_linkat,
        "linkat",
        "hard link between held directories, never following",
    ),
    (
        libc::SYS_mknodat,
        "mknodat",
        "FIFOs only (the server refuses other types)",
    ),
    (
        libc::SYS_unlinkat,
        "unlinkat",
        "unlink and rmdir of one name in a held directory",
    ),
    (
        libc::SYS_renameat2,
        "renameat2",
        "rename between held directories",
    ),
    (
        libc::SYS_fchmodat2,
        "fchmodat2",
        "chmod of a held node (AT_EMPTY_PATH)",
    ),
    (
        libc::SYS_fchmod,
        "fchmod",
        "chmod of a reopened node where fchmodat2 is missing",
    ),
    (
        libc::SYS_fchownat,
        "fchownat",
        "chown of a held node (AT_EMPTY_PATH)",
    ),
    (
        libc::SYS_utimensat,
        "utimensat",
        "utimes of a held node (AT_EMPTY_PATH)",
    ),
    (
        libc::SYS_ftruncate,
        "ftruncate",
        "truncate and O_TRUNC of a reopened file",
    ),
    (
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
/// discipline is the wall), then the read-only allowlist.
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
    if rw {
        policy.extend_from_slice(GOFER_RW_POLICY);
    }
    let prog = compile(&policy, SeccompAction::KillProcess)?;
    seccompiler::apply_filter_all_threads(&prog)
        .map_err(|e| ConfineError::Install(e.to_string()))?;
    tracing::debug!(
        syscalls = policy.len(),
        rw,
        "gofer confined: seccomp allowlist admits {} syscalls",
        policy.len()
    );
    Ok(())
}

/// Compiles `policy`: listed syscalls allowed, everything else `mismatch`.
pub fn compile(
    policy: &[(i64, &str, &str)],
    mismatch: SeccompAction,
) -> Result<BpfProgram, ConfineError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for (nr, name, _) in policy {
        if rules.insert(*nr, Vec::new()).is_some() {
            return Err(ConfineError::Build(format!("{name} listed twice")));
        }
    }
    let filter = SeccompFilter::new(rules, mismatch, SeccompAction::Allow, TargetArch::x86_64)
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
                !GOFER_POLICY.iter().any(|(n, _, _)| n == nr),
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
                !GOFER_RW_POLICY.iter().any(|(n, _, _)| n == nr),
                "{name} must not be on the read-write list"
            );
        }
        for (nr, name, _) in GOFER_RW_POLICY {
            assert!(
                !GOFER_POLICY.iter().any(|(n, _, _)| n == nr),
                "{name} must not be on the read-only list"
            );
        }
    }

    #[test]
    fn lookups_go_through_openat2() {
        assert!(GOFER_POLICY.iter().any(|(n, _, _)| *n == libc::SYS_openat2));
    }
}
