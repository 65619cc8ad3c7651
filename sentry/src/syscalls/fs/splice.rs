//! sendfile, copy_file_range, splice, tee, vmsplice: bytes moved between
//! two files inside the sentry, through a bounce buffer in the memory file
//! (copied, never moved: no page is shared between the two files).
//! Argument checks follow Linux's order; which pairs of files each call
//! accepts is Linux's (splice needs a pipe on one side, tee on both,
//! copy_file_range regular files on both).

use std::sync::Arc;

use super::rw::{iovec_segments, Dir};
use super::{check_readable, check_writable, fd_arg, MAX_RW_COUNT};
use crate::errno::{Errno, SysResult};
use crate::fsimpl::pipe::{pipe_of, Pipe};
use crate::kernel::waiter::Registration;
use crate::kernel::Task;
use crate::mm::{MemoryFile, Segments};
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::file::FileDescription;

pub(super) fn register(t: &mut Table) {
    use Arg::*;
    let copy = "copied through the sentry (no page moving)";
    t.set(
        libc::SYS_sendfile,
        sendfile,
        Support::Full,
        &[Fd, Fd, Hex, Int],
        copy,
    );
    t.set(
        libc::SYS_copy_file_range,
        copy_file_range,
        Support::Full,
        &[Fd, Hex, Fd, Hex, Int, Hex],
        copy,
    );
    t.set(
        libc::SYS_splice,
        splice,
        Support::Full,
        &[Fd, Hex, Fd, Hex, Int, Hex],
        copy,
    );
    t.set(libc::SYS_tee, tee, Support::Full, &[Fd, Fd, Int, Hex], copy);
    t.set(
        libc::SYS_vmsplice,
        vmsplice,
        Support::Full,
        &[Fd, Hex, Int, Hex],
        "a readv/writev of the pipe",
    );
}

/// Bytes one round of a transfer moves.
const CHUNK: usize = 64 * 1024;

const SPLICE_FLAGS: u32 =
    libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK | libc::SPLICE_F_MORE | libc::SPLICE_F_GIFT;

/// A buffer of CHUNK bytes in the memory file, freed when dropped.
struct Bounce {
    mf: Arc<MemoryFile>,
    off: u64,
}

impl Bounce {
    fn new(t: &Task) -> Result<Bounce, Errno> {
        let mf = Arc::clone(t.mm.memfile());
        let off = mf.allocate(CHUNK as u64)?;
        Ok(Bounce { mf, off })
    }

    fn segs(&self, n: usize) -> Segments {
        Segments::new(Arc::clone(&self.mf), vec![(self.off, n.min(CHUNK))])
    }
}

impl Drop for Bounce {
    fn drop(&mut self) {
        self.mf.release(self.off, CHUNK as u64);
    }
}

/// One side of a transfer: the file and, when the call names one, the
/// offset to use instead of the file position.
struct Side<'a> {
    file: &'a dyn FileDescription,
    off: Option<u64>,
    pipe: Option<&'a Pipe>,
}

/// Copies up to `len` bytes from `src` to `dst`, advancing the explicit
/// offsets. Stops at end of input, at a short write, after the first read
/// from a pipe (splice returns what was there), or when `nonblock` and the
/// destination pipe is full. An error after some bytes moved ends the
/// transfer with those bytes.
fn pump(
    t: &Task,
    src: &mut Side<'_>,
    dst: &mut Side<'_>,
    len: usize,
    nonblock: bool,
) -> Result<usize, Errno> {
    let buf = Bounce::new(t)?;
    let mut done = 0usize;
    while done < len {
        let mut want = (len - done).min(CHUNK);
        if let (true, Some(p)) = (nonblock, dst.pipe) {
            if p.is_full() {
                if done == 0 {
                    return Err(Errno::EAGAIN);
                }
                break;
            }
            want = want.min(crate::fsimpl::pipe::PAGE);
        }
        let n = match src.file.read_task(t, &buf.segs(want), src.off) {
            Ok(n) => n,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        let w = match dst.file.write_task(t, &buf.segs(n), dst.off) {
            Ok(w) => w,
            Err(e) => {
                unread(src, n);
                if done > 0 {
                    break;
                }
                return Err(e);
            }
        };
        if w < n {
            unread(src, n - w);
        }
        done += w;
        src.off = src.off.map(|o| o + w as u64);
        dst.off = dst.off.map(|o| o + w as u64);
        if w < n || n < want || src.pipe.is_some() {
            break;
        }
    }
    if done > 0 {
        crate::vfs::notify::file_event(src.file, libc::IN_ACCESS);
        crate::vfs::notify::file_event(dst.file, libc::IN_MODIFY);
    }
    Ok(done)
}

/// Gives back `n` bytes read from `src` at its file position but not
/// written (a seekable source only; a pipe's are lost, as they would be
/// mid-copy on Linux).
fn unread(src: &Side<'_>, n: usize) {
    if src.off.is_none() && src.pipe.is_none() {
        let _ = src.file.seek(-(n as i64), libc::SEEK_CUR);
    }
}

/// Reads an optional loff_t argument: NULL is None; negative is EINVAL.
fn read_off(t: &Task, addr: u64) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let off: i64 = t.read_struct(addr)?;
    if off < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(off as u64))
}

fn write_off(t: &Task, addr: u64, off: Option<u64>) -> Result<(), Errno> {
    match off {
        Some(o) if addr != 0 => t.write_struct(addr, &(o as i64)),
        _ => Ok(()),
    }
}

fn same_pipe(a: &Pipe, b: &Pipe) -> bool {
    std::ptr::eq(a, b)
}

fn sendfile(t: &mut Task, a: [u64; 6]) -> SysResult {
    let out = t.fds.get(fd_arg(a[0]))?;
    let inp = t.fds.get(fd_arg(a[1]))?;
    check_readable(&*inp)?;
    check_writable(&*out)?;
    if out.flags() & libc::O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let off = read_off(t, a[2])?;
    let pin = pipe_of(&*inp);
    if off.is_some() && pin.is_some() {
        return Err(Errno::ESPIPE);
    }
    let len = (a[3] as usize).min(MAX_RW_COUNT);
    if len == 0 {
        return Ok(0);
    }
    let mut src = Side {
        file: &*inp,
        off,
        pipe: pin,
    };
    let mut dst = Side {
        file: &*out,
        off: None,
        pipe: pipe_of(&*out),
    };
    let n = pump(t, &mut src, &mut dst, len, false)?;
    write_off(t, a[2], src.off)?;
    Ok(n as u64)
}

fn copy_file_range(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[5] != 0 {
        return Err(Errno::EINVAL);
    }
    let inp = t.fds.get(fd_arg(a[0]))?;
    let out = t.fds.get(fd_arg(a[2]))?;
    check_readable(&*inp)?;
    check_writable(&*out)?;
    if out.flags() & libc::O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    let (si, so) = (inp.stat()?, out.stat()?);
    if si.is_dir() || so.is_dir() {
        return Err(Errno::EISDIR);
    }
    if !si.is_regular() || !so.is_regular() {
        return Err(Errno::EINVAL);
    }
    let off_in = read_off(t, a[1])?;
    let off_out = read_off(t, a[3])?;
    let len = (a[4] as usize).min(MAX_RW_COUNT);
    if (si.dev, si.ino) == (so.dev, so.ino) {
        let pin = off_in.unwrap_or_else(|| inp.seek(0, libc::SEEK_CUR).unwrap_or(0));
        let pout = off_out.unwrap_or_else(|| out.seek(0, libc::SEEK_CUR).unwrap_or(0));
        if pin < pout + len as u64 && pout < pin + len as u64 {
            return Err(Errno::EINVAL);
        }
    }
    if len == 0 {
        return Ok(0);
    }
    let mut src = Side {
        file: &*inp,
        off: off_in,
        pipe: None,
    };
    let mut dst = Side {
        file: &*out,
        off: off_out,
        pipe: None,
    };
    let n = pump(t, &mut src, &mut dst, len, false)?;
    write_off(t, a[1], src.off)?;
    write_off(t, a[3], dst.off)?;
    Ok(n as u64)
}

/// EAGAIN when a non-blocking splice or tee would have to wait for data
/// in `pipe` (empty with a writer left).
fn check_data(pipe: &Pipe, nonblock: bool) -> Result<(), Errno> {
    let (empty, writers) = pipe.empty_and_writers();
    if nonblock && empty && writers {
        return Err(Errno::EAGAIN);
    }
    Ok(())
}

fn splice(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[5] as u32;
    if flags & !SPLICE_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let inp = t.fds.get(fd_arg(a[0]))?;
    let out = t.fds.get(fd_arg(a[2]))?;
    check_readable(&*inp)?;
    check_writable(&*out)?;
    let (pin, pout) = (pipe_of(&*inp), pipe_of(&*out));
    match (pin, pout) {
        (None, None) => return Err(Errno::EINVAL),
        (Some(x), Some(y)) if same_pipe(x, y) => return Err(Errno::EINVAL),
        _ => {}
    }
    if (pin.is_some() && a[1] != 0) || (pout.is_some() && a[3] != 0) {
        return Err(Errno::ESPIPE);
    }
    if out.flags() & libc::O_APPEND != 0 && pout.is_none() {
        return Err(Errno::EINVAL);
    }
    let off_in = read_off(t, a[1])?;
    let off_out = read_off(t, a[3])?;
    let len = (a[4] as usize).min(MAX_RW_COUNT);
    if len == 0 {
        return Ok(0);
    }
    let nonblock = flags & libc::SPLICE_F_NONBLOCK != 0;
    if let Some(p) = pin {
        check_data(p, nonblock)?;
    }
    let mut src = Side {
        file: &*inp,
        off: off_in,
        pipe: pin,
    };
    let mut dst = Side {
        file: &*out,
        off: off_out,
        pipe: pout,
    };
    let n = pump(t, &mut src, &mut dst, len, nonblock)?;
    write_off(t, a[1], src.off)?;
    write_off(t, a[3], dst.off)?;
    Ok(n as u64)
}

fn tee(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[3] as u32;
    if flags & !SPLICE_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let inp = t.fds.get(fd_arg(a[0]))?;
    let out = t.fds.get(fd_arg(a[1]))?;
    check_readable(&*inp)?;
    check_writable(&*out)?;
    let (Some(pin), Some(pout)) = (pipe_of(&*inp), pipe_of(&*out)) else {
        return Err(Errno::EINVAL);
    };
    if same_pipe(pin, pout) {
        return Err(Errno::EINVAL);
    }
    let len = (a[2] as usize).min(CHUNK);
    if len == 0 {
        return Ok(0);
    }
    let nonblock = flags & libc::SPLICE_F_NONBLOCK != 0 || inp.flags() & libc::O_NONBLOCK != 0;
    let data = loop {
        let seen = t.waker.seq();
        let mut reg = Registration::new(&t.waker);
        reg.add(pin.queue(), u32::MAX);
        let data = pin.peek(len);
        if !data.is_empty() {
            break data;
        }
        let (_, writers) = pin.empty_and_writers();
        if !writers {
            return Ok(0);
        }
        check_data(pin, nonblock)?;
        t.block(seen, None)?;
    };
    if flags & libc::SPLICE_F_NONBLOCK != 0 && pout.is_full() {
        return Err(Errno::EAGAIN);
    }
    let buf = Bounce::new(t)?;
    buf.mf.write(buf.off, &data);
    Ok(out.write_task(t, &buf.segs(data.len()), None)? as u64)
}

fn vmsplice(t: &mut Task, a: [u64; 6]) -> SysResult {
    let flags = a[3] as u32;
    if flags & !SPLICE_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let file = t.fds.get(fd_arg(a[0]))?;
    let pipe = pipe_of(&*file).ok_or(Errno::EBADF)?;
    let nonblock = flags & libc::SPLICE_F_NONBLOCK != 0;
    let writing = match file.flags() & libc::O_ACCMODE {
        libc::O_WRONLY => true,
        libc::O_RDONLY => false,
        _ => return Err(Errno::EBADF),
    };
    let dir = if writing { Dir::Write } else { Dir::Read };
    let segs = iovec_segments(t, a[1], a[2], dir)?;
    if segs.is_empty() {
        return Ok(0);
    }
    let n = if writing {
        if nonblock && pipe.is_full() {
            return Err(Errno::EAGAIN);
        }
        file.write_task(t, &segs, None)?
    } else {
        check_data(pipe, nonblock)?;
        file.read_task(t, &segs, None)?
    };
    Ok(n as u64)
}
