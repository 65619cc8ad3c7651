//! `terminal: true`: a host pty pair whose master goes to the caller's
//! --console-socket (as runc sends it: the fd as SCM_RIGHTS, its name as
//! the data) and whose slave becomes the process's stdin, stdout and
//! stderr. Inside the sandbox the slave is a host terminal the sentry
//! passes terminal ioctls to.

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("opening a pty: {0}")]
    Open(std::io::Error),
    #[error("console socket {path}: {err}")]
    Socket { path: PathBuf, err: std::io::Error },
}

/// A new pty pair: (master, slave).
pub fn open_pty() -> Result<(OwnedFd, OwnedFd), ConsoleError> {
    let err = || ConsoleError::Open(std::io::Error::last_os_error());
    // SAFETY: posix_openpt takes flags and returns a new fd or -1.
    let m = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if m < 0 {
        return Err(err());
    }
    // SAFETY: `m` is a new fd owned by nobody else.
    let master = unsafe { OwnedFd::from_raw_fd(m) };
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: grantpt/unlockpt act on our master fd; ptsname_r writes at
    // most `name.len()` bytes into `name`.
    let r = unsafe {
        if libc::grantpt(m) != 0 || libc::unlockpt(m) != 0 {
            -1
        } else {
            libc::ptsname_r(m, name.as_mut_ptr(), name.len())
        }
    };
    if r != 0 {
        return Err(err());
    }
    // SAFETY: ptsname_r succeeded, so `name` holds a NUL-terminated path.
    let path = unsafe { CStr::from_ptr(name.as_ptr()) };
    // SAFETY: `path` is a valid C string; open returns a new fd or -1.
    let s = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if s < 0 {
        return Err(err());
    }
    // SAFETY: `s` is a new fd owned by nobody else.
    Ok((master, unsafe { OwnedFd::from_raw_fd(s) }))
}

/// Sends `master` to the unix socket at `path`.
pub fn send_master(path: &Path, master: &OwnedFd) -> Result<(), ConsoleError> {
    let err = |err| ConsoleError::Socket {
        path: path.to_path_buf(),
        err,
    };
    let (_dir, short) = super::client::short_path(path).map_err(err)?;
    let sock = std::os::unix::net::UnixStream::connect(&short).map_err(err)?;
    let name = b"/dev/ptmx";
    let mut iov = libc::iovec {
        iov_base: name.as_ptr() as *mut libc::c_void,
        iov_len: name.len(),
    };
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<i32>() as u32) } as usize;
    let mut control = vec![0u8; space];
    // SAFETY: an all-zero msghdr is a valid empty header.
    let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
    hdr.msg_iov = &mut iov;
    hdr.msg_iovlen = 1;
    hdr.msg_control = control.as_mut_ptr() as *mut libc::c_void;
    hdr.msg_controllen = space;
    // SAFETY: `control` holds one cmsg with room for one fd; sendmsg reads
    // the header, iov and control, all live for the call.
    let r = unsafe {
        let c = libc::CMSG_FIRSTHDR(&hdr);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<i32>() as u32) as usize;
        (libc::CMSG_DATA(c) as *mut i32).write_unaligned(master.as_raw_fd());
        libc::sendmsg(sock.as_fd().as_raw_fd(), &hdr, libc::MSG_NOSIGNAL)
    };
    if r < 0 {
        return Err(err(std::io::Error::last_os_error()));
    }
    Ok(())
}
