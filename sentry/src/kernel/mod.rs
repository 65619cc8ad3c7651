//! The kernel proper: the sandbox-wide state, tasks and their run loop, fd
//! tables, credentials, and (recorded) signal dispositions.

pub mod fd_table;
#[allow(clippy::module_inception)]
pub mod kernel;
pub mod signal;
pub mod task;
pub mod waiter;

pub use kernel::Kernel;
pub use task::Task;
