//! Identity and thread-state syscalls: ids, credentials, exit, TLS
//! (arch_prctl), the thread-exit hooks (set_tid_address, set_robust_list),
//! and resource limits.

use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::kernel::task::ExitStatus;
use crate::kernel::Task;

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(libc::SYS_getpid, getpid, Support::Full, &[], "");
    t.set(libc::SYS_gettid, gettid, Support::Full, &[], "");
    t.set(libc::SYS_getppid, getppid, Support::Full, &[], "");
    t.set(libc::SYS_getuid, getuid, Support::Full, &[], "");
    t.set(libc::SYS_geteuid, geteuid, Support::Full, &[], "");
    t.set(libc::SYS_getgid, getgid, Support::Full, &[], "");
    t.set(libc::SYS_getegid, getegid, Support::Full, &[], "");
    t.set(
        libc::SYS_getresuid,
        getresuid,
        Support::Full,
        &[Hex, Hex, Hex],
        "",
    );
    t.set(
        libc::SYS_getresgid,
        getresgid,
        Support::Full,
        &[Hex, Hex, Hex],
        "",
    );
    t.set(
        libc::SYS_getgroups,
        getgroups,
        Support::Full,
        &[Int, Hex],
        "",
    );
    t.set(libc::SYS_exit, exit, Support::Full, &[Int], "");
    t.set(libc::SYS_exit_group, exit_group, Support::Full, &[Int], "");
    t.set(
        libc::SYS_set_tid_address,
        set_tid_address,
        Support::Full,
        &[Hex],
        "",
    );
    t.set(
        libc::SYS_set_robust_list,
        set_robust_list,
        Support::Full,
        &[Hex, Int],
        "",
    );
    t.set(
        libc::SYS_get_robust_list,
        get_robust_list,
        Support::Full,
        &[Int, Hex, Hex],
        "",
    );
    t.set(
        libc::SYS_arch_prctl,
        arch_prctl,
        Support::Partial,
        &[Hex, Hex],
        "ARCH_SET_FS/GET_FS/SET_GS/GET_GS",
    );
    t.set(
        libc::SYS_prlimit64,
        prlimit64,
        Support::Partial,
        &[Int, Int, Hex, Hex],
        "only the calling process",
    );
    t.set(
        libc::SYS_getrlimit,
        getrlimit,
        Support::Full,
        &[Int, Hex],
        "",
    );
    t.set(
        libc::SYS_setrlimit,
        setrlimit,
        Support::Full,
        &[Int, Hex],
        "",
    );
    t.unsupported(
        libc::SYS_rseq,
        "restartable sequences are not offered; glibc falls back",
    );
}

fn getpid(t: &mut Task, _: [u64; 6]) -> SysResult {
    Ok(t.tgid as u64)
}

fn gettid(t: &mut Task, _: [u64; 6]) -> SysResult {
    Ok(t.tid as u64)
}

fn getppid(t: &mut Task, _: [u64; 6]) -> SysResult {
    Ok(t.ppid() as u64)
}

fn getuid(t: &mut Task, _: [u64; 6]) -> SysResult {
    Ok(t.creds.uid as u64)
}

fn geteuid(t: &mut Task, _: [u64; 6]) -> SysResult {
    Ok(t.creds.euid as u64)
}

fn getgid(t: &mut Task, _: [u64; 6]) -> SysResult {
    Ok(t.creds.gid as u64)
}

fn getegid(t: &mut Task, _: [u64; 6]) -> SysResult {
    Ok(t.creds.egid as u64)
}

fn put_three(t: &Task, a: [u64; 6], v: [u32; 3]) -> SysResult {
    for (addr, val) in a.iter().zip(v) {
        t.write_struct(*addr, &val)?;
    }
    Ok(0)
}

fn getresuid(t: &mut Task, a: [u64; 6]) -> SysResult {
    let c = &t.creds;
    put_three(t, a, [c.uid, c.euid, c.suid])
}

fn getresgid(t: &mut Task, a: [u64; 6]) -> SysResult {
    let c = &t.creds;
    put_three(t, a, [c.gid, c.egid, c.sgid])
}

fn getgroups(t: &mut Task, a: [u64; 6]) -> SysResult {
    let size = a[0] as i32;
    let n = t.creds.groups.len();
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    if size == 0 {
        return Ok(n as u64);
    }
    if (size as usize) < n {
        return Err(Errno::EINVAL);
    }
    let bytes: Vec<u8> = t
        .creds
        .groups
        .iter()
        .flat_map(|g| g.to_ne_bytes())
        .collect();
    t.mm.copy_out(a[1], &bytes)?;
    Ok(n as u64)
}

fn exit(t: &mut Task, a: [u64; 6]) -> SysResult {
    // This thread only; the process ends with its last thread.
    t.exit = Some(ExitStatus::Exited((a[0] & 0xff) as i32));
    Ok(0)
}

fn exit_group(t: &mut Task, a: [u64; 6]) -> SysResult {
    crate::kernel::exit::group_exit(t, ExitStatus::Exited((a[0] & 0xff) as i32));
    Ok(0)
}

fn set_tid_address(t: &mut Task, a: [u64; 6]) -> SysResult {
    t.clear_child_tid = a[0];
    Ok(t.tid as u64)
}

/// sizeof(struct robust_list_head) on x86-64.
const ROBUST_LIST_HEAD_SIZE: u64 = 24;

fn set_robust_list(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[1] != ROBUST_LIST_HEAD_SIZE {
        return Err(Errno::EINVAL);
    }
    t.robust_list = (a[0], a[1]);
    Ok(0)
}

fn get_robust_list(t: &mut Task, a: [u64; 6]) -> SysResult {
    let pid = a[0] as i32;
    if pid != 0 && pid != t.tid {
        return Err(Errno::ESRCH);
    }
    t.write_struct(a[1], &t.robust_list.0)?;
    t.write_struct(a[2], &ROBUST_LIST_HEAD_SIZE)?;
    Ok(0)
}

const ARCH_SET_GS: u64 = 0x1001;
const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;
const ARCH_GET_GS: u64 = 0x1004;

fn arch_prctl(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (code, addr) = (a[0], a[1]);
    match code {
        ARCH_SET_FS | ARCH_SET_GS => {
            if addr >= platform::TASK_SIZE {
                return Err(Errno::EPERM);
            }
            if code == ARCH_SET_FS {
                t.regs.0.fs_base = addr;
            } else {
                t.regs.0.gs_base = addr;
            }
            Ok(0)
        }
        ARCH_GET_FS => {
            let v = t.regs.0.fs_base;
            t.write_struct(addr, &v).map(|_| 0)
        }
        ARCH_GET_GS => {
            let v = t.regs.0.gs_base;
            t.write_struct(addr, &v).map(|_| 0)
        }
        _ => Err(Errno::EINVAL),
    }
}

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Rlimit64 {
    cur: u64,
    max: u64,
}

fn resource(r: u64) -> Result<usize, Errno> {
    // RLIMIT_RTTIME is the last resource Linux defines.
    if r <= libc::RLIMIT_RTTIME as u64 {
        Ok(r as usize)
    } else {
        Err(Errno::EINVAL)
    }
}

fn set_limit(t: &mut Task, r: usize, new: Rlimit64) -> Result<(), Errno> {
    if new.cur > new.max {
        return Err(Errno::EINVAL);
    }
    let (_, hard) = t.rlimits.0[r];
    // Raising the hard limit needs CAP_SYS_RESOURCE.
    if new.max > hard && !t.creds.has_cap(crate::kernel::creds::CAP_SYS_RESOURCE) {
        return Err(Errno::EPERM);
    }
    if r == libc::RLIMIT_NOFILE as usize && new.max > 1 << 20 {
        return Err(Errno::EPERM);
    }
    t.rlimits.0[r] = (new.cur, new.max);
    if r == libc::RLIMIT_NOFILE as usize {
        t.fds.set_limit(new.cur);
    }
    Ok(())
}

fn prlimit64(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (pid, r, new, old) = (a[0] as i32, a[1], a[2], a[3]);
    if pid != 0 && pid != t.tgid {
        return Err(Errno::ESRCH);
    }
    let r = resource(r)?;
    let cur = t.rlimits.0[r];
    let new = if new != 0 {
        Some(t.read_struct::<Rlimit64>(new)?)
    } else {
        None
    };
    if let Some(n) = new {
        set_limit(t, r, n)?;
    }
    if old != 0 {
        t.write_struct(
            old,
            &Rlimit64 {
                cur: cur.0,
                max: cur.1,
            },
        )?;
    }
    Ok(0)
}

fn getrlimit(t: &mut Task, a: [u64; 6]) -> SysResult {
    let r = resource(a[0])?;
    let (cur, max) = t.rlimits.0[r];
    t.write_struct(a[1], &Rlimit64 { cur, max }).map(|_| 0)
}

fn setrlimit(t: &mut Task, a: [u64; 6]) -> SysResult {
    let r = resource(a[0])?;
    let n = t.read_struct::<Rlimit64>(a[1])?;
    set_limit(t, r, n).map(|_| 0)
}
