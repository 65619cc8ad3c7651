//! Linux error numbers as the sentry returns them to the app.

use std::fmt;

/// A Linux errno. Syscall handlers return `Result<u64, Errno>`; the task
/// loop turns an `Errno` into `-errno` in the app's rax.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        impl Errno {
            $(pub const $name: Errno = Errno(libc::$name);)*

            /// The symbolic name, for logs ("ENOENT").
            pub fn name(self) -> &'static str {
                match self.0 {
                    $(libc::$name => stringify!($name),)*
                    512 => "ERESTARTSYS",
                    513 => "ERESTARTNOINTR",
                    514 => "ERESTARTNOHAND",
                    516 => "ERESTART_RESTARTBLOCK",
                    _ => "E?",
                }
            }
        }
    };
}

errnos!(
    EPERM,
    ENOENT,
    ESRCH,
    EINTR,
    EIO,
    ENXIO,
    E2BIG,
    ENOEXEC,
    EBADF,
    ECHILD,
    EAGAIN,
    ENOMEM,
    EACCES,
    EFAULT,
    EBUSY,
    EEXIST,
    EXDEV,
    ENODEV,
    ENOTDIR,
    EISDIR,
    EINVAL,
    ENFILE,
    EMFILE,
    ENOTTY,
    ETXTBSY,
    EFBIG,
    ENOSPC,
    ESPIPE,
    EROFS,
    EMLINK,
    EPIPE,
    EDOM,
    ERANGE,
    ENAMETOOLONG,
    ENOSYS,
    ENOTEMPTY,
    ELOOP,
    ENODATA,
    EOVERFLOW,
    EOPNOTSUPP,
    ESTALE,
    ENOTSOCK,
    EAFNOSUPPORT,
    EPROTONOSUPPORT,
    ELIBBAD,
    ETIMEDOUT,
    EADDRINUSE,
    ECONNREFUSED,
    ECONNRESET,
    EISCONN,
    ENOTCONN,
    EMSGSIZE,
    EPROTOTYPE,
    ENOPROTOOPT,
    ESOCKTNOSUPPORT,
    EDESTADDRREQ
);

impl Errno {
    /// Interrupted by a signal: restart the syscall if the handler has
    /// SA_RESTART (or there is no handler), else EINTR. Never seen by the app.
    pub const ERESTARTSYS: Errno = Errno(512);
    /// Interrupted: restart unless a handler runs, then EINTR.
    pub const ERESTARTNOHAND: Errno = Errno(514);
    /// Interrupted: restart through restart_syscall (nanosleep, clock_nanosleep).
    pub const ERESTART_RESTARTBLOCK: Errno = Errno(516);

    /// Whether this is one of the internal restart codes.
    pub fn is_restart(self) -> bool {
        matches!(self.0, 512..=516)
    }

    /// The value placed in rax: `-errno` as an unsigned register.
    pub fn as_return(self) -> u64 {
        (-(self.0 as i64)) as u64
    }

    /// From a host `std::io::Error` (its raw os error), EIO otherwise.
    pub fn from_io(e: &std::io::Error) -> Errno {
        Errno(e.raw_os_error().unwrap_or(libc::EIO))
    }

    /// The C library's text for this error ("No such file or directory").
    pub fn message(self) -> String {
        let s = std::io::Error::from_raw_os_error(self.0).to_string();
        match s.find(" (os error") {
            Some(i) => s[..i].to_string(),
            None => s,
        }
    }

    /// The host's errno after a failed libc call.
    pub fn last() -> Errno {
        Errno::from_io(&std::io::Error::last_os_error())
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

impl From<std::io::Error> for Errno {
    fn from(e: std::io::Error) -> Errno {
        Errno::from_io(&e)
    }
}

/// A syscall handler's result.
pub type SysResult = Result<u64, Errno>;
