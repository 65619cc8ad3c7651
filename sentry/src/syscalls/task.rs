//! Process lifecycle syscalls: clone, clone3, fork, vfork, execve,
//! execveat, wait4, waitid; process groups and sessions; prctl; resource
//! usage and times.

use std::sync::Arc;

use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::kernel::clone::{do_clone, CloneArgs};
use crate::kernel::exec::{do_execve, read_string_array};
use crate::kernel::exit::reap;
use crate::kernel::kernel::tasks;
use crate::kernel::process::{lock, JobState, ThreadGroup};
use crate::kernel::task::{ExitStatus, Task};
use crate::kernel::waiter::Registration;

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_clone,
        clone,
        Support::Full,
        &[Hex, Hex, Hex, Hex, Hex],
        "",
    );
    t.set(
        libc::SYS_clone3,
        clone3,
        Support::Partial,
        &[Hex, Int],
        "no set_tid, cgroup or pidfd",
    );
    t.set(libc::SYS_fork, fork, Support::Full, &[], "");
    t.set(libc::SYS_vfork, vfork, Support::Full, &[], "");
    t.set(
        libc::SYS_execve,
        execve,
        Support::Full,
        &[Path, Hex, Hex],
        "",
    );
    t.set(
        libc::SYS_execveat,
        execveat,
        Support::Full,
        &[Fd, Path, Hex, Hex, Hex],
        "",
    );
    t.set(
        libc::SYS_wait4,
        wait4,
        Support::Full,
        &[Int, Hex, Hex, Hex],
        "",
    );
    t.set(
        libc::SYS_waitid,
        waitid,
        Support::Partial,
        &[Int, Int, Hex, Hex, Hex],
        "no P_PIDFD",
    );
    t.set(libc::SYS_setpgid, setpgid, Support::Full, &[Int, Int], "");
    t.set(libc::SYS_getpgid, getpgid, Support::Full, &[Int], "");
    t.set(libc::SYS_getpgrp, getpgrp, Support::Full, &[], "");
    t.set(libc::SYS_setsid, setsid, Support::Full, &[], "");
    t.set(libc::SYS_getsid, getsid, Support::Full, &[Int], "");
    t.set(
        libc::SYS_prctl,
        prctl,
        Support::Partial,
        &[Int, Hex, Hex, Hex, Hex],
        "names, pdeathsig, dumpable, subreaper, no_new_privs, keepcaps, capability sets",
    );
    t.set(
        libc::SYS_getrusage,
        getrusage,
        Support::Partial,
        &[Int, Hex],
        "times are zero",
    );
    t.set(
        libc::SYS_times,
        times,
        Support::Partial,
        &[Hex],
        "times are zero",
    );
    t.set(
        libc::SYS_getpriority,
        getpriority,
        Support::Full,
        &[Int, Int],
        "",
    );
    t.set(
        libc::SYS_setpriority,
        setpriority,
        Support::Full,
        &[Int, Int, Int],
        "",
    );
    t.set(
        libc::SYS_sched_setaffinity,
        sched_setaffinity,
        Support::Full,
        &[Int, Int, Hex],
        "",
    );
}

const fn fl(x: i32) -> u64 {
    x as u64
}

fn clone(t: &mut Task, a: [u64; 6]) -> SysResult {
    // x86-64 order: flags, stack, parent_tid, child_tid, tls.
    let flags = a[0];
    let args = CloneArgs {
        flags: flags & !0xff,
        stack: a[1],
        parent_tid: a[2],
        child_tid: a[3],
        tls: a[4],
        exit_signal: (flags & 0xff) as i32,
    };
    do_clone(t, args).map(|tid| tid as u64)
}

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Clone3Args {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// CLONE_ARGS_SIZE_VER0.
const CLONE3_MIN: u64 = 64;

fn clone3(t: &mut Task, a: [u64; 6]) -> SysResult {
    let size = a[1];
    if size < CLONE3_MIN {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let mut bytes = vec![0u8; size as usize];
    t.mm.copy_in(a[0], &mut bytes)?;
    let known = std::mem::size_of::<Clone3Args>();
    if bytes.len() > known && bytes[known..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let mut raw = [0u8; std::mem::size_of::<Clone3Args>()];
    let n = bytes.len().min(known);
    raw[..n].copy_from_slice(&bytes[..n]);
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&raw[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    let c = Clone3Args {
        flags: word(0),
        pidfd: word(1),
        child_tid: word(2),
        parent_tid: word(3),
        exit_signal: word(4),
        stack: word(5),
        stack_size: word(6),
        tls: word(7),
        set_tid: word(8),
        set_tid_size: word(9),
        cgroup: word(10),
    };
    if c.exit_signal > 64 || c.set_tid_size != 0 || c.flags & 0xff != 0 {
        return Err(Errno::EINVAL);
    }
    if c.flags & fl(libc::CLONE_PIDFD) != 0 || c.flags & (1 << 33) != 0 {
        return Err(Errno::EINVAL);
    }
    if (c.stack == 0) != (c.stack_size == 0) {
        return Err(Errno::EINVAL);
    }
    let _ = (c.pidfd, c.set_tid, c.cgroup);
    let args = CloneArgs {
        flags: c.flags,
        stack: if c.stack != 0 {
            c.stack + c.stack_size
        } else {
            0
        },
        parent_tid: c.parent_tid,
        child_tid: c.child_tid,
        tls: c.tls,
        exit_signal: c.exit_signal as i32,
    };
    do_clone(t, args).map(|tid| tid as u64)
}

fn fork(t: &mut Task, _a: [u64; 6]) -> SysResult {
    let args = CloneArgs {
        exit_signal: libc::SIGCHLD,
        ..Default::default()
    };
    do_clone(t, args).map(|tid| tid as u64)
}

fn vfork(t: &mut Task, _a: [u64; 6]) -> SysResult {
    let args = CloneArgs {
        flags: fl(libc::CLONE_VM | libc::CLONE_VFORK),
        exit_signal: libc::SIGCHLD,
        ..Default::default()
    };
    do_clone(t, args).map(|tid| tid as u64)
}

/// argv and envp of an exec.
type ExecArgs = (Vec<Vec<u8>>, Vec<Vec<u8>>);

fn read_args(t: &Task, argv: u64, envp: u64) -> Result<ExecArgs, Errno> {
    let mut total = 0;
    let argv = read_string_array(t, argv, &mut total)?;
    let envp = read_string_array(t, envp, &mut total)?;
    Ok((argv, envp))
}

fn execve(t: &mut Task, a: [u64; 6]) -> SysResult {
    let path = t.read_path(a[0])?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let (argv, envp) = read_args(t, a[1], a[2])?;
    let fs = lock(&t.fs).clone();
    do_execve(t, &fs, path, None, argv, envp)
}

fn execveat(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (dirfd, flags) = (a[0] as i32, a[4] as i32);
    if flags & !(libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = t.read_path(a[1])?;
    let (argv, envp) = read_args(t, a[2], a[3])?;
    let mut fs = lock(&t.fs).clone();
    if path.is_empty() {
        if flags & libc::AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        let file = t.fds.get(dirfd)?;
        return do_execve(t, &fs, path, Some(file), argv, envp);
    }
    if path[0] != b'/' && dirfd != libc::AT_FDCWD {
        let file = t.fds.get(dirfd)?;
        fs.cwd = file.dentry().ok_or(Errno::ENOTDIR)?;
    }
    do_execve(t, &fs, path, None, argv, envp)
}

/// Which children a wait looks at.
#[derive(Clone, Copy)]
enum Which {
    Pid(i32),
    Pgid(i32),
    Any,
}

/// What a wait found.
enum Report {
    Exited(ExitStatus),
    Stopped(i32),
    Continued,
}

const WNOHANG: i32 = libc::WNOHANG;
const WSTOPPED: i32 = libc::WUNTRACED;
const WEXITED: i32 = libc::WEXITED;
const WCONTINUED: i32 = libc::WCONTINUED;
const WNOWAIT: i32 = libc::WNOWAIT;

/// Waits for a child matching `which`; Ok(None) under WNOHANG when none is ready.
fn do_wait(t: &Task, which: Which, options: i32) -> Result<Option<(i32, Report)>, Errno> {
    let table = tasks();
    loop {
        let seen = t.waker.seq();
        let mut reg = Registration::new(&t.waker);
        reg.add(&t.tg().child_events, u32::MAX);
        let children = t.tg().lock().children.clone();
        // A "clone" child (exit signal other than SIGCHLD) is seen only
        // with __WCLONE; __WALL sees both kinds.
        let kind_ok = |g: &ThreadGroup| {
            let clone_child = g.lock().exit_signal != libc::SIGCHLD;
            options & libc::__WALL != 0 || clone_child == (options & libc::__WCLONE != 0)
        };
        let matching: Vec<Arc<ThreadGroup>> = children
            .iter()
            .filter_map(|&c| table.group(c))
            .filter(|g| match which {
                Which::Pid(p) => g.tgid == p,
                Which::Pgid(p) => g.lock().pgid == p,
                Which::Any => true,
            })
            .filter(|g| kind_ok(g))
            .collect();
        if matching.is_empty() {
            return Err(Errno::ECHILD);
        }
        for g in &matching {
            let mut st = g.lock();
            if st.zombie && options & WEXITED != 0 {
                let status = st.exit.unwrap_or(ExitStatus::Exited(0));
                drop(st);
                if options & WNOWAIT == 0 {
                    reap(g);
                }
                return Ok(Some((g.tgid, Report::Exited(status))));
            }
            if let JobState::Stopped {
                sig,
                reported: false,
            } = st.job
            {
                if options & WSTOPPED != 0 {
                    if options & WNOWAIT == 0 {
                        st.job = JobState::Stopped {
                            sig,
                            reported: true,
                        };
                    }
                    return Ok(Some((g.tgid, Report::Stopped(sig))));
                }
            }
            if st.job == JobState::Continued && options & WCONTINUED != 0 {
                if options & WNOWAIT == 0 {
                    st.job = JobState::Running;
                }
                return Ok(Some((g.tgid, Report::Continued)));
            }
        }
        if options & WNOHANG != 0 {
            return Ok(None);
        }
        t.block(seen, None)?;
    }
}

fn which_of_pid(t: &Task, pid: i32) -> Which {
    match pid {
        -1 => Which::Any,
        0 => Which::Pgid(t.tg().lock().pgid),
        p if p < -1 => Which::Pgid(-p),
        p => Which::Pid(p),
    }
}

fn wait4(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (pid, status, options, rusage) = (a[0] as i32, a[1], a[2] as i32, a[3]);
    let known = libc::WNOHANG
        | libc::WUNTRACED
        | libc::WCONTINUED
        | libc::__WNOTHREAD
        | libc::__WCLONE
        | libc::__WALL;
    if options & !known != 0 {
        return Err(Errno::EINVAL);
    }
    if pid == i32::MIN {
        return Err(Errno::ESRCH);
    }
    let which = which_of_pid(t, pid);
    let Some((child, report)) = do_wait(t, which, options | WEXITED)? else {
        return Ok(0);
    };
    if status != 0 {
        let word = match report {
            Report::Exited(s) => s.wait_status(),
            Report::Stopped(sig) => (sig << 8) | 0x7f,
            Report::Continued => 0xffff,
        };
        t.write_struct(status, &word)?;
    }
    if rusage != 0 {
        t.mm.copy_out(rusage, &rusage_bytes(t))?;
    }
    Ok(child as u64)
}

fn waitid(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (idtype, id, infop, options, rusage) = (a[0] as u32, a[1] as i32, a[2], a[3] as i32, a[4]);
    let known = WNOHANG
        | WSTOPPED
        | WEXITED
        | WCONTINUED
        | WNOWAIT
        | libc::__WNOTHREAD
        | libc::__WCLONE
        | libc::__WALL;
    if options & !known != 0 || options & (WEXITED | WSTOPPED | WCONTINUED) == 0 {
        return Err(Errno::EINVAL);
    }
    let which = match idtype {
        libc::P_ALL => Which::Any,
        libc::P_PID if id > 0 => Which::Pid(id),
        libc::P_PGID if id >= 0 => Which::Pgid(if id == 0 { t.tg().lock().pgid } else { id }),
        _ => return Err(Errno::EINVAL),
    };
    let found = do_wait(t, which, options)?;
    if infop != 0 {
        let info = match &found {
            None => [0u8; 128],
            Some((pid, report)) => {
                let (code, status) = match report {
                    Report::Exited(ExitStatus::Exited(c)) => (libc::CLD_EXITED, *c),
                    Report::Exited(s @ ExitStatus::Signaled(sig)) => (
                        if s.wait_status() & 0x80 != 0 {
                            libc::CLD_DUMPED
                        } else {
                            libc::CLD_KILLED
                        },
                        *sig,
                    ),
                    Report::Stopped(sig) => (libc::CLD_STOPPED, *sig),
                    Report::Continued => (libc::CLD_CONTINUED, libc::SIGCONT),
                };
                crate::arch::siginfo::SigInfo::child(code, *pid, t.creds.uid, status, 0, 0)
                    .to_bytes()
            }
        };
        t.mm.copy_out(infop, &info)?;
    }
    if rusage != 0 {
        t.mm.copy_out(rusage, &[0u8; 144])?;
    }
    Ok(0)
}

fn setpgid(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (pid, pgid) = (a[0] as i32, a[1] as i32);
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let table = tasks();
    let target = if pid == 0 { t.tgid } else { pid };
    let g = table.group(target).ok_or(Errno::ESRCH)?;
    let (my_sid, me) = (t.tg().lock().sid, t.tgid);
    {
        let st = g.lock();
        if target != me && st.parent != me {
            return Err(Errno::ESRCH);
        }
        if st.sid != my_sid {
            return Err(Errno::EPERM);
        }
        if target != me && st.execed {
            return Err(Errno::EACCES);
        }
        if st.sid == target {
            // A session leader cannot change its group.
            return Err(Errno::EPERM);
        }
    }
    let new = if pgid == 0 { target } else { pgid };
    if new != target {
        // The group must exist in the caller's session.
        let ok = table.groups().iter().any(|o| {
            let s = o.lock();
            s.pgid == new && s.sid == my_sid && !s.zombie
        });
        if !ok {
            return Err(Errno::EPERM);
        }
    }
    g.lock().pgid = new;
    Ok(0)
}

fn group_of(t: &Task, pid: i32) -> Result<Arc<ThreadGroup>, Errno> {
    if pid == 0 {
        return Ok(t.tg().clone());
    }
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    tasks().group(pid).ok_or(Errno::ESRCH)
}

fn getpgid(t: &mut Task, a: [u64; 6]) -> SysResult {
    Ok(group_of(t, a[0] as i32)?.lock().pgid as u64)
}

fn getpgrp(t: &mut Task, _a: [u64; 6]) -> SysResult {
    Ok(t.tg().lock().pgid as u64)
}

fn getsid(t: &mut Task, a: [u64; 6]) -> SysResult {
    Ok(group_of(t, a[0] as i32)?.lock().sid as u64)
}

fn setsid(t: &mut Task, _a: [u64; 6]) -> SysResult {
    let me = t.tgid;
    let used = tasks().groups().iter().any(|g| g.lock().pgid == me);
    if used {
        return Err(Errno::EPERM);
    }
    {
        let mut st = t.tg().lock();
        st.sid = me;
        st.pgid = me;
    }
    crate::fsimpl::devpts::session_started(me);
    Ok(me as u64)
}

fn prctl(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (op, arg2) = (a[0] as i32, a[1]);
    match op {
        libc::PR_SET_NAME => {
            let mut name = t.mm.read_cstring(arg2, 4096).or_else(|e| {
                if e == Errno::ENAMETOOLONG {
                    let mut b = [0u8; 16];
                    t.mm.copy_in(arg2, &mut b).map(|_| b.to_vec())
                } else {
                    Err(e)
                }
            })?;
            name.truncate(15);
            *lock(&t.shared.comm) = name;
            Ok(0)
        }
        libc::PR_GET_NAME => {
            let mut b = [0u8; 16];
            let name = lock(&t.shared.comm).clone();
            b[..name.len().min(15)].copy_from_slice(&name[..name.len().min(15)]);
            t.mm.copy_out(arg2, &b).map(|_| 0)
        }
        libc::PR_SET_PDEATHSIG => {
            if arg2 > 64 {
                return Err(Errno::EINVAL);
            }
            t.pdeathsig = arg2 as i32;
            t.shared
                .pdeathsig
                .store(arg2 as i32, std::sync::atomic::Ordering::SeqCst);
            Ok(0)
        }
        libc::PR_GET_PDEATHSIG => t.write_struct(arg2, &t.pdeathsig).map(|_| 0),
        libc::PR_GET_DUMPABLE => Ok(t.tg().lock().dumpable as u64),
        libc::PR_SET_DUMPABLE => {
            if arg2 > 1 {
                Err(Errno::EINVAL)
            } else {
                t.tg().lock().dumpable = arg2 == 1;
                Ok(0)
            }
        }
        libc::PR_SET_CHILD_SUBREAPER => {
            t.tg().lock().subreaper = arg2 != 0;
            Ok(0)
        }
        libc::PR_GET_CHILD_SUBREAPER => {
            let v = t.tg().lock().subreaper as i32;
            t.write_struct(arg2, &v).map(|_| 0)
        }
        _ => super::identity::prctl(t, op, a).unwrap_or(Err(Errno::EINVAL)),
    }
}

fn getrusage(t: &mut Task, a: [u64; 6]) -> SysResult {
    let who = a[0] as i32;
    if ![
        libc::RUSAGE_SELF,
        libc::RUSAGE_CHILDREN,
        libc::RUSAGE_THREAD,
    ]
    .contains(&who)
    {
        return Err(Errno::EINVAL);
    }
    t.mm.copy_out(a[1], &rusage_bytes(t)).map(|_| 0)
}

/// A struct rusage with the fields the sandbox can tell: ru_maxrss (KiB)
/// from the caller's mapped memory; times are zero.
fn rusage_bytes(t: &Task) -> [u8; 144] {
    let kib: u64 =
        t.mm.vmas()
            .iter()
            .filter(|v| v.prot.write)
            .map(|v| v.len())
            .sum::<u64>()
            / 1024;
    let mut b = [0u8; 144];
    // ru_maxrss is the third long, after the two timevals.
    b[32..40].copy_from_slice(&kib.max(1).to_ne_bytes());
    b
}

fn times(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[0] != 0 {
        t.mm.copy_out(a[0], &[0u8; 32])?;
    }
    // Clock ticks since boot, as Linux returns.
    Ok((t.kernel.boot.elapsed().as_millis() / 10) as u64)
}

fn getpriority(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (which, who) = (a[0] as i32, a[1] as i32);
    if ![
        libc::PRIO_PROCESS as i32,
        libc::PRIO_PGRP as i32,
        libc::PRIO_USER as i32,
    ]
    .contains(&which)
    {
        return Err(Errno::EINVAL);
    }
    if which == libc::PRIO_PROCESS as i32 && who != 0 && tasks().task(who).is_none() {
        return Err(Errno::ESRCH);
    }
    // The kernel returns 20 - nice.
    Ok((20 - t.nice) as u64)
}

fn setpriority(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (which, who, prio) = (a[0] as i32, a[1] as i32, a[2] as i32);
    if ![
        libc::PRIO_PROCESS as i32,
        libc::PRIO_PGRP as i32,
        libc::PRIO_USER as i32,
    ]
    .contains(&which)
    {
        return Err(Errno::EINVAL);
    }
    let nice_cap = t.creds.has_cap(crate::kernel::creds::CAP_SYS_NICE);
    if which == libc::PRIO_PROCESS as i32 && who != 0 && who != t.tid {
        let target = tasks().task(who).ok_or(Errno::ESRCH)?;
        // Linux's set_one_prio_perm: the target's real or effective uid is
        // the caller's effective uid, or CAP_SYS_NICE.
        let c = target.tg.lock().published.creds.clone();
        if c.uid != t.creds.euid && c.euid != t.creds.euid && !nice_cap {
            return Err(Errno::EPERM);
        }
        return Ok(0);
    }
    let p = prio.clamp(-20, 19);
    if p < t.nice && !nice_cap {
        return Err(Errno::EACCES);
    }
    t.nice = p;
    Ok(0)
}

fn sched_setaffinity(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (pid, len, mask) = (a[0] as i32, a[1] as usize, a[2]);
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 && tasks().task(pid).is_none() {
        return Err(Errno::ESRCH);
    }
    let n = len.min(128);
    let mut b = vec![0u8; n];
    t.mm.copy_in(mask, &mut b)?;
    let ncpus = t.kernel.ncpus;
    let any = (0..ncpus).any(|c| c / 8 < n && b[c / 8] & (1 << (c % 8)) != 0);
    if !any {
        return Err(Errno::EINVAL);
    }
    // Recorded and reported back; host placement stays the platform's
    // (each tracer thread pinned together with its stub thread).
    if pid == 0 || pid == t.tid {
        t.affinity = Some(b);
    }
    crate::loader::vdso::virtual_affinity_set();
    Ok(0)
}
