//! The host-side cleanup the peers need after a test: killing the daemons
//! and helpers started for it (found by the test's own directory on their
//! command line, never by name) and unmounting what they left mounted under
//! that directory. This is the unsafe edge of the harness: `kill(2)` and
//! `umount2(2)`.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// SIGKILLs the process group `pgid` (a command started by `bounded`).
pub fn kill_group(pgid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    // SAFETY: kill(2) with a negative pid signals that process group; it
    // touches no memory of ours. The group is one this harness made.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// SIGKILLs process `pid`.
pub fn kill(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid <= 0 {
        return;
    }
    // SAFETY: kill(2) on one positive pid; it touches no memory of ours.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// The processes (other than this one) with an argument that names `dir`
/// or a path under it: the daemons, shims and monitors a test started with
/// its own temporary directory.
pub fn processes_mentioning(dir: &Path) -> Vec<u32> {
    let needle = dir.as_os_str().as_bytes();
    let me = std::process::id();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                cmdline
                    .split(|&b| b == 0)
                    .any(|arg| names_path_under(arg, needle))
            })
        })
        .collect()
}

/// Whether `arg` holds `dir` as a whole path component prefix (`--root=DIR/x`
/// counts, `DIRx` does not).
pub fn names_path_under(arg: &[u8], dir: &[u8]) -> bool {
    arg.windows(dir.len())
        .enumerate()
        .any(|(at, window)| window == dir && matches!(arg.get(at + dir.len()), None | Some(b'/')))
}

/// Unmounts (lazily, deepest first) every mount point at or under `dir`.
pub fn unmount_under(dir: &Path) {
    let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<PathBuf> = mount_points(&mountinfo)
        .into_iter()
        .filter(|point| point.starts_with(dir))
        .collect();
    points.sort_by_key(|point| std::cmp::Reverse(point.as_os_str().len()));
    for point in points {
        let Ok(path) = CString::new(point.as_os_str().as_bytes()) else {
            continue;
        };
        // SAFETY: umount2(2) reads the NUL-terminated path, which outlives
        // the call; MNT_DETACH never blocks.
        unsafe {
            libc::umount2(path.as_ptr(), libc::MNT_DETACH);
        }
    }
}

/// The mount points listed in a `/proc/PID/mountinfo` text (field 5, with
/// the kernel's octal escapes of space, tab, newline and backslash undone).
pub fn mount_points(mountinfo: &str) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(std::ffi::OsStr::from_bytes(&unescape_octal(field))))
        .collect()
}

/// Undoes mountinfo's `\NNN` octal escapes.
fn unescape_octal(field: &str) -> Vec<u8> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes.get(i + 1..i + 4).filter(|_| bytes[i] == b'\\');
        let value = escape
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .and_then(|digits| u8::from_str_radix(digits, 8).ok());
        match value {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}
