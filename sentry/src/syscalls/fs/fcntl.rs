//! fcntl, ioctl, dup, dup2, dup3: fd flags, status flags, duplication, and
//! the ioctls every fd answers (FIOCLEX, FIONCLEX, FIONBIO, FIONREAD on
//! regular files) before the file's own.

use super::{check_not_path, fd_arg};
use crate::errno::{Errno, SysResult};
use crate::fsimpl::pipe::pipe_of;
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};

pub(super) fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_fcntl,
        fcntl,
        Support::Partial,
        &[Fd, Int, Hex],
        "F_DUPFD(_CLOEXEC), F_GETFD/F_SETFD, F_GETFL/F_SETFL, F_GETPIPE_SZ/F_SETPIPE_SZ; record locks and OFD locks (sandbox-wide); others EINVAL",
    );
    t.set(
        libc::SYS_ioctl,
        ioctl,
        Support::Partial,
        &[Fd, Hex, Hex],
        "FIOCLEX, FIONCLEX, FIONBIO, FIONREAD; TCGETS and TIOCGWINSZ on host terminals; on the sandbox's ptys termios (TCGETS/TCSETS*, 2 variants), window size, job control (TIOCSCTTY, TIOCNOTTY, TIOCGPGRP/TIOCSPGRP, TIOCGSID), TCFLSH, TCXONC, TCSBRK, TIOCOUTQ, TIOCEXCL/TIOCNXCL, TIOCGPTN, TIOCSPTLCK, TIOCGPTPEER, TIOCGDEV; no TIOCPKT or TIOCSTI; \
         on sockets SIOCINQ/SIOCOUTQ and SIOCGIFCONF/FLAGS/INDEX/NAME/ADDR/NETMASK/MTU/HWADDR \
         showing the one interface, lo",
    );
    t.set(libc::SYS_dup, dup, Support::Full, &[Fd], "");
    t.set(libc::SYS_dup2, dup2, Support::Full, &[Fd, Fd], "");
    t.set(
        libc::SYS_dup3,
        dup3,
        Support::Full,
        &[Fd, Fd, OpenFlags],
        "",
    );
}

fn fcntl(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(a[0]);
    let cmd = a[1] as i32;
    let entry = t.fds.get_entry(fd)?;
    let file = entry.file;
    match cmd {
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => {
            let min = a[2] as u32;
            if u64::from(min) >= t.fds.limit() {
                return Err(Errno::EINVAL);
            }
            let cloexec = cmd == libc::F_DUPFD_CLOEXEC;
            Ok(t.fds.install_from(min as i32, file, cloexec)? as u64)
        }
        libc::F_GETFD => Ok(if entry.cloexec {
            libc::FD_CLOEXEC as u64
        } else {
            0
        }),
        libc::F_SETFD => {
            t.fds.set_cloexec(fd, a[2] as i32 & libc::FD_CLOEXEC != 0)?;
            Ok(0)
        }
        libc::F_GETFL => Ok(file.flags() as u32 as u64),
        libc::F_SETFL => {
            check_not_path(&*file)?;
            file.set_flags(a[2] as i32);
            Ok(0)
        }
        libc::F_GETLK
        | libc::F_SETLK
        | libc::F_SETLKW
        | libc::F_OFD_GETLK
        | libc::F_OFD_SETLK
        | libc::F_OFD_SETLKW => super::lock::record_lock(t, &file, cmd, a[2]),
        libc::F_GETPIPE_SZ => Ok(pipe_of(&*file).ok_or(Errno::EBADF)?.size() as u64),
        libc::F_SETPIPE_SZ => {
            Ok(pipe_of(&*file).ok_or(Errno::EBADF)?.set_size(a[2] as u32)? as u64)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn ioctl(t: &mut Task, a: [u64; 6]) -> SysResult {
    let fd = fd_arg(a[0]);
    let (cmd, arg) = (u64::from(a[1] as u32), a[2]);
    let file = t.fds.get(fd)?;
    check_not_path(&*file)?;
    match cmd {
        c if c == libc::FIOCLEX => {
            t.fds.set_cloexec(fd, true)?;
            Ok(0)
        }
        c if c == libc::FIONCLEX => {
            t.fds.set_cloexec(fd, false)?;
            Ok(0)
        }
        c if c == libc::FIONBIO => {
            let on: i32 = t.read_struct(arg)?;
            let fl = file.flags();
            file.set_flags(if on != 0 {
                fl | libc::O_NONBLOCK
            } else {
                fl & !libc::O_NONBLOCK
            });
            Ok(0)
        }
        c if c == libc::FIONREAD => {
            let st = file.stat()?;
            if !st.is_regular() {
                return file.ioctl(t, cmd, arg);
            }
            let pos = file.seek(0, libc::SEEK_CUR)? as i64;
            let avail = (st.size - pos).clamp(0, i64::from(i32::MAX)) as i32;
            t.write_struct(arg, &avail)?;
            Ok(0)
        }
        _ => file.ioctl(t, cmd, arg),
    }
}

fn dup(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = t.fds.get(fd_arg(a[0]))?;
    Ok(t.fds.install(file, false)? as u64)
}

fn dup2(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (old, new) = (fd_arg(a[0]), fd_arg(a[1]));
    let file = t.fds.get(old)?;
    if old == new {
        return Ok(new as u64);
    }
    t.fds.install_at(new, file, false)?;
    Ok(new as u64)
}

fn dup3(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (old, new, flags) = (fd_arg(a[0]), fd_arg(a[1]), a[2] as i32);
    if flags & !libc::O_CLOEXEC != 0 || old == new {
        return Err(Errno::EINVAL);
    }
    if new < 0 || new as u64 >= t.fds.limit() {
        return Err(Errno::EBADF);
    }
    let file = t.fds.get(old)?;
    t.fds.install_at(new, file, flags & libc::O_CLOEXEC != 0)?;
    Ok(new as u64)
}
