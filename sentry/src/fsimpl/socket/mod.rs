//! Sockets, wholly inside the sentry: no app socket is ever a host socket.
//! Only AF_UNIX for now (`unix`); the receive queue every socket keeps is
//! `queue` (pure, unit-tested). Other families are refused by the syscall
//! layer (EAFNOSUPPORT) until networking comes.

pub mod queue;
pub mod unix;
