//! File-change notification (inotify's half in the VFS): the sandbox-wide
//! table of watches on inodes, and the hooks the operation sites call
//! after a change succeeded (`created`, `removed`, `renamed`, `file_event`,
//! `closed`, `attr_changed`…), which turn it into events for the watches,
//! in the order and with the masks Linux's fsnotify gives them.
//!
//! A watch is a mark of one group (an inotify instance) on one inode: the
//! table holds the dentry it was found at (so the node, and the parents
//! through which the overlay finds it again, stay the same while watched,
//! as Linux's marks pin their inode) and finds it by the node's address or
//! by its (device, inode number), which the other names of a hard link
//! share (the overlay has a node per name). An event on a file
//! goes first to the watches on its parent directory (with its name), then
//! to those on the file itself. Every hook returns at once, after one
//! atomic load, while nothing in the sandbox is watched.
//!
//! IN_EXCL_UNLINK watches ignore events through a file once its last
//! link is gone.
//!
//! IN_DELETE_SELF comes when the last link is gone, or, if an fd still has
//! the file open then, at the last close (as Linux, which waits for the
//! last reference to the dentry).
//!
//! Differences from Linux: close events (and a delayed IN_DELETE_SELF)
//! come when the last fd closes, not when a mapping, a working directory
//! or an in-flight syscall drops the file later; execve's program file
//! gets IN_OPEN and IN_ACCESS but never its IN_CLOSE_NOWRITE.
//!
//! Never does: block, or call into a file system while holding the table's
//! lock (attributes are read before it is taken).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::ctx::Ctx;
use super::dentry::Dentry;
use super::file::FileDescription;
use super::inode::{Inode, SetAttr};
use crate::errno::Errno;

use libc::{
    IN_ACCESS, IN_ALL_EVENTS, IN_ATTRIB, IN_CLOSE_NOWRITE, IN_CLOSE_WRITE, IN_CREATE, IN_DELETE,
    IN_DELETE_SELF, IN_EXCL_UNLINK, IN_IGNORED, IN_ISDIR, IN_MASK_ADD, IN_MASK_CREATE, IN_MODIFY,
    IN_MOVED_FROM, IN_MOVED_TO, IN_MOVE_SELF, IN_ONESHOT,
};

/// Where a group's events go (an inotify instance's queue).
pub trait Sink: Send + Sync {
    /// Queues one event for watch `wd`; `name` is empty for events on the
    /// watched inode itself.
    fn event(&self, wd: i32, mask: u32, cookie: u32, name: &[u8]);
}

/// The bits of a watch's mask kept after inotify_add_watch.
const KEPT: u32 = IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK;

struct Mark {
    group: u64,
    sink: Arc<dyn Sink>,
    wd: i32,
    mask: u32,
}

struct Watched {
    /// Where the inode was found: held so the node stays the one watched
    /// (and its address unique), and so do its parents (the overlay finds
    /// a child's node again only through a live parent).
    dentry: Arc<Dentry>,
    /// Its (device, inode number) when last seen.
    id: Option<(u64, u64)>,
    /// Its last link is gone but an fd still has it open: IN_DELETE_SELF
    /// waits for the last close.
    doomed: bool,
    marks: Vec<Mark>,
}

#[derive(Default)]
struct Table {
    /// By the inode's address.
    inodes: HashMap<usize, Watched>,
    /// (device, inode number) to the addresses of watched nodes with it.
    ids: HashMap<(u64, u64), Vec<usize>>,
    /// (group, wd) to the inode's address.
    wds: HashMap<(u64, i32), usize>,
    /// Each group's last watch descriptor (they are handed out cyclically).
    last_wd: HashMap<u64, i32>,
    /// Dentries of watches just removed, released once the lock is dropped
    /// (the last reference to a gofer node asks the gofer to forget it).
    dead: Vec<Arc<Dentry>>,
}

/// Marks in the table: the hooks' one check on the common path.
static MARKS: AtomicUsize = AtomicUsize::new(0);
/// Watched inodes whose IN_DELETE_SELF waits for a close (`doomed`).
static DOOMED: AtomicUsize = AtomicUsize::new(0);

/// Watches the sandbox may hold (Linux's fs.inotify.max_user_watches,
/// which defaults to between 8192 and 1048576 by memory size): past it
/// inotify_add_watch is ENOSPC.
pub const MAX_WATCHES: usize = 65536;
static NEXT_GROUP: AtomicU64 = AtomicU64::new(1);
static NEXT_COOKIE: AtomicU32 = AtomicU32::new(1);

/// The locked table; dentries of removed watches are dropped after the
/// lock.
struct Locked(Option<MutexGuard<'static, Table>>);

impl std::ops::Deref for Locked {
    type Target = Table;
    fn deref(&self) -> &Table {
        self.0.as_deref().unwrap_or_else(|| unreachable!())
    }
}

impl std::ops::DerefMut for Locked {
    fn deref_mut(&mut self) -> &mut Table {
        self.0.as_deref_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        let dead = self.0.as_mut().map(|t| std::mem::take(&mut t.dead));
        self.0 = None;
        drop(dead);
    }
}

fn table() -> Locked {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    Locked(Some(
        TABLE
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    ))
}

/// Whether anything in the sandbox is watched.
#[inline]
fn active() -> bool {
    MARKS.load(Ordering::Acquire) != 0
}

/// How the table finds an inode's watches: by the node's address, and by
/// its (device, inode number), which another node of the same file shares
/// (the overlay has a node per name, so two hard links are two nodes).
/// Taken before the table's lock: reading attributes may ask the gofer.
#[derive(Clone, Copy)]
struct Ident {
    addr: usize,
    id: Option<(u64, u64)>,
    dir: bool,
    nlink: Option<u64>,
}

fn ident(inode: &Arc<dyn Inode>) -> Ident {
    let st = inode.stat(&Ctx::kernel()).ok();
    Ident {
        addr: Arc::as_ptr(inode) as *const () as usize,
        // Inode number 0 names no file (nodes that report none).
        id: st.filter(|s| s.ino != 0).map(|s| (s.dev, s.ino)),
        dir: st.is_some_and(|s| s.is_dir()),
        nlink: st.map(|s| s.nlink),
    }
}

/// One event for one watch, delivered after the table's lock is dropped.
struct Delivery {
    sink: Arc<dyn Sink>,
    wd: i32,
    mask: u32,
    cookie: u32,
    name: Vec<u8>,
}

fn deliver(out: Vec<Delivery>) {
    for d in out {
        d.sink.event(d.wd, d.mask, d.cookie, &d.name);
    }
}

impl Table {
    /// The watched nodes that are `who`: itself, and those with its id.
    /// Its recorded id is brought up to date (the overlay's copy-up
    /// changes a file's).
    fn keys(&mut self, who: &Ident) -> Vec<usize> {
        let mut ks = Vec::new();
        if let Some(w) = self.inodes.get_mut(&who.addr) {
            ks.push(who.addr);
            if w.id != who.id && who.id.is_some() {
                let old = std::mem::replace(&mut w.id, who.id);
                self.unindex(old, who.addr);
                self.index(who.id, who.addr);
            }
        }
        if let Some(same) = who.id.and_then(|id| self.ids.get(&id)) {
            ks.extend(same.iter().copied().filter(|&k| k != who.addr));
        }
        ks
    }

    fn index(&mut self, id: Option<(u64, u64)>, k: usize) {
        if let Some(id) = id {
            self.ids.entry(id).or_default().push(k);
        }
    }

    fn unindex(&mut self, id: Option<(u64, u64)>, k: usize) {
        if let Some(id) = id {
            if let Some(v) = self.ids.get_mut(&id) {
                v.retain(|&x| x != k);
                if v.is_empty() {
                    self.ids.remove(&id);
                }
            }
        }
    }

    /// `mask` for the watches on `who` that want it, with `name` (empty
    /// for the inode's own events).
    fn event(&mut self, who: &Ident, mask: u32, cookie: u32, name: &[u8], out: &mut Vec<Delivery>) {
        for k in self.keys(who) {
            self.event_at(k, mask, cookie, name, 0, out);
        }
    }

    /// `event` for an event through an open file or a path: watches with
    /// IN_EXCL_UNLINK ignore it once the file is `unlinked`.
    fn path_event(
        &mut self,
        who: &Ident,
        mask: u32,
        name: &[u8],
        unlinked: bool,
        out: &mut Vec<Delivery>,
    ) {
        let skip = if unlinked { IN_EXCL_UNLINK } else { 0 };
        for k in self.keys(who) {
            self.event_at(k, mask, 0, name, skip, out);
        }
    }

    /// `mask` for the watches on the node at `k` that want it, but those
    /// with a flag of `skip`; a one-shot watch is removed after its event.
    fn event_at(
        &mut self,
        k: usize,
        mask: u32,
        cookie: u32,
        name: &[u8],
        skip: u32,
        out: &mut Vec<Delivery>,
    ) {
        let Some(w) = self.inodes.get_mut(&k) else {
            return;
        };
        let mut gone = Vec::new();
        for m in &w.marks {
            if m.mask & mask & IN_ALL_EVENTS == 0 || m.mask & skip != 0 {
                continue;
            }
            out.push(Delivery {
                sink: Arc::clone(&m.sink),
                wd: m.wd,
                mask,
                cookie,
                name: name.to_vec(),
            });
            if m.mask & IN_ONESHOT != 0 {
                gone.push((m.group, m.wd));
            }
        }
        for (group, wd) in gone {
            self.remove_mark(group, wd, out);
        }
    }

    /// Removes the watch `wd` of `group`, with its IN_IGNORED.
    fn remove_mark(&mut self, group: u64, wd: i32, out: &mut Vec<Delivery>) -> bool {
        let Some(k) = self.wds.remove(&(group, wd)) else {
            return false;
        };
        let Some(w) = self.inodes.get_mut(&k) else {
            return true;
        };
        if let Some(i) = w.marks.iter().position(|m| m.group == group && m.wd == wd) {
            let m = w.marks.remove(i);
            MARKS.fetch_sub(1, Ordering::Release);
            out.push(Delivery {
                sink: m.sink,
                wd,
                mask: IN_IGNORED,
                cookie: 0,
                name: Vec::new(),
            });
        }
        if w.marks.is_empty() {
            let id = w.id;
            if let Some(gone) = self.inodes.remove(&k) {
                if gone.doomed {
                    DOOMED.fetch_sub(1, Ordering::Relaxed);
                }
                self.dead.push(gone.dentry);
            }
            self.unindex(id, k);
        }
        true
    }

    /// The inode `who` lost its last link: IN_DELETE_SELF, and every watch
    /// on it ends with IN_IGNORED; unless it is `open`, when that waits
    /// for its last close.
    fn unlinked(&mut self, who: &Ident, open: bool, out: &mut Vec<Delivery>) {
        if !open {
            self.event(who, IN_DELETE_SELF, 0, &[], out);
            self.forget(who, out);
            return;
        }
        for k in self.keys(who) {
            if let Some(w) = self.inodes.get_mut(&k) {
                if !w.doomed {
                    w.doomed = true;
                    DOOMED.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Whether `who` waits for its last close.
    fn doomed(&mut self, who: &Ident) -> bool {
        self.keys(who)
            .iter()
            .any(|k| self.inodes.get(k).is_some_and(|w| w.doomed))
    }

    /// Whether the table watches `who`.
    fn watches(&mut self, who: &Ident) -> bool {
        !self.keys(who).is_empty()
    }

    /// The inode `who` is gone: every watch on it ends with IN_IGNORED.
    fn forget(&mut self, who: &Ident, out: &mut Vec<Delivery>) {
        for k in self.keys(who) {
            let marks: Vec<(u64, i32)> = match self.inodes.get(&k) {
                Some(w) => w.marks.iter().map(|m| (m.group, m.wd)).collect(),
                None => continue,
            };
            for (group, wd) in marks {
                self.remove_mark(group, wd, out);
            }
        }
    }
}

/// A new group (an inotify instance): its id for the functions below.
pub fn new_group() -> u64 {
    NEXT_GROUP.fetch_add(1, Ordering::Relaxed)
}

/// inotify_add_watch's update of the table: `group`'s watch on the inode
/// of `dentry`
/// (its wd if it has one: replaced, or merged under IN_MASK_ADD, EEXIST
/// under IN_MASK_CREATE), else a new one with the next free wd (ENOSPC
/// past `MAX_WATCHES`).
pub fn add_watch(
    group: u64,
    sink: &Arc<dyn Sink>,
    dentry: &Arc<Dentry>,
    mask: u32,
) -> Result<i32, Errno> {
    let who = ident(dentry.inode());
    let mut t = table();
    for k in t.keys(&who) {
        let Some(m) = t
            .inodes
            .get_mut(&k)
            .and_then(|w| w.marks.iter_mut().find(|m| m.group == group))
        else {
            continue;
        };
        if mask & IN_MASK_CREATE != 0 {
            return Err(Errno::EEXIST);
        }
        m.mask = if mask & IN_MASK_ADD != 0 {
            m.mask | (mask & KEPT)
        } else {
            mask & KEPT
        };
        return Ok(m.wd);
    }
    if MARKS.load(Ordering::Relaxed) >= MAX_WATCHES {
        return Err(Errno::ENOSPC);
    }
    let mut wd = t.last_wd.get(&group).copied().unwrap_or(0);
    loop {
        wd = if wd == i32::MAX { 1 } else { wd + 1 };
        if !t.wds.contains_key(&(group, wd)) {
            break;
        }
    }
    t.last_wd.insert(group, wd);
    t.wds.insert((group, wd), who.addr);
    let mark = Mark {
        group,
        sink: Arc::clone(sink),
        wd,
        mask: mask & KEPT,
    };
    let fresh = !t.inodes.contains_key(&who.addr);
    t.inodes
        .entry(who.addr)
        .or_insert_with(|| Watched {
            dentry: Arc::clone(dentry),
            id: who.id,
            doomed: false,
            marks: Vec::new(),
        })
        .marks
        .push(mark);
    if fresh {
        t.index(who.id, who.addr);
    }
    MARKS.fetch_add(1, Ordering::Release);
    Ok(wd)
}

/// inotify_rm_watch: ends `group`'s watch `wd` with IN_IGNORED; EINVAL
/// when it has none.
pub fn rm_watch(group: u64, wd: i32) -> Result<(), Errno> {
    let mut out = Vec::new();
    let found = table().remove_mark(group, wd, &mut out);
    deliver(out);
    if found {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// Drops every watch of `group` without events (its instance is closed).
pub fn release(group: u64) {
    let mut t = table();
    let wds: Vec<i32> = t
        .wds
        .keys()
        .filter(|(g, _)| *g == group)
        .map(|&(_, wd)| wd)
        .collect();
    let mut out = Vec::new();
    for wd in wds {
        t.remove_mark(group, wd, &mut out);
    }
    t.last_wd.remove(&group);
    drop(t);
    // The IN_IGNORED events would go to the closing instance only.
    drop(out);
}

/// IN_ISDIR when `dir`.
fn isdir(dir: bool) -> u32 {
    if dir {
        IN_ISDIR
    } else {
        0
    }
}

/// The parent whose watches see events on `d` by name: none for a mount
/// root (as in Linux, no events cross a mount).
fn parent_of(d: &Dentry) -> Option<&Arc<Dentry>> {
    if d.is_mount_root() {
        None
    } else {
        d.parent()
    }
}

/// An event on `d` (IN_ISDIR added for a directory): to its parent's
/// watches with its name, then to its own.
fn dentry_event(d: &Dentry, mask: u32) {
    let own = ident(d.inode());
    let parent = parent_of(d).map(|p| ident(p.inode()));
    let mask = mask | isdir(own.dir);
    let unlinked = own.nlink == Some(0);
    let mut out = Vec::new();
    let mut t = table();
    if let Some(p) = &parent {
        t.path_event(p, mask, d.name(), unlinked, &mut out);
    }
    t.path_event(&own, mask, &[], unlinked, &mut out);
    drop(t);
    deliver(out);
}

/// The name `name` was made in `dir` (open's O_CREAT, mkdir, mknod, symlink).
pub fn created(dir: &Dentry, name: &[u8], dir_made: bool) {
    if !active() {
        return;
    }
    let parent = ident(dir.inode());
    let mut out = Vec::new();
    table().event(&parent, IN_CREATE | isdir(dir_made), 0, name, &mut out);
    deliver(out);
}

/// link(2) made `name` in `dir` for `target`: its link count changed.
pub fn linked(dir: &Dentry, name: &[u8], target: &Arc<dyn Inode>) {
    if !active() {
        return;
    }
    let (target, parent) = (ident(target), ident(dir.inode()));
    let mut out = Vec::new();
    let mut t = table();
    t.event(&target, IN_ATTRIB, 0, &[], &mut out);
    t.event(&parent, IN_CREATE, 0, name, &mut out);
    drop(t);
    deliver(out);
}

/// Whether the inode `who` is gone from the tree after losing a name.
fn gone(who: &Ident, dir: bool) -> bool {
    dir || who.nlink.is_none_or(|n| n == 0)
}

/// unlink or rmdir removed `name` (the inode `victim`) from `dir`.
pub fn removed(dir: &Dentry, name: &[u8], victim: &Arc<dyn Inode>, victim_dir: bool) {
    if !active() {
        return;
    }
    let (victim, parent) = (ident(victim), ident(dir.inode()));
    let dead = gone(&victim, victim_dir);
    let watched = dead && table().watches(&victim);
    let open = watched && still_open(&victim);
    let mut out = Vec::new();
    let mut t = table();
    if !victim_dir {
        t.event(&victim, IN_ATTRIB, 0, &[], &mut out);
    }
    if dead {
        t.unlinked(&victim, open, &mut out);
    }
    t.event(&parent, IN_DELETE | isdir(victim_dir), 0, name, &mut out);
    drop(t);
    deliver(out);
}

/// rename(2) moved `moved` from `old_name` in `old_dir` to `new_name` in
/// `new_dir`, over `replaced` if that name existed (with RENAME_EXCHANGE,
/// `replaced` moved the other way).
pub fn renamed(
    old_dir: &Dentry,
    old_name: &[u8],
    new_dir: &Dentry,
    new_name: &[u8],
    moved: &Arc<dyn Inode>,
    replaced: Option<&Arc<dyn Inode>>,
    exchange: bool,
) {
    if !active() {
        return;
    }
    let moved = ident(moved);
    let replaced = replaced.map(ident);
    let doomed = replaced.filter(|r| !exchange && gone(r, r.dir));
    let watched = doomed.is_some_and(|r| table().watches(&r));
    let open = watched && doomed.is_some_and(|r| still_open(&r));
    let (from, to) = (ident(old_dir.inode()), ident(new_dir.inode()));
    let mut out = Vec::new();
    let mut t = table();
    let first = Move {
        from: &from,
        from_name: old_name,
        to: &to,
        to_name: new_name,
        what: &moved,
    };
    first.events(&mut t, replaced.as_ref().filter(|_| !exchange), &mut out);
    match &replaced {
        Some(r) if exchange => {
            let back = Move {
                from: &to,
                from_name: new_name,
                to: &from,
                to_name: old_name,
                what: r,
            };
            back.events(&mut t, None, &mut out);
        }
        Some(r) if gone(r, r.dir) => t.unlinked(r, open, &mut out),
        _ => {}
    }
    drop(t);
    deliver(out);
}

/// One name moving, for `renamed`.
struct Move<'a> {
    from: &'a Ident,
    from_name: &'a [u8],
    to: &'a Ident,
    to_name: &'a [u8],
    what: &'a Ident,
}

impl Move<'_> {
    /// Linux's fsnotify_move: IN_MOVED_FROM and IN_MOVED_TO with one
    /// cookie, IN_ATTRIB on the inode `over` it replaced, IN_MOVE_SELF.
    fn events(&self, t: &mut Table, over: Option<&Ident>, out: &mut Vec<Delivery>) {
        let cookie = NEXT_COOKIE.fetch_add(1, Ordering::Relaxed);
        let flag = isdir(self.what.dir);
        t.event(self.from, IN_MOVED_FROM | flag, cookie, self.from_name, out);
        t.event(self.to, IN_MOVED_TO | flag, cookie, self.to_name, out);
        if let Some(r) = over {
            t.event(r, IN_ATTRIB, 0, &[], out);
        }
        t.event(self.what, IN_MOVE_SELF, 0, &[], out);
    }
}

/// An event on an open file: IN_ACCESS, IN_MODIFY, IN_OPEN.
pub fn file_event(file: &dyn FileDescription, mask: u32) {
    if !active() {
        return;
    }
    if let Some(d) = file.dentry() {
        dentry_event(&d, mask);
    }
}

/// The last fd of `file` was closed: IN_CLOSE_WRITE when it was open for
/// writing, else IN_CLOSE_NOWRITE (none for O_PATH files).
pub fn closed(file: &dyn FileDescription) {
    if !active() {
        return;
    }
    let flags = file.flags();
    if flags & libc::O_PATH != 0 {
        return;
    }
    let mask = if flags & libc::O_ACCMODE == libc::O_RDONLY {
        IN_CLOSE_NOWRITE
    } else {
        IN_CLOSE_WRITE
    };
    file_event(file, mask);
    if DOOMED.load(Ordering::Relaxed) == 0 {
        return;
    }
    let Some(d) = file.dentry() else {
        return;
    };
    let who = ident(d.inode());
    let doomed = table().doomed(&who);
    if doomed && !still_open(&who) {
        let mut out = Vec::new();
        table().unlinked(&who, false, &mut out);
        deliver(out);
    }
}

/// Whether `inode` is the file `who`.
fn same_file(who: &Ident, inode: &Arc<dyn Inode>) -> bool {
    if Arc::as_ptr(inode) as *const () as usize == who.addr {
        return true;
    }
    who.id.is_some() && ident(inode).id == who.id
}

/// Whether an fd of some process has the file `who` open (in the fd
/// tables processes publish for /proc). Only asked about watched files
/// that lost their last link, never with the table locked (a file
/// dropped here may be an inotify instance, whose release locks it).
fn still_open(who: &Ident) -> bool {
    for tg in crate::kernel::kernel::tasks().groups() {
        let fds = tg.lock().published.fds.upgrade();
        let Some(fds) = fds else {
            continue;
        };
        for fd in fds.fds() {
            let Ok(file) = fds.get(fd) else {
                continue;
            };
            if file.dentry().is_some_and(|d| same_file(who, d.inode())) {
                return true;
            }
        }
    }
    false
}

/// The events an attribute change makes, as Linux's fsnotify_change: an
/// owner or mode change, or both times, is IN_ATTRIB; a size change or the
/// modification time alone IN_MODIFY; the access time alone IN_ACCESS.
pub fn attr_mask(attr: &SetAttr) -> u32 {
    let mut mask = 0;
    if attr.uid.is_some() || attr.gid.is_some() || attr.mode.is_some() {
        mask |= IN_ATTRIB;
    }
    if attr.size.is_some() {
        mask |= IN_MODIFY;
    }
    match (attr.atime.is_some(), attr.mtime.is_some()) {
        (true, true) => mask |= IN_ATTRIB,
        (true, false) => mask |= IN_ACCESS,
        (false, true) => mask |= IN_MODIFY,
        (false, false) => {}
    }
    mask
}

/// chmod, chown, truncate or utimensat changed `d`'s attributes.
pub fn attr_changed(d: &Dentry, attr: &SetAttr) {
    if !active() {
        return;
    }
    let mask = attr_mask(attr);
    if mask != 0 {
        dentry_event(d, mask);
    }
}

/// An extended attribute of `d` changed.
pub fn xattr_changed(d: &Dentry) {
    if active() {
        dentry_event(d, IN_ATTRIB);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::inode::FsInfo;
    use crate::vfs::Stat;

    /// A file with its own inode number.
    struct File(u64);

    impl Inode for File {
        fn stat(&self, _ctx: &Ctx<'_>) -> Result<Stat, Errno> {
            Ok(Stat {
                dev: 0xdead,
                ino: self.0,
                nlink: 1,
                mode: libc::S_IFREG | 0o644,
                ..Stat::default()
            })
        }
        fn fs_info(&self) -> FsInfo {
            FsInfo {
                magic: 0,
                read_only: false,
            }
        }
    }

    #[derive(Default)]
    struct Log(Mutex<Vec<(i32, u32)>>);

    impl Sink for Log {
        fn event(&self, wd: i32, mask: u32, _cookie: u32, _name: &[u8]) {
            self.0.lock().unwrap().push((wd, mask));
        }
    }

    fn events(l: &Log) -> Vec<(i32, u32)> {
        l.0.lock().unwrap().clone()
    }

    #[test]
    fn attribute_changes_map_to_linux_events() {
        let both = SetAttr {
            atime: Some((0, 0)),
            mtime: Some((0, 0)),
            ..SetAttr::default()
        };
        assert_eq!(attr_mask(&both), IN_ATTRIB);
        let mtime = SetAttr {
            mtime: Some((0, 0)),
            ..SetAttr::default()
        };
        assert_eq!(attr_mask(&mtime), IN_MODIFY);
        let atime = SetAttr {
            atime: Some((0, 0)),
            ..SetAttr::default()
        };
        assert_eq!(attr_mask(&atime), IN_ACCESS);
        let chown = SetAttr {
            uid: Some(1),
            ..SetAttr::default()
        };
        assert_eq!(attr_mask(&chown), IN_ATTRIB);
    }

    #[test]
    fn a_second_watch_on_one_inode_keeps_its_wd_and_merges_with_mask_add() {
        let log = Arc::new(Log::default());
        let sink: Arc<dyn Sink> = log.clone();
        let d = Dentry::new_root(Arc::new(File(1)));
        let inode = d.inode();
        let g = new_group();
        let wd = add_watch(g, &sink, &d, IN_CREATE).unwrap();
        assert_eq!(add_watch(g, &sink, &d, IN_DELETE | IN_MASK_ADD), Ok(wd));
        assert_eq!(
            add_watch(g, &sink, &d, IN_DELETE | IN_MASK_CREATE),
            Err(Errno::EEXIST)
        );
        let who = ident(inode);
        let mut out = Vec::new();
        table().event(&who, IN_CREATE, 0, b"x", &mut out);
        table().event(&who, IN_DELETE, 0, b"x", &mut out);
        deliver(out);
        assert_eq!(events(&log), vec![(wd, IN_CREATE), (wd, IN_DELETE)]);
        release(g);
    }

    #[test]
    fn a_one_shot_watch_ends_with_in_ignored_and_wds_are_not_reused() {
        let log = Arc::new(Log::default());
        let sink: Arc<dyn Sink> = log.clone();
        let d = Dentry::new_root(Arc::new(File(2)));
        let inode = d.inode();
        let g = new_group();
        let wd = add_watch(g, &sink, &d, IN_CREATE | IN_ONESHOT).unwrap();
        let who = ident(inode);
        let mut out = Vec::new();
        table().event(&who, IN_CREATE, 0, b"a", &mut out);
        table().event(&who, IN_CREATE, 0, b"b", &mut out);
        deliver(out);
        assert_eq!(events(&log), vec![(wd, IN_CREATE), (wd, IN_IGNORED)]);
        assert_eq!(rm_watch(g, wd), Err(Errno::EINVAL));
        assert_eq!(add_watch(g, &sink, &d, IN_CREATE), Ok(wd + 1));
        release(g);
        assert!(table().keys(&ident(inode)).is_empty());
    }

    #[test]
    fn another_node_of_the_same_file_finds_its_watches() {
        let log = Arc::new(Log::default());
        let sink: Arc<dyn Sink> = log.clone();
        let one = Dentry::new_root(Arc::new(File(3)));
        let other = Dentry::new_root(Arc::new(File(3)));
        let g = new_group();
        let wd = add_watch(g, &sink, &one, IN_ATTRIB).unwrap();
        assert_eq!(add_watch(g, &sink, &other, IN_ATTRIB), Ok(wd));
        let mut out = Vec::new();
        table().event(&ident(other.inode()), IN_ATTRIB, 0, &[], &mut out);
        deliver(out);
        assert_eq!(events(&log), vec![(wd, IN_ATTRIB)]);
        release(g);
    }
}
