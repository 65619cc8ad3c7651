//! unshare: a process taking private copies of what it shares. CLONE_FS
//! and CLONE_FILES copy the file-system context and the fd table;
//! CLONE_NEWNS (which implies CLONE_FS) needs CAP_SYS_ADMIN and is
//! accepted with the sandbox's one mount table still shared (mounts made
//! after it are seen by every process); CLONE_THREAD, CLONE_SIGHAND and
//! CLONE_VM only by a single-threaded process (where they change
//! nothing); CLONE_SYSVSEM changes nothing here. Other namespaces are not
//! offered inside the sandbox: EPERM, as clone answers for them.

use std::sync::{Arc, Mutex};

use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::kernel::creds::CAP_SYS_ADMIN;
use crate::kernel::process::lock;
use crate::kernel::Task;

pub fn register(t: &mut Table) {
    t.set(
        libc::SYS_unshare,
        unshare,
        Support::Partial,
        &[Arg::Hex],
        "CLONE_FS, CLONE_FILES, CLONE_SYSVSEM; CLONE_NEWNS accepted but the \
         mount table stays shared; other namespaces EPERM",
    );
}

fn f(flag: libc::c_int) -> u64 {
    flag as u32 as u64
}

fn unshare(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut flags = a[0];
    let known = [
        libc::CLONE_THREAD,
        libc::CLONE_FS,
        libc::CLONE_NEWNS,
        libc::CLONE_SIGHAND,
        libc::CLONE_VM,
        libc::CLONE_FILES,
        libc::CLONE_SYSVSEM,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWCGROUP,
        0x80, // CLONE_NEWTIME
    ]
    .iter()
    .fold(0u64, |acc, &x| acc | f(x));
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & f(libc::CLONE_NEWNS) != 0 {
        flags |= f(libc::CLONE_FS);
    }
    let shared = f(libc::CLONE_THREAD) | f(libc::CLONE_SIGHAND) | f(libc::CLONE_VM);
    if flags & shared != 0 && t.tg().lock().threads.len() > 1 {
        return Err(Errno::EINVAL);
    }
    let other_ns = known
        & !(f(libc::CLONE_NEWNS)
            | f(libc::CLONE_FS)
            | f(libc::CLONE_FILES)
            | f(libc::CLONE_SYSVSEM)
            | shared);
    if flags & other_ns != 0 {
        return Err(Errno::EPERM);
    }
    if flags & f(libc::CLONE_NEWNS) != 0 && !t.creds.has_cap(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    if flags & f(libc::CLONE_FS) != 0 {
        let copy = lock(&t.fs).clone();
        t.fs = Arc::new(Mutex::new(copy));
    }
    if flags & f(libc::CLONE_FILES) != 0 {
        t.fds = Arc::new(t.fds.fork());
    }
    crate::fsimpl::proc::publish(t);
    Ok(0)
}
