//! Sockets, wholly inside the sentry: no app socket is ever a host socket.
//! AF_UNIX (`unix`) and loopback-only AF_INET/AF_INET6 (`inet`, built on
//! the unix stream endpoints and the receive queue); the receive queue
//! every socket keeps is `queue` (pure, unit-tested). Other families are
//! refused by the syscall layer (EAFNOSUPPORT).

pub mod inet;
pub mod queue;
pub mod unix;
