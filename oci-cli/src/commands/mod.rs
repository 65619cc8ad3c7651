//! One file per `ward` verb: its clap arguments and a thin call into the library.

pub mod common;
pub mod create;
pub mod delete;
pub mod do_cmd;
pub mod events;
pub mod exec;
pub mod features;
pub mod gofer;
pub mod kill;
pub mod list;
pub mod pause;
pub mod proxy;
pub mod ps;
pub mod run;
pub mod sentry;
pub mod spec;
pub mod start;
pub mod state;
pub mod syscalls;
pub mod update;
