//! open(2)'s semantics over the walk: O_PATH, O_CREAT/O_EXCL (creating
//! through the parent's inode when the name is missing), O_NOFOLLOW,
//! O_DIRECTORY, the access mode against the file type (EISDIR), the
//! read-only file system (EROFS) and permissions (EACCES), in Linux's
//! order; then the directory, O_PATH or file system's own file.

use std::sync::Arc;

use super::ctx::Ctx;
use super::dentry::Dentry;
use super::dirfile::{DirFile, PathFile};
use super::file::FileDescription;
use super::notify;
use super::perm::{self, MAY_EXEC, MAY_READ, MAY_WRITE};
use super::stat::Stat;
use super::walk::{self, Found, Resolve, WalkOpts};
use crate::errno::Errno;

/// The MAY_* access `flags` ask for (O_TRUNC asks for write).
pub fn access_of(flags: i32) -> u32 {
    let mut want = match flags & libc::O_ACCMODE {
        libc::O_RDONLY => MAY_READ,
        libc::O_WRONLY => MAY_WRITE,
        _ => MAY_READ | MAY_WRITE,
    };
    if flags & libc::O_TRUNC != 0 {
        want |= MAY_WRITE;
    }
    want
}

/// Linux's may_open: whether `d` (already found, not a symlink unless
/// refused here) may be opened with `flags`.
pub fn may_open(ctx: &Ctx<'_>, d: &Arc<Dentry>, st: &Stat, flags: i32) -> Result<(), Errno> {
    let want = access_of(flags);
    match st.file_type() {
        libc::S_IFLNK => return Err(Errno::ELOOP),
        libc::S_IFDIR if want & MAY_WRITE != 0 => return Err(Errno::EISDIR),
        _ => {}
    }
    if matches!(st.file_type(), libc::S_IFCHR | libc::S_IFBLK) && d.mount_flags().nodev {
        return Err(Errno::EACCES);
    }
    let ro = d.read_only();
    let data = st.is_regular() || st.is_dir() || st.is_symlink();
    if want & MAY_WRITE != 0 && ro && data {
        return Err(Errno::EROFS);
    }
    perm::check(st, &ctx.fs_cred(), want)
}

/// Opens `path` (from `start`, or `root` if absolute) with open(2) `flags`
/// (a file O_CREAT makes gets no permission bits: see `open_mode`).
pub fn open(
    ctx: &Ctx<'_>,
    root: &Arc<Dentry>,
    start: &Arc<Dentry>,
    path: &[u8],
    flags: i32,
) -> Result<Arc<dyn FileDescription>, Errno> {
    open_mode(ctx, root, start, path, flags, 0)
}

/// `open` with the permission bits `mode` (umask already applied) for a
/// file O_CREAT makes.
pub fn open_mode(
    ctx: &Ctx<'_>,
    root: &Arc<Dentry>,
    start: &Arc<Dentry>,
    path: &[u8],
    flags: i32,
    mode: u32,
) -> Result<Arc<dyn FileDescription>, Errno> {
    open_resolve(ctx, root, start, path, flags, mode, Resolve::NONE)
}

/// `open_mode` with openat2's RESOLVE_* restrictions on the walk.
pub fn open_resolve(
    ctx: &Ctx<'_>,
    root: &Arc<Dentry>,
    start: &Arc<Dentry>,
    path: &[u8],
    flags: i32,
    mode: u32,
    resolve: Resolve,
) -> Result<Arc<dyn FileDescription>, Errno> {
    let follow = flags & libc::O_NOFOLLOW == 0;
    let opts = WalkOpts {
        follow,
        allow_missing: false,
        resolve,
    };
    if flags & libc::O_PATH != 0 {
        let d = walk::lookup_with(ctx, root, start, path, opts)?;
        if flags & libc::O_DIRECTORY != 0 && !d.stat(ctx)?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        return Ok(PathFile::new(d, flags));
    }
    if flags & TMPFILE_BIT != 0 {
        return open_tmpfile(ctx, root, start, path, flags, mode, opts);
    }
    let creat = flags & libc::O_CREAT != 0;
    if creat && flags & libc::O_DIRECTORY != 0 {
        return Err(Errno::EINVAL);
    }
    let d = if creat {
        let excl = flags & libc::O_EXCL != 0;
        let opts = WalkOpts {
            follow: follow && !excl,
            allow_missing: true,
            resolve,
        };
        match walk::walk(ctx, root, start, path, opts)? {
            Found::Missing {
                parent,
                name,
                must_dir,
            } => {
                if must_dir {
                    return Err(Errno::EISDIR);
                }
                return create(ctx, &parent, &name, flags, mode);
            }
            Found::Dentry(d) => {
                if excl {
                    return Err(Errno::EEXIST);
                }
                if d.stat(ctx)?.is_dir() {
                    return Err(Errno::EISDIR);
                }
                d
            }
        }
    } else {
        walk::lookup_with(ctx, root, start, path, opts)?
    };
    let st = d.stat(ctx)?;
    if flags & libc::O_DIRECTORY != 0 && !st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    may_open(ctx, &d, &st, flags)?;
    if st.is_dir() {
        return Ok(opened(DirFile::new(d, flags), false));
    }
    let file = d.inode().open(ctx, &d, flags)?;
    Ok(opened(file, flags & libc::O_TRUNC != 0 && st.is_regular()))
}

/// A file just opened: IN_OPEN, then IN_MODIFY when O_TRUNC truncated it.
fn opened(file: Arc<dyn FileDescription>, truncated: bool) -> Arc<dyn FileDescription> {
    notify::file_event(&*file, libc::IN_OPEN);
    if truncated {
        notify::file_event(&*file, libc::IN_MODIFY);
    }
    file
}

/// O_CREAT of the missing `name` in `parent`: EROFS on a read-only file
/// system, EACCES without write and search permission on `parent` (or
/// where its file system creates nothing), then the file system's own
/// create. The new file is opened whatever its mode (the creator's right);
/// if another task created the name first, that file is opened as an
/// existing one (EEXIST with O_EXCL).
fn create(
    ctx: &Ctx<'_>,
    parent: &Arc<Dentry>,
    name: &[u8],
    flags: i32,
    mode: u32,
) -> Result<Arc<dyn FileDescription>, Errno> {
    if parent.read_only() {
        return Err(Errno::EROFS);
    }
    perm::check(&parent.stat(ctx)?, &ctx.fs_cred(), MAY_WRITE | MAY_EXEC)?;
    let made = parent
        .inode()
        .create(ctx, name, libc::S_IFREG | (mode & 0o7777));
    let d = match made {
        Ok(_) => {
            notify::created(parent, name, false);
            let d = parent.lookup_child(ctx, name)?;
            let file = d.inode().open(ctx, &d, flags & !libc::O_TRUNC)?;
            return Ok(opened(file, false));
        }
        Err(e) if e == Errno::EEXIST && flags & libc::O_EXCL == 0 => {
            parent.lookup_child(ctx, name)?
        }
        Err(e) => return Err(e),
    };
    let st = d.stat(ctx)?;
    if st.is_dir() {
        return Err(Errno::EISDIR);
    }
    may_open(ctx, &d, &st, flags)?;
    let file = d.inode().open(ctx, &d, flags)?;
    Ok(opened(file, flags & libc::O_TRUNC != 0 && st.is_regular()))
}

/// O_TMPFILE without O_DIRECTORY (Linux's __O_TMPFILE).
const TMPFILE_BIT: i32 = libc::O_TMPFILE & !libc::O_DIRECTORY;

/// O_TMPFILE: an unnamed regular file on the file system of the directory
/// `path`, open for writing, which linkat may name later (unless
/// O_EXCL). In Linux's order: EINVAL without O_DIRECTORY, with O_CREAT or
/// without write access; the walk (ENOENT, ENOTDIR); EROFS; EACCES without
/// write and search permission on the directory; EOPNOTSUPP where the file
/// system has no unnamed files.
fn open_tmpfile(
    ctx: &Ctx<'_>,
    root: &Arc<Dentry>,
    start: &Arc<Dentry>,
    path: &[u8],
    flags: i32,
    mode: u32,
    opts: WalkOpts,
) -> Result<Arc<dyn FileDescription>, Errno> {
    if flags & (libc::O_TMPFILE | libc::O_CREAT) != libc::O_TMPFILE
        || flags & libc::O_ACCMODE == libc::O_RDONLY
    {
        return Err(Errno::EINVAL);
    }
    let d = walk::lookup_with(ctx, root, start, path, opts)?;
    let st = d.stat(ctx)?;
    if !st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if d.read_only() {
        return Err(Errno::EROFS);
    }
    perm::check(&st, &ctx.fs_cred(), MAY_WRITE | MAY_EXEC)?;
    let linkable = flags & libc::O_EXCL == 0;
    let inode = d.inode().tmpfile(ctx, mode & 0o7777, linkable)?;
    let label = format!("#{} (deleted)", inode.stat(ctx)?.ino);
    let file = Dentry::new_unnamed(&d, label.as_bytes(), Arc::clone(&inode));
    inode.open(
        ctx,
        &file,
        flags & !(libc::O_TMPFILE | libc::O_EXCL | libc::O_TRUNC),
    )
}

/// What exec opens: the file, its attributes, its dentry.
pub type ExecFile = (Arc<dyn FileDescription>, Stat, Arc<Dentry>);

/// Opens `path` for execve: a regular file, not on a noexec mount, with an
/// execute bit the caller may use, read-only.
pub fn open_exec(
    ctx: &Ctx<'_>,
    root: &Arc<Dentry>,
    cwd: &Arc<Dentry>,
    path: &[u8],
) -> Result<ExecFile, Errno> {
    let d = walk::lookup(ctx, root, cwd, path, true)?;
    let st = d.stat(ctx)?;
    if !st.is_regular() || d.mount_flags().noexec {
        return Err(Errno::EACCES);
    }
    perm::check(&st, &ctx.fs_cred(), MAY_EXEC | MAY_READ)?;
    let file = d.inode().open(ctx, &d, libc::O_RDONLY)?;
    // Linux's exec opens and reads the file; its close comes when the
    // process lets the image go, which is not tracked here.
    notify::file_event(&*file, libc::IN_OPEN);
    notify::file_event(&*file, libc::IN_ACCESS);
    Ok((file, st, d))
}
