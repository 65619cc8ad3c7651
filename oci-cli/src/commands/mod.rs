//! One file per `ward` verb: its clap arguments and a thin call into the library.

pub mod do_cmd;
pub mod gofer;
pub mod sentry;
pub mod syscalls;
// Wired into main.rs together with the container state it needs (issue 6).
#[allow(dead_code)]
pub mod update;
