//! inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch: the
//! argument checks in Linux's order. The instance is `fsimpl::inotify`;
//! the watches and the events are `vfs::notify`'s.

use std::sync::Arc;

use super::fs::walk_start;
use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::fsimpl::inotify::Inotify;
use crate::kernel::Task;
use crate::vfs::file::FileDescription;
use crate::vfs::perm::{self, MAY_READ};
use crate::vfs::{notify, walk, Ctx};

pub fn register(t: &mut Table) {
    use Arg::*;
    const NOTE: &str = "close events (and an open file's delayed IN_DELETE_SELF) at the last \
                        fd's close, not a mapping's; no close for execve's program; at most 128 \
                        instances and 65536 watches per sandbox";
    t.set(
        libc::SYS_inotify_init,
        inotify_init,
        Support::Partial,
        &[],
        NOTE,
    );
    t.set(
        libc::SYS_inotify_init1,
        inotify_init1,
        Support::Partial,
        &[Hex],
        NOTE,
    );
    t.set(
        libc::SYS_inotify_add_watch,
        inotify_add_watch,
        Support::Partial,
        &[Fd, Path, Hex],
        NOTE,
    );
    t.set(
        libc::SYS_inotify_rm_watch,
        inotify_rm_watch,
        Support::Partial,
        &[Fd, Int],
        NOTE,
    );
}

/// Every bit inotify_add_watch knows (Linux's ALL_INOTIFY_BITS).
const ALL_BITS: u32 = libc::IN_ALL_EVENTS
    | libc::IN_UNMOUNT
    | libc::IN_Q_OVERFLOW
    | libc::IN_IGNORED
    | libc::IN_ONLYDIR
    | libc::IN_DONT_FOLLOW
    | libc::IN_EXCL_UNLINK
    | libc::IN_MASK_CREATE
    | libc::IN_MASK_ADD
    | libc::IN_ISDIR
    | libc::IN_ONESHOT;

fn inotify_init(t: &mut Task, _a: [u64; 6]) -> SysResult {
    init(t, 0)
}

fn inotify_init1(t: &mut Task, a: [u64; 6]) -> SysResult {
    init(t, a[0] as i32)
}

fn init(t: &mut Task, flags: i32) -> SysResult {
    if flags & !(libc::IN_CLOEXEC | libc::IN_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = Arc::new(Inotify::new(flags & libc::IN_NONBLOCK != 0)?);
    let fd = t.fds.install(file, flags & libc::IN_CLOEXEC != 0)?;
    Ok(fd as u64)
}

/// The instance open at `fd`: EBADF, or EINVAL for any other file.
fn instance(file: &Arc<dyn FileDescription>) -> Result<&Inotify, Errno> {
    file.as_any()
        .and_then(|f| f.downcast_ref::<Inotify>())
        .ok_or(Errno::EINVAL)
}

fn inotify_add_watch(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (fd, path_addr, mask) = (a[0] as i32, a[1], a[2] as u32);
    if mask & libc::IN_MASK_ADD != 0 && mask & libc::IN_MASK_CREATE != 0 {
        return Err(Errno::EINVAL);
    }
    if mask & !ALL_BITS != 0 || mask & ALL_BITS == 0 {
        return Err(Errno::EINVAL);
    }
    let file = t.fds.get(fd)?;
    let ino = instance(&file)?;
    let path = t.read_path(path_addr)?;
    let (root, start) = walk_start(t, libc::AT_FDCWD, &path)?;
    let ctx = Ctx::of(t);
    let follow = mask & libc::IN_DONT_FOLLOW == 0;
    let d = walk::lookup(&ctx, &root, &start, &path, follow)?;
    let st = d.stat(&ctx)?;
    if mask & libc::IN_ONLYDIR != 0 && !st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    perm::check(&st, &ctx.fs_cred(), MAY_READ)?;
    let wd = notify::add_watch(ino.group(), &ino.sink(), &d, mask)?;
    Ok(wd as u64)
}

fn inotify_rm_watch(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = t.fds.get(a[0] as i32)?;
    let ino = instance(&file)?;
    notify::rm_watch(ino.group(), a[1] as i32)?;
    Ok(0)
}
