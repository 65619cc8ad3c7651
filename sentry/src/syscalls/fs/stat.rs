//! fstat, stat, lstat, newfstatat, statx, statfs, fstatfs.

use super::{empty_path_target, fd_arg, read_path_or_null, walk_start, EmptyPath};
use crate::errno::{Errno, SysResult};
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::inode::{FsInfo, FsUsage};
use crate::vfs::mount::MountFlags;
use crate::vfs::stat::Stat;
use crate::vfs::{walk, Ctx, Dentry};

pub(super) fn register(t: &mut Table) {
    use Arg::*;
    t.set(libc::SYS_fstat, fstat, Support::Full, &[Fd, Hex], "");
    t.set(libc::SYS_stat, stat, Support::Full, &[Path, Hex], "");
    t.set(libc::SYS_lstat, lstat, Support::Full, &[Path, Hex], "");
    t.set(
        libc::SYS_newfstatat,
        newfstatat,
        Support::Full,
        &[Fd, Path, Hex, Hex],
        "",
    );
    t.set(
        libc::SYS_statx,
        statx,
        Support::Partial,
        &[Fd, Path, Hex, Hex, Hex],
        "basic stats and btime; no mount id, attributes or DIO alignment",
    );
    t.set(
        libc::SYS_statfs,
        statfs,
        Support::Partial,
        &[Path, Hex],
        "counts of tmpfs and of the gofer's host file system; f_fsid is zero",
    );
    t.set(
        libc::SYS_fstatfs,
        fstatfs,
        Support::Partial,
        &[Fd, Hex],
        "counts of tmpfs and of the gofer's host file system; f_fsid is zero",
    );
}

/// The attributes an *at syscall names: `path` from `dirfd`, or with
/// AT_EMPTY_PATH and an empty path the fd (or cwd) itself.
fn stat_at(t: &Task, dirfd: i32, path_addr: u64, flags: i32) -> Result<Stat, Errno> {
    let empty_ok = flags & libc::AT_EMPTY_PATH != 0;
    let path = read_path_or_null(t, path_addr, empty_ok)?;
    if path.is_empty() && empty_ok {
        return match empty_path_target(t, dirfd)? {
            EmptyPath::File(f) => f.stat(),
            EmptyPath::Cwd(d) => d.stat(&Ctx::of(t)),
        };
    }
    let (root, start) = walk_start(t, dirfd, &path)?;
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    let ctx = Ctx::of(t);
    walk::lookup(&ctx, &root, &start, &path, follow)?.stat(&ctx)
}

fn put_stat(t: &Task, addr: u64, st: &Stat) -> SysResult {
    t.write_struct(addr, &st.to_linux())?;
    Ok(0)
}

fn fstat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let st = t.fds.get(fd_arg(a[0]))?.stat()?;
    put_stat(t, a[1], &st)
}

fn stat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let st = stat_at(t, libc::AT_FDCWD, a[0], 0)?;
    put_stat(t, a[1], &st)
}

fn lstat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let st = stat_at(t, libc::AT_FDCWD, a[0], libc::AT_SYMLINK_NOFOLLOW)?;
    put_stat(t, a[1], &st)
}

fn newfstatat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[3] as i32;
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH | libc::AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_at(t, fd_arg(a[0]), a[1], flags)?;
    put_stat(t, a[2], &st)
}

fn statx(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (dirfd, path, flags, mask, buf) = (fd_arg(a[0]), a[1], a[2] as i32, a[3] as u32, a[4]);
    let known = libc::AT_SYMLINK_NOFOLLOW
        | libc::AT_EMPTY_PATH
        | libc::AT_NO_AUTOMOUNT
        | libc::AT_STATX_SYNC_TYPE;
    if flags & !known != 0 || flags & libc::AT_STATX_SYNC_TYPE == libc::AT_STATX_SYNC_TYPE {
        return Err(Errno::EINVAL);
    }
    if mask & libc::STATX__RESERVED as u32 != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_at(t, dirfd, path, flags)?;
    t.write_struct(buf, &st.to_statx())?;
    Ok(0)
}

/// ST_VALID: f_flags is meaningful (always set by Linux).
const ST_VALID: i64 = 0x20;

/// The x86-64 `struct statfs` (120 bytes).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct LinuxStatfs {
    f_type: i64,
    f_bsize: i64,
    f_blocks: u64,
    f_bfree: u64,
    f_bavail: u64,
    f_files: u64,
    f_ffree: u64,
    f_fsid: [i32; 2],
    f_namelen: i64,
    f_frsize: i64,
    f_flags: i64,
    f_spare: [i64; 4],
}

const _: () = assert!(std::mem::size_of::<LinuxStatfs>() == 120);

/// statfs's f_flags for a mount's flags (besides ST_RDONLY).
fn mount_st_flags(m: &MountFlags) -> i64 {
    let mut f = 0;
    for (on, bit) in [
        (m.nosuid, libc::ST_NOSUID),
        (m.nodev, libc::ST_NODEV),
        (m.noexec, libc::ST_NOEXEC),
        (m.noatime, libc::ST_NOATIME),
        (m.nodiratime, libc::ST_NODIRATIME),
        (!m.noatime && !m.strictatime, libc::ST_RELATIME),
    ] {
        if on {
            f |= bit as i64;
        }
    }
    f
}

/// The file system facts of `d`, read-only where its mount is.
fn mount_info(d: &Dentry) -> (FsInfo, MountFlags) {
    let mut info = d.inode().fs_info();
    info.read_only = d.read_only();
    (info, d.mount_flags())
}

fn put_statfs(
    t: &Task,
    addr: u64,
    (info, mnt): (FsInfo, MountFlags),
    usage: Option<FsUsage>,
) -> SysResult {
    let u = usage.unwrap_or_default();
    let bsize = match u.bsize {
        0 => 4096,
        b => i64::try_from(b).unwrap_or(4096),
    };
    let s = LinuxStatfs {
        f_type: info.magic,
        f_bsize: bsize,
        f_blocks: u.blocks,
        f_bfree: u.bfree,
        f_bavail: u.bavail,
        f_files: u.files,
        f_ffree: u.ffree,
        f_namelen: 255,
        f_frsize: bsize,
        f_flags: ST_VALID
            | mount_st_flags(&mnt)
            | if info.read_only {
                libc::ST_RDONLY as i64
            } else {
                0
            },
        ..LinuxStatfs::default()
    };
    t.write_struct(addr, &s)?;
    Ok(0)
}

fn statfs(t: &mut Task, a: [u64; 6]) -> SysResult {
    let path = t.read_path(a[0])?;
    let (root, start) = walk_start(t, libc::AT_FDCWD, &path)?;
    let d = walk::lookup(&Ctx::of(t), &root, &start, &path, true)?;
    put_statfs(t, a[1], mount_info(&d), d.inode().usage())
}

/// The file system of an open file without a place in the tree.
const ANON_INODE_FS_MAGIC: i64 = 0x0904_1934;

fn fstatfs(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = t.fds.get(fd_arg(a[0]))?;
    let (info, usage) = match file.dentry() {
        Some(d) => (mount_info(&d), d.inode().usage()),
        None => (
            (
                FsInfo {
                    magic: ANON_INODE_FS_MAGIC,
                    read_only: false,
                },
                MountFlags::default(),
            ),
            None,
        ),
    };
    put_statfs(t, a[1], info, usage)
}
