//! The unsafe edge of the gofer: one small safe wrapper per host syscall.
//!
//! Owns every `unsafe` block of the crate: `openat2`, `statx`, `fstatfs`,
//! `getdents64`, `lseek`, `readlinkat`, `fcntl`, `poll`, `socketpair`,
//! `sendmsg`/`recvmsg` with `SCM_RIGHTS`, and the changes a read-write
//! server makes (`mkdirat`, `symlinkat`, `linkat`, `mknodat`, `unlinkat`,
//! `renameat2`, `fchmodat2`, `fchownat`, `utimensat`, `ftruncate`, `umask`). Each wrapper takes borrowed fds and
//! slices, returns owned fds, and retries `EINTR`. This module must never
//! decide policy (which flags are allowed, what may be followed): the server
//! does that; and it must never open a path through `/proc/self/fd`.

use std::ffi::CStr;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use crate::protocol::{Attr, FsStat};

/// `struct open_how` from `<linux/openat2.h>` (libc marks its copy
/// non-exhaustive, so it cannot be built field by field).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Size of one fd in an `SCM_RIGHTS` payload.
const FD_SIZE: usize = mem::size_of::<RawFd>();

/// Most descriptors a received message may carry before the rest are
/// discarded by the kernel (and the message flagged `MSG_CTRUNC`).
pub const MAX_RECV_FDS: usize = 4;

/// Control buffer large enough for [`MAX_RECV_FDS`] descriptors, aligned
/// for `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; cmsg_space(MAX_RECV_FDS * FD_SIZE)]);

/// `CMSG_SPACE(len)` as a constant.
const fn cmsg_space(len: usize) -> usize {
    // SAFETY: CMSG_SPACE is pure arithmetic on its argument; `len` is a small
    // compile-time constant, so the u32 conversion is exact.
    (unsafe { libc::CMSG_SPACE(len as libc::c_uint) }) as usize
}

/// `CMSG_LEN(len)` as a constant.
const fn cmsg_len(len: usize) -> usize {
    // SAFETY: CMSG_LEN is pure arithmetic on its argument; `len` is a small
    // compile-time constant, so the u32 conversion is exact.
    (unsafe { libc::CMSG_LEN(len as libc::c_uint) }) as usize
}

/// Runs `f` until it does not fail with `EINTR`; maps -1 to the errno.
fn retry<T: Copy + PartialEq + From<i8>>(mut f: impl FnMut() -> T) -> io::Result<T> {
    loop {
        let r = f();
        if r != T::from(-1) {
            return Ok(r);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// Converts a non-negative syscall return value known to fit in usize.
fn to_usize<T: TryInto<usize>>(n: T) -> io::Result<usize> {
    n.try_into()
        .map_err(|_| io::Error::from_raw_os_error(libc::EIO))
}

/// `openat2(dir, path, {flags, 0, resolve})`.
pub fn openat2(dir: BorrowedFd<'_>, path: &CStr, flags: i32, resolve: u64) -> io::Result<OwnedFd> {
    openat2_mode(dir, path, flags, 0, resolve)
}

/// `openat2(dir, path, {flags, mode, resolve})`: `mode` for `O_CREAT`.
pub fn openat2_mode(
    dir: BorrowedFd<'_>,
    path: &CStr,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let how = OpenHow {
        // Open flags are a bit set; reinterpret, do not sign-extend.
        flags: u64::from(flags as u32),
        mode: u64::from(mode),
        resolve,
    };
    let fd = retry(|| {
        // SAFETY: `path` is NUL-terminated and `how` is a live, correctly
        // sized `struct open_how`; the kernel only reads both.
        unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                path.as_ptr(),
                &how as *const OpenHow,
                mem::size_of::<OpenHow>(),
            )
        }
    })?;
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: openat2 succeeded, so `fd` is a new descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)`: the attributes of
/// the node `fd` refers to (works on `O_PATH` fds, symlinks included).
pub fn stat_fd(fd: BorrowedFd<'_>) -> io::Result<Attr> {
    // SAFETY: `statx` is plain old data; all-zero is a valid value.
    let mut stx: libc::statx = unsafe { mem::zeroed() };
    retry(|| {
        // SAFETY: the path is a NUL-terminated empty string and `stx` is a
        // writable `struct statx` that outlives the call.
        unsafe {
            libc::statx(
                fd.as_raw_fd(),
                c"".as_ptr(),
                libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW | libc::AT_STATX_SYNC_AS_STAT,
                libc::STATX_BASIC_STATS | libc::STATX_BTIME,
                &mut stx,
            )
        }
    })?;
    let (btime_sec, btime_nsec) = if stx.stx_mask & libc::STATX_BTIME != 0 {
        (stx.stx_btime.tv_sec, i64::from(stx.stx_btime.tv_nsec))
    } else {
        (0, 0)
    };
    Ok(Attr {
        dev: libc::makedev(stx.stx_dev_major, stx.stx_dev_minor),
        ino: stx.stx_ino,
        mode: u32::from(stx.stx_mode),
        nlink: u64::from(stx.stx_nlink),
        uid: stx.stx_uid,
        gid: stx.stx_gid,
        rdev: libc::makedev(stx.stx_rdev_major, stx.stx_rdev_minor),
        // Sizes are loff_t/blkcnt_t in the kernel: reinterpret as signed.
        size: stx.stx_size as i64,
        blksize: i64::from(stx.stx_blksize),
        blocks: stx.stx_blocks as i64,
        atime_sec: stx.stx_atime.tv_sec,
        atime_nsec: i64::from(stx.stx_atime.tv_nsec),
        mtime_sec: stx.stx_mtime.tv_sec,
        mtime_nsec: i64::from(stx.stx_mtime.tv_nsec),
        ctime_sec: stx.stx_ctime.tv_sec,
        ctime_nsec: i64::from(stx.stx_ctime.tv_nsec),
        btime_sec,
        btime_nsec,
    })
}

/// `fstatfs(fd).f_type`: the magic number of the filesystem `fd` is on
/// (works on `O_PATH` fds).
pub fn fs_magic(fd: BorrowedFd<'_>) -> io::Result<u64> {
    // SAFETY: `statfs` is plain old data; all-zero is a valid value.
    let mut st: libc::statfs = unsafe { mem::zeroed() };
    retry(|| {
        // SAFETY: `st` is a writable `struct statfs` that outlives the call.
        unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) }
    })?;
    // f_type is a signed word on some ABIs; the magic is its low 32 bits.
    Ok(st.f_type as u64 & 0xffff_ffff)
}

/// `fstatfs(fd)`'s counts (works on `O_PATH` fds).
pub fn fs_stat(fd: BorrowedFd<'_>) -> io::Result<FsStat> {
    // SAFETY: `statfs` is plain old data; all-zero is a valid value.
    let mut st: libc::statfs = unsafe { mem::zeroed() };
    retry(|| {
        // SAFETY: `st` is a writable `struct statfs` that outlives the call.
        unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) }
    })?;
    Ok(FsStat {
        bsize: st.f_bsize as u64,
        blocks: st.f_blocks,
        bfree: st.f_bfree,
        bavail: st.f_bavail,
        files: st.f_files,
        ffree: st.f_ffree,
        namelen: st.f_namelen as u64,
    })
}

/// `getdents64(fd, buf)`: fills `buf` with `linux_dirent64` records and
/// returns how many bytes it wrote (0 at the end of the directory).
pub fn getdents64(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    let n = retry(|| {
        // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`,
        // which is a live exclusive slice.
        unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                fd.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        }
    })?;
    let n = to_usize(n)?;
    if n > buf.len() {
        return Err(io::Error::from_raw_os_error(libc::EIO));
    }
    Ok(n)
}

/// `lseek(fd, pos, SEEK_SET)` with a directory cookie (an opaque `d_off`).
pub fn seek_dir(fd: BorrowedFd<'_>, cookie: u64) -> io::Result<()> {
    // d_off is an loff_t: reinterpret the wire's u64, do not clamp.
    let pos = cookie as i64;
    retry(|| {
        // SAFETY: lseek takes no pointers.
        unsafe { libc::lseek(fd.as_raw_fd(), pos, libc::SEEK_SET) }
    })?;
    Ok(())
}

/// `readlinkat(fd, "")`: the target of the symlink an `O_PATH` fd refers to.
/// Targets longer than `max` bytes fail with `ENAMETOOLONG`.
pub fn readlink_fd(fd: BorrowedFd<'_>, max: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; max + 1];
    let n = retry(|| {
        // SAFETY: the path is a NUL-terminated empty string and the kernel
        // writes at most `buf.len()` bytes into `buf`.
        unsafe {
            libc::readlinkat(
                fd.as_raw_fd(),
                c"".as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        }
    })?;
    let n = to_usize(n)?;
    if n > max {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    buf.truncate(n);
    Ok(buf)
}

/// `fcntl(fd, F_GETFL)`.
pub fn get_status_flags(fd: BorrowedFd<'_>) -> io::Result<i32> {
    retry(|| {
        // SAFETY: F_GETFL takes no pointer argument.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) }
    })
}

/// `fcntl(fd, F_SETFL, flags)`.
pub fn set_status_flags(fd: BorrowedFd<'_>, flags: i32) -> io::Result<()> {
    retry(|| {
        // SAFETY: F_SETFL takes an integer argument, no pointer.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) }
    })?;
    Ok(())
}

/// Maps a libc return of 0 / -1 to `Ok(())` / the errno, retrying `EINTR`.
fn done(f: impl FnMut() -> libc::c_int) -> io::Result<()> {
    retry(f).map(|_| ())
}

/// `mkdirat(dir, name, mode)`.
pub fn mkdirat(dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated; the kernel only reads it.
    done(|| unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) })
}

/// `symlinkat(target, dir, name)`.
pub fn symlinkat(target: &CStr, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    // SAFETY: both strings are NUL-terminated; the kernel only reads them.
    done(|| unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) })
}

/// `linkat(old_dir, old_name, new_dir, new_name, 0)`: never follows a
/// symlink at `old_name`.
pub fn linkat(
    old_dir: BorrowedFd<'_>,
    old_name: &CStr,
    new_dir: BorrowedFd<'_>,
    new_name: &CStr,
) -> io::Result<()> {
    done(|| {
        // SAFETY: both strings are NUL-terminated; the kernel only reads them.
        unsafe {
            libc::linkat(
                old_dir.as_raw_fd(),
                old_name.as_ptr(),
                new_dir.as_raw_fd(),
                new_name.as_ptr(),
                0,
            )
        }
    })
}

/// `mknodat(dir, name, mode, rdev)`.
pub fn mknodat(dir: BorrowedFd<'_>, name: &CStr, mode: u32, rdev: u64) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated; the kernel only reads it.
    done(|| unsafe { libc::mknodat(dir.as_raw_fd(), name.as_ptr(), mode, rdev) })
}

/// `unlinkat(dir, name, flags)`.
pub fn unlinkat(dir: BorrowedFd<'_>, name: &CStr, flags: i32) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated; the kernel only reads it.
    done(|| unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) })
}

/// `renameat2(old_dir, old_name, new_dir, new_name, flags)`.
pub fn renameat2(
    old_dir: BorrowedFd<'_>,
    old_name: &CStr,
    new_dir: BorrowedFd<'_>,
    new_name: &CStr,
    flags: u32,
) -> io::Result<()> {
    // The syscall itself: glibc's wrapper makes renameat for flags 0,
    // which the gofer's allowlist does not admit.
    retry(|| {
        // SAFETY: both strings are NUL-terminated; the kernel only reads them.
        unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                old_dir.as_raw_fd(),
                old_name.as_ptr(),
                new_dir.as_raw_fd(),
                new_name.as_ptr(),
                flags,
            )
        }
    })?;
    Ok(())
}

/// `fchmodat2(fd, "", mode, AT_EMPTY_PATH)`: the mode of the node an
/// `O_PATH` fd refers to (Linux 6.6; `ENOSYS` before).
pub fn chmod_fd(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    retry(|| {
        // SAFETY: the path is a NUL-terminated empty string; no other pointer.
        unsafe {
            libc::syscall(
                libc::SYS_fchmodat2,
                fd.as_raw_fd(),
                c"".as_ptr(),
                mode,
                libc::AT_EMPTY_PATH,
            )
        }
    })?;
    Ok(())
}

/// `fchmod(fd, mode)` on a real (not `O_PATH`) open file.
pub fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    // SAFETY: fchmod takes no pointers.
    done(|| unsafe { libc::fchmod(fd.as_raw_fd(), mode) })
}

/// `fchownat(fd, "", uid, gid, AT_EMPTY_PATH)`: `None` leaves an id as is.
pub fn chown_fd(fd: BorrowedFd<'_>, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
    // (uid_t)-1 means "unchanged".
    let (uid, gid) = (uid.unwrap_or(u32::MAX), gid.unwrap_or(u32::MAX));
    // SAFETY: the path is a NUL-terminated empty string.
    done(|| unsafe { libc::fchownat(fd.as_raw_fd(), c"".as_ptr(), uid, gid, libc::AT_EMPTY_PATH) })
}

/// `utimensat(fd, "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)`: `None`
/// leaves a time as is (`UTIME_OMIT`).
pub fn utimes_fd(
    fd: BorrowedFd<'_>,
    atime: Option<(i64, i64)>,
    mtime: Option<(i64, i64)>,
) -> io::Result<()> {
    let ts = |t: Option<(i64, i64)>| match t {
        Some((sec, nsec)) => libc::timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        },
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
    };
    let times = [ts(atime), ts(mtime)];
    done(|| {
        // SAFETY: the path is a NUL-terminated empty string and `times`
        // is two live timespecs; the kernel only reads them.
        unsafe {
            libc::utimensat(
                fd.as_raw_fd(),
                c"".as_ptr(),
                times.as_ptr(),
                libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
            )
        }
    })
}

/// `ftruncate(fd, size)`.
pub fn ftruncate(fd: BorrowedFd<'_>, size: u64) -> io::Result<()> {
    let size = i64::try_from(size).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
    // SAFETY: ftruncate takes no pointers.
    done(|| unsafe { libc::ftruncate(fd.as_raw_fd(), size) })
}

/// `umask(0)`: files are made with exactly the modes asked for.
pub fn clear_umask() {
    // SAFETY: umask takes no pointers and cannot fail.
    unsafe {
        libc::umask(0);
    }
}

/// Whether the peer of a connected socket has shut down its sending side
/// (`poll` reports `POLLRDHUP` or `POLLHUP`). Does not block.
pub fn peer_closed(sock: BorrowedFd<'_>) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: sock.as_raw_fd(),
        events: libc::POLLIN | libc::POLLRDHUP,
        revents: 0,
    };
    retry(|| {
        // SAFETY: `pfd` is one live `struct pollfd`, matching nfds = 1.
        unsafe { libc::poll(&mut pfd, 1, 0) }
    })?;
    Ok(pfd.revents & (libc::POLLRDHUP | libc::POLLHUP) != 0)
}

/// `socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC)`.
pub fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [RawFd; 2] = [-1; 2];
    retry(|| {
        // SAFETY: `fds` has room for the two descriptors socketpair writes.
        unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        }
    })?;
    let [a, b] = fds;
    // SAFETY: socketpair succeeded, so both are new descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(a), OwnedFd::from_raw_fd(b)) })
}

/// Sends `data` as one message, with `fd` attached as `SCM_RIGHTS` if given.
/// Never raises `SIGPIPE`.
pub fn send_msg(sock: BorrowedFd<'_>, data: &[u8], fd: Option<BorrowedFd<'_>>) -> io::Result<()> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    };
    let mut control = CmsgBuf([0; cmsg_space(MAX_RECV_FDS * FD_SIZE)]);
    // SAFETY: `msghdr` is plain old data; all-zero is a valid (empty) value.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some(fd) = fd {
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = cmsg_space(FD_SIZE) as _;
        // SAFETY: msg_control points at `control`, which is aligned for
        // cmsghdr and at least CMSG_SPACE(FD_SIZE) long, and msg_controllen
        // says so; so the first header and its data lie inside `control`.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = cmsg_len(FD_SIZE) as _;
            libc::CMSG_DATA(cmsg)
                .cast::<RawFd>()
                .write_unaligned(fd.as_raw_fd());
        }
    }
    let sent = retry(|| {
        // SAFETY: `msg` points at `iov` (covering `data`) and, if set, at
        // `control`; all outlive the call and the kernel only reads them.
        unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) }
    })?;
    if to_usize(sent)? != data.len() {
        // SOCK_SEQPACKET sends whole messages; anything else is a bug.
        return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
    }
    Ok(())
}

/// One received message.
#[derive(Debug)]
pub struct Received {
    /// Bytes of the message that were stored in the buffer.
    pub len: usize,
    /// The message was longer than the buffer and was cut (`MSG_TRUNC`).
    pub truncated: bool,
    /// Descriptors that came with it (`O_CLOEXEC`), at most [`MAX_RECV_FDS`].
    pub fds: Vec<OwnedFd>,
    /// More descriptors came than fit; the kernel closed the rest.
    pub fds_truncated: bool,
}

/// Receives one message into `buf`, with any `SCM_RIGHTS` descriptors it
/// carries (marked close-on-exec). A message of 0 bytes is either an empty
/// message or the end of the stream: tell them apart with [`peer_closed`].
pub fn recv_msg(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Received> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = CmsgBuf([0; cmsg_space(MAX_RECV_FDS * FD_SIZE)]);
    // SAFETY: `msghdr` is plain old data; all-zero is a valid (empty) value.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of::<CmsgBuf>() as _;
    let n = retry(|| {
        // SAFETY: `msg` points at `iov` (covering `buf`) and at `control`,
        // both live and exclusively borrowed, with their true lengths.
        unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) }
    })?;
    let len = to_usize(n)?.min(buf.len());

    let mut fds = Vec::new();
    // SAFETY: after recvmsg, msg_control/msg_controllen describe the control
    // messages the kernel wrote into `control`; CMSG_FIRSTHDR/NXTHDR stay
    // within that range and return null at its end.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: `cmsg` is non-null and points at a complete header inside
        // `control` (CMSG_FIRSTHDR/NXTHDR guarantee it).
        let (level, kind, clen) =
            unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type, (*cmsg).cmsg_len) };
        if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
            let data_len = to_usize(clen)?.saturating_sub(cmsg_len(0));
            // SAFETY: cmsg points at a header the kernel wrote.
            let data = unsafe { libc::CMSG_DATA(cmsg) };
            for i in 0..data_len / FD_SIZE {
                // SAFETY: the kernel wrote `data_len` bytes of descriptors
                // after the header, inside `control`; unaligned reads are
                // used because CMSG_DATA only guarantees cmsghdr alignment.
                let raw = unsafe { data.add(i * FD_SIZE).cast::<RawFd>().read_unaligned() };
                // SAFETY: SCM_RIGHTS installed this descriptor in our table
                // for us alone; nothing else owns it.
                fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
        // SAFETY: `msg` still describes `control` and `cmsg` is a header in it.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    Ok(Received {
        len,
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
        fds,
        fds_truncated: msg.msg_flags & libc::MSG_CTRUNC != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn a_message_and_its_fd_cross_a_seqpacket_pair() {
        let (a, b) = seqpacket_pair().expect("socketpair");
        let (x, _y) = seqpacket_pair().expect("socketpair");
        send_msg(a.as_fd(), b"hello", Some(x.as_fd())).expect("send");
        let mut buf = [0u8; 16];
        let got = recv_msg(b.as_fd(), &mut buf).expect("recv");
        assert_eq!(&buf[..got.len], b"hello");
        assert_eq!(got.fds.len(), 1);
        assert!(!got.truncated && !got.fds_truncated);
    }

    #[test]
    fn an_oversized_message_is_flagged_truncated() {
        let (a, b) = seqpacket_pair().expect("socketpair");
        send_msg(a.as_fd(), &[7u8; 32], None).expect("send");
        let mut buf = [0u8; 16];
        let got = recv_msg(b.as_fd(), &mut buf).expect("recv");
        assert!(got.truncated);
        assert_eq!(got.len, 16);
    }

    #[test]
    fn peer_closed_tells_eof_from_an_empty_message() {
        let (a, b) = seqpacket_pair().expect("socketpair");
        send_msg(a.as_fd(), &[], None).expect("send");
        let mut buf = [0u8; 16];
        assert_eq!(recv_msg(b.as_fd(), &mut buf).expect("recv").len, 0);
        assert!(!peer_closed(b.as_fd()).expect("poll"));
        drop(a);
        assert_eq!(recv_msg(b.as_fd(), &mut buf).expect("recv").len, 0);
        assert!(peer_closed(b.as_fd()).expect("poll"));
    }
}
