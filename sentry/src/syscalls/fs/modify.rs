//! The syscalls that change the tree or attributes: mkdir, mknod, symlink,
//! link, unlink, rmdir, rename, chmod, chown, truncate, ftruncate,
//! fallocate, utimensat. Each does the VFS's checks in Linux's order
//! (EFAULT, EINVAL, ENOENT, ENOTDIR, EEXIST, EROFS, EACCES, EPERM for the
//! sticky bit and ownership, EBUSY, EISDIR, EXDEV…), then hands the change
//! to the inode of the directory or file (`vfs::inode::Inode`): tmpfs
//! makes it; the read-only root answers EROFS before that, and the
//! sentry's fixed file systems (devfs, procfs) answer EPERM.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{check_not_path, check_writable, fd_arg, read_path_or_null, umask, walk_start};
use crate::errno::{Errno, SysResult};
use crate::kernel::creds::{CAP_CHOWN, CAP_FSETID, CAP_MKNOD};
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::ctx::Cred;
use crate::vfs::inode::SetAttr;
use crate::vfs::notify;
use crate::vfs::perm::{self, MAY_EXEC, MAY_READ, MAY_WRITE};
use crate::vfs::walk::{self, Found, WalkOpts};
use crate::vfs::{Ctx, Dentry, Stat};

const NOTE: &str =
    "on tmpfs, the overlay root (kept in sandbox memory) and, with --rw-root, the host through the gofer; EPERM on devfs and procfs";

pub(super) fn register(t: &mut Table) {
    use Arg::*;
    let p = Support::Partial;
    t.set(libc::SYS_mkdir, mkdir, p, &[Path, Mode], NOTE);
    t.set(libc::SYS_mkdirat, mkdirat, p, &[Fd, Path, Mode], NOTE);
    t.set(libc::SYS_mknod, mknod, p, &[Path, Mode, Hex], NOTE);
    t.set(libc::SYS_mknodat, mknodat, p, &[Fd, Path, Mode, Hex], NOTE);
    t.set(libc::SYS_symlink, symlink, p, &[Path, Path], NOTE);
    t.set(libc::SYS_symlinkat, symlinkat, p, &[Path, Fd, Path], NOTE);
    t.set(libc::SYS_link, link, p, &[Path, Path], NOTE);
    t.set(
        libc::SYS_linkat,
        linkat,
        p,
        &[Fd, Path, Fd, Path, Hex],
        NOTE,
    );
    t.set(libc::SYS_unlink, unlink, p, &[Path], NOTE);
    t.set(libc::SYS_unlinkat, unlinkat, p, &[Fd, Path, Hex], NOTE);
    t.set(libc::SYS_rmdir, rmdir, p, &[Path], NOTE);
    t.set(libc::SYS_rename, rename, p, &[Path, Path], NOTE);
    t.set(libc::SYS_renameat, renameat, p, &[Fd, Path, Fd, Path], NOTE);
    t.set(
        libc::SYS_renameat2,
        renameat2,
        p,
        &[Fd, Path, Fd, Path, Hex],
        NOTE,
    );
    t.set(libc::SYS_chmod, chmod, p, &[Path, Mode], NOTE);
    t.set(libc::SYS_fchmod, fchmod, p, &[Fd, Mode], NOTE);
    t.set(libc::SYS_fchmodat, fchmodat, p, &[Fd, Path, Mode], NOTE);
    t.set(libc::SYS_chown, chown, p, &[Path, Int, Int], NOTE);
    t.set(libc::SYS_lchown, lchown, p, &[Path, Int, Int], NOTE);
    t.set(libc::SYS_fchown, fchown, p, &[Fd, Int, Int], NOTE);
    t.set(
        libc::SYS_fchownat,
        fchownat,
        p,
        &[Fd, Path, Int, Int, Hex],
        NOTE,
    );
    t.set(libc::SYS_truncate, truncate, p, &[Path, Int], NOTE);
    t.set(libc::SYS_ftruncate, ftruncate, p, &[Fd, Int], NOTE);
    t.set(
        libc::SYS_fallocate,
        fallocate,
        p,
        &[Fd, Hex, Int, Int],
        "tmpfs: mode 0, KEEP_SIZE and PUNCH_HOLE; read-write gofer files: the host file system's modes",
    );
    t.set(
        libc::SYS_utimensat,
        utimensat,
        p,
        &[Fd, Path, Hex, Hex],
        NOTE,
    );
}

/// What the last component of a path is, from its text.
#[derive(Debug, PartialEq, Eq)]
enum Last {
    Normal,
    Dot,
    DotDot,
    Root,
}

fn last_kind(path: &[u8]) -> Last {
    let trimmed = match path.iter().rposition(|&b| b != b'/') {
        Some(i) => &path[..=i],
        None => return Last::Root,
    };
    let name = trimmed.rsplit(|&b| b == b'/').next().unwrap_or_default();
    match name {
        b"." => Last::Dot,
        b".." => Last::DotDot,
        _ => Last::Normal,
    }
}

/// The directory a path's last component is in, and that component if it exists.
struct Parent {
    dir: Arc<Dentry>,
    /// The last component's name.
    name: Vec<u8>,
    last: Last,
    existing: Option<Arc<Dentry>>,
    /// The path ended with a slash.
    slash: bool,
}

/// Resolves everything but the last component of `path` (read at
/// `path_addr`, relative to `dirfd`), then looks the last one up without
/// following it.
fn parent_of(t: &Task, dirfd: i32, path_addr: u64) -> Result<Parent, Errno> {
    let path = t.read_path(path_addr)?;
    let (root, start) = walk_start(t, dirfd, &path)?;
    let ctx = Ctx::of(t);
    let last = last_kind(&path);
    let slash = path.last() == Some(&b'/');
    if last != Last::Normal {
        let d = walk::lookup(&ctx, &root, &start, &path, true)?;
        return Ok(Parent {
            dir: Arc::clone(&d),
            name: d.name().to_vec(),
            last,
            existing: Some(d),
            slash,
        });
    }
    let opts = WalkOpts {
        follow: false,
        allow_missing: true,
        ..WalkOpts::default()
    };
    Ok(match walk::walk(&ctx, &root, &start, &path, opts)? {
        Found::Missing { parent, name, .. } => Parent {
            dir: parent,
            name,
            last,
            existing: None,
            slash,
        },
        Found::Dentry(d) => Parent {
            dir: d.parent().cloned().unwrap_or_else(|| Arc::clone(&d)),
            name: d.name().to_vec(),
            last,
            existing: Some(d),
            slash,
        },
    })
}

/// The current time, for UTIME_NOW and truncate.
fn now() -> (i64, i64) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs() as i64, i64::from(d.subsec_nanos()))
}

/// Linux's may_create on directory `dir`: EROFS, then write and search
/// permission (EACCES).
fn may_create(ctx: &Ctx<'_>, dir: &Dentry) -> Result<(), Errno> {
    if dir.read_only() {
        return Err(Errno::EROFS);
    }
    perm::check(&dir.stat(ctx)?, &ctx.fs_cred(), MAY_WRITE | MAY_EXEC)
}

/// mkdir, mknod, symlink's and link's new name: EEXIST if it exists,
/// ENOENT for a trailing slash on anything but mkdir, then `may_create`,
/// then `make(ctx, dir, name)`.
fn create_at(
    t: &Task,
    dirfd: i32,
    path_addr: u64,
    want_dir: bool,
    make: impl FnOnce(&Ctx<'_>, &Dentry, &[u8]) -> Result<(), Errno>,
) -> SysResult {
    let p = parent_of(t, dirfd, path_addr)?;
    if p.existing.is_some() {
        return Err(Errno::EEXIST);
    }
    if p.slash && !want_dir {
        return Err(Errno::ENOENT);
    }
    let ctx = Ctx::of(t);
    may_create(&ctx, &p.dir)?;
    make(&ctx, &p.dir, &p.name)?;
    notify::created(&p.dir, &p.name, want_dir);
    Ok(0)
}

fn do_mkdir(t: &Task, dirfd: i32, path: u64, mode: u32) -> SysResult {
    let mode = mode & 0o1777 & !umask(t);
    create_at(t, dirfd, path, true, |ctx, dir, name| {
        dir.inode().mkdir(ctx, name, mode)
    })
}

fn mkdir(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_mkdir(t, libc::AT_FDCWD, a[0], a[1] as u32)
}

fn mkdirat(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_mkdir(t, fd_arg(a[0]), a[1], a[2] as u32)
}

fn check_mknod_mode(mode: u32) -> Result<(), Errno> {
    match mode & libc::S_IFMT {
        0 | libc::S_IFREG | libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO | libc::S_IFSOCK => {
            Ok(())
        }
        libc::S_IFDIR => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

/// mknod: a regular file goes through the directory's create; device
/// nodes need root (CAP_MKNOD).
fn do_mknod(t: &Task, dirfd: i32, path: u64, mode: u32, dev: u64) -> SysResult {
    check_mknod_mode(mode)?;
    let kind = match mode & libc::S_IFMT {
        0 => libc::S_IFREG,
        k => k,
    };
    let perms = mode & 0o7777 & !umask(t);
    let rdev = u64::from(dev as u32);
    create_at(t, dirfd, path, false, |ctx, dir, name| {
        if kind == libc::S_IFREG {
            return dir.inode().create(ctx, name, kind | perms).map(|_| ());
        }
        if matches!(kind, libc::S_IFCHR | libc::S_IFBLK) && !ctx.fs_cred().has_cap(CAP_MKNOD) {
            return Err(Errno::EPERM);
        }
        dir.inode().mknod(ctx, name, kind | perms, rdev)
    })
}

fn mknod(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_mknod(t, libc::AT_FDCWD, a[0], a[1] as u32, a[2])
}

fn mknodat(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_mknod(t, fd_arg(a[0]), a[1], a[2] as u32, a[3])
}

fn do_symlink(t: &Task, target: u64, dirfd: i32, path: u64) -> SysResult {
    let target = t.read_path(target)?;
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    create_at(t, dirfd, path, false, |ctx, dir, name| {
        dir.inode().symlink(ctx, name, &target)
    })
}

fn symlink(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_symlink(t, a[0], libc::AT_FDCWD, a[1])
}

fn symlinkat(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_symlink(t, a[0], fd_arg(a[1]), a[2])
}

/// Linux's may_linkat with fs.protected_hardlinks on (every distribution's
/// default): only root or the owner may link a file, or someone who may
/// read and write a regular file that is neither set-user-ID nor an
/// executable set-group-ID one.
fn may_link(st: &Stat, cred: &Cred<'_>) -> Result<(), Errno> {
    if perm::owner_or_root(st, cred) {
        return Ok(());
    }
    let setid = st.mode & libc::S_ISUID != 0
        || st.mode & (libc::S_ISGID | libc::S_IXGRP) == (libc::S_ISGID | libc::S_IXGRP);
    if st.is_regular() && !setid && perm::check(st, cred, MAY_READ | MAY_WRITE).is_ok() {
        return Ok(());
    }
    Err(Errno::EPERM)
}

fn do_link(t: &Task, olddir: i32, old: u64, newdir: i32, new: u64, flags: i32) -> SysResult {
    if flags & !(libc::AT_SYMLINK_FOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let empty_ok = flags & libc::AT_EMPTY_PATH != 0;
    let old_path = read_path_or_null(t, old, empty_ok)?;
    let ctx = Ctx::of(t);
    let src = if old_path.is_empty() && empty_ok {
        t.fds.get(olddir)?.dentry().ok_or(Errno::ENOENT)?
    } else {
        let (root, start) = walk_start(t, olddir, &old_path)?;
        walk::lookup(
            &ctx,
            &root,
            &start,
            &old_path,
            flags & libc::AT_SYMLINK_FOLLOW != 0,
        )?
    };
    let p = parent_of(t, newdir, new)?;
    if p.existing.is_some() {
        return Err(Errno::EEXIST);
    }
    if p.slash {
        return Err(Errno::ENOENT);
    }
    if !Arc::ptr_eq(&src.mount_root(), &p.dir.mount_root()) {
        return Err(Errno::EXDEV);
    }
    let st = src.stat(&ctx)?;
    if st.is_dir() {
        return Err(Errno::EPERM);
    }
    may_create(&ctx, &p.dir)?;
    may_link(&st, &ctx.fs_cred())?;
    p.dir.inode().link(&ctx, &p.name, src.inode())?;
    notify::linked(&p.dir, &p.name, src.inode());
    Ok(0)
}

fn link(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_link(t, libc::AT_FDCWD, a[0], libc::AT_FDCWD, a[1], 0)
}

fn linkat(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_link(t, fd_arg(a[0]), a[1], fd_arg(a[2]), a[3], a[4] as i32)
}

/// unlink and rmdir.
fn remove(t: &Task, dirfd: i32, path: u64, dir: bool) -> SysResult {
    let p = parent_of(t, dirfd, path)?;
    match (&p.last, dir) {
        (Last::Normal, _) => {}
        (Last::Dot, true) => return Err(Errno::EINVAL),
        (Last::DotDot, true) => return Err(Errno::ENOTEMPTY),
        (Last::Root, true) => return Err(Errno::EBUSY),
        (_, false) => return Err(Errno::EISDIR),
    }
    let ro = p.dir.read_only();
    if ro {
        return Err(Errno::EROFS);
    }
    let victim = p.existing.ok_or(Errno::ENOENT)?;
    let ctx = Ctx::of(t);
    let vst = victim.stat(&ctx)?;
    let is_dir = vst.is_dir();
    if !dir && p.slash {
        return Err(if is_dir {
            Errno::EISDIR
        } else {
            Errno::ENOTDIR
        });
    }
    perm::may_delete(&p.dir.stat(&ctx)?, &vst, &ctx.fs_cred())?;
    if dir && !is_dir {
        return Err(Errno::ENOTDIR);
    }
    if !dir && is_dir {
        return Err(Errno::EISDIR);
    }
    if victim.is_mount_root() {
        return Err(Errno::EBUSY);
    }
    if dir {
        p.dir.inode().rmdir(&ctx, &p.name)?;
    } else {
        p.dir.inode().unlink(&ctx, &p.name)?;
    }
    notify::removed(&p.dir, &p.name, victim.inode(), is_dir);
    Ok(0)
}

fn unlink(t: &mut Task, a: [u64; 6]) -> SysResult {
    remove(t, libc::AT_FDCWD, a[0], false)
}

fn unlinkat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[2] as i32;
    if flags & !libc::AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    remove(t, fd_arg(a[0]), a[1], flags & libc::AT_REMOVEDIR != 0)
}

fn rmdir(t: &mut Task, a: [u64; 6]) -> SysResult {
    remove(t, libc::AT_FDCWD, a[0], true)
}

fn do_rename(t: &Task, a: [u64; 6], flags: u32) -> SysResult {
    let known = libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE | libc::RENAME_WHITEOUT;
    if flags & !known != 0
        || (flags & libc::RENAME_EXCHANGE != 0
            && flags & (libc::RENAME_NOREPLACE | libc::RENAME_WHITEOUT) != 0)
    {
        return Err(Errno::EINVAL);
    }
    let exchange = flags & libc::RENAME_EXCHANGE != 0;
    let old = parent_of(t, fd_arg(a[0]), a[1])?;
    let new = parent_of(t, fd_arg(a[2]), a[3])?;
    if !Arc::ptr_eq(&old.dir.mount_root(), &new.dir.mount_root()) {
        return Err(Errno::EXDEV);
    }
    if old.last != Last::Normal || new.last != Last::Normal {
        return Err(Errno::EBUSY);
    }
    if old.dir.read_only() {
        return Err(Errno::EROFS);
    }
    let src = old.existing.ok_or(Errno::ENOENT)?;
    if flags & libc::RENAME_NOREPLACE != 0 && new.existing.is_some() {
        return Err(Errno::EEXIST);
    }
    if exchange && new.existing.is_none() {
        return Err(Errno::ENOENT);
    }
    let ctx = Ctx::of(t);
    let cred = ctx.fs_cred();
    let sst = src.stat(&ctx)?;
    if !sst.is_dir() && (old.slash || (!exchange && new.slash)) {
        return Err(Errno::ENOTDIR);
    }
    let old_dir_st = old.dir.stat(&ctx)?;
    let new_dir_st = new.dir.stat(&ctx)?;
    perm::may_delete(&old_dir_st, &sst, &cred)?;
    match &new.existing {
        Some(dst) => perm::may_delete(&new_dir_st, &dst.stat(&ctx)?, &cred)?,
        None => perm::check(&new_dir_st, &cred, MAY_WRITE | MAY_EXEC)?,
    }
    // A directory changing parents has its ".." rewritten.
    let moves = (old_dir_st.dev, old_dir_st.ino) != (new_dir_st.dev, new_dir_st.ino);
    if sst.is_dir() && moves {
        perm::check(&sst, &cred, MAY_WRITE)?;
    }
    if src.is_mount_root() || new.existing.as_ref().is_some_and(|d| d.is_mount_root()) {
        return Err(Errno::EBUSY);
    }
    // Mounts below a directory stay where the dentry tree has them: moving
    // it would leave them behind (Linux moves them along).
    if !src.submounts().is_empty()
        || new
            .existing
            .as_ref()
            .is_some_and(|d| !d.submounts().is_empty())
    {
        return Err(Errno::EBUSY);
    }
    old.dir
        .inode()
        .rename(&ctx, &old.name, new.dir.inode(), &new.name, flags)?;
    notify::renamed(
        &old.dir,
        &old.name,
        &new.dir,
        &new.name,
        src.inode(),
        new.existing.as_ref().map(|d| d.inode()),
        exchange,
    );
    Ok(0)
}

fn rename(t: &mut Task, a: [u64; 6]) -> SysResult {
    let at = libc::AT_FDCWD as u64;
    do_rename(t, [at, a[0], at, a[1], 0, 0], 0)
}

fn renameat(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_rename(t, a, 0)
}

fn renameat2(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_rename(t, a, a[4] as u32)
}

/// Works out an attribute change from the file's attributes and the
/// caller, checking the caller may make it.
type Prepare<'a> = &'a dyn Fn(&Stat, &Cred<'_>) -> Result<SetAttr, Errno>;

/// Applies a change to `d`: EROFS, then `prep`'s checks, then the inode.
fn apply(t: &Task, d: &Dentry, prep: Prepare<'_>) -> SysResult {
    if d.read_only() {
        return Err(Errno::EROFS);
    }
    let ctx = Ctx::of(t);
    let attr = prep(&d.stat(&ctx)?, &ctx.fs_cred())?;
    d.inode().setattr(&ctx, &attr)?;
    notify::attr_changed(d, &attr);
    Ok(0)
}

/// chmod, chown, utimensat on a path.
fn change_path(t: &Task, dirfd: i32, path_addr: u64, flags: i32, prep: Prepare<'_>) -> SysResult {
    let empty_ok = flags & libc::AT_EMPTY_PATH != 0;
    let path = read_path_or_null(t, path_addr, empty_ok)?;
    let d = if path.is_empty() && empty_ok {
        t.fds.get(dirfd)?.dentry().ok_or(Errno::EPERM)?
    } else {
        let (root, start) = walk_start(t, dirfd, &path)?;
        walk::lookup(
            &Ctx::of(t),
            &root,
            &start,
            &path,
            flags & libc::AT_SYMLINK_NOFOLLOW == 0,
        )?
    };
    apply(t, &d, prep)
}

/// fchmod, fchown, futimens on an fd.
fn change_fd(t: &Task, fd: u64, prep: Prepare<'_>) -> SysResult {
    let file = t.fds.get(fd_arg(fd))?;
    check_not_path(&*file)?;
    match file.dentry() {
        Some(d) => apply(t, &d, prep),
        None => Err(Errno::EPERM),
    }
}

/// chmod: the owner or CAP_FOWNER only; a non-member of the file's group
/// cannot set its set-group-ID bit without CAP_FSETID.
fn chmod_to(mode: u32) -> impl Fn(&Stat, &Cred<'_>) -> Result<SetAttr, Errno> {
    move |st, cred| {
        if !perm::owner_or_root(st, cred) {
            return Err(Errno::EPERM);
        }
        let mut mode = mode & 0o7777;
        if !cred.has_cap(CAP_FSETID) && !cred.in_group(st.gid) {
            mode &= !libc::S_ISGID;
        }
        Ok(SetAttr {
            mode: Some(mode),
            ..SetAttr::default()
        })
    }
}

fn chmod(t: &mut Task, a: [u64; 6]) -> SysResult {
    change_path(t, libc::AT_FDCWD, a[0], 0, &chmod_to(a[1] as u32))
}

fn fchmod(t: &mut Task, a: [u64; 6]) -> SysResult {
    change_fd(t, a[0], &chmod_to(a[1] as u32))
}

fn fchmodat(t: &mut Task, a: [u64; 6]) -> SysResult {
    change_path(t, fd_arg(a[0]), a[1], 0, &chmod_to(a[2] as u32))
}

/// chown (-1 leaves an id alone): CAP_CHOWN gives a file to anyone; its
/// owner may only change its group, to one of theirs. A non-directory
/// loses its set-user-ID bit, and its set-group-ID bit when group-executable.
fn chown_to(uid: u32, gid: u32) -> impl Fn(&Stat, &Cred<'_>) -> Result<SetAttr, Errno> {
    move |st, cred| {
        let uid = (uid != u32::MAX).then_some(uid);
        let gid = (gid != u32::MAX).then_some(gid);
        let root = cred.has_cap(CAP_CHOWN);
        let owner = cred.uid == st.uid;
        if uid.is_some_and(|u| !(root || (owner && u == st.uid))) {
            return Err(Errno::EPERM);
        }
        if gid.is_some_and(|g| !(root || (owner && (g == st.gid || cred.in_group(g))))) {
            return Err(Errno::EPERM);
        }
        let mut mode = st.mode & 0o7777;
        if !st.is_dir() {
            mode &= !libc::S_ISUID;
            if mode & libc::S_IXGRP != 0 {
                mode &= !libc::S_ISGID;
            }
        }
        Ok(SetAttr {
            uid,
            gid,
            mode: (mode != st.mode & 0o7777).then_some(mode),
            ..SetAttr::default()
        })
    }
}

fn chown(t: &mut Task, a: [u64; 6]) -> SysResult {
    let prep = chown_to(a[1] as u32, a[2] as u32);
    change_path(t, libc::AT_FDCWD, a[0], 0, &prep)
}

fn lchown(t: &mut Task, a: [u64; 6]) -> SysResult {
    let prep = chown_to(a[1] as u32, a[2] as u32);
    change_path(t, libc::AT_FDCWD, a[0], libc::AT_SYMLINK_NOFOLLOW, &prep)
}

fn fchown(t: &mut Task, a: [u64; 6]) -> SysResult {
    change_fd(t, a[0], &chown_to(a[1] as u32, a[2] as u32))
}

fn fchownat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[4] as i32;
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let prep = chown_to(a[2] as u32, a[3] as u32);
    change_path(t, fd_arg(a[0]), a[1], flags, &prep)
}

fn truncate(t: &mut Task, a: [u64; 6]) -> SysResult {
    let len = a[1] as i64;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let path = t.read_path(a[0])?;
    let (root, start) = walk_start(t, libc::AT_FDCWD, &path)?;
    let ctx = Ctx::of(t);
    let d = walk::lookup(&ctx, &root, &start, &path, true)?;
    let st = d.stat(&ctx)?;
    if st.is_dir() {
        return Err(Errno::EISDIR);
    }
    if !st.is_regular() {
        return Err(Errno::EINVAL);
    }
    apply(t, &d, &|st, cred| {
        perm::check(st, cred, MAY_WRITE)?;
        let t = now();
        Ok(SetAttr {
            size: Some(len as u64),
            mtime: Some(t),
            ..SetAttr::default()
        })
    })
}

fn ftruncate(t: &mut Task, a: [u64; 6]) -> SysResult {
    let len = a[1] as i64;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let file = t.fds.get(fd_arg(a[0]))?;
    check_not_path(&*file)?;
    if check_writable(&*file).is_err() {
        return Err(Errno::EINVAL);
    }
    file.truncate(len as u64)?;
    notify::file_event(&*file, libc::IN_MODIFY);
    Ok(0)
}

/// The FALLOC_FL_* bits Linux knows.
const FALLOC_KNOWN: i32 = libc::FALLOC_FL_KEEP_SIZE
    | libc::FALLOC_FL_PUNCH_HOLE
    | libc::FALLOC_FL_COLLAPSE_RANGE
    | libc::FALLOC_FL_ZERO_RANGE
    | libc::FALLOC_FL_INSERT_RANGE
    | libc::FALLOC_FL_UNSHARE_RANGE;

/// fallocate: Linux's vfs_fallocate checks, then the file's own.
fn fallocate(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (fd, mode, off, len) = (fd_arg(a[0]), a[1] as i32, a[2] as i64, a[3] as i64);
    let file = t.fds.get(fd)?;
    check_not_path(&*file)?;
    if off < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if mode & !FALLOC_KNOWN != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if mode & libc::FALLOC_FL_PUNCH_HOLE != 0 && mode & libc::FALLOC_FL_KEEP_SIZE == 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    check_writable(&*file)?;
    let st = file.stat()?;
    match st.file_type() {
        libc::S_IFIFO => return Err(Errno::ESPIPE),
        libc::S_IFDIR => return Err(Errno::EISDIR),
        libc::S_IFREG | libc::S_IFBLK => {}
        _ => return Err(Errno::ENODEV),
    }
    if off.checked_add(len).is_none() {
        return Err(Errno::EFBIG);
    }
    file.allocate(mode, off as u64, len as u64)?;
    notify::file_event(&*file, libc::IN_MODIFY);
    Ok(0)
}

/// UTIME_NOW and UTIME_OMIT, the tv_nsec values besides 0..1e9.
const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;

/// utimensat's times: None for "now" on both (a NULL pointer).
type Times = Option<[(i64, i64); 2]>;

/// The change utimensat makes: setting both times to now needs ownership
/// or write permission (EACCES); any explicit time needs ownership (EPERM).
fn utimes_to(times: Times) -> impl Fn(&Stat, &Cred<'_>) -> Result<SetAttr, Errno> {
    move |st, cred| {
        let t = now();
        let resolve = |v: (i64, i64)| match v.1 {
            UTIME_OMIT => None,
            UTIME_NOW => Some(t),
            _ => Some(v),
        };
        let touch = times.is_none_or(|ts| ts.iter().all(|v| v.1 == UTIME_NOW));
        if !perm::owner_or_root(st, cred) {
            if !touch {
                return Err(Errno::EPERM);
            }
            perm::check(st, cred, MAY_WRITE)?;
        }
        let [at, mt] = times.unwrap_or([(0, UTIME_NOW), (0, UTIME_NOW)]);
        Ok(SetAttr {
            atime: resolve(at),
            mtime: resolve(mt),
            ..SetAttr::default()
        })
    }
}

fn utimensat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (dirfd, path, times_addr, flags) = (fd_arg(a[0]), a[1], a[2], a[3] as i32);
    let mut times: Times = None;
    if times_addr != 0 {
        let mut raw = [0u8; 32];
        t.mm.copy_in(times_addr, &mut raw)?;
        let mut ts = [(0i64, 0i64); 2];
        for (half, out) in raw.chunks_exact(16).zip(ts.iter_mut()) {
            let mut sec = [0u8; 8];
            let mut nsec = [0u8; 8];
            sec.copy_from_slice(&half[..8]);
            nsec.copy_from_slice(&half[8..]);
            *out = (i64::from_ne_bytes(sec), i64::from_ne_bytes(nsec));
        }
        // Nothing to do: not even the path is looked at.
        if ts.iter().all(|v| v.1 == UTIME_OMIT) {
            return Ok(0);
        }
        for &(_, nsec) in &ts {
            if nsec != UTIME_NOW && nsec != UTIME_OMIT && !(0..1_000_000_000).contains(&nsec) {
                return Err(Errno::EINVAL);
            }
        }
        times = Some(ts);
    }
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let prep = utimes_to(times);
    if path == 0 {
        // futimens: the fd itself.
        if dirfd == libc::AT_FDCWD {
            return Err(Errno::EFAULT);
        }
        return change_fd(t, dirfd as u64, &prep);
    }
    change_path(t, dirfd, path, flags, &prep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_component_kinds() {
        assert_eq!(last_kind(b"/"), Last::Root);
        assert_eq!(last_kind(b"///"), Last::Root);
        assert_eq!(last_kind(b"a/."), Last::Dot);
        assert_eq!(last_kind(b".."), Last::DotDot);
        assert_eq!(last_kind(b"a/../"), Last::DotDot);
        assert_eq!(last_kind(b"a/b/"), Last::Normal);
        assert_eq!(last_kind(b"...."), Last::Normal);
    }

    fn file(mode: u32, uid: u32, gid: u32) -> Stat {
        Stat {
            mode: libc::S_IFREG | mode,
            uid,
            gid,
            ..Stat::default()
        }
    }

    fn user(uid: u32, gid: u32, groups: &[u32]) -> Cred<'_> {
        Cred {
            uid,
            gid,
            groups,
            caps: 0,
        }
    }

    #[test]
    fn only_the_owner_or_root_may_chmod() {
        let st = file(0o644, 7, 7);
        assert_eq!(chmod_to(0o600)(&st, &user(8, 8, &[])), Err(Errno::EPERM));
        assert_eq!(
            chmod_to(0o600)(&st, &user(7, 7, &[])).unwrap().mode,
            Some(0o600)
        );
        assert_eq!(chmod_to(0o600)(&st, &Cred::ROOT).unwrap().mode, Some(0o600));
    }

    #[test]
    fn chmod_by_a_non_member_drops_set_group_id() {
        let st = file(0o644, 7, 9);
        let attr = chmod_to(0o2755)(&st, &user(7, 7, &[])).unwrap();
        assert_eq!(attr.mode, Some(0o755));
        let attr = chmod_to(0o2755)(&st, &user(7, 7, &[9])).unwrap();
        assert_eq!(attr.mode, Some(0o2755));
    }

    #[test]
    fn owners_may_only_change_the_group_to_their_own() {
        let st = file(0o644, 7, 7);
        let me = user(7, 7, &[20]);
        assert_eq!(chown_to(8, u32::MAX)(&st, &me), Err(Errno::EPERM));
        assert_eq!(chown_to(u32::MAX, 21)(&st, &me), Err(Errno::EPERM));
        assert_eq!(chown_to(u32::MAX, 20)(&st, &me).unwrap().gid, Some(20));
        assert_eq!(chown_to(7, 7)(&st, &me).unwrap().uid, Some(7));
        assert_eq!(chown_to(0, 0)(&st, &user(8, 8, &[])), Err(Errno::EPERM));
        assert_eq!(chown_to(8, 8)(&st, &Cred::ROOT).unwrap().uid, Some(8));
    }

    #[test]
    fn chown_clears_set_user_id_and_executable_set_group_id() {
        let st = file(0o6755, 7, 7);
        let attr = chown_to(u32::MAX, u32::MAX)(&st, &Cred::ROOT).unwrap();
        assert_eq!(attr.mode, Some(0o755));
        let plain = file(0o644, 7, 7);
        assert_eq!(chown_to(1, 1)(&plain, &Cred::ROOT).unwrap().mode, None);
    }

    #[test]
    fn explicit_times_need_ownership_and_touching_needs_write() {
        let st = file(0o666, 7, 7);
        let other = user(8, 8, &[]);
        let explicit = Some([(1, 0), (2, 0)]);
        assert_eq!(utimes_to(explicit)(&st, &other), Err(Errno::EPERM));
        let attr = utimes_to(explicit)(&st, &user(7, 7, &[])).unwrap();
        assert_eq!((attr.atime, attr.mtime), (Some((1, 0)), Some((2, 0))));
        assert!(utimes_to(None)(&st, &other).is_ok());
        let now = Some([(0, UTIME_NOW), (0, UTIME_NOW)]);
        assert!(utimes_to(now)(&st, &other).is_ok());
        let closed = file(0o644, 7, 7);
        assert_eq!(utimes_to(None)(&closed, &other), Err(Errno::EACCES));
        let omit = utimes_to(Some([(0, UTIME_OMIT), (5, 0)]))(&st, &Cred::ROOT).unwrap();
        assert_eq!((omit.atime, omit.mtime), (None, Some((5, 0))));
    }

    #[test]
    fn protected_hardlinks_need_ownership_or_read_write() {
        let other = user(8, 8, &[]);
        assert_eq!(may_link(&file(0o644, 7, 7), &other), Err(Errno::EPERM));
        assert_eq!(may_link(&file(0o666, 7, 7), &other), Ok(()));
        assert_eq!(may_link(&file(0o4666, 7, 7), &other), Err(Errno::EPERM));
        assert_eq!(may_link(&file(0o600, 7, 7), &user(7, 7, &[])), Ok(()));
    }
}
