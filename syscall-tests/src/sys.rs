//! The unsafe edge of the runner: the one raw host call it needs (killing
//! a timed-out program's whole process group) and naming signals.
//!
//! Nothing else in the crate uses `unsafe`.

use std::io;

/// Sends SIGKILL to every process in the process group `pgid` (a runtime
/// such as `ward do` may have started helpers in the same group).
pub fn kill_group(pgid: u32) -> io::Result<()> {
    let pgid =
        libc::pid_t::try_from(pgid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    if pgid <= 1 {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    // SAFETY: kill(2) takes no pointers and touches no memory of ours; a
    // negative pid names the process group, and pgid > 1 keeps it away
    // from the special values -1 (every process) and 0 (our own group).
    let r = unsafe { libc::kill(-pgid, libc::SIGKILL) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The conventional name of a signal number ("SIGSEGV"), or "signal N".
pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGSYS => "SIGSYS",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_signals_have_names() {
        assert_eq!(signal_name(libc::SIGSEGV), "SIGSEGV");
        assert_eq!(signal_name(libc::SIGSYS), "SIGSYS");
    }

    #[test]
    fn unknown_signals_are_numbered() {
        assert_eq!(signal_name(40), "signal 40");
    }

    #[test]
    fn refuses_to_signal_special_groups() {
        assert!(kill_group(0).is_err());
        assert!(kill_group(1).is_err());
    }
}
