//! devpts: the sandbox's pseudo-terminals, wholly in the sentry (no host
//! pty ever carries app data). Opening /dev/ptmx (or /dev/pts/ptmx) makes
//! a pair and returns its master; the replica appears as /dev/pts/N (char
//! 136:N, mode 0620, group tty) until the master closes, and opens once
//! TIOCSPTLCK has unlocked it. /dev/tty opens the caller's controlling
//! terminal (for init's session without one, the host terminal ward's
//! stdio is, if any; else ENXIO).
//!
//! | module    | what                                                     |
//! |-----------|----------------------------------------------------------|
//! | `termios` | struct termios/termios2/winsize layouts, a new pty's settings |
//! | `ldisc`   | the line discipline (pure): editing, echo, signals, output processing |
//! | `pair`    | a pty's shared state and its master and replica files    |
//! | `ioctl`   | the terminal ioctls                                      |
//! | `jobctl`  | controlling terminals, SIGTTIN/SIGTTOU, signals to groups |

mod ioctl;
mod jobctl;
pub mod ldisc;
pub mod pair;
pub mod termios;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use super::devnums;
use crate::errno::{Errno, SysResult};
use crate::kernel::Task;
use crate::vfs::ctx::Ctx;
use crate::vfs::dentry::Dentry;
use crate::vfs::file::{DirEntry, FileDescription};
use crate::vfs::inode::{FsInfo, Inode};
use crate::vfs::stat::Stat;
use crate::vfs::synthetic::{dot_entries, Node};
use pair::Tty;

pub use jobctl::{leader_exited, session_started};

const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;

const FS: FsInfo = FsInfo {
    magic: DEVPTS_SUPER_MAGIC,
    read_only: false,
};

/// Major numbers: the unix98 replicas, and /dev/tty and /dev/ptmx.
const PTS_MAJOR: u32 = 136;
const TTYAUX_MAJOR: u32 = 5;
/// The group that owns replicas (Debian's and most distributions' "tty",
/// which their devpts mount options name).
const TTY_GID: u32 = 5;
/// Most ptys at once (Linux's default /proc/sys/kernel/pty/max).
const PTY_MAX: u32 = 4096;

/// Every pair whose master is open, by index.
fn registry() -> MutexGuard<'static, BTreeMap<u32, Weak<Tty>>> {
    static R: OnceLock<Mutex<BTreeMap<u32, Weak<Tty>>>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(BTreeMap::new()))
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// The pairs whose master is open.
fn live_ttys() -> Vec<Arc<Tty>> {
    registry().values().filter_map(Weak::upgrade).collect()
}

fn find(index: u32) -> Option<Arc<Tty>> {
    registry().get(&index).and_then(Weak::upgrade)
}

/// The master of pair `index` closed: /dev/pts/N goes.
fn forget(index: u32) {
    let mut r = registry();
    if r.get(&index)
        .is_some_and(|w| w.upgrade().is_none_or(|t| !t.alive()))
    {
        r.remove(&index);
    }
}

/// A new pair at the lowest free index, owned by `uid`.
fn new_pair(uid: u32) -> Result<Arc<Tty>, Errno> {
    let mut r = registry();
    r.retain(|_, w| w.strong_count() > 0);
    let index = (0..PTY_MAX)
        .find(|i| !r.contains_key(i))
        .ok_or(Errno::ENOSPC)?;
    let tty = Arc::new(Tty::new(index, uid));
    r.insert(index, Arc::downgrade(&tty));
    Ok(tty)
}

/// /proc/PID/stat's tty_nr and tpgid for a process of session `sid`: its
/// controlling terminal's device number as Linux encodes it and the
/// terminal's foreground group; (0, -1) for none.
pub fn ctty_numbers(sid: i32) -> (u32, i32) {
    match jobctl::ctty_of(sid) {
        Some(tty) => (encode_dev(tty.index), tty.session_pgrp().1.unwrap_or(-1)),
        None => (0, -1),
    }
}

/// Replica `index`'s device number as Linux's new_encode_dev packs it
/// (what tty_nr and TIOCGDEV report).
fn encode_dev(index: u32) -> u32 {
    (index & 0xff) | (PTS_MAJOR << 8) | ((index & !0xff) << 12)
}

/// The root of a new devpts.
pub fn new() -> Arc<dyn Inode> {
    Arc::new(PtsDir)
}

fn node(ino: u64, mode: u32) -> Node {
    Node {
        dev: devnums::DEVPTS,
        ino,
        mode,
        fs: FS,
    }
}

/// /dev/pts: "ptmx" and one node per live pair.
struct PtsDir;

impl Inode for PtsDir {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        Ok(node(1, libc::S_IFDIR | 0o755).stat(0))
    }

    fn lookup(&self, _ctx: &Ctx<'_>, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        if name == b"ptmx" {
            return Ok(ptmx_node(node(2, libc::S_IFCHR), 0));
        }
        let s = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        if s.starts_with('0') && s.len() > 1 || s.starts_with('+') {
            return Err(Errno::ENOENT);
        }
        let index: u32 = s.parse().map_err(|_| Errno::ENOENT)?;
        let tty = find(index).ok_or(Errno::ENOENT)?;
        Ok(Arc::new(PtsNode { tty }))
    }

    fn readdir(&self, _ctx: &Ctx<'_>) -> Result<Vec<DirEntry>, Errno> {
        let mut out = dot_entries(1, 1);
        out.push(DirEntry {
            ino: 2,
            kind: libc::DT_CHR,
            name: b"ptmx".to_vec(),
        });
        for tty in live_ttys() {
            out.push(DirEntry {
                ino: u64::from(tty.index) + 3,
                kind: libc::DT_CHR,
                name: tty.index.to_string().into_bytes(),
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

/// /dev/pts/N: the replica of pair N.
struct PtsNode {
    tty: Arc<Tty>,
}

impl Inode for PtsNode {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        let mut st = node(u64::from(self.tty.index) + 3, libc::S_IFCHR | 0o620).stat(0);
        st.uid = self.tty.uid;
        st.gid = TTY_GID;
        st.rdev = libc::makedev(PTS_MAJOR, self.tty.index);
        Ok(st)
    }

    fn open(
        &self,
        ctx: &Ctx<'_>,
        dentry: &Arc<Dentry>,
        flags: i32,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        self.tty.open_replica(ctx, dentry, flags)
    }

    fn fs_info(&self) -> FsInfo {
        FS
    }
}

/// /dev/ptmx and /dev/pts/ptmx: each open makes a new pair.
struct PtmxNode {
    node: Node,
}

/// A ptmx node at `node` (its mode's type bits say S_IFCHR) with
/// permission bits `perm`.
fn ptmx_node(mut node: Node, perm: u32) -> Arc<dyn Inode> {
    node.mode = libc::S_IFCHR | perm;
    Arc::new(PtmxNode { node })
}

/// The /dev/ptmx node of devfs (`dev`, `ino` are devfs's).
pub fn devfs_ptmx(dev: u64, ino: u64, fs: FsInfo) -> Arc<dyn Inode> {
    ptmx_node(
        Node {
            dev,
            ino,
            mode: libc::S_IFCHR,
            fs,
        },
        0o666,
    )
}

impl Inode for PtmxNode {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        let mut st = self.node.stat(0);
        st.rdev = libc::makedev(TTYAUX_MAJOR, 2);
        Ok(st)
    }

    fn open(
        &self,
        ctx: &Ctx<'_>,
        dentry: &Arc<Dentry>,
        flags: i32,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        let tty = new_pair(ctx.fs_cred().uid)?;
        Ok(tty.master_file(dentry, flags))
    }

    fn fs_info(&self) -> FsInfo {
        self.node.fs
    }
}

/// /dev/tty: the caller's controlling terminal.
struct CttyNode {
    node: Node,
}

/// The /dev/tty node of devfs.
pub fn devfs_tty(dev: u64, ino: u64, fs: FsInfo) -> Arc<dyn Inode> {
    Arc::new(CttyNode {
        node: Node {
            dev,
            ino,
            mode: libc::S_IFCHR | 0o666,
            fs,
        },
    })
}

impl Inode for CttyNode {
    fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
        let mut st = self.node.stat(0);
        st.rdev = libc::makedev(TTYAUX_MAJOR, 0);
        Ok(st)
    }

    fn open(
        &self,
        ctx: &Ctx<'_>,
        dentry: &Arc<Dentry>,
        flags: i32,
    ) -> Result<Arc<dyn FileDescription>, Errno> {
        let t = ctx.task().ok_or(Errno::ENXIO)?;
        let (_, sid) = jobctl::ids(t);
        if let Some(tty) = jobctl::ctty_of(sid) {
            return tty.open_replica(ctx, dentry, flags | libc::O_NOCTTY);
        }
        match host_terminal() {
            Some(host) if sid == INIT_SESSION => host.inode().open(ctx, &host, flags),
            _ => Err(Errno::ENXIO),
        }
    }

    fn fs_info(&self) -> FsInfo {
        self.node.fs
    }
}

/// The session of the sandbox's init, whose controlling terminal is the
/// caller's terminal when ward's stdio is one.
const INIT_SESSION: i32 = 1;

fn host_tty_slot() -> MutexGuard<'static, Option<Arc<Dentry>>> {
    static H: OnceLock<Mutex<Option<Arc<Dentry>>>> = OnceLock::new();
    H.get_or_init(|| Mutex::new(None))
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn host_terminal() -> Option<Arc<Dentry>> {
    host_tty_slot().clone()
}

/// Boot offers each donated stdio file: the first that is a host terminal
/// becomes what /dev/tty opens for init's session while that session has
/// no pty of the sandbox as controlling terminal (so an interactive
/// `ward do` keeps its terminal at /dev/tty).
pub fn offer_host_terminal(file: &dyn FileDescription) {
    use std::os::fd::AsFd;
    let Some(fd) = file.host_fd() else {
        return;
    };
    if crate::vfs::raw::tcgets(fd.as_fd()).is_err() {
        return;
    }
    let mut slot = host_tty_slot();
    if slot.is_none() {
        *slot = file.dentry();
    }
}

/// TIOCGPTPEER: opens the replica of `tty` with `flags` and installs it.
fn open_peer(tty: &Arc<Tty>, t: &Task, flags: i32) -> SysResult {
    let allowed = libc::O_ACCMODE | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC;
    if flags & !allowed != 0 {
        return Err(Errno::EINVAL);
    }
    let path = format!("/dev/pts/{}", tty.index);
    let dentry = Dentry::new_anon(
        path.as_bytes(),
        Arc::new(PtsNode {
            tty: Arc::clone(tty),
        }),
    );
    let file = tty.open_replica(&Ctx::of(t), &dentry, flags)?;
    Ok(t.fds.install(file, flags & libc::O_CLOEXEC != 0)? as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::walk;

    #[test]
    fn a_replica_node_exists_while_its_master_is_open() {
        let root = Dentry::new_root(new());
        let ctx = Ctx::kernel();
        let ptmx = walk::lookup(&ctx, &root, &root, b"ptmx", true).unwrap();
        let st = ptmx.stat(&ctx).unwrap();
        assert_eq!(st.rdev, libc::makedev(5, 2));
        let master = ptmx.inode().open(&ctx, &ptmx, libc::O_RDWR).unwrap();
        let index = master
            .as_any()
            .and_then(|a| a.downcast_ref::<pair::End>())
            .filter(|m| m.is_master())
            .map(|m| m.tty.index)
            .unwrap();
        let name = index.to_string();
        let node = root.inode().lookup(&ctx, name.as_bytes()).unwrap();
        let st = node.stat(&ctx).unwrap();
        assert_eq!(st.mode, libc::S_IFCHR | 0o620);
        assert_eq!(st.rdev, libc::makedev(136, index));
        drop(master);
        assert!(root.inode().lookup(&ctx, name.as_bytes()).is_err());
    }
}
