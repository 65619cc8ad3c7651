//! The sentry: ward's Linux-compatible kernel, run as an ordinary host
//! process. It owns tasks, memory, the VFS and the syscall table; app code
//! reaches it only through the platform, and files only through the gofer.
//!
//! It must never let an app syscall through to the host, never open host
//! paths on the app's behalf (DESIGN.md invariant 2), and never crash on app
//! input: a bad argument is an errno, never a panic.

pub mod arch;
pub mod confine;
pub mod control;
pub mod errno;
pub mod fsimpl;
pub mod kernel;
pub mod loader;
pub mod mm;
pub mod syscalls;
pub mod vfs;

mod boot;
pub mod launch;

pub use boot::{run, signal_init, BootError, SandboxConfig};
pub use kernel::task::ExitStatus;
/// What `--platform` accepts (`auto` picks systrap where it works).
pub use platform::PLATFORM_NAMES;

pub use platform::thread_caps::spawn as spawn_without_caps;
