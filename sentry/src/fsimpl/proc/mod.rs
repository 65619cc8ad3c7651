//! procfs: the sandbox's /proc. It lists only sandbox processes (DESIGN
//! invariant 5): `/proc/<pid>` for every live or zombie thread group of the
//! sandbox's task table (and, unlisted, `/proc/<tid>` for each thread),
//! `self` and `thread-self`, the system files (cpuinfo, meminfo, stat,
//! uptime, loadavg, version, filesystems, mounts) and `sys/`. What a name
//! means depends on who asks and when, so nothing below /proc is cached in
//! the dentry tree: each lookup builds its nodes, and each open generates
//! the file's text from the sandbox's state at that moment.
//!
//! It must never show a host process or a host path the sandbox cannot
//! see, and never keep a dead process's memory or files alive.
//!
//! | module   | what                                                        |
//! |----------|-------------------------------------------------------------|
//! | `view`   | naming a process; gathering its state, own or published     |
//! | `pid`    | /proc/<pid> and task/<tid>: files, links, task/             |
//! | `fd`     | fd/ and fdinfo/                                             |
//! | `mounts` | the mount table as a process sees it                        |
//! | `format` | the text of each file, as Linux lays it out (pure)          |
//! | `sys`    | /proc/sys                                                   |
//! | `host`   | host facts captured at start (cpuinfo)                      |
//! | `raw`    | the unsafe edge: mincore and sysinfo                        |

mod fd;
mod format;
mod host;
mod mounts;
mod pid;
mod raw;
pub mod sys;
mod view;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::devnums;
use crate::errno::Errno;
use crate::kernel::kernel::{tasks, UNAME_RELEASE, UNAME_VERSION};
use crate::kernel::process::{lock, Published};
use crate::kernel::Task;
use crate::vfs::ctx::Ctx;
use crate::vfs::file::DirEntry;
use crate::vfs::inode::{FsInfo, Inode};
use crate::vfs::stat::Stat;
use crate::vfs::synthetic::{dot_entries, dt_of, GenFile, Generator, Node, Symlink};

pub use host::capture as capture_host;

const PROC_SUPER_MAGIC: i64 = 0x9fa0;

pub(crate) const FS: FsInfo = FsInfo {
    magic: PROC_SUPER_MAGIC,
    read_only: false,
};

const ROOT_INO: u64 = 1;
const SELF_INO: u64 = 2;
const SYS_INO: u64 = 3;
const THREAD_SELF_INO: u64 = 4;
/// The fixed files of /proc are numbered from here.
const FIXED_INO: u64 = 16;

/// A node of procfs with inode number `ino`.
pub(crate) fn node(ino: u64, mode: u32) -> Node {
    Node {
        dev: devnums::PROC,
        ino,
        mode,
        fs: FS,
    }
}

/// The root of a new procfs.
pub fn new() -> Arc<dyn Inode> {
    host::capture();
    Arc::new(ProcRoot {
        fixed: fixed_entries(),
    })
}

/// Publishes what other processes' /proc readers need of `t`'s process:
/// its address space, fd table and file-system context (weakly), its
/// credentials and name. Call whenever one of them is replaced: at start,
/// in a new task, after exec, after a credential change.
pub fn publish(t: &Task) {
    let comm = lock(&t.shared.comm).clone();
    let published = Published {
        mm: Arc::downgrade(&t.mm),
        fds: Arc::downgrade(&t.fds),
        fs: Arc::downgrade(&t.fs),
        creds: t.creds.clone(),
        comm,
    };
    t.tg().lock().published = published;
}

/// Parses a decimal number as procfs names them: no sign, no leading zero.
pub(crate) fn parse_number(name: &[u8]) -> Option<u32> {
    if name.is_empty() || (name.len() > 1 && name[0] == b'0') {
        return None;
    }
    std::str::from_utf8(name)
        .ok()?
        .parse()
        .ok()
        .filter(|_| name.iter().all(u8::is_ascii_digit))
}

/// The sandbox's kernel, through the caller; ENOENT for the kernel itself.
fn kernel<'a>(ctx: &Ctx<'a>) -> Result<&'a crate::kernel::Kernel, Errno> {
    ctx.task().map(|t| &*t.kernel).ok_or(Errno::ENOENT)
}

/// Milliseconds since the sandbox booted.
fn uptime_ms(k: &crate::kernel::Kernel) -> u64 {
    k.boot.elapsed().as_millis() as u64
}

/// Task counts for loadavg and stat: (running, sleeping, all, last pid).
fn task_counts() -> (usize, usize, usize, i32) {
    let all = tasks().tasks();
    let sleeping = all.iter().filter(|t| t.waker.is_sleeping()).count();
    let last = all
        .iter()
        .map(|t| t.tid)
        .chain(tasks().groups().iter().map(|g| g.tgid))
        .max()
        .unwrap_or(0);
    (all.len() - sleeping, sleeping, all.len(), last)
}

/// /proc's files that do not belong to a process.
fn fixed_entries() -> Vec<(&'static [u8], Arc<dyn Inode>)> {
    let gens: Vec<(&'static [u8], Generator)> = vec![
        (
            b"cmdline",
            Box::new(|_: &Ctx<'_>| {
                Ok(format!("BOOT_IMAGE=/vmlinuz-{UNAME_RELEASE}-ward ro quiet\n").into_bytes())
            }),
        ),
        (
            b"cpuinfo",
            Box::new(|ctx: &Ctx<'_>| Ok(host::cpuinfo(kernel(ctx)?.ncpus))),
        ),
        (
            b"filesystems",
            Box::new(|_: &Ctx<'_>| Ok(format::filesystems())),
        ),
        (
            b"loadavg",
            Box::new(|_: &Ctx<'_>| {
                let (running, _, all, last) = task_counts();
                Ok(format::loadavg(running, all, last))
            }),
        ),
        (
            b"meminfo",
            Box::new(|_: &Ctx<'_>| Ok(format::meminfo(&raw::host_meminfo()))),
        ),
        (
            b"stat",
            Box::new(|ctx: &Ctx<'_>| {
                let k = kernel(ctx)?;
                let up = uptime_ms(k);
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis() as u64;
                let btime = now.saturating_sub(up) / 1000;
                let (running, _, _, last) = task_counts();
                Ok(format::kernel_stat(
                    up,
                    k.ncpus,
                    btime,
                    last.max(0) as u64,
                    running,
                    0,
                ))
            }),
        ),
        (
            b"uptime",
            Box::new(|ctx: &Ctx<'_>| {
                let k = kernel(ctx)?;
                Ok(format::uptime(uptime_ms(k), k.ncpus))
            }),
        ),
        (
            b"version",
            Box::new(|_: &Ctx<'_>| Ok(format::version(UNAME_RELEASE, UNAME_VERSION))),
        ),
    ];
    let mut out: Vec<(&'static [u8], Arc<dyn Inode>)> = Vec::new();
    for (i, (name, gen)) in gens.into_iter().enumerate() {
        let ino = FIXED_INO + i as u64;
        out.push((name, GenFile::new(node(ino, libc::S_IFREG | 0o444), gen)));
    }
    let next = FIXED_INO + out.len() as u64;
    out.push((
        b"mounts",
        Symlink::new(devnums::PROC, next, FS, b"self/mounts"),
    ));
    out.push((b"sys", sys::new()));
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

struct ProcRoot {
    fixed: Vec<(&'static [u8], Arc<dyn Inode>)>,
}

impl Inode for ProcRoot {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        Ok(node(ROOT_INO, libc::S_IFDIR | 0o555).stat(0))
    }

    fn lookup(&self, ctx: &Ctx<'_>, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        if let Some((_, n)) = self.fixed.iter().find(|(n, _)| *n == name) {
            return Ok(Arc::clone(n));
        }
        match name {
            b"self" => {
                let task = ctx.task().ok_or(Errno::ENOENT)?;
                let target = task.tgid.to_string();
                return Ok(Symlink::new(devnums::PROC, SELF_INO, FS, target.as_bytes()));
            }
            b"thread-self" => {
                let task = ctx.task().ok_or(Errno::ENOENT)?;
                let target = format!("{}/task/{}", task.tgid, task.tid);
                return Ok(Symlink::new(
                    devnums::PROC,
                    THREAD_SELF_INO,
                    FS,
                    target.as_bytes(),
                ));
            }
            _ => {}
        }
        let pid = parse_number(name)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or(Errno::ENOENT)?;
        let p = view::Proc::lookup(pid).ok_or(Errno::ENOENT)?;
        Ok(pid::PidDir::inode(p))
    }

    fn readdir(&self, ctx: &Ctx<'_>) -> Result<Vec<DirEntry>, Errno> {
        let mut out = dot_entries(ROOT_INO, ROOT_INO);
        for (name, inode) in &self.fixed {
            let st = inode.stat(ctx)?;
            out.push(DirEntry {
                ino: st.ino,
                kind: dt_of(st.mode),
                name: name.to_vec(),
            });
        }
        if ctx.task().is_some() {
            for (ino, name) in [(SELF_INO, &b"self"[..]), (THREAD_SELF_INO, b"thread-self")] {
                out.push(DirEntry {
                    ino,
                    kind: libc::DT_LNK,
                    name: name.to_vec(),
                });
            }
        }
        for tg in tasks().groups() {
            let p = view::Proc::of(&tg, tg.tgid, false);
            out.push(DirEntry {
                ino: pid::dir_ino(&p),
                kind: libc::DT_DIR,
                name: tg.tgid.to_string().into_bytes(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_procfs_names_them() {
        assert_eq!(parse_number(b"0"), Some(0));
        assert_eq!(parse_number(b"123"), Some(123));
        assert_eq!(parse_number(b"0123"), None);
        assert_eq!(parse_number(b"+1"), None);
        assert_eq!(parse_number(b""), None);
        assert_eq!(parse_number(b"99999999999"), None);
    }

    #[test]
    fn without_a_task_there_is_no_self() {
        let root = new();
        let ctx = Ctx::kernel();
        assert!(root.lookup(&ctx, b"self").is_err());
        assert!(root.lookup(&ctx, b"thread-self").is_err());
        assert!(root.lookup(&ctx, b"sys").is_ok());
        assert!(root.lookup(&ctx, b"01").is_err());
    }

    #[test]
    fn the_fixed_entries_are_listed_once_with_distinct_inodes() {
        let root = new();
        let ctx = Ctx::kernel();
        let list = root.readdir(&ctx).expect("readdir");
        let names: Vec<&[u8]> = list.iter().map(|e| &e.name[..]).collect();
        for want in [
            &b"cpuinfo"[..],
            b"meminfo",
            b"stat",
            b"uptime",
            b"loadavg",
            b"filesystems",
            b"mounts",
            b"version",
            b"sys",
        ] {
            assert_eq!(names.iter().filter(|n| **n == want).count(), 1, "{want:?}");
        }
        let mut inos: Vec<u64> = list.iter().skip(2).map(|e| e.ino).collect();
        inos.sort_unstable();
        inos.dedup();
        assert_eq!(inos.len(), list.len() - 2);
    }

    #[test]
    fn mounts_is_a_link_to_self() {
        let root = new();
        let ctx = Ctx::kernel();
        let m = root.lookup(&ctx, b"mounts").expect("mounts");
        assert_eq!(m.readlink(&ctx).expect("link"), b"self/mounts");
    }
}
