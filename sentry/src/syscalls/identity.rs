//! Changing identity: the set*id family, setgroups, setfsuid/setfsgid,
//! capget/capset and the capability prctls. The rules are
//! `kernel::creds`'s; these handlers copy arguments in and out and commit
//! the new credentials (republishing them for /proc). The getters stay in
//! `process.rs`.

use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::kernel::creds::{cap_valid, Creds, NGROUPS_MAX};
use crate::kernel::kernel::tasks;
use crate::kernel::Task;

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(libc::SYS_setuid, setuid, Support::Full, &[Int], "");
    t.set(libc::SYS_setgid, setgid, Support::Full, &[Int], "");
    t.set(libc::SYS_setreuid, setreuid, Support::Full, &[Int, Int], "");
    t.set(libc::SYS_setregid, setregid, Support::Full, &[Int, Int], "");
    t.set(
        libc::SYS_setresuid,
        setresuid,
        Support::Full,
        &[Int, Int, Int],
        "",
    );
    t.set(
        libc::SYS_setresgid,
        setresgid,
        Support::Full,
        &[Int, Int, Int],
        "",
    );
    t.set(
        libc::SYS_setgroups,
        setgroups,
        Support::Full,
        &[Int, Hex],
        "",
    );
    t.set(libc::SYS_setfsuid, setfsuid, Support::Full, &[Int], "");
    t.set(libc::SYS_setfsgid, setfsgid, Support::Full, &[Int], "");
    t.set(
        libc::SYS_capget,
        capget,
        Support::Full,
        &[Hex, Hex],
        "no file capabilities",
    );
    t.set(
        libc::SYS_capset,
        capset,
        Support::Full,
        &[Hex, Hex],
        "own process only, as Linux",
    );
}

/// Installs `new` as `t`'s credentials: a change of effective or
/// file-system ids (or a gain of permitted capabilities) makes the process
/// undumpable, as Linux's commit_creds does; /proc sees the change.
pub(crate) fn commit(t: &mut Task, new: Creds) {
    if new == t.creds {
        return;
    }
    if new.loses_dumpable(&t.creds) {
        t.tg().lock().dumpable = false;
    }
    t.creds = new;
    crate::fsimpl::proc::publish(t);
}

/// Applies `change` to a copy of the credentials and commits it on success.
fn change(t: &mut Task, change: impl FnOnce(&mut Creds) -> Result<(), Errno>) -> SysResult {
    let mut new = t.creds.clone();
    change(&mut new)?;
    commit(t, new);
    Ok(0)
}

fn id(a: u64) -> u32 {
    a as u32
}

fn setuid(t: &mut Task, a: [u64; 6]) -> SysResult {
    change(t, |c| c.setuid(id(a[0])))
}

fn setgid(t: &mut Task, a: [u64; 6]) -> SysResult {
    change(t, |c| c.setgid(id(a[0])))
}

fn setreuid(t: &mut Task, a: [u64; 6]) -> SysResult {
    change(t, |c| c.setreuid(id(a[0]), id(a[1])))
}

fn setregid(t: &mut Task, a: [u64; 6]) -> SysResult {
    change(t, |c| c.setregid(id(a[0]), id(a[1])))
}

fn setresuid(t: &mut Task, a: [u64; 6]) -> SysResult {
    change(t, |c| c.setresuid(id(a[0]), id(a[1]), id(a[2])))
}

fn setresgid(t: &mut Task, a: [u64; 6]) -> SysResult {
    change(t, |c| c.setresgid(id(a[0]), id(a[1]), id(a[2])))
}

fn setfsuid(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut new = t.creds.clone();
    let old = new.setfsuid(id(a[0]));
    commit(t, new);
    Ok(old as u64)
}

fn setfsgid(t: &mut Task, a: [u64; 6]) -> SysResult {
    let mut new = t.creds.clone();
    let old = new.setfsgid(id(a[0]));
    commit(t, new);
    Ok(old as u64)
}

fn setgroups(t: &mut Task, a: [u64; 6]) -> SysResult {
    let size = a[0] as i32;
    if !t.creds.has_cap(crate::kernel::creds::CAP_SETGID) {
        return Err(Errno::EPERM);
    }
    // Negative sizes are huge unsigned ones, as Linux compares them.
    if size as u32 as usize > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; size as usize * 4];
    t.mm.copy_in(a[1], &mut raw)?;
    let groups = raw
        .chunks_exact(4)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    change(t, |c| c.setgroups(groups))
}

const CAP_V1: u32 = 0x1998_0330;
const CAP_V2: u32 = 0x2007_1026;
const CAP_V3: u32 = 0x2008_0522;

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Linux's cap_validate_magic: how many 32-bit words the header's version
/// carries; an unknown version is answered with the preferred one.
fn cap_words(t: &Task, header: u64) -> Result<usize, Errno> {
    let version: u32 = t.read_struct(header)?;
    match version {
        CAP_V1 => Ok(1),
        CAP_V2 | CAP_V3 => Ok(2),
        _ => {
            t.write_struct(header, &CAP_V3)?;
            Err(Errno::EINVAL)
        }
    }
}

fn capget(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (header, data) = (a[0], a[1]);
    let words = match cap_words(t, header) {
        // Probing the version with a null data pointer is not an error.
        Err(Errno::EINVAL) if data == 0 => return Ok(0),
        Err(e) => return Err(e),
        Ok(_) if data == 0 => return Ok(0),
        Ok(w) => w,
    };
    let hdr: CapHeader = t.read_struct(header)?;
    if hdr.pid < 0 {
        return Err(Errno::EINVAL);
    }
    let (e, p, i) = if hdr.pid == 0 || hdr.pid == t.tid {
        (t.creds.effective, t.creds.permitted, t.creds.inheritable)
    } else {
        let target = tasks().task(hdr.pid).ok_or(Errno::ESRCH)?;
        let c = target.tg.lock().published.creds.clone();
        (c.effective, c.permitted, c.inheritable)
    };
    for w in 0..words {
        let d = CapData {
            effective: (e >> (32 * w)) as u32,
            permitted: (p >> (32 * w)) as u32,
            inheritable: (i >> (32 * w)) as u32,
        };
        t.write_struct(data + (w * std::mem::size_of::<CapData>()) as u64, &d)?;
    }
    Ok(0)
}

fn capset(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (header, data) = (a[0], a[1]);
    let words = cap_words(t, header)?;
    let hdr: CapHeader = t.read_struct(header)?;
    if hdr.pid != 0 && hdr.pid != t.tid {
        return Err(Errno::EPERM);
    }
    let (mut e, mut p, mut i) = (0u64, 0u64, 0u64);
    for w in 0..words {
        let d: CapData = t.read_struct(data + (w * std::mem::size_of::<CapData>()) as u64)?;
        e |= u64::from(d.effective) << (32 * w);
        p |= u64::from(d.permitted) << (32 * w);
        i |= u64::from(d.inheritable) << (32 * w);
    }
    change(t, |c| c.capset(e, p, i))
}

/// The prctl options about credentials; None for any other option.
pub(super) fn prctl(t: &mut Task, op: i32, a: [u64; 6]) -> Option<SysResult> {
    let (arg2, arg3, rest) = (a[1], a[2], a[3] | a[4]);
    let r = match op {
        libc::PR_CAPBSET_READ => {
            if cap_valid(arg2) {
                Ok((t.creds.bounding >> arg2) & 1)
            } else {
                Err(Errno::EINVAL)
            }
        }
        libc::PR_CAPBSET_DROP => change(t, |c| c.drop_bounding(arg2)),
        libc::PR_GET_KEEPCAPS => Ok(t.creds.keep_caps as u64),
        libc::PR_SET_KEEPCAPS => {
            if arg2 > 1 {
                Err(Errno::EINVAL)
            } else {
                change(t, |c| {
                    c.keep_caps = arg2 == 1;
                    Ok(())
                })
            }
        }
        libc::PR_SET_NO_NEW_PRIVS => {
            if arg2 != 1 || arg3 != 0 || rest != 0 {
                Err(Errno::EINVAL)
            } else {
                change(t, |c| {
                    c.no_new_privs = true;
                    Ok(())
                })
            }
        }
        libc::PR_GET_NO_NEW_PRIVS => {
            if arg2 != 0 || arg3 != 0 || rest != 0 {
                Err(Errno::EINVAL)
            } else {
                Ok(t.creds.no_new_privs as u64)
            }
        }
        libc::PR_CAP_AMBIENT => cap_ambient(t, arg2, arg3, rest),
        _ => return None,
    };
    Some(r)
}

fn cap_ambient(t: &mut Task, sub: u64, cap: u64, rest: u64) -> SysResult {
    let sub = sub as i32;
    if sub == libc::PR_CAP_AMBIENT_CLEAR_ALL {
        if cap != 0 || rest != 0 {
            return Err(Errno::EINVAL);
        }
        return change(t, |c| {
            c.ambient = 0;
            Ok(())
        });
    }
    if !cap_valid(cap) || rest != 0 {
        return Err(Errno::EINVAL);
    }
    match sub {
        libc::PR_CAP_AMBIENT_IS_SET => Ok((t.creds.ambient >> cap) & 1),
        libc::PR_CAP_AMBIENT_RAISE => change(t, |c| c.raise_ambient(cap)),
        libc::PR_CAP_AMBIENT_LOWER => change(t, |c| {
            c.ambient &= !(1 << cap);
            Ok(())
        }),
        _ => Err(Errno::EINVAL),
    }
}
