//! /proc/<tgid>: `exe` (a link to the executable's path), `cwd` and `root`
//! (magic links to the task's directories), and `fd/` (a magic link per
//! open fd: readlink gives the file's path, following it gives the open
//! file's own node). Built from the task at lookup time. The fd table is
//! held weakly: an open /proc/self/fd (a file in that very table) must not
//! keep its table alive.

use std::sync::{Arc, Weak};

use super::{node, parse_number, FS};
use crate::errno::Errno;
use crate::kernel::fd_table::FdTable;
use crate::kernel::Task;
use crate::vfs::ctx::Ctx;
use crate::vfs::dentry::Dentry;
use crate::vfs::file::{DirEntry, FileDescription};
use crate::vfs::inode::{FsInfo, Inode};
use crate::vfs::stat::Stat;
use crate::vfs::synthetic::{dot_entries, dt_of, Symlink};

/// Inode numbers under a PID directory: the tgid in the high bits.
pub(super) fn dir_ino(tgid: i32) -> u64 {
    (u64::from(tgid as u32) << 32) | 1
}

fn ino(tgid: i32, n: u64) -> u64 {
    (u64::from(tgid as u32) << 32) | n
}

const EXE: u64 = 2;
const CWD: u64 = 3;
const ROOT: u64 = 4;
const FD_DIR: u64 = 5;
/// fd N's link is FD_BASE + N.
const FD_BASE: u64 = 1 << 16;

/// /proc/<tgid>, as the task was when looked up.
pub(super) struct PidDir {
    tgid: i32,
    exe: String,
    cwd: Arc<Dentry>,
    root: Arc<Dentry>,
    fds: Weak<FdTable>,
}

impl PidDir {
    pub(super) fn of(task: &Task) -> Arc<dyn Inode> {
        let fs = task.fs.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Arc::new(PidDir {
            tgid: task.tgid,
            exe: task.exe.clone(),
            cwd: fs.cwd,
            root: fs.root,
            fds: Arc::downgrade(&task.fds),
        })
    }

    fn child(&self, name: &[u8]) -> Option<Arc<dyn Inode>> {
        Some(match name {
            b"exe" => Symlink::new(
                super::devnums::PROC,
                ino(self.tgid, EXE),
                FS,
                self.exe.as_bytes(),
            ),
            b"cwd" => Arc::new(DirLink {
                ino: ino(self.tgid, CWD),
                to: Arc::clone(&self.cwd),
                root: Arc::clone(&self.root),
            }),
            b"root" => Arc::new(DirLink {
                ino: ino(self.tgid, ROOT),
                to: Arc::clone(&self.root),
                root: Arc::clone(&self.root),
            }),
            b"fd" => Arc::new(FdDir {
                tgid: self.tgid,
                fds: Weak::clone(&self.fds),
            }),
            _ => return None,
        })
    }
}

impl Inode for PidDir {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        Ok(node(dir_ino(self.tgid), libc::S_IFDIR | 0o555).stat(0))
    }

    fn lookup(&self, _ctx: &Ctx<'_>, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        self.child(name).ok_or(Errno::ENOENT)
    }

    fn readdir(&self, ctx: &Ctx<'_>) -> Result<Vec<DirEntry>, Errno> {
        let mut out = dot_entries(dir_ino(self.tgid), 1);
        for name in [&b"cwd"[..], b"exe", b"fd", b"root"] {
            if let Some(i) = self.child(name) {
                let st = i.stat(ctx)?;
                out.push(DirEntry {
                    ino: st.ino,
                    kind: dt_of(st.mode),
                    name: name.to_vec(),
                });
            }
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

/// cwd and root: magic links to a directory.
struct DirLink {
    ino: u64,
    to: Arc<Dentry>,
    root: Arc<Dentry>,
}

impl Inode for DirLink {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        Ok(node(self.ino, libc::S_IFLNK | 0o777).stat(0))
    }

    fn readlink(&self, _ctx: &Ctx<'_>) -> Result<Vec<u8>, Errno> {
        Ok(self.to.path_from(&self.root).0)
    }

    fn follow_magic(&self, _ctx: &Ctx<'_>) -> Option<Result<Arc<Dentry>, Errno>> {
        Some(Ok(Arc::clone(&self.to)))
    }

    fn fs_info(&self) -> FsInfo {
        FS
    }
}

/// /proc/<tgid>/fd.
struct FdDir {
    tgid: i32,
    fds: Weak<FdTable>,
}

/// The table, or ENOENT once its task is gone.
fn table(fds: &Weak<FdTable>) -> Result<Arc<FdTable>, Errno> {
    fds.upgrade().ok_or(Errno::ENOENT)
}

impl Inode for FdDir {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        Ok(node(ino(self.tgid, FD_DIR), libc::S_IFDIR | 0o500).stat(0))
    }

    fn lookup(&self, _ctx: &Ctx<'_>, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let fd = parse_number(name)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or(Errno::ENOENT)?;
        table(&self.fds)?.get(fd).map_err(|_| Errno::ENOENT)?;
        Ok(Arc::new(FdLink {
            tgid: self.tgid,
            fd,
            fds: Weak::clone(&self.fds),
        }))
    }

    fn readdir(&self, _ctx: &Ctx<'_>) -> Result<Vec<DirEntry>, Errno> {
        let mut out = dot_entries(ino(self.tgid, FD_DIR), dir_ino(self.tgid));
        for fd in table(&self.fds)?.fds() {
            out.push(DirEntry {
                ino: ino(self.tgid, FD_BASE + fd as u64),
                kind: libc::DT_LNK,
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

/// /proc/<tgid>/fd/N.
struct FdLink {
    tgid: i32,
    fd: i32,
    fds: Weak<FdTable>,
}

impl FdLink {
    fn file(&self) -> Result<Arc<dyn FileDescription>, Errno> {
        table(&self.fds)?.get(self.fd).map_err(|_| Errno::ENOENT)
    }
}

impl Inode for FdLink {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        let file = self.file()?;
        // Owner bits as the open mode: r for reading, w for writing, x.
        let perm = match file.flags() & libc::O_ACCMODE {
            libc::O_RDONLY => 0o500,
            libc::O_WRONLY => 0o300,
            _ => 0o700,
        };
        Ok(node(
            ino(self.tgid, FD_BASE + self.fd as u64),
            libc::S_IFLNK | perm,
        )
        .stat(64))
    }

    fn readlink(&self, _ctx: &Ctx<'_>) -> Result<Vec<u8>, Errno> {
        Ok(self.file()?.path().into_bytes())
    }

    fn follow_magic(&self, _ctx: &Ctx<'_>) -> Option<Result<Arc<Dentry>, Errno>> {
        Some(self.file().and_then(|f| f.dentry().ok_or(Errno::ENOENT)))
    }

    fn fs_info(&self) -> FsInfo {
        FS
    }
}
