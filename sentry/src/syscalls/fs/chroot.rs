//! chroot: changing a process's root directory.
//!
//! The root lives in the task's `FsContext` (shared by CLONE_FS threads,
//! copied by fork, kept by execve). Every walk of an absolute path or an
//! absolute symlink target starts there and ".." stops there (`vfs::walk`);
//! a working directory left outside it is not moved, as on Linux, and
//! getcwd then reads "(unreachable)/...".

use super::walk_start;
use crate::errno::{Errno, SysResult};
use crate::kernel::creds::CAP_SYS_CHROOT;
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::perm::{self, MAY_EXEC};
use crate::vfs::{walk, Ctx};

pub(super) fn register(t: &mut Table) {
    t.set(libc::SYS_chroot, chroot, Support::Full, &[Arg::Path], "");
}

/// chroot(path): as Linux checks, in order: the walk (EFAULT, ENOENT,
/// ENOTDIR, EACCES, ELOOP), search permission on the directory itself
/// (EACCES), then CAP_SYS_CHROOT (EPERM).
fn chroot(t: &mut Task, a: [u64; 6]) -> SysResult {
    let path = t.read_path(a[0])?;
    let (root, start) = walk_start(t, libc::AT_FDCWD, &path)?;
    let ctx = Ctx::of(t);
    let d = walk::lookup(&ctx, &root, &start, &path, true)?;
    let st = d.stat(&ctx)?;
    if !st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    perm::check(&st, &ctx.fs_cred(), MAY_EXEC)?;
    if !t.creds.has_cap(CAP_SYS_CHROOT) {
        return Err(Errno::EPERM);
    }
    // Only the root changes: the cwd stays where it is (possibly outside).
    t.fs.lock().unwrap_or_else(|p| p.into_inner()).root = d;
    Ok(0)
}
