//! One file per `ward` verb: its clap arguments and a thin call into the library.

pub mod do_cmd;
pub mod gofer;
pub mod proxy;
pub mod sentry;
pub mod syscalls;
