//! procfs (minimal): `/proc/self` (a link to the caller's thread group),
//! `/proc/<tgid>/` with `exe`, `cwd`, `root` and `fd/`, and
//! `/proc/sys/kernel/{osrelease,ostype,hostname,domainname}`. What a name
//! means depends on who asks, so nothing below /proc is cached in the
//! dentry tree: each lookup builds its nodes from the calling task. Only
//! the caller's own thread group is visible for now; anything else is ENOENT.

mod pid;
mod sys;

use std::sync::Arc;

use super::devnums;
use crate::errno::Errno;
use crate::vfs::ctx::Ctx;
use crate::vfs::file::DirEntry;
use crate::vfs::inode::{FsInfo, Inode};
use crate::vfs::stat::Stat;
use crate::vfs::synthetic::{dot_entries, Node, Symlink};

const PROC_SUPER_MAGIC: i64 = 0x9fa0;

pub(crate) const FS: FsInfo = FsInfo {
    magic: PROC_SUPER_MAGIC,
    read_only: false,
};

const ROOT_INO: u64 = 1;
const SELF_INO: u64 = 2;
const SYS_INO: u64 = 3;

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
    Arc::new(ProcRoot { sys: sys::new() })
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

struct ProcRoot {
    sys: Arc<dyn Inode>,
}

impl Inode for ProcRoot {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        Ok(node(ROOT_INO, libc::S_IFDIR | 0o555).stat(0))
    }

    fn lookup(&self, ctx: &Ctx<'_>, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        match name {
            b"sys" => return Ok(Arc::clone(&self.sys)),
            b"self" => {
                let task = ctx.task().ok_or(Errno::ENOENT)?;
                let target = task.tgid.to_string();
                return Ok(Symlink::new(devnums::PROC, SELF_INO, FS, target.as_bytes()));
            }
            _ => {}
        }
        match (parse_number(name), ctx.task()) {
            (Some(n), Some(task)) if i64::from(n) == i64::from(task.tgid) => {
                Ok(pid::PidDir::of(task))
            }
            _ => Err(Errno::ENOENT),
        }
    }

    fn readdir(&self, ctx: &Ctx<'_>) -> Result<Vec<DirEntry>, Errno> {
        let mut out = dot_entries(ROOT_INO, ROOT_INO);
        out.push(DirEntry {
            ino: SYS_INO,
            kind: libc::DT_DIR,
            name: b"sys".to_vec(),
        });
        if let Some(task) = ctx.task() {
            out.push(DirEntry {
                ino: SELF_INO,
                kind: libc::DT_LNK,
                name: b"self".to_vec(),
            });
            out.push(DirEntry {
                ino: pid::dir_ino(task.tgid),
                kind: libc::DT_DIR,
                name: task.tgid.to_string().into_bytes(),
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
    fn without_a_task_only_sys_is_there() {
        let root = new();
        let ctx = Ctx::kernel();
        assert!(root.lookup(&ctx, b"self").is_err());
        assert!(root.lookup(&ctx, b"1").is_err());
        assert!(root.lookup(&ctx, b"sys").is_ok());
    }
}
