//! getdents64 and the old getdents: a directory's entries packed into the
//! app's buffer from the file's position on.

use super::fd_arg;
use crate::errno::{Errno, SysResult};
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::dirent::{Layout, Packer};
use crate::vfs::Ctx;

pub(super) fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_getdents64,
        getdents64,
        Support::Full,
        &[Fd, Hex, Int],
        "",
    );
    t.set(
        libc::SYS_getdents,
        getdents,
        Support::Full,
        &[Fd, Hex, Int],
        "",
    );
}

fn do_getdents(t: &Task, a: [u64; 6], layout: Layout) -> SysResult {
    let file = t.fds.get(fd_arg(a[0]))?;
    let (buf, count) = (a[1], a[2] as u32 as usize);
    let mut packer = Packer::new(layout, count);
    let mut overflowed = false;
    file.getdents(&Ctx::of(t), &mut |e, off| {
        let fits = packer.push(e, off);
        overflowed |= !fits;
        fits
    })?;
    crate::vfs::notify::file_event(&*file, libc::IN_ACCESS);
    if packer.buf.is_empty() {
        // Not even one entry fit: the buffer is too small.
        return if overflowed {
            Err(Errno::EINVAL)
        } else {
            Ok(0)
        };
    }
    t.mm.copy_out(buf, &packer.buf)?;
    Ok(packer.buf.len() as u64)
}

fn getdents64(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_getdents(t, a, Layout::Dirent64)
}

fn getdents(t: &mut Task, a: [u64; 6]) -> SysResult {
    do_getdents(t, a, Layout::Dirent)
}
