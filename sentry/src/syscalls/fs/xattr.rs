//! getxattr, setxattr, listxattr, removexattr and their l (no follow) and
//! f (open fd) forms: target resolution, name and namespace checks, size
//! probes; the attributes themselves are in `vfs::xattr`.
//!
//! Only user.* attributes are kept, on regular files and directories of
//! the writable file systems (tmpfs, the overlay root); reading a
//! security.*, system.* or trusted.* one finds nothing (ENODATA) and
//! setting one is EOPNOTSUPP, as is anything on other file systems.

use std::sync::Arc;

use super::{check_not_path, fd_arg, walk_start};
use crate::errno::{Errno, SysResult};
use crate::fsimpl::devnums;
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::dentry::Dentry;
use crate::vfs::perm::{self, MAY_READ, MAY_WRITE};
use crate::vfs::stat::Stat;
use crate::vfs::{walk, xattr, Ctx};

const TMPFS_MAGIC: i64 = 0x0102_1994;
const OVERLAYFS_MAGIC: i64 = 0x794c_7630;

pub(super) fn register(t: &mut Table) {
    use Arg::*;
    let note = "user.* kept in sandbox memory on tmpfs and the overlay root";
    let sets: [(i64, super::super::table::Handler, &'static [Arg]); 12] = [
        (libc::SYS_getxattr, getxattr, &[Path, Path, Hex, Int]),
        (libc::SYS_lgetxattr, lgetxattr, &[Path, Path, Hex, Int]),
        (libc::SYS_fgetxattr, fgetxattr, &[Fd, Path, Hex, Int]),
        (libc::SYS_setxattr, setxattr, &[Path, Path, Hex, Int, Hex]),
        (libc::SYS_lsetxattr, lsetxattr, &[Path, Path, Hex, Int, Hex]),
        (libc::SYS_fsetxattr, fsetxattr, &[Fd, Path, Hex, Int, Hex]),
        (libc::SYS_listxattr, listxattr, &[Path, Hex, Int]),
        (libc::SYS_llistxattr, llistxattr, &[Path, Hex, Int]),
        (libc::SYS_flistxattr, flistxattr, &[Fd, Hex, Int]),
        (libc::SYS_removexattr, removexattr, &[Path, Path]),
        (libc::SYS_lremovexattr, lremovexattr, &[Path, Path]),
        (libc::SYS_fremovexattr, fremovexattr, &[Fd, Path]),
    ];
    for (nr, h, args) in sets {
        t.set(nr, h, Support::Partial, args, note);
    }
}

/// How a call names its file.
#[derive(Clone, Copy)]
enum By {
    Path { follow: bool },
    Fd,
}

/// The file an xattr call acts on, with its attributes.
struct Target {
    dentry: Arc<Dentry>,
    st: Stat,
}

impl Target {
    fn resolve(t: &Task, by: By, arg: u64) -> Result<Target, Errno> {
        let dentry = match by {
            By::Path { follow } => {
                let path = t.read_path(arg)?;
                let (root, start) = walk_start(t, libc::AT_FDCWD, &path)?;
                walk::lookup(&Ctx::of(t), &root, &start, &path, follow)?
            }
            By::Fd => {
                let file = t.fds.get(fd_arg(arg))?;
                check_not_path(&*file)?;
                file.dentry().ok_or(Errno::EOPNOTSUPP)?
            }
        };
        let st = dentry.stat(&Ctx::of(t))?;
        Ok(Target { dentry, st })
    }

    /// Whether the file system keeps attributes here.
    fn supported(&self) -> bool {
        let magic = self.dentry.inode().fs_info().magic;
        matches!(magic, TMPFS_MAGIC | OVERLAYFS_MAGIC) && self.st.dev != devnums::DEV
    }

    fn key(&self) -> (u64, u64) {
        (self.st.dev, self.st.ino)
    }

    /// user.* attributes live only on regular files and directories.
    fn holds_user(&self) -> bool {
        self.st.is_regular() || self.st.is_dir()
    }
}

/// The namespace of an attribute name.
#[derive(PartialEq, Eq)]
enum Ns {
    User,
    /// security.*, system.*, trusted.*: known, never held here.
    Other,
}

/// Reads an attribute name: 1..=255 bytes (ERANGE otherwise), in a known
/// namespace (EOPNOTSUPP otherwise).
fn read_name(t: &Task, addr: u64) -> Result<(Vec<u8>, Ns), Errno> {
    let name = t.mm.read_cstring(addr, 255).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::ERANGE
        } else {
            e
        }
    })?;
    if name.is_empty() {
        return Err(Errno::ERANGE);
    }
    let ns = if name.starts_with(b"user.") {
        Ns::User
    } else if [&b"security."[..], b"system.", b"trusted."]
        .iter()
        .any(|p| name.starts_with(p))
    {
        Ns::Other
    } else {
        return Err(Errno::EOPNOTSUPP);
    };
    Ok((name, ns))
}

/// Copies `data` out to a buffer of `size` bytes: size 0 asks only for the
/// length; too small is ERANGE.
fn reply(t: &Task, addr: u64, size: u64, data: &[u8]) -> SysResult {
    if size == 0 {
        return Ok(data.len() as u64);
    }
    if (size as usize) < data.len() {
        return Err(Errno::ERANGE);
    }
    t.mm.copy_out(addr, data)?;
    Ok(data.len() as u64)
}

fn get(t: &Task, by: By, a: [u64; 6]) -> SysResult {
    let target = Target::resolve(t, by, a[0])?;
    let (name, ns) = read_name(t, a[1])?;
    if !target.supported() {
        return Err(Errno::EOPNOTSUPP);
    }
    if ns == Ns::Other || !target.holds_user() {
        return Err(Errno::ENODATA);
    }
    perm::check(&target.st, &Ctx::of(t).fs_cred(), MAY_READ)?;
    let value = xattr::get(target.key(), &name)?;
    reply(t, a[2], a[3], &value)
}

/// Checks a change to attribute `ns` of `target`.
fn may_change(t: &Task, target: &Target, ns: &Ns) -> Result<(), Errno> {
    if !target.supported() || *ns == Ns::Other {
        return Err(Errno::EOPNOTSUPP);
    }
    if target.dentry.read_only() {
        return Err(Errno::EROFS);
    }
    if !target.holds_user() {
        return Err(Errno::EPERM);
    }
    perm::check(&target.st, &Ctx::of(t).fs_cred(), MAY_WRITE)
}

fn set(t: &Task, by: By, a: [u64; 6]) -> SysResult {
    let flags = a[4] as i32;
    if flags & !(libc::XATTR_CREATE | libc::XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    let (name, ns) = read_name(t, a[1])?;
    let size = a[3] as usize;
    if size > xattr::SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let mut value = vec![0u8; size];
    if size > 0 {
        t.mm.copy_in(a[2], &mut value)?;
    }
    let target = Target::resolve(t, by, a[0])?;
    may_change(t, &target, &ns)?;
    xattr::set(target.key(), &name, &value, flags)?;
    crate::vfs::notify::xattr_changed(&target.dentry);
    Ok(0)
}

fn list(t: &Task, by: By, a: [u64; 6]) -> SysResult {
    let target = Target::resolve(t, by, a[0])?;
    if !target.supported() {
        return Ok(0);
    }
    reply(t, a[1], a[2], &xattr::list(target.key()))
}

fn remove(t: &Task, by: By, a: [u64; 6]) -> SysResult {
    let target = Target::resolve(t, by, a[0])?;
    let (name, ns) = read_name(t, a[1])?;
    may_change(t, &target, &ns)?;
    xattr::remove(target.key(), &name)?;
    crate::vfs::notify::xattr_changed(&target.dentry);
    Ok(0)
}

const FOLLOW: By = By::Path { follow: true };
const NOFOLLOW: By = By::Path { follow: false };

fn getxattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    get(t, FOLLOW, a)
}

fn lgetxattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    get(t, NOFOLLOW, a)
}

fn fgetxattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    get(t, By::Fd, a)
}

fn setxattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    set(t, FOLLOW, a)
}

fn lsetxattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    set(t, NOFOLLOW, a)
}

fn fsetxattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    set(t, By::Fd, a)
}

fn listxattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    list(t, FOLLOW, a)
}

fn llistxattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    list(t, NOFOLLOW, a)
}

fn flistxattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    list(t, By::Fd, a)
}

fn removexattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    remove(t, FOLLOW, a)
}

fn lremovexattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    remove(t, NOFOLLOW, a)
}

fn fremovexattr(t: &mut Task, a: [u64; 6]) -> SysResult {
    remove(t, By::Fd, a)
}
