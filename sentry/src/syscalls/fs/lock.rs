//! flock(2) and fcntl's record locks (F_GETLK, F_SETLK, F_SETLKW and the
//! OFD forms): argument checks, the struct flock layout, and blocking; the
//! locks themselves are in `vfs::lock`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{check_not_path, fd_arg};
use crate::errno::{Errno, SysResult};
use crate::kernel::waiter::Registration;
use crate::kernel::Task;
use crate::syscalls::table::{Arg, Support, Table};
use crate::vfs::file::FileDescription;
use crate::vfs::lock::{self, FileKey, Owner, Range};

pub(super) fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_flock,
        flock,
        Support::Full,
        &[Fd, Hex],
        "per open file description, sandbox-wide; not shared with the host",
    );
}

/// How long a blocked locker sleeps before looking again even without a
/// wake (a description dropped outside a close, e.g. by dup2).
const RECHECK: Duration = Duration::from_millis(200);

fn key_of(file: &dyn FileDescription) -> Result<FileKey, Errno> {
    let st = file.stat()?;
    Ok((st.dev, st.ino))
}

/// Sleeps until `try_once` succeeds (Ok(true)), interruptibly.
fn wait_for(t: &Task, mut try_once: impl FnMut() -> bool) -> Result<(), Errno> {
    loop {
        let seen = t.waker.seq();
        let mut reg = Registration::new(&t.waker);
        reg.add(lock::queue(), u32::MAX);
        if try_once() {
            return Ok(());
        }
        t.block(seen, Some(Instant::now() + RECHECK))?;
    }
}

fn flock(t: &mut Task, a: [u64; 6]) -> SysResult {
    let file = t.fds.get(fd_arg(a[0]))?;
    check_not_path(&*file)?;
    let nb = a[1] as i32 & libc::LOCK_NB != 0;
    let op = a[1] as i32 & !libc::LOCK_NB;
    let key = key_of(&*file)?;
    let owner = Owner::of_file(&file);
    let exclusive = match op {
        libc::LOCK_UN => {
            lock::funlock(key, &owner);
            return Ok(0);
        }
        libc::LOCK_SH => false,
        libc::LOCK_EX => true,
        _ => return Err(Errno::EINVAL),
    };
    if lock::flock(key, owner.clone(), exclusive) {
        return Ok(0);
    }
    if nb {
        return Err(Errno::EAGAIN);
    }
    wait_for(t, || lock::flock(key, owner.clone(), exclusive))?;
    Ok(0)
}

/// struct flock on x86-64: l_type, l_whence (i16), l_start, l_len (i64), l_pid (i32).
const FLOCK_LEN: usize = 32;

/// fcntl F_GETLK/F_SETLK/F_SETLKW/F_OFD_*: `file` is open at the fd.
pub(super) fn record_lock(
    t: &Task,
    file: &Arc<dyn FileDescription>,
    cmd: i32,
    addr: u64,
) -> SysResult {
    check_not_path(&**file)?;
    let mut raw = [0u8; FLOCK_LEN];
    t.mm.copy_in(addr, &mut raw)?;
    let l_type = i32::from(i16::from_ne_bytes([raw[0], raw[1]]));
    let l_whence = i32::from(i16::from_ne_bytes([raw[2], raw[3]]));
    let l_start = i64::from_ne_bytes(raw[8..16].try_into().unwrap_or([0; 8]));
    let l_len = i64::from_ne_bytes(raw[16..24].try_into().unwrap_or([0; 8]));
    let l_pid = i32::from_ne_bytes([raw[24], raw[25], raw[26], raw[27]]);
    let ofd = matches!(
        cmd,
        libc::F_OFD_GETLK | libc::F_OFD_SETLK | libc::F_OFD_SETLKW
    );
    let get = matches!(cmd, libc::F_GETLK | libc::F_OFD_GETLK);
    if ofd && l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    let acc = file.flags() & libc::O_ACCMODE;
    match l_type {
        libc::F_UNLCK => {
            if get {
                return Err(Errno::EINVAL);
            }
        }
        libc::F_RDLCK if !get && acc == libc::O_WRONLY => return Err(Errno::EBADF),
        libc::F_WRLCK if !get && acc == libc::O_RDONLY => return Err(Errno::EBADF),
        libc::F_RDLCK | libc::F_WRLCK => {}
        _ => return Err(Errno::EINVAL),
    }
    let base = match l_whence {
        libc::SEEK_SET => 0,
        libc::SEEK_CUR => file.seek(0, libc::SEEK_CUR).unwrap_or(0) as i64,
        libc::SEEK_END => file.stat()?.size,
        _ => return Err(Errno::EINVAL),
    };
    let start = base.checked_add(l_start).ok_or(Errno::EOVERFLOW)?;
    let (start, end) = match l_len {
        0 => (start, u64::MAX),
        n if n > 0 => {
            let end = start.checked_add(n).ok_or(Errno::EOVERFLOW)?;
            (start, end as u64)
        }
        n => (start.checked_add(n).ok_or(Errno::EINVAL)?, start as u64),
    };
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    let start = start as u64;
    let key = key_of(&**file)?;
    let owner = if ofd {
        Owner::of_file(file)
    } else {
        Owner::Process(t.tgid)
    };
    let range = Range {
        start,
        end,
        exclusive: l_type == libc::F_WRLCK,
    };
    if get {
        let out = match lock::test_range(key, &owner, &range) {
            None => flock_bytes(libc::F_UNLCK, 0, 0, 0),
            Some(c) => {
                let len = if c.end == u64::MAX {
                    0
                } else {
                    (c.end - c.start) as i64
                };
                let ty = if c.exclusive {
                    libc::F_WRLCK
                } else {
                    libc::F_RDLCK
                };
                flock_bytes(ty, c.start as i64, len, c.pid)
            }
        };
        let mut raw = raw;
        if out[0..2] == (libc::F_UNLCK as i16).to_ne_bytes() {
            raw[0..2].copy_from_slice(&out[0..2]);
        } else {
            raw = out;
        }
        t.mm.copy_out(addr, &raw)?;
        return Ok(0);
    }
    if l_type == libc::F_UNLCK {
        lock::unlock_range(key, &owner, start, end);
        return Ok(0);
    }
    match lock::set_range(key, owner.clone(), range.clone()) {
        Ok(()) => Ok(0),
        Err(_) if matches!(cmd, libc::F_SETLK | libc::F_OFD_SETLK) => Err(Errno::EAGAIN),
        Err(_) => {
            wait_for(t, || {
                lock::set_range(key, owner.clone(), range.clone()).is_ok()
            })?;
            Ok(0)
        }
    }
}

/// A struct flock holding one lock (l_whence SEEK_SET).
fn flock_bytes(ty: i32, start: i64, len: i64, pid: i32) -> [u8; FLOCK_LEN] {
    let mut b = [0u8; FLOCK_LEN];
    b[0..2].copy_from_slice(&(ty as i16).to_ne_bytes());
    b[2..4].copy_from_slice(&(libc::SEEK_SET as i16).to_ne_bytes());
    b[8..16].copy_from_slice(&start.to_ne_bytes());
    b[16..24].copy_from_slice(&len.to_ne_bytes());
    b[24..28].copy_from_slice(&pid.to_ne_bytes());
    b
}

/// Close of `file` by process `tgid`: its classic locks on the file go,
/// and lockers waiting on the description's locks look again.
pub(crate) fn on_close(tgid: i32, file: &dyn FileDescription) {
    if !lock::process_holds_locks(tgid) {
        lock::description_closed();
        return;
    }
    if let Ok(key) = key_of(file) {
        lock::release_process(key, tgid);
    }
    lock::description_closed();
}
