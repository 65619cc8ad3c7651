//! x86-64 architecture support: what Linux's arch/x86 does for a task that
//! the rest of the sentry should not need to know. Today that is signal
//! delivery: the `siginfo_t` layout and the signal frame built on the app's
//! stack (registers, FP/vector state, mask), and rt_sigreturn reading it back.
//!
//! This module only lays out and checks bytes in app memory and registers;
//! which signal to deliver, masks and dispositions belong to `kernel::signal`.

pub mod siginfo;
pub mod signal_frame;

pub use siginfo::SigInfo;
pub use signal_frame::{init_fpstate, restore_frame, setup_frame, AltStack, Restored};
