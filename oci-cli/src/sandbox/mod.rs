//! A container's life on the host side: its **host process** (`ward
//! proxy`, the process the pid file names) that starts the sandbox or joins
//! an existing one, hands the container's stdio and gofer to the sentry,
//! forwards signals and exits with the container init's status; the
//! conversion of an OCI bundle into the sentry's container spec; the
//! console (pty) for `terminal: true`; and requests on the sandbox's
//! control socket.
//!
//! | module    | owns                                                    |
//! |-----------|---------------------------------------------------------|
//! | `plan`    | what a host process is told to do (JSON on a pipe)      |
//! | `proxy`   | the host process itself                                 |
//! | `client`  | one request on the control socket                       |
//! | `spec`    | OCI config → sentry ContainerSpec and gofer mounts      |
//! | `console` | host pty pairs and --console-socket                     |
//! | `exit`    | exiting with a sandbox status (code or signal)          |

pub mod client;
pub mod console;
pub mod exit;
pub mod plan;
pub mod proxy;
pub mod spec;
