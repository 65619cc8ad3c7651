//! Signals that file objects raise as a side effect of I/O (SIGPIPE on a
//! write to a pipe with no readers). The objects call these hooks and never
//! touch signal state themselves.

use super::task::Task;

/// A write found no readers: Linux sends SIGPIPE to the writing thread
/// before the write fails with EPIPE.
pub fn raise_sigpipe(t: &Task) {
    let info = crate::arch::siginfo::SigInfo::kill(libc::SIGPIPE, 0, t.tgid, t.creds.uid);
    super::signal::send_to_task(&t.shared, info);
}
