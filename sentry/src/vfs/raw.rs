//! The unsafe edge of the VFS: one safe wrapper per host syscall made on a
//! donated fd (reads and writes straight between the fd and the memory
//! file, lseek, fstat, fcntl, terminal ioctls) and getrandom. Nothing here
//! takes a path: the sentry never opens host files (DESIGN invariant 2).

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::errno::Errno;
use crate::mm::Segments;

/// Most iovecs one host readv/writev takes (IOV_MAX).
const IOV_MAX: usize = 1024;

fn retry<F: FnMut() -> isize>(mut f: F) -> Result<usize, Errno> {
    loop {
        let n = f();
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = Errno::last();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

/// Host read into `dst` at `offset` (pread) or at the fd's own position
/// (None). Transfers in batches of IOV_MAX iovecs; a positional read goes
/// on while batches come back full, a streaming one stops after the first
/// (the next could block with data already in hand).
pub fn read_segments(
    fd: BorrowedFd<'_>,
    dst: &Segments,
    offset: Option<u64>,
) -> Result<usize, Errno> {
    transfer(fd, dst, offset, false)
}

/// Host write from `src`, as `read_segments`; a write goes on through every
/// batch until one comes back short.
pub fn write_segments(
    fd: BorrowedFd<'_>,
    src: &Segments,
    offset: Option<u64>,
) -> Result<usize, Errno> {
    transfer(fd, src, offset, true)
}

fn transfer(
    fd: BorrowedFd<'_>,
    segs: &Segments,
    offset: Option<u64>,
    write: bool,
) -> Result<usize, Errno> {
    let iovs = segs.iovecs();
    let mut done = 0usize;
    for batch in iovs.chunks(IOV_MAX) {
        let want: usize = batch.iter().map(|v| v.iov_len).sum();
        let cnt = batch.len() as libc::c_int;
        let at = offset.map(|o| o + done as u64);
        if at.is_some_and(|o| o > i64::MAX as u64) {
            return Err(Errno::EINVAL);
        }
        // SAFETY: every iovec points into the sentry's mapping of the memory
        // file, inside the ranges `segs` was translated to; `segs` (and so
        // the mapping) outlives the call. The host writes only there.
        let r = retry(|| unsafe {
            match (write, at) {
                (false, None) => libc::readv(fd.as_raw_fd(), batch.as_ptr(), cnt),
                (false, Some(o)) => libc::preadv(fd.as_raw_fd(), batch.as_ptr(), cnt, o as i64),
                (true, None) => libc::writev(fd.as_raw_fd(), batch.as_ptr(), cnt),
                (true, Some(o)) => libc::pwritev(fd.as_raw_fd(), batch.as_ptr(), cnt, o as i64),
            }
        });
        let n = match r {
            Ok(n) => n,
            Err(_) if done > 0 => return Ok(done),
            Err(e) => return Err(e),
        };
        done += n;
        if n < want || (!write && offset.is_none()) {
            break;
        }
    }
    Ok(done)
}

/// pread(2) into a sentry buffer.
pub fn pread(fd: BorrowedFd<'_>, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
    if offset > i64::MAX as u64 {
        return Err(Errno::EINVAL);
    }
    // SAFETY: `buf` is a live, writable sentry buffer of `buf.len()` bytes.
    retry(|| unsafe {
        libc::pread(
            fd.as_raw_fd(),
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
            offset as i64,
        )
    })
}

/// lseek(2).
pub fn lseek(fd: BorrowedFd<'_>, offset: i64, whence: i32) -> Result<u64, Errno> {
    // SAFETY: lseek takes no pointers.
    let r = unsafe { libc::lseek(fd.as_raw_fd(), offset, whence) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(r as u64)
}

/// ftruncate(2).
pub fn ftruncate(fd: BorrowedFd<'_>, len: u64) -> Result<(), Errno> {
    let len = i64::try_from(len).map_err(|_| Errno::EFBIG)?;
    // SAFETY: ftruncate takes no pointers.
    let r = unsafe { libc::ftruncate(fd.as_raw_fd(), len) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// fallocate(2).
pub fn fallocate(fd: BorrowedFd<'_>, mode: i32, offset: u64, len: u64) -> Result<(), Errno> {
    let offset = i64::try_from(offset).map_err(|_| Errno::EFBIG)?;
    let len = i64::try_from(len).map_err(|_| Errno::EFBIG)?;
    loop {
        // SAFETY: fallocate takes no pointers.
        let r = unsafe { libc::fallocate(fd.as_raw_fd(), mode, offset, len) };
        if r == 0 {
            return Ok(());
        }
        let e = Errno::last();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

/// fsync(2).
pub fn fsync(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: fsync takes no pointers.
    let r = unsafe { libc::fsync(fd.as_raw_fd()) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// fstat(2).
pub fn fstat(fd: BorrowedFd<'_>) -> Result<libc::stat, Errno> {
    // SAFETY: libc::stat is plain integers; all zeroes is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a live, writable libc::stat.
    let r = unsafe { libc::fstat(fd.as_raw_fd(), &mut st) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(st)
}

/// fcntl(F_GETFL).
pub fn get_status_flags(fd: BorrowedFd<'_>) -> Result<i32, Errno> {
    // SAFETY: F_GETFL takes no pointer.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(r)
}

/// fcntl(F_SETFL).
pub fn set_status_flags(fd: BorrowedFd<'_>, flags: i32) -> Result<(), Errno> {
    // SAFETY: F_SETFL takes an integer, no pointer.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// ioctl(TCGETS): the terminal's settings (ENOTTY when not a terminal).
pub fn tcgets(fd: BorrowedFd<'_>) -> Result<libc::termios, Errno> {
    // SAFETY: termios is plain integers; all zeroes is a valid value.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: TCGETS writes one `struct termios` (the kernel's, which is
    // libc::termios's prefix) to the live `t`.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TCGETS, &mut t as *mut libc::termios) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(t)
}

/// ioctl(TIOCGWINSZ): the terminal's window size.
pub fn tiocgwinsz(fd: BorrowedFd<'_>) -> Result<libc::winsize, Errno> {
    let mut w = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `struct winsize` to the live `w`.
    let r = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::TIOCGWINSZ,
            &mut w as *mut libc::winsize,
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(w)
}

/// getrandom(2) from the host, filling `buf` entirely.
pub fn getrandom(buf: &mut [u8]) -> Result<(), Errno> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is a live, writable sentry buffer.
        let n = retry(|| unsafe {
            libc::getrandom(rest.as_mut_ptr() as *mut libc::c_void, rest.len(), 0)
        })?;
        done += n;
    }
    Ok(())
}
