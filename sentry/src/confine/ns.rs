//! The sentry's namespaces and its empty root. The unsafe edge: one safe
//! wrapper per host syscall, each failure named by its step.

use std::ffi::CStr;
use std::io;

use super::ConfineError;

fn check(step: &'static str, r: libc::c_int) -> Result<(), ConfineError> {
    if r < 0 {
        Err(ConfineError::Ns {
            step,
            err: io::Error::last_os_error(),
        })
    } else {
        Ok(())
    }
}

/// New mount, ipc, uts and net namespaces. The sentry needs no host network
/// (its sockets are its own). The pid namespace is made by `ward` before the
/// spawn (the sentry must be its init: unshared here, the first stub would be).
pub fn unshare_all(new_net: bool) -> Result<(), ConfineError> {
    let mut flags = libc::CLONE_NEWNS | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS;
    if new_net {
        flags |= libc::CLONE_NEWNET;
    }
    // SAFETY: unshare takes plain flags and touches no memory of ours.
    check("unshare(mnt, ipc, uts, net)", unsafe {
        libc::unshare(flags)
    })?;
    // SAFETY: both strings are NUL-terminated literals; the other pointers are null.
    check("making every mount private", unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    })
}

fn mount(
    src: &CStr,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
    step: &'static str,
) -> Result<(), ConfineError> {
    // SAFETY: every pointer is a NUL-terminated string or null, alive for the call.
    check(step, unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            fstype.map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            data.map_or(std::ptr::null(), |s| s.as_ptr().cast()),
        )
    })
}

/// Mounts a tiny tmpfs (over /proc: a directory every host has, hidden only
/// in our private mount namespace), pivot_roots into it, detaches the old
/// root and makes the new one read-only. Afterwards no path names a host file.
pub fn pivot_into_empty_root() -> Result<(), ConfineError> {
    let dir = c"/proc";
    mount(
        c"ward-empty",
        dir,
        Some(c"tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        Some(c"size=4k,nr_inodes=4,mode=0555"),
        "mounting the empty root",
    )?;
    // SAFETY: a NUL-terminated literal.
    check("chdir into the empty root", unsafe {
        libc::chdir(dir.as_ptr())
    })?;
    // SAFETY: pivot_root takes two NUL-terminated paths; "." for both stacks
    // the old root on the new one, to be detached next.
    check("pivot_root", unsafe {
        libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) as libc::c_int
    })?;
    // SAFETY: a NUL-terminated literal.
    check("detaching the old root", unsafe {
        libc::umount2(c".".as_ptr(), libc::MNT_DETACH)
    })?;
    // SAFETY: a NUL-terminated literal.
    check("chdir /", unsafe { libc::chdir(c"/".as_ptr()) })?;
    mount(
        c"none",
        c"/",
        None,
        libc::MS_REMOUNT
            | libc::MS_BIND
            | libc::MS_RDONLY
            | libc::MS_NOSUID
            | libc::MS_NODEV
            | libc::MS_NOEXEC,
        None,
        "making the empty root read-only",
    )
}
