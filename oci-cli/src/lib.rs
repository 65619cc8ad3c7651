//! The `ward` runtime as a library: turning a request (`ward do`, or an OCI
//! bundle) into a running sandbox of a gofer and a sentry; the host-side OCI
//! pieces (bundles, the state directory, hooks, the features document); and
//! the logging every `ward` process shares. The binary's verbs are thin
//! calls into here.

pub mod bundle;
pub mod cgroups;
pub mod confine;
pub mod features;
pub mod hooks;
pub mod launch;
pub mod logging;
pub mod sandbox;
pub mod signals;
pub mod state;
