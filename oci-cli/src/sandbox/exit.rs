//! Ending a host process the way the process it stands for ended: the
//! same exit code, or death by the same signal (so a shim that reaps it
//! reports what a native run would).

use sentry::control::protocol::Status;

/// Exits with `status`; never returns.
pub fn exit_as(status: &Status) -> ! {
    match *status {
        Status::Exited { code } => std::process::exit(code),
        Status::Signaled { signal } => {
            // No core file for the host process, whatever the signal.
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: setrlimit reads a valid rlimit; signal/sigprocmask/raise
            // take plain values and a valid, initialised sigset.
            unsafe {
                libc::setrlimit(libc::RLIMIT_CORE, &none);
                libc::signal(signal, libc::SIG_DFL);
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, signal);
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                libc::raise(signal);
            }
            // A signal whose default is not to end the process.
            std::process::exit(128 + signal)
        }
    }
}
