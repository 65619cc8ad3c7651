//! mount and umount2: the app changing the sandbox's mount table
//! (`vfs::mount`). New mounts of the sentry's own file systems (tmpfs,
//! proc, sysfs), bind mounts of a file or directory (MS_REC copies the
//! mounts below), MS_REMOUNT (and MS_REMOUNT|MS_BIND) changing a mount's
//! flags, MS_MOVE, the propagation flags (accepted, no-ops: there is one table and
//! nothing to propagate to); umount2 with MNT_DETACH, MNT_FORCE and
//! UMOUNT_NOFOLLOW. Errors in Linux's order: EFAULT for the strings, the
//! target's walk, EPERM without CAP_SYS_ADMIN, then each operation's own.
//!
//! Where it differs from Linux: one mount table for the whole sandbox
//! (unshare(CLONE_NEWNS) shares it); MS_MOVE re-makes the mount (files
//! open in it keep their old paths); a plain
//! MS_REMOUNT's read-only state belongs to the mount, not to the file
//! system its binds share; a mount stacked on another hides it from
//! /proc/PID/mounts until unmounted; renaming a directory with mounts
//! below it is EBUSY; the tree's root cannot be mounted over (EBUSY).
//!
//! | module       | owns                                             |
//! |--------------|--------------------------------------------------|
//! | `tmpfs_opts` | parsing tmpfs's option string (pure)             |

mod tmpfs_opts;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::fs::lookup_path;
use crate::errno::{Errno, SysResult};
use crate::fsimpl;
use crate::kernel::creds::CAP_SYS_ADMIN;
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::inode::{Inode, SetAttr};
use crate::vfs::mount::{self, Made, MountFlags, MountState};
use crate::vfs::{Ctx, Dentry};

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_mount,
        mount,
        Support::Partial,
        &[Path, Path, Path, Hex, Hex],
        "new tmpfs, proc and sysfs mounts, bind mounts (MS_REC), MS_REMOUNT \
         (|MS_BIND); ro, nosuid, nodev and noexec (execve, mmap) applied; \
         MS_MOVE; propagation flags are no-ops; one mount table per sandbox",
    );
    t.set(
        libc::SYS_umount2,
        umount2,
        Support::Partial,
        &[Path, Hex],
        "MNT_DETACH, UMOUNT_NOFOLLOW; MNT_FORCE is a plain umount (as for \
         tmpfs); MNT_EXPIRE is always EAGAIN",
    );
}

/// Longest mount(2) string (type, source): PATH_MAX with its NUL.
const STRING_MAX: usize = libc::PATH_MAX as usize - 1;
/// mount(2)'s options: at most a page, NUL included.
const DATA_MAX: usize = 4095;

/// The first device minor number for file systems mount(2) makes (past
/// the sentry's fixed ones).
static NEXT_DEV: AtomicU64 = AtomicU64::new(64);

/// A device number for a new anonymous file system (a tmpfs).
pub(crate) fn next_dev() -> u64 {
    NEXT_DEV.fetch_add(1, Ordering::Relaxed)
}

/// A mount(2) string argument: None for NULL, EFAULT, EINVAL when too long.
fn opt_string(t: &Task, addr: u64, max: usize) -> Result<Option<Vec<u8>>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    match t.mm.read_cstring(addr, max) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e == Errno::ENAMETOOLONG => Err(Errno::EINVAL),
        Err(e) => Err(e),
    }
}

/// mount(2)'s data: a page at most, cut there as Linux's copy does.
fn read_data(t: &Task, addr: u64) -> Result<Option<Vec<u8>>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    match t.mm.read_cstring(addr, DATA_MAX) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e == Errno::ENAMETOOLONG => {
            let mut buf = vec![0u8; DATA_MAX];
            t.mm.copy_in(addr, &mut buf)?;
            Ok(Some(buf))
        }
        Err(e) => Err(e),
    }
}

/// Whether `d` is the root of a mount (what remount and the propagation
/// flags need: Linux's path_mounted).
fn mounted(t: &Task, d: &Arc<Dentry>) -> bool {
    d.is_mount() || Arc::ptr_eq(d, t.kernel.vfs.root())
}

fn mount(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fstype = opt_string(t, a[2], STRING_MAX)?;
    let source = opt_string(t, a[0], STRING_MAX)?;
    let data = read_data(t, a[4])?;
    let mut flags = a[3];
    if flags & libc::MS_MGC_MSK == libc::MS_MGC_VAL {
        flags &= !libc::MS_MGC_MSK;
    }
    let target = t.read_path(a[1])?;
    let point = lookup_path(t, &target, true)?;
    if flags & libc::MS_NOUSER != 0 {
        return Err(Errno::EINVAL);
    }
    if !t.creds.has_cap(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let remount = flags & libc::MS_REMOUNT != 0;
    let bind = flags & libc::MS_BIND != 0;
    let propagation = libc::MS_SHARED | libc::MS_PRIVATE | libc::MS_SLAVE | libc::MS_UNBINDABLE;
    if remount {
        return reconfigure(t, &point, flags, data.as_deref(), bind);
    }
    if bind {
        let rec = flags & libc::MS_REC != 0;
        return bind_mount(t, &point, source.as_deref(), rec);
    }
    if flags & propagation != 0 {
        let kind = flags & !(libc::MS_REC | libc::MS_SILENT);
        if !mounted(t, &point) || !kind.is_power_of_two() || kind & propagation == 0 {
            return Err(Errno::EINVAL);
        }
        return Ok(0);
    }
    if flags & libc::MS_MOVE != 0 {
        return move_mount(t, &point, source.as_deref());
    }
    new_mount(t, &point, fstype, source, flags, data.as_deref())
}

/// The access-time flags a remount keeps when it names none.
fn keep_atime(mut new: MountFlags, old: MountFlags, flags: u64) -> MountFlags {
    let atime = libc::MS_NOATIME | libc::MS_NODIRATIME | libc::MS_RELATIME | libc::MS_STRICTATIME;
    if flags & atime == 0 {
        new.noatime = old.noatime;
        new.nodiratime = old.nodiratime;
        new.strictatime = old.strictatime;
    }
    new
}

/// MS_REMOUNT (with MS_BIND: the mount's flags only): EINVAL unless the
/// target is a mount's root; a tmpfs's options are checked (EINVAL) and
/// "ro" among them counts.
fn reconfigure(
    t: &Task,
    point: &Arc<Dentry>,
    flags: u64,
    data: Option<&[u8]>,
    bind: bool,
) -> SysResult {
    if !mounted(t, point) {
        return Err(Errno::EINVAL);
    }
    let mut new = MountFlags::from_ms(flags);
    if !bind && point.inode().fs_info().magic == fsimpl::tmpfs::MAGIC {
        let o = tmpfs_opts::parse(data.unwrap_or_default(), 0)?;
        new.sb_read_only |= o.read_only;
    }
    point.set_mount_state(|s| {
        if bind {
            // The file system's read-only state stays.
            new.sb_read_only = s.flags.sb_read_only;
        }
        s.flags = keep_atime(new, s.flags, flags);
    });
    Ok(0)
}

/// How a mount made from `state` shows: its own description if mount(2)
/// made it (covering nothing new), else the file system's; `rel` is where
/// the new mount's root is below that mount's root ("/" for the root).
fn made_like(state: &MountState, rel: &[u8]) -> Made {
    match &state.made {
        Some(m) => Made {
            covered: None,
            root: mount::join_root(&m.root, rel),
            ..(**m).clone()
        },
        None => Made {
            fstype: String::new(),
            source: Vec::new(),
            super_opts: String::new(),
            root: rel.to_vec(),
            covered: None,
        },
    }
}

/// MS_BIND: `source` (EINVAL when NULL or empty; its walk's errors) shown
/// at `point` with its mount's flags; ENOTDIR when one is a directory and
/// the other not; `rec` brings the mounts below `source` along (as they
/// were before this one was made). ENOSPC past the sandbox's mount limit.
fn bind_mount(t: &Task, point: &Arc<Dentry>, source: Option<&[u8]>, rec: bool) -> SysResult {
    let source = source.filter(|s| !s.is_empty()).ok_or(Errno::EINVAL)?;
    let src = lookup_path(t, source, true)?;
    let ctx = Ctx::of(t);
    if point.stat(&ctx)?.is_dir() != src.stat(&ctx)?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let plan = if rec {
        mount::tree_below(&src)
    } else {
        Vec::new()
    };
    if mount::count(t.kernel.vfs.root()) + 1 + plan.len() > mount::MAX_MOUNTS {
        return Err(Errno::ENOSPC);
    }
    let state = src.mount_of_state();
    let rel = src.path_from(&src.mount_root()).0;
    let m = mount::attach(
        point,
        Arc::clone(src.inode()),
        state.flags,
        made_like(&state, &rel),
    )?;
    if let Err(e) = copy_submounts(&m, &plan) {
        let _ = mount::detach(&m, true, 1);
        return Err(e);
    }
    Ok(0)
}

/// Makes the mounts of `plan` (from `mount::tree_below`) below `top`, each
/// at its place below the copy of its parent.
fn copy_submounts(top: &Arc<Dentry>, plan: &[mount::Below]) -> Result<(), Errno> {
    let k = Ctx::kernel();
    let mut made: Vec<Arc<Dentry>> = Vec::with_capacity(plan.len());
    for b in plan {
        let mut point = match b.parent {
            Some(i) => Arc::clone(made.get(i).ok_or(Errno::EINVAL)?),
            None => Arc::clone(top),
        };
        for name in b.rel.split(|&c| c == b'/').filter(|n| !n.is_empty()) {
            point = point.lookup_child(&k, name)?;
        }
        let state = b.mount.mount_state();
        let copy = mount::attach(
            &point,
            Arc::clone(b.mount.inode()),
            state.flags,
            made_like(&state, b"/"),
        )?;
        made.push(copy);
    }
    Ok(())
}

/// MS_MOVE: the mount at `source` (EINVAL when NULL, empty or not a
/// mount's root) moves to `point` with the mounts below it; ENOTDIR when
/// one is a directory and the other not; ELOOP when `point` is inside it.
/// Files already open in it keep their old paths.
fn move_mount(t: &Task, point: &Arc<Dentry>, source: Option<&[u8]>) -> SysResult {
    let source = source.filter(|s| !s.is_empty()).ok_or(Errno::EINVAL)?;
    let src = lookup_path(t, source, true)?;
    if !src.is_mount() {
        return Err(Errno::EINVAL);
    }
    let ctx = Ctx::of(t);
    if point.stat(&ctx)?.is_dir() != src.stat(&ctx)?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if point.is_below(&src) {
        return Err(Errno::ELOOP);
    }
    let plan = mount::tree_below(&src);
    let state = src.mount_state();
    let inode = Arc::clone(src.inode());
    mount::detach(&src, true, 1)?;
    let m = mount::attach(point, inode, state.flags, made_like(&state, b"/"))?;
    copy_submounts(&m, &plan)?;
    Ok(0)
}

/// A new mount of file system `fstype` (EINVAL when NULL; ENODEV when not
/// one the sentry has) on the directory `point` (ENOTDIR otherwise).
fn new_mount(
    t: &Task,
    point: &Arc<Dentry>,
    fstype: Option<Vec<u8>>,
    source: Option<Vec<u8>>,
    flags: u64,
    data: Option<&[u8]>,
) -> SysResult {
    let fstype = fstype.ok_or(Errno::EINVAL)?;
    let mut mflags = MountFlags::from_ms(flags);
    let (inode, super_opts): (Arc<dyn Inode>, String) = match fstype.as_slice() {
        b"tmpfs" => {
            let ram = fsimpl::tmpfs::host_ram().unwrap_or(0);
            let o = tmpfs_opts::parse(data.unwrap_or_default(), ram)?;
            mflags.sb_read_only |= o.read_only;
            (new_tmpfs(t, &o)?, o.shown())
        }
        b"proc" => (fsimpl::proc::new(), String::new()),
        b"sysfs" => (
            fsimpl::sys::new(crate::kernel::kernel::host_cpus()),
            String::new(),
        ),
        _ => return Err(Errno::ENODEV),
    };
    if !point.stat(&Ctx::of(t))?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if mount::count(t.kernel.vfs.root()) + 1 > mount::MAX_MOUNTS {
        return Err(Errno::ENOSPC);
    }
    let made = Made {
        fstype: String::from_utf8_lossy(&fstype).into_owned(),
        source: source.unwrap_or_else(|| b"none".to_vec()),
        super_opts,
        root: b"/".to_vec(),
        covered: None,
    };
    mount::attach(point, inode, mflags, made)?;
    Ok(0)
}

/// A fresh tmpfs as `o` asks.
fn new_tmpfs(t: &Task, o: &tmpfs_opts::TmpfsOpts) -> Result<Arc<dyn Inode>, Errno> {
    let dev = NEXT_DEV.fetch_add(1, Ordering::Relaxed);
    let mode = o.mode.unwrap_or(0o1777);
    let root = fsimpl::tmpfs::new_sized(Arc::clone(&t.kernel.memfile), dev, mode, o.size);
    if o.uid.is_some() || o.gid.is_some() {
        let attr = SetAttr {
            uid: o.uid,
            gid: o.gid,
            ..SetAttr::default()
        };
        root.setattr(&Ctx::kernel(), &attr)?;
    }
    Ok(root)
}

/// umount2's flags.
const MNT_FORCE: i32 = 1;
const MNT_DETACH: i32 = 2;
const MNT_EXPIRE: i32 = 4;
const UMOUNT_NOFOLLOW: i32 = 8;

fn umount2(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[1] as i32;
    if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let target = t.read_path(a[0])?;
    let m = lookup_path(t, &target, flags & UMOUNT_NOFOLLOW == 0)?;
    if !t.creds.has_cap(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    if !m.is_mount() {
        return Err(Errno::EINVAL);
    }
    if flags & MNT_EXPIRE != 0 {
        if flags & (MNT_FORCE | MNT_DETACH) != 0 {
            return Err(Errno::EINVAL);
        }
        return Err(Errno::EAGAIN);
    }
    mount::detach(&m, flags & MNT_DETACH != 0, 1)?;
    Ok(0)
}
