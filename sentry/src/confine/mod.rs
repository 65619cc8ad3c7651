//! Confinement of the sentry (DESIGN.md invariant 2): before any app code
//! runs, the sentry is in new mount, ipc, uts and net namespaces (and the pid
//! namespace `ward` made for it, as its init), pivot_rooted
//! into an empty read-only tmpfs, and under its seccomp allowlist
//! ([`seccomp::SENTRY_POLICY`]), after which it cannot open a host path or
//! exec a host program.
//!
//! It also drops every capability ([`caps`]): after the pivot it needs none.
//!
//! Two steps, because of when each is possible:
//! - [`unshare_namespaces`] runs first thing in `ward sentry`, while the
//!   process is still single-threaded (unshare(CLONE_NEWNS) refuses a process
//!   whose threads share its fs struct);
//! - [`enter`] runs from `boot::run` once everything read from host paths
//!   has been read (procfs capture, vDSO cpuinfo, the platform's images) and
//!   before the first program is loaded.
//!
//! Confinement is on only after [`enable`]; with it off both are no-ops.
//! This module must never loosen the allowlist for convenience: a syscall is
//! added only with a comment naming the code that needs it.

pub mod caps;
pub mod ns;
pub mod seccomp;

use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns confinement on for this process (ward's default; `--no-confine` skips it).
pub fn enable() {
    ENABLED.store(true, Ordering::SeqCst);
}

static KEEP_NETWORK: AtomicBool = AtomicBool::new(false);

/// Stays in the network namespace the sentry was started in instead of a
/// new empty one: an OCI bundle's network namespace path, which ward
/// joined for the whole sandbox before starting the sentry.
pub fn keep_network_namespace() {
    KEEP_NETWORK.store(true, Ordering::SeqCst);
}

/// Whether [`enable`] was called.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::SeqCst)
}

#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    #[error("{step}: {err}")]
    Ns {
        step: &'static str,
        err: std::io::Error,
    },
    #[error("building the seccomp filter: {0}")]
    Build(String),
    #[error("installing the seccomp filter: {0}")]
    Install(String),
}

/// glibc's malloc opens host files lazily, at moments no test can
/// predict, and the allowlist would kill the sentry for it:
/// - /sys/devices/system/cpu/online the first time a thread needs a new
///   arena, to size the arena limit: fixing the limit now (glibc's own
///   default, 8 per CPU) means it never asks;
/// - /proc/sys/vm/overcommit_memory the first time a thread arena's heap
///   shrinks: a trim threshold no heap reaches means no heap ever shrinks
///   (freed memory stays in the arena for reuse; big blocks are still
///   mmapped and unmapped whole).
fn settle_malloc() {
    // SAFETY: sysconf takes an integer name.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1);
    let arenas = (cpus * 8).min(libc::c_long::from(i32::MAX)) as libc::c_int;
    // SAFETY: mallopt takes two integers and only sets malloc's parameters.
    let ok = unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX) == 1
    };
    if !ok {
        tracing::warn!("mallopt failed: a late malloc file read may trip the seccomp allowlist");
    }
}

/// Enters the new namespaces and lowers the capabilities every later thread
/// inherits (no-op unless enabled). Call while the process
/// has a single thread.
pub fn unshare_namespaces() -> Result<(), ConfineError> {
    if !enabled() {
        return Ok(());
    }
    ns::unshare_all(!KEEP_NETWORK.load(Ordering::SeqCst))?;
    caps::limit_to_pivot()
}

/// Pivots into an empty root and installs the allowlist on every thread
/// (no-op unless enabled).
pub fn enter() -> Result<(), ConfineError> {
    if !enabled() {
        return Ok(());
    }
    settle_malloc();
    caps::drop_after_pivot(ns::pivot_into_empty_root)?;
    seccomp::install()?;
    tracing::debug!(
        syscalls = seccomp::SENTRY_POLICY.len(),
        "sentry seccomp allowlist: {} syscalls ({} with argument rules)",
        seccomp::SENTRY_POLICY.len(),
        seccomp::with_argument_rules(seccomp::SENTRY_POLICY)
    );
    Ok(())
}
