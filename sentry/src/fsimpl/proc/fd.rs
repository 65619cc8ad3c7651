//! /proc/<pid>/fd and /proc/<pid>/fdinfo: a magic link per open fd
//! (readlink gives the file's path, following it gives the open file's own
//! node) and a small text file per fd (position, flags, mount, inode). The
//! fd table is looked up again at every operation and never held between
//! them: an open /proc/self/fd (a file in that very table) must not keep
//! its table alive.

use std::sync::Arc;

use super::pid::{owned_stat, FDINFO_DIR, FD_DIR};
use super::view::Proc;
use super::{format, mounts, parse_number, FS};
use crate::errno::Errno;
use crate::kernel::fd_table::{FdEntry, FdTable};
use crate::vfs::ctx::Ctx;
use crate::vfs::dentry::Dentry;
use crate::vfs::file::{DirEntry, FileDescription};
use crate::vfs::inode::{FsInfo, Inode};
use crate::vfs::open::access_of;
use crate::vfs::perm::MAY_WRITE;
use crate::vfs::stat::Stat;
use crate::vfs::synthetic::{dot_entries, SnapshotFile};

/// fd N's link is FD_BASE + N; its fdinfo file FDINFO_BASE + N.
const FD_BASE: u64 = 1 << 22;
const FDINFO_BASE: u64 = 1 << 23;

/// The process's fd table, or ENOENT once the process (or its table) is gone.
fn table(ctx: &Ctx<'_>, p: &Proc) -> Result<Arc<FdTable>, Errno> {
    let tg = p.group()?;
    p.resources(ctx, &tg).fds.ok_or(Errno::ENOENT)
}

fn entry(ctx: &Ctx<'_>, p: &Proc, fd: i32) -> Result<FdEntry, Errno> {
    table(ctx, p)?.get_entry(fd).map_err(|_| Errno::ENOENT)
}

/// fd/ (info false) or fdinfo/ (info true).
pub(super) struct FdDir {
    p: Proc,
    info: bool,
}

impl FdDir {
    pub(super) fn inode(p: Proc, info: bool) -> Arc<dyn Inode> {
        Arc::new(FdDir { p, info })
    }

    fn n(&self) -> u64 {
        if self.info {
            FDINFO_DIR
        } else {
            FD_DIR
        }
    }
}

impl Inode for FdDir {
    fn stat(&self, ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        self.p.group()?;
        Ok(owned_stat(ctx, &self.p, self.n(), libc::S_IFDIR | 0o500, 0))
    }

    fn lookup(&self, ctx: &Ctx<'_>, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let fd = parse_number(name)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or(Errno::ENOENT)?;
        entry(ctx, &self.p, fd)?;
        let p = self.p.clone();
        Ok(if self.info {
            Arc::new(FdInfo { p, fd })
        } else {
            Arc::new(FdLink { p, fd })
        })
    }

    fn readdir(&self, ctx: &Ctx<'_>) -> Result<Vec<DirEntry>, Errno> {
        let mut out = dot_entries(
            super::pid::ino(&self.p, self.n()),
            super::pid::dir_ino(&self.p),
        );
        let (base, kind) = if self.info {
            (FDINFO_BASE, libc::DT_REG)
        } else {
            (FD_BASE, libc::DT_LNK)
        };
        for fd in table(ctx, &self.p)?.fds() {
            out.push(DirEntry {
                ino: super::pid::ino(&self.p, base + fd as u64),
                kind,
                name: fd.to_string().into_bytes(),
            });
        }
        Ok(out)
    }

    fn cache_children(&self) -> bool {
        false
    }

    fn fs_info(&self) -> FsInfo {
        FS
    }
}

/// fd/N.
struct FdLink {
    p: Proc,
    fd: i32,
}

impl FdLink {
    fn file(&self, ctx: &Ctx<'_>) -> Result<Arc<dyn FileDescription>, Errno> {
        entry(ctx, &self.p, self.fd).map(|e| e.file)
    }
}

impl Inode for FdLink {
    fn stat(&self, ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        let file = self.file(ctx)?;
        // Owner bits as the open mode: r for reading, w for writing, x.
        let perm = match file.flags() & libc::O_ACCMODE {
            libc::O_RDONLY => 0o500,
            libc::O_WRONLY => 0o300,
            _ => 0o700,
        };
        Ok(owned_stat(
            ctx,
            &self.p,
            FD_BASE + self.fd as u64,
            libc::S_IFLNK | perm,
            64,
        ))
    }

    fn readlink(&self, ctx: &Ctx<'_>) -> Result<Vec<u8>, Errno> {
        Ok(self.file(ctx)?.path().into_bytes())
    }

    fn follow_magic(&self, ctx: &Ctx<'_>) -> Option<Result<Arc<Dentry>, Errno>> {
        Some(self.file(ctx).and_then(|f| f.dentry().ok_or(Errno::ENOENT)))
    }

    fn fs_info(&self) -> FsInfo {
        FS
    }
}

/// fdinfo/N.
struct FdInfo {
    p: Proc,
    fd: i32,
}

impl Inode for FdInfo {
    fn stat(&self, ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        entry(ctx, &self.p, self.fd)?;
        Ok(owned_stat(
            ctx,
            &self.p,
            FDINFO_BASE + self.fd as u64,
            libc::S_IFREG | 0o444,
            0,
        ))
    }

    fn open(
        &self,
        ctx: &Ctx<'_>,
        dentry: &Arc<Dentry>,
        flags: i32,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        if access_of(flags) & MAY_WRITE != 0 {
            return Err(Errno::EACCES);
        }
        let e = entry(ctx, &self.p, self.fd)?;
        let file = &e.file;
        let pos = file.seek(0, libc::SEEK_CUR).unwrap_or(0);
        let mnt_id = file.dentry().map_or(0, |d| mounts::mount_id(&d));
        let ino = file.stat().map_or(0, |s| s.ino);
        let data = format::fdinfo(pos, file.flags(), e.cloexec, mnt_id, ino);
        Ok(SnapshotFile::new(Arc::clone(dentry), data, flags))
    }

    fn fs_info(&self) -> FsInfo {
        FS
    }
}
