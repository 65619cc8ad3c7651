//! What `ward` itself does about confinement: the sentry and the gofer
//! confine themselves (sentry::confine, gofer::confine); ward turns it on
//! (always, unless `--no-confine`) and reports a component the kernel killed for a seccomp
//! violation, which takes the sandbox down with it. It also puts the
//! sentry into a new pid namespace, as its init: that has to be done by the
//! parent, before the fork.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// Prints "ward: sentry killed by seccomp (SIGSYS)" when `status` says so.
pub fn report_seccomp_death(who: &str, status: &ExitStatus) {
    if status.signal() == Some(libc::SIGSYS) {
        tracing::warn!("{who} killed by seccomp (SIGSYS)");
        eprintln!("ward: {who} killed by seccomp (SIGSYS): a host syscall outside its allowlist");
    }
}

/// Makes the next child of this process (the sentry) the init of a new pid
/// namespace: it sees no host process, and when it dies the kernel kills
/// every stub it spawned. Every later child of this process lands in the
/// same namespace, so call it only right before spawning the sentry.
pub fn new_pid_namespace_for_children() -> std::io::Result<()> {
    // SAFETY: unshare takes plain flags; CLONE_NEWPID affects only children
    // created afterwards, not this process.
    if unsafe { libc::unshare(libc::CLONE_NEWPID) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
