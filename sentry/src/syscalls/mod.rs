//! The syscall table and the handlers, grouped by area. The table is data:
//! number, name, handler, support level, a note on partial support, and how
//! to print the arguments; `ward syscalls` prints the same table as the
//! compatibility report, so docs never drift from code.

pub mod names;
mod strace;
pub mod table;

mod fs;
mod futex;
mod identity;
mod inotify;
mod memfd;
mod mmap;
pub(crate) mod mount;
mod pipe;
mod poll;
mod process;
mod signal;
mod signalfd;
mod socket;
mod socket_inet;
mod sys;
mod task;
mod time;
mod timer;
mod unshare;

pub use table::{dispatch, table, Arg, Entry, Support};
