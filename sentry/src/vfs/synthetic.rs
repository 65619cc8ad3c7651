//! Building blocks for the sentry's own file systems (devfs, procfs,
//! sysfs): fixed directories, fixed symlinks, and read-only files whose
//! contents are generated at open (then read from that snapshot).

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use super::ctx::Ctx;
use super::dentry::Dentry;
use super::dirfile::{description_flags, with_setfl};
use super::file::{DirEntry, FileDescription};
use super::inode::{FsInfo, Inode};
use super::open::access_of;
use super::perm::MAY_WRITE;
use super::stat::Stat;
use crate::errno::Errno;
use crate::mm::Segments;

/// When the sandbox's synthetic files were made (their a/m/c times).
pub fn boot_time() -> (i64, i64) {
    static T: OnceLock<(i64, i64)> = OnceLock::new();
    *T.get_or_init(|| {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        (d.as_secs() as i64, i64::from(d.subsec_nanos()))
    })
}

/// Where a synthetic node lives and what it is.
#[derive(Clone, Copy, Debug)]
pub struct Node {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub fs: FsInfo,
}

impl Node {
    /// Attributes: root-owned, one block size, times of boot.
    pub fn stat(&self, size: i64) -> Stat {
        let t = boot_time();
        Stat {
            dev: self.dev,
            ino: self.ino,
            mode: self.mode,
            nlink: if self.mode & libc::S_IFMT == libc::S_IFDIR {
                2
            } else {
                1
            },
            uid: 0,
            gid: 0,
            rdev: 0,
            size,
            blksize: 4096,
            blocks: 0,
            atime: t,
            mtime: t,
            ctime: t,
            btime: (0, 0),
        }
    }
}

/// The DT_* type for a mode.
pub fn dt_of(mode: u32) -> u8 {
    ((mode & libc::S_IFMT) >> 12) as u8
}

/// "." and ".." for a listing.
pub fn dot_entries(ino: u64, parent_ino: u64) -> Vec<DirEntry> {
    vec![
        DirEntry {
            ino,
            kind: libc::DT_DIR,
            name: b".".to_vec(),
        },
        DirEntry {
            ino: parent_ino,
            kind: libc::DT_DIR,
            name: b"..".to_vec(),
        },
    ]
}

/// A directory with a fixed set of children.
pub struct StaticDir {
    pub node: Node,
    pub entries: Vec<(Vec<u8>, Arc<dyn Inode>)>,
}

impl StaticDir {
    pub fn new(node: Node, entries: Vec<(&[u8], Arc<dyn Inode>)>) -> Arc<StaticDir> {
        Arc::new(StaticDir {
            node,
            entries: entries.into_iter().map(|(n, i)| (n.to_vec(), i)).collect(),
        })
    }
}

impl Inode for StaticDir {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        Ok(self.node.stat(0))
    }

    fn lookup(&self, _ctx: &Ctx<'_>, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, i)| Arc::clone(i))
            .ok_or(Errno::ENOENT)
    }

    fn readdir(&self, ctx: &Ctx<'_>) -> Result<Vec<DirEntry>, Errno> {
        let mut out = dot_entries(self.node.ino, self.node.ino);
        for (name, inode) in &self.entries {
            let st = inode.stat(ctx)?;
            out.push(DirEntry {
                ino: st.ino,
                kind: dt_of(st.mode),
                name: name.clone(),
            });
        }
        Ok(out)
    }

    fn fs_info(&self) -> FsInfo {
        self.node.fs
    }
}

/// A symlink with a fixed target.
pub struct Symlink {
    pub node: Node,
    pub target: Vec<u8>,
}

impl Symlink {
    pub fn new(dev: u64, ino: u64, fs: FsInfo, target: &[u8]) -> Arc<Symlink> {
        Arc::new(Symlink {
            node: Node {
                dev,
                ino,
                mode: libc::S_IFLNK | 0o777,
                fs,
            },
            target: target.to_vec(),
        })
    }
}

impl Inode for Symlink {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        Ok(self.node.stat(self.target.len() as i64))
    }

    fn readlink(&self, _ctx: &Ctx<'_>) -> Result<Vec<u8>, Errno> {
        Ok(self.target.clone())
    }

    fn fs_info(&self) -> FsInfo {
        self.node.fs
    }
}

/// Generates a file's contents for the caller.
pub type Generator = Box<dyn Fn(&Ctx<'_>) -> Result<Vec<u8>, Errno> + Send + Sync>;

/// A read-only file whose contents are generated at open (procfs style:
/// size 0 in stat, EACCES for any write access, even root's).
pub struct GenFile {
    pub node: Node,
    pub gen: Generator,
}

impl GenFile {
    pub fn new(node: Node, gen: Generator) -> Arc<GenFile> {
        Arc::new(GenFile { node, gen })
    }
}

impl Inode for GenFile {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        Ok(self.node.stat(0))
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
        let data = (self.gen)(ctx)?;
        Ok(SnapshotFile::new(Arc::clone(dentry), data, flags))
    }

    fn fs_info(&self) -> FsInfo {
        self.node.fs
    }
}

/// An open file reading from a snapshot of its contents.
pub struct SnapshotFile {
    dentry: Arc<Dentry>,
    data: Vec<u8>,
    pos: Mutex<u64>,
    flags: AtomicI32,
}

impl SnapshotFile {
    pub fn new(dentry: Arc<Dentry>, data: Vec<u8>, flags: i32) -> Arc<SnapshotFile> {
        Arc::new(SnapshotFile {
            dentry,
            data,
            pos: Mutex::new(0),
            flags: AtomicI32::new(description_flags(flags)),
        })
    }

    fn slice_at(&self, off: u64) -> &[u8] {
        let start = usize::try_from(off)
            .unwrap_or(usize::MAX)
            .min(self.data.len());
        &self.data[start..]
    }
}

impl FileDescription for SnapshotFile {
    fn read(&self, dst: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        match offset {
            Some(off) => Ok(dst.fill(self.slice_at(off))),
            None => {
                let mut pos = self.pos.lock().unwrap_or_else(|p| p.into_inner());
                let n = dst.fill(self.slice_at(*pos));
                *pos += n as u64;
                Ok(n)
            }
        }
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        let src = self.slice_at(offset);
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        Ok(n)
    }

    fn seek(&self, offset: i64, whence: i32) -> Result<u64, Errno> {
        let mut pos = self.pos.lock().unwrap_or_else(|p| p.into_inner());
        let base = match whence {
            libc::SEEK_SET => 0,
            libc::SEEK_CUR => *pos as i64,
            libc::SEEK_END => self.data.len() as i64,
            _ => return Err(Errno::EINVAL),
        };
        let new = base
            .checked_add(offset)
            .filter(|n| *n >= 0)
            .ok_or(Errno::EINVAL)?;
        *pos = new as u64;
        Ok(new as u64)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.dentry.stat(&Ctx::kernel())
    }

    fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_flags(&self, flags: i32) {
        self.flags
            .store(with_setfl(self.flags(), flags), Ordering::Relaxed);
    }

    fn path(&self) -> String {
        String::from_utf8_lossy(&self.dentry.path()).into_owned()
    }

    fn dentry(&self) -> Option<Arc<Dentry>> {
        Some(Arc::clone(&self.dentry))
    }
}
