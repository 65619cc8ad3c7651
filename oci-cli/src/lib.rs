//! The `ward` runtime as a library: turning a request (today `ward do`;
//! later an OCI bundle) into a running sandbox of a gofer and a sentry, and
//! the logging every `ward` process shares. The binary's verbs are thin
//! calls into here.

pub mod cgroups;
pub mod confine;
pub mod launch;
pub mod logging;
pub mod sandbox;
pub mod signals;
pub mod bundle;
pub mod state;
