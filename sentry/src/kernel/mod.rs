//! The kernel proper: the sandbox-wide state, tasks and their run loop, fd
//! tables, credentials, and (recorded) signal dispositions.

pub mod clone;
pub mod creds;
pub mod deliver;
pub mod exec;
pub mod exit;
pub mod exit_watch;
pub mod fd_table;
pub mod futex;
#[allow(clippy::module_inception)]
pub mod kernel;
pub mod process;
pub mod signal;
pub mod signal_hooks;
pub mod task;
pub mod timers;
pub mod waiter;

pub use kernel::Kernel;
pub use task::Task;
