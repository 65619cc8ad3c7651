//! name_to_handle_at and open_by_handle_at: file handles, which no file
//! system here issues. Both validate their arguments as Linux does, in
//! Linux's order, then answer as Linux does for a file system without
//! export operations: name_to_handle_at is EOPNOTSUPP for every file it
//! finds; open_by_handle_at (after its EBADF, EPERM, EFAULT and EINVAL
//! checks) is ESTALE, since no handle it is given can name a live file.

use super::{fd_arg, read_path_or_null, walk_start};
use crate::errno::{Errno, SysResult};
use crate::kernel::creds::CAP_DAC_READ_SEARCH;
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::{walk, Ctx};

/// AT_HANDLE_MNT_ID_UNIQUE: report the unique 64-bit mount id.
const AT_HANDLE_MNT_ID_UNIQUE: i32 = 0x001;
/// AT_HANDLE_CONNECTABLE: a handle open_by_handle_at can reconnect.
const AT_HANDLE_CONNECTABLE: i32 = 0x002;
/// AT_HANDLE_FID: a handle for identification only.
const AT_HANDLE_FID: i32 = 0x200;
/// Largest handle payload (MAX_HANDLE_SZ).
const MAX_HANDLE_SZ: u32 = 128;

pub(super) fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_name_to_handle_at,
        name_to_handle_at,
        Support::Partial,
        &[Fd, Path, Hex, Hex, Hex],
        "arguments checked as Linux; then EOPNOTSUPP (no file system exports handles)",
    );
    t.set(
        libc::SYS_open_by_handle_at,
        open_by_handle_at,
        Support::Partial,
        &[Fd, Hex, OpenFlags],
        "EBADF, EPERM without CAP_DAC_READ_SEARCH, EFAULT, EINVAL as Linux; \
         every well-formed handle is ESTALE",
    );
}

/// name_to_handle_at(dirfd, path, handle, mount_id, flags): EINVAL for
/// unknown or conflicting flags, then the walk (EFAULT, ENOENT, ENOTDIR,
/// EACCES, EBADF), then EOPNOTSUPP.
fn name_to_handle_at(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (dirfd, flags) = (fd_arg(a[0]), a[4] as i32);
    let known = libc::AT_SYMLINK_FOLLOW
        | libc::AT_EMPTY_PATH
        | AT_HANDLE_FID
        | AT_HANDLE_MNT_ID_UNIQUE
        | AT_HANDLE_CONNECTABLE;
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & AT_HANDLE_CONNECTABLE != 0 && flags & (AT_HANDLE_FID | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let empty_ok = flags & libc::AT_EMPTY_PATH != 0;
    let path = read_path_or_null(t, a[1], empty_ok)?;
    if path.is_empty() && empty_ok {
        if dirfd != libc::AT_FDCWD {
            t.fds.get(dirfd)?;
        }
    } else {
        let (root, start) = walk_start(t, dirfd, &path)?;
        let follow = flags & libc::AT_SYMLINK_FOLLOW != 0;
        walk::lookup(&Ctx::of(t), &root, &start, &path, follow)?;
    }
    Err(Errno::EOPNOTSUPP)
}

/// struct file_handle's header: handle_bytes, handle_type.
fn read_header(t: &Task, addr: u64) -> Result<(u32, i32), Errno> {
    let mut h = [0u8; 8];
    t.mm.copy_in(addr, &mut h)?;
    let bytes = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]);
    let kind = i32::from_ne_bytes([h[4], h[5], h[6], h[7]]);
    Ok((bytes, kind))
}

/// open_by_handle_at(mount_fd, handle, flags), in Linux's order: EBADF for
/// a mount_fd that is neither open nor AT_FDCWD; EPERM without
/// CAP_DAC_READ_SEARCH; EFAULT for an unreadable handle; EINVAL for a
/// handle of 0 or more than MAX_HANDLE_SZ bytes or a negative type (or one
/// with unknown user flags); then ESTALE.
fn open_by_handle_at(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mount_fd = fd_arg(a[0]);
    if mount_fd != libc::AT_FDCWD {
        t.fds.get(mount_fd)?;
    }
    if !t.creds.has_cap(CAP_DAC_READ_SEARCH) {
        return Err(Errno::EPERM);
    }
    let (bytes, kind) = read_header(t, a[1])?;
    // FILEID_USER_FLAGS: the high 16 bits; only FILEID_IS_CONNECTABLE
    // (0x10000) and FILEID_IS_DIR (0x20000) are valid there.
    let user_flags = (kind as u32) & 0xffff_0000;
    if bytes == 0 || bytes > MAX_HANDLE_SZ || kind < 0 || user_flags & !0x3_0000 != 0 {
        return Err(Errno::EINVAL);
    }
    let mut payload = vec![0u8; bytes as usize];
    t.mm.copy_in(a[1] + 8, &mut payload)?;
    Err(Errno::ESTALE)
}
