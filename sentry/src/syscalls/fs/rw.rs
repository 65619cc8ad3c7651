//! read, write, pread64, pwrite64, readv, writev, preadv, pwritev,
//! preadv2, pwritev2, lseek. Data moves between the file and app memory
//! through `Segments` (straight to a host fd where the file has one).

use std::sync::Arc;

use super::{
    check_not_path, check_readable, check_writable, fd_arg, segments, user_pieces, MAX_RW_COUNT,
};
use crate::errno::{Errno, SysResult};
use crate::kernel::Task;
use crate::mm::Segments;
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::file::FileDescription;

pub(super) fn register(t: &mut Table) {
    use Arg::*;
    t.set(libc::SYS_read, read, Support::Full, &[Fd, Buf(2), Int], "");
    t.set(
        libc::SYS_write,
        write,
        Support::Full,
        &[Fd, Buf(2), Int],
        "",
    );
    t.set(
        libc::SYS_pread64,
        pread64,
        Support::Full,
        &[Fd, Buf(2), Int, Int],
        "",
    );
    t.set(
        libc::SYS_pwrite64,
        pwrite64,
        Support::Full,
        &[Fd, Buf(2), Int, Int],
        "",
    );
    t.set(libc::SYS_readv, readv, Support::Full, &[Fd, Hex, Int], "");
    t.set(libc::SYS_writev, writev, Support::Full, &[Fd, Hex, Int], "");
    t.set(
        libc::SYS_preadv,
        preadv,
        Support::Full,
        &[Fd, Hex, Int, Int, Int],
        "",
    );
    t.set(
        libc::SYS_pwritev,
        pwritev,
        Support::Full,
        &[Fd, Hex, Int, Int, Int],
        "",
    );
    t.set(
        libc::SYS_preadv2,
        preadv2,
        Support::Partial,
        &[Fd, Hex, Int, Int, Int, Hex],
        "RWF_HIPRI/DSYNC/SYNC accepted and ignored; RWF_NOWAIT, RWF_APPEND unsupported",
    );
    t.set(
        libc::SYS_pwritev2,
        pwritev2,
        Support::Partial,
        &[Fd, Hex, Int, Int, Int, Hex],
        "RWF_HIPRI/DSYNC/SYNC accepted and ignored; RWF_NOWAIT, RWF_APPEND unsupported",
    );
    t.set(libc::SYS_lseek, lseek, Support::Full, &[Fd, Int, Int], "");
}

/// Most iovecs one call takes (UIO_MAXIOV).
const UIO_MAXIOV: u64 = 1024;

/// preadv2/pwritev2 flags accepted (and needing nothing here).
const RWF_IGNORED: i32 = libc::RWF_HIPRI | libc::RWF_DSYNC | libc::RWF_SYNC;

/// Whether a read or a write, and where.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Dir {
    Read,
    Write,
}

fn file_for(t: &Task, fd: u64, dir: Dir) -> Result<Arc<dyn FileDescription>, Errno> {
    let file = t.fds.get(fd_arg(fd))?;
    match dir {
        Dir::Read => check_readable(&*file)?,
        Dir::Write => check_writable(&*file)?,
    }
    Ok(file)
}

fn transfer(
    t: &Task,
    file: &dyn FileDescription,
    segs: &Segments,
    dir: Dir,
    offset: Option<u64>,
) -> SysResult {
    let n = match dir {
        Dir::Read => file.read_task(t, segs, offset)?,
        Dir::Write => file.write_task(t, segs, offset)?,
    };
    if n > 0 {
        let event = match dir {
            Dir::Read => libc::IN_ACCESS,
            Dir::Write => libc::IN_MODIFY,
        };
        crate::vfs::notify::file_event(file, event);
    }
    Ok(n as u64)
}

/// read/write/pread/pwrite of one buffer.
fn rw(t: &Task, a: [u64; 6], dir: Dir, offset: Option<i64>) -> SysResult {
    if offset.is_some_and(|o| o < 0) {
        return Err(Errno::EINVAL);
    }
    let file = file_for(t, a[0], dir)?;
    let pieces = match user_pieces(t, a[1], a[2] as usize, dir == Dir::Read) {
        Ok(p) => p,
        // A directory is EISDIR whatever the buffer (Linux checks only
        // the range before the file says so).
        Err(e) => {
            transfer(
                t,
                &*file,
                &segments(t, Vec::new()),
                dir,
                offset.map(|o| o as u64),
            )?;
            return Err(e);
        }
    };
    transfer(
        t,
        &*file,
        &segments(t, pieces),
        dir,
        offset.map(|o| o as u64),
    )
}

fn read(t: &mut Task, a: [u64; 6]) -> SysResult {
    rw(t, a, Dir::Read, None)
}

fn write(t: &mut Task, a: [u64; 6]) -> SysResult {
    rw(t, a, Dir::Write, None)
}

fn pread64(t: &mut Task, a: [u64; 6]) -> SysResult {
    rw(t, a, Dir::Read, Some(a[3] as i64))
}

fn pwrite64(t: &mut Task, a: [u64; 6]) -> SysResult {
    rw(t, a, Dir::Write, Some(a[3] as i64))
}

/// Reads an iovec array of `cnt` entries at `addr` and resolves it to
/// memory-file pieces: iovcnt past UIO_MAXIOV or negative is EINVAL, a bad
/// array EFAULT, an iov_len negative as ssize_t EINVAL; the total is capped
/// at MAX_RW_COUNT; a buffer that is only partly mapped ends the list there.
pub(super) fn iovec_segments(t: &Task, addr: u64, cnt: u64, dir: Dir) -> Result<Segments, Errno> {
    let cnt = cnt as i32;
    if cnt < 0 || cnt as u64 > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; cnt as usize * 16];
    t.mm.copy_in(addr, &mut raw)?;
    let iovs: Vec<(u64, u64)> = raw
        .chunks_exact(16)
        .map(|c| {
            let mut base = [0u8; 8];
            let mut len = [0u8; 8];
            base.copy_from_slice(&c[..8]);
            len.copy_from_slice(&c[8..]);
            (u64::from_ne_bytes(base), u64::from_ne_bytes(len))
        })
        .collect();
    if iovs.iter().any(|&(_, len)| (len as i64) < 0) {
        return Err(Errno::EINVAL);
    }
    let mut pieces: Vec<(u64, usize)> = Vec::new();
    let mut total = 0usize;
    for (base, len) in iovs {
        let len = (len as usize).min(MAX_RW_COUNT - total);
        if len == 0 {
            continue;
        }
        match user_pieces(t, base, len, dir == Dir::Read) {
            Ok(p) => {
                let got: usize = p.iter().map(|x| x.1).sum();
                pieces.extend(p);
                total += got;
                if got < len || total >= MAX_RW_COUNT {
                    break;
                }
            }
            Err(e) if pieces.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    Ok(segments(t, pieces))
}

/// readv/writev/preadv/pwritev/preadv2/pwritev2. `offset` None is the
/// file position.
fn rwv(t: &Task, a: [u64; 6], dir: Dir, offset: Option<i64>) -> SysResult {
    if offset.is_some_and(|o| o < 0) {
        return Err(Errno::EINVAL);
    }
    let file = file_for(t, a[0], dir)?;
    let segs = iovec_segments(t, a[1], a[2], dir)?;
    if segs.is_empty() {
        return Ok(0);
    }
    transfer(t, &*file, &segs, dir, offset.map(|o| o as u64))
}

fn readv(t: &mut Task, a: [u64; 6]) -> SysResult {
    rwv(t, a, Dir::Read, None)
}

fn writev(t: &mut Task, a: [u64; 6]) -> SysResult {
    rwv(t, a, Dir::Write, None)
}

fn preadv(t: &mut Task, a: [u64; 6]) -> SysResult {
    rwv(t, a, Dir::Read, Some(a[3] as i64))
}

fn pwritev(t: &mut Task, a: [u64; 6]) -> SysResult {
    rwv(t, a, Dir::Write, Some(a[3] as i64))
}

/// preadv2/pwritev2: offset -1 is the file position.
fn rwv2(t: &Task, a: [u64; 6], dir: Dir) -> SysResult {
    let flags = a[5] as i32;
    if flags & !RWF_IGNORED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let off = a[3] as i64;
    rwv(t, a, dir, if off == -1 { None } else { Some(off) })
}

fn preadv2(t: &mut Task, a: [u64; 6]) -> SysResult {
    rwv2(t, a, Dir::Read)
}

fn pwritev2(t: &mut Task, a: [u64; 6]) -> SysResult {
    rwv2(t, a, Dir::Write)
}

fn lseek(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = t.fds.get(fd_arg(a[0]))?;
    check_not_path(&*file)?;
    let whence = a[2] as u32;
    if whence > libc::SEEK_HOLE as u32 {
        return Err(Errno::EINVAL);
    }
    file.seek(a[1] as i64, whence as i32)
}
