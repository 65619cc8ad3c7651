//! /proc/<pid> and /proc/<pid>/task/<tid>: the generated files (stat,
//! statm, status, cmdline, environ, comm, maps, mounts, mountinfo, cgroup,
//! oom_score_adj), the links exe, cwd and root, and the directories fd/,
//! fdinfo/ and task/. Each name is built when looked up, from the process
//! it names at that moment; files are generated at open and read from that
//! snapshot, as Linux's seq files are.

use std::sync::Arc;

use super::fd::FdDir;
use super::view::{gather, mem_of, Proc};
use super::{format, mounts, node, parse_number, FS};
use crate::errno::Errno;
use crate::kernel::process::lock;
use crate::mm::Segments;
use crate::vfs::ctx::Ctx;
use crate::vfs::dentry::Dentry;
use crate::vfs::file::{DirEntry, FileDescription};
use crate::vfs::inode::{FsInfo, Inode};
use crate::vfs::open::access_of;
use crate::vfs::perm::MAY_WRITE;
use crate::vfs::stat::Stat;
use crate::vfs::synthetic::{dot_entries, SnapshotFile};

/// Inode numbers under a PID directory: the pid in the high 32 bits, a
/// bit for task/<tid> views, and the entry's number.
pub(super) fn ino(p: &Proc, n: u64) -> u64 {
    raw_ino(p.tid, p.thread_view, n)
}

fn raw_ino(tid: i32, thread_view: bool, n: u64) -> u64 {
    let view = if thread_view { 1 << 30 } else { 0 };
    (u64::from(tid as u32) << 32) | view | n
}

const DIR: u64 = 1;
const EXE: u64 = 2;
const CWD: u64 = 3;
const ROOT: u64 = 4;
pub(super) const FD_DIR: u64 = 5;
pub(super) const FDINFO_DIR: u64 = 6;
const TASK_DIR: u64 = 7;

/// The inode number of a process's directory (for /proc's listing).
pub(super) fn dir_ino(p: &Proc) -> u64 {
    ino(p, DIR)
}

/// The generated files of a PID directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Cgroup,
    Cmdline,
    Comm,
    Environ,
    Maps,
    MountInfo,
    Mounts,
    OomScoreAdj,
    Stat,
    Statm,
    Status,
}

impl Kind {
    fn n(self) -> u64 {
        8 + self as u64
    }

    fn mode(self) -> u32 {
        match self {
            Kind::Environ => 0o400,
            Kind::Comm | Kind::OomScoreAdj => 0o644,
            _ => 0o444,
        }
    }
}

/// One name in a PID directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    File(Kind),
    Exe,
    Cwd,
    Root,
    Fd,
    FdInfo,
    Task,
}

/// The names of a PID directory, in listing order.
const ENTRIES: &[(&[u8], Entry)] = &[
    (b"cgroup", Entry::File(Kind::Cgroup)),
    (b"cmdline", Entry::File(Kind::Cmdline)),
    (b"comm", Entry::File(Kind::Comm)),
    (b"cwd", Entry::Cwd),
    (b"environ", Entry::File(Kind::Environ)),
    (b"exe", Entry::Exe),
    (b"fd", Entry::Fd),
    (b"fdinfo", Entry::FdInfo),
    (b"maps", Entry::File(Kind::Maps)),
    (b"mountinfo", Entry::File(Kind::MountInfo)),
    (b"mounts", Entry::File(Kind::Mounts)),
    (b"oom_score_adj", Entry::File(Kind::OomScoreAdj)),
    (b"root", Entry::Root),
    (b"stat", Entry::File(Kind::Stat)),
    (b"statm", Entry::File(Kind::Statm)),
    (b"status", Entry::File(Kind::Status)),
    (b"task", Entry::Task),
];

impl Entry {
    fn ino_and_type(self, p: &Proc) -> (u64, u8) {
        match self {
            Entry::File(k) => (ino(p, k.n()), libc::DT_REG),
            Entry::Exe => (ino(p, EXE), libc::DT_LNK),
            Entry::Cwd => (ino(p, CWD), libc::DT_LNK),
            Entry::Root => (ino(p, ROOT), libc::DT_LNK),
            Entry::Fd => (ino(p, FD_DIR), libc::DT_DIR),
            Entry::FdInfo => (ino(p, FDINFO_DIR), libc::DT_DIR),
            Entry::Task => (ino(p, TASK_DIR), libc::DT_DIR),
        }
    }
}

/// A node's attributes, owned by the process's owner.
pub(super) fn owned_stat(ctx: &Ctx<'_>, p: &Proc, n: u64, mode: u32, size: i64) -> Stat {
    let mut st = node(ino(p, n), mode).stat(size);
    (st.uid, st.gid) = p.owner(ctx);
    st
}

/// /proc/<pid> or /proc/<pid>/task/<tid>.
pub(super) struct PidDir {
    p: Proc,
}

impl PidDir {
    pub(super) fn inode(p: Proc) -> Arc<dyn Inode> {
        Arc::new(PidDir { p })
    }

    fn entries(&self) -> impl Iterator<Item = &'static (&'static [u8], Entry)> + '_ {
        ENTRIES
            .iter()
            .filter(|(_, e)| !(self.p.thread_view && *e == Entry::Task))
    }

    fn child(&self, ctx: &Ctx<'_>, e: Entry) -> Result<Arc<dyn Inode>, Errno> {
        let p = self.p.clone();
        Ok(match e {
            Entry::File(kind) => Arc::new(PidFile { p, kind }),
            Entry::Exe => {
                let tg = p.group()?;
                let (exe, gone) = {
                    let st = tg.lock();
                    (st.exe.clone(), st.zombie || st.threads.is_empty())
                };
                let target = if gone || exe.is_empty() {
                    LinkTarget::Missing
                } else {
                    LinkTarget::Path(exe.into_bytes())
                };
                Arc::new(Link { p, n: EXE, target })
            }
            Entry::Cwd | Entry::Root => {
                let tg = p.group()?;
                let fs = p.resources(ctx, &tg).fs;
                let (n, target) = match (e, fs) {
                    (Entry::Cwd, Some(fs)) => (CWD, LinkTarget::Dir(fs.cwd)),
                    (_, Some(fs)) => (ROOT, LinkTarget::Dir(fs.root)),
                    (Entry::Cwd, None) => (CWD, LinkTarget::Missing),
                    (_, None) => (ROOT, LinkTarget::Missing),
                };
                Arc::new(Link { p, n, target })
            }
            Entry::Fd => FdDir::inode(p, false),
            Entry::FdInfo => FdDir::inode(p, true),
            Entry::Task => Arc::new(TaskDir { p }),
        })
    }
}

impl Inode for PidDir {
    fn stat(&self, ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        self.p.group()?;
        let mut st = owned_stat(ctx, &self.p, DIR, libc::S_IFDIR | 0o555, 0);
        st.nlink = 2 + self
            .entries()
            .filter(|(_, e)| matches!(e, Entry::Fd | Entry::FdInfo | Entry::Task))
            .count() as u64;
        Ok(st)
    }

    fn lookup(&self, ctx: &Ctx<'_>, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        self.p.group()?;
        let (_, e) = self
            .entries()
            .find(|(n, _)| *n == name)
            .ok_or(Errno::ENOENT)?;
        self.child(ctx, *e)
    }

    fn readdir(&self, _ctx: &Ctx<'_>) -> Result<Vec<DirEntry>, Errno> {
        self.p.group()?;
        let parent = if self.p.thread_view {
            raw_ino(self.p.tgid, false, TASK_DIR)
        } else {
            super::ROOT_INO
        };
        let mut out = dot_entries(ino(&self.p, DIR), parent);
        for (name, e) in self.entries() {
            let (ino, kind) = e.ino_and_type(&self.p);
            out.push(DirEntry {
                ino,
                kind,
                name: name.to_vec(),
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

/// /proc/<pid>/task: a directory per thread.
struct TaskDir {
    p: Proc,
}

impl Inode for TaskDir {
    fn stat(&self, ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        self.p.group()?;
        Ok(owned_stat(ctx, &self.p, TASK_DIR, libc::S_IFDIR | 0o555, 0))
    }

    fn lookup(&self, _ctx: &Ctx<'_>, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let tg = self.p.group()?;
        let tid = parse_number(name)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or(Errno::ENOENT)?;
        if !Proc::tids(&tg).contains(&tid) {
            return Err(Errno::ENOENT);
        }
        Ok(PidDir::inode(Proc::of(&tg, tid, true)))
    }

    fn readdir(&self, _ctx: &Ctx<'_>) -> Result<Vec<DirEntry>, Errno> {
        let tg = self.p.group()?;
        let mut out = dot_entries(ino(&self.p, TASK_DIR), ino(&self.p, DIR));
        for tid in Proc::tids(&tg) {
            out.push(DirEntry {
                ino: dir_ino(&Proc::of(&tg, tid, true)),
                kind: libc::DT_DIR,
                name: tid.to_string().into_bytes(),
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

/// Where a link of a PID directory leads.
enum LinkTarget {
    /// An ordinary path (exe), followed as a symlink is.
    Path(Vec<u8>),
    /// A directory (cwd, root), reached directly (a "magic" link).
    Dir(Arc<Dentry>),
    /// The process has none any more (a zombie).
    Missing,
}

/// exe, cwd and root.
struct Link {
    p: Proc,
    n: u64,
    target: LinkTarget,
}

impl Inode for Link {
    fn stat(&self, ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        Ok(owned_stat(ctx, &self.p, self.n, libc::S_IFLNK | 0o777, 0))
    }

    fn readlink(&self, ctx: &Ctx<'_>) -> Result<Vec<u8>, Errno> {
        self.p.may_inspect(ctx)?;
        match &self.target {
            LinkTarget::Path(p) => Ok(p.clone()),
            LinkTarget::Dir(d) => {
                // As the reader sees it: from the reader's own root.
                let root = ctx.task().map(|t| lock(&t.fs).root.clone());
                Ok(match root {
                    Some(r) => d.path_from(&r).0,
                    None => d.path(),
                })
            }
            LinkTarget::Missing => Err(Errno::ENOENT),
        }
    }

    fn follow_magic(&self, ctx: &Ctx<'_>) -> Option<Result<Arc<Dentry>, Errno>> {
        if let Err(e) = self.p.may_inspect(ctx) {
            return Some(Err(e));
        }
        match &self.target {
            LinkTarget::Path(_) => None,
            LinkTarget::Dir(d) => Some(Ok(Arc::clone(d))),
            LinkTarget::Missing => Some(Err(Errno::ENOENT)),
        }
    }

    fn fs_info(&self) -> FsInfo {
        FS
    }
}

/// A generated file of a PID directory.
struct PidFile {
    p: Proc,
    kind: Kind,
}

impl PidFile {
    fn generate(&self, ctx: &Ctx<'_>) -> Result<Vec<u8>, Errno> {
        let p = &self.p;
        let tg = p.group()?;
        Ok(match self.kind {
            Kind::Stat => format::stat(&gather(ctx, p)?.info(p.tid, p.tgid)),
            Kind::Status => format::status(&gather(ctx, p)?.info(p.tid, p.tgid)),
            Kind::Statm => {
                let exe = tg.lock().exe.clone();
                let mm = p.resources(ctx, &tg).mm;
                format::statm(mm.as_deref().map(|mm| mem_of(mm, &exe)))
            }
            // Read from the address space on Linux: a zombie has none.
            Kind::Cmdline | Kind::Environ if Proc::gone(&tg) => Vec::new(),
            Kind::Cmdline => tg.lock().argv.clone(),
            Kind::Environ => tg.lock().envp.clone(),
            Kind::Comm => {
                let mut c = p.comm(&tg);
                c.push(b'\n');
                c
            }
            Kind::Maps => match p.resources(ctx, &tg).mm {
                Some(mm) => format::maps(&mm.vmas()),
                None => Vec::new(),
            },
            Kind::Mounts | Kind::MountInfo => match p.resources(ctx, &tg).fs {
                Some(fs) => {
                    let lines = mounts::lines(ctx, &fs.root);
                    if self.kind == Kind::Mounts {
                        format::mounts(&lines)
                    } else {
                        format::mountinfo(&lines)
                    }
                }
                None => Vec::new(),
            },
            Kind::Cgroup => b"0::/\n".to_vec(),
            Kind::OomScoreAdj => b"0\n".to_vec(),
        })
    }

    /// What a write does, for the writable files; None for the others.
    fn sink(&self, ctx: &Ctx<'_>) -> Option<Sink> {
        match self.kind {
            Kind::Comm => {
                let same_group = ctx.task().is_some_and(|t| t.tgid == self.p.tgid);
                let p = self.p.clone();
                Some(Box::new(move |data: &[u8]| {
                    // Only a thread of the same process may rename it.
                    if !same_group {
                        return Err(Errno::EINVAL);
                    }
                    let tg = p.group()?;
                    let t = p.thread(&tg).ok_or(Errno::ESRCH)?;
                    *lock(&t.comm) = data.iter().copied().take(15).collect();
                    Ok(())
                }))
            }
            Kind::OomScoreAdj => Some(Box::new(|data: &[u8]| {
                let text = std::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
                match text.trim().parse::<i32>() {
                    Ok(v) if (-1000..=1000).contains(&v) => Ok(()),
                    _ => Err(Errno::EINVAL),
                }
            })),
            _ => None,
        }
    }
}

impl Inode for PidFile {
    fn stat(&self, ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        Ok(owned_stat(
            ctx,
            &self.p,
            self.kind.n(),
            libc::S_IFREG | self.kind.mode(),
            0,
        ))
    }

    fn open(
        &self,
        ctx: &Ctx<'_>,
        dentry: &Arc<Dentry>,
        flags: i32,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        if matches!(self.kind, Kind::Maps | Kind::Environ) {
            self.p.may_inspect(ctx)?;
        }
        let writing = access_of(flags) & MAY_WRITE != 0;
        let sink = if writing {
            Some(self.sink(ctx).ok_or(Errno::EACCES)?)
        } else {
            None
        };
        let data = if flags & libc::O_ACCMODE == libc::O_WRONLY {
            self.p.group()?;
            Vec::new()
        } else {
            self.generate(ctx)?
        };
        let snap = SnapshotFile::new(Arc::clone(dentry), data, flags);
        Ok(match sink {
            Some(sink) => Arc::new(WritableFile { inner: snap, sink }),
            None => snap,
        })
    }

    fn fs_info(&self) -> FsInfo {
        FS
    }
}

/// What writing one of the writable files does with the bytes.
type Sink = Box<dyn Fn(&[u8]) -> Result<(), Errno> + Send + Sync>;

/// Most bytes a write to a /proc file takes in.
const MAX_WRITE: usize = 4096;

/// An open writable /proc file: reads from the snapshot, writes to a sink.
struct WritableFile {
    inner: Arc<SnapshotFile>,
    sink: Sink,
}

impl FileDescription for WritableFile {
    fn read(&self, dst: &Segments, offset: Option<u64>) -> Result<usize, Errno> {
        self.inner.read(dst, offset)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        self.inner.read_at(buf, offset)
    }

    fn write(&self, src: &Segments, _offset: Option<u64>) -> Result<usize, Errno> {
        let mut buf = vec![0u8; src.len().min(MAX_WRITE)];
        let n = src.read_at(0, &mut buf);
        buf.truncate(n);
        (self.sink)(&buf)?;
        Ok(src.len())
    }

    fn seek(&self, offset: i64, whence: i32) -> Result<u64, Errno> {
        self.inner.seek(offset, whence)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.inner.stat()
    }

    fn flags(&self) -> i32 {
        self.inner.flags()
    }

    fn set_flags(&self, flags: i32) {
        self.inner.set_flags(flags);
    }

    fn path(&self) -> String {
        self.inner.path()
    }

    fn dentry(&self) -> Option<Arc<Dentry>> {
        self.inner.dentry()
    }
}
