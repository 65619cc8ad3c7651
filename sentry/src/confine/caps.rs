//! The sentry's capabilities: it keeps none. `ward do` runs it as root,
//! with every capability; after confinement the sentry needs none of them
//! (its stubs are its own children with its uid, so ptrace, kill and
//! sched_setaffinity of them need no capability; its files are fds already
//! open). Capability sets belong to each thread, so the drop happens in
//! two steps, like the namespaces:
//! - [`limit_to_pivot`], while `ward sentry` is single-threaded, so that
//!   every later thread inherits it: an empty bounding set (stubs, exec'd
//!   by the sentry as uid 0, gain nothing), no ambient or inheritable set,
//!   no effective capability, and only CAP_SYS_ADMIN left permitted, for
//!   the pivot_root to come;
//! - [`drop_after_pivot`], on the thread that pivots: CAP_SYS_ADMIN raised
//!   for the mounts, then nothing at all.
//!
//! Threads started in between hold CAP_SYS_ADMIN permitted but never
//! effective, and capset, which alone could raise it, is not on the
//! seccomp allowlist. The unsafe edge: one safe wrapper per host syscall.

use std::io;

use super::ConfineError;

/// `CAP_SYS_ADMIN` (linux/capability.h): mount, pivot_root, umount2.
pub const CAP_SYS_ADMIN: u32 = 21;

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

fn err(step: &'static str) -> ConfineError {
    ConfineError::Ns {
        step,
        err: io::Error::last_os_error(),
    }
}

/// capset(2) of the calling thread: `effective` and `permitted` as 64-bit
/// masks, nothing inheritable.
fn capset(effective: u64, permitted: u64, step: &'static str) -> Result<(), ConfineError> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: effective as u32,
            permitted: permitted as u32,
            inheritable: 0,
        },
        CapData {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: 0,
        },
    ];
    // SAFETY: a version-3 header and the two data structs version 3 reads,
    // both alive for the call.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if r != 0 {
        return Err(err(step));
    }
    Ok(())
}

/// Empties the bounding set (needs CAP_SETPCAP: call before [`capset`]
/// lowers it) and the ambient set.
fn clear_bounding_and_ambient() -> Result<(), ConfineError> {
    for cap in 0..64 {
        // SAFETY: prctl with integer arguments only.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
        if r != 0 {
            if io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
                break; // past the kernel's last capability
            }
            return Err(err("dropping the capability bounding set"));
        }
    }
    // SAFETY: prctl with integer arguments only.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    if r != 0 {
        return Err(err("clearing the ambient capabilities"));
    }
    Ok(())
}

/// Step one (single-threaded): nothing effective, nothing bounding,
/// CAP_SYS_ADMIN alone permitted.
pub fn limit_to_pivot() -> Result<(), ConfineError> {
    clear_bounding_and_ambient()?;
    capset(
        0,
        1 << CAP_SYS_ADMIN,
        "keeping only CAP_SYS_ADMIN, not effective",
    )
}

/// Step two: runs `pivot` with CAP_SYS_ADMIN effective, then drops every
/// capability of the calling thread, whatever `pivot` returned.
pub fn drop_after_pivot(
    pivot: impl FnOnce() -> Result<(), ConfineError>,
) -> Result<(), ConfineError> {
    capset(
        1 << CAP_SYS_ADMIN,
        1 << CAP_SYS_ADMIN,
        "raising CAP_SYS_ADMIN for the pivot",
    )?;
    let pivoted = pivot();
    capset(0, 0, "dropping every capability")?;
    pivoted
}
