//! The unsafe edge of the bench: the raw host calls it needs (killing a
//! timed-out run's process group, asking whether we are root).
//!
//! Nothing else in the crate uses `unsafe`.

use std::io;

/// Sends SIGKILL to every process in the process group `pgid` (a runtime
/// such as `runsc do` starts helpers in the same group).
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

/// Whether this process runs with effective uid 0 (runsc and runc need it).
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) takes no arguments, cannot fail and touches no
    // memory.
    unsafe { libc::geteuid() == 0 }
}
