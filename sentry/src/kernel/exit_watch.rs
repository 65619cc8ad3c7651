//! The one observer of process exits from outside the kernel proper: the
//! control server (`crate::control`) uses it to tell a container's host
//! process that the container's init or an exec'd process ended, and to
//! end a container with its init. Without an observer (`ward do`) nothing
//! happens here.

use std::sync::{Arc, OnceLock};

use super::process::ThreadGroup;
use super::task::ExitStatus;

type Observer = Box<dyn Fn(&Arc<ThreadGroup>, ExitStatus) + Send + Sync>;

static OBSERVER: OnceLock<Observer> = OnceLock::new();

/// Installs the observer; a second call is ignored.
pub fn observe(f: Observer) {
    let _ = OBSERVER.set(f);
}

/// `tg`'s last thread is gone with `status` (called before it is reaped).
pub fn exited(tg: &Arc<ThreadGroup>, status: ExitStatus) {
    if let Some(f) = OBSERVER.get() {
        f(tg, status);
    }
}
