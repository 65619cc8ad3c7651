//! One file per `ward` verb: its clap arguments and a thin call into the library.

pub mod do_cmd;
pub mod features;
pub mod gofer;
pub mod list;
pub mod sentry;
pub mod spec;
pub mod state;
pub mod syscalls;
