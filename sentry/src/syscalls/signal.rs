//! Signal syscalls: dispositions, masks, pending sets, waiting for signals,
//! sending them (kill, tkill, tgkill, rt_sigqueueinfo), the alternate stack
//! and the return from a handler.

use std::time::{Duration, Instant};

use super::table::{Arg, Support, Table};
use crate::arch::siginfo::SigInfo;
use crate::arch::signal_frame::{init_fpstate, restore_frame, AltStack};
use crate::errno::{Errno, SysResult};
use crate::kernel::kernel::tasks;
use crate::kernel::process::{lock, ThreadGroup};
use crate::kernel::signal::{send_to_group, send_to_task, sig_bit, SigAction, NSIG, UNBLOCKABLE};
use crate::kernel::Task;

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_rt_sigaction,
        rt_sigaction,
        Support::Full,
        &[Int, Hex, Hex, Int],
        "",
    );
    t.set(
        libc::SYS_rt_sigprocmask,
        rt_sigprocmask,
        Support::Full,
        &[Int, Hex, Hex, Int],
        "",
    );
    t.set(
        libc::SYS_rt_sigpending,
        rt_sigpending,
        Support::Full,
        &[Hex, Int],
        "",
    );
    t.set(
        libc::SYS_rt_sigsuspend,
        rt_sigsuspend,
        Support::Full,
        &[Hex, Int],
        "",
    );
    t.set(
        libc::SYS_rt_sigtimedwait,
        rt_sigtimedwait,
        Support::Full,
        &[Hex, Hex, Hex, Int],
        "",
    );
    t.set(
        libc::SYS_rt_sigqueueinfo,
        rt_sigqueueinfo,
        Support::Full,
        &[Int, Int, Hex],
        "",
    );
    t.set(
        libc::SYS_rt_tgsigqueueinfo,
        rt_tgsigqueueinfo,
        Support::Full,
        &[Int, Int, Int, Hex],
        "",
    );
    t.set(
        libc::SYS_sigaltstack,
        sigaltstack,
        Support::Full,
        &[Hex, Hex],
        "",
    );
    t.set(libc::SYS_rt_sigreturn, rt_sigreturn, Support::Full, &[], "");
    t.set(libc::SYS_kill, kill, Support::Full, &[Int, Int], "");
    t.set(libc::SYS_tkill, tkill, Support::Full, &[Int, Int], "");
    t.set(
        libc::SYS_tgkill,
        tgkill,
        Support::Full,
        &[Int, Int, Int],
        "",
    );
    t.set(libc::SYS_pause, pause, Support::Full, &[], "");
}

const SIGSET_SIZE: u64 = 8;

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct KSigAction {
    handler: u64,
    flags: u64,
    restorer: u64,
    mask: u64,
}

fn valid_sig(sig: u64) -> Result<i32, Errno> {
    if sig == 0 || sig > NSIG as u64 {
        Err(Errno::EINVAL)
    } else {
        Ok(sig as i32)
    }
}

fn rt_sigaction(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (sig, act, oact, size) = (a[0], a[1], a[2], a[3]);
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let sig = valid_sig(sig)?;
    if act != 0 && (sig == libc::SIGKILL || sig == libc::SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let new = if act != 0 {
        Some(t.read_struct::<KSigAction>(act)?)
    } else {
        None
    };
    let old = t.tg().action(sig);
    if oact != 0 {
        t.write_struct(
            oact,
            &KSigAction {
                handler: old.handler,
                flags: old.flags,
                restorer: old.restorer,
                mask: old.mask,
            },
        )?;
    }
    if let Some(n) = new {
        let act = SigAction {
            handler: n.handler,
            flags: n.flags,
            restorer: n.restorer,
            mask: n.mask & !UNBLOCKABLE,
        };
        lock(&t.tg().actions)[(sig - 1) as usize] = act;
        // Setting SIG_IGN (or SIG_DFL for a default-ignored signal) drops
        // what is pending.
        let ignore = act.handler == libc::SIG_IGN as u64
            || (act.handler == libc::SIG_DFL as u64
                && crate::kernel::signal::default_action(sig)
                    == crate::kernel::signal::Default_::Ignore);
        if ignore {
            let bit = sig_bit(sig as u64);
            t.tg().pending.discard(bit);
            for th in t.tg().lock().threads.iter() {
                th.pending.discard(bit);
            }
        }
    }
    Ok(0)
}

fn rt_sigprocmask(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (how, set, oset, size) = (a[0] as i32, a[1], a[2], a[3]);
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let old = t.signals.mask;
    if set != 0 {
        let s: u64 = t.read_struct(set)?;
        let new = match how {
            libc::SIG_BLOCK => old | s,
            libc::SIG_UNBLOCK => old & !s,
            libc::SIG_SETMASK => s,
            _ => return Err(Errno::EINVAL),
        };
        t.signals.mask = new & !UNBLOCKABLE;
    }
    if oset != 0 {
        t.write_struct(oset, &old)?;
    }
    Ok(0)
}

fn rt_sigpending(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[1] != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let pending = (t.shared.pending.bits() | t.tg().pending.bits()) & t.signals.mask;
    t.write_struct(a[0], &pending).map(|_| 0)
}

fn rt_sigsuspend(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[1] != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = t.read_struct(a[0])?;
    t.signals.saved_mask = Some(t.signals.mask);
    t.signals.mask = mask & !UNBLOCKABLE;
    loop {
        let seen = t.waker.seq();
        if let Err(e) = t.block(seen, None) {
            if e == Errno::ERESTARTSYS {
                return Err(Errno::ERESTARTNOHAND);
            }
            return Err(e);
        }
    }
}

fn pause(t: &mut Task, _a: [u64; 6]) -> SysResult {
    loop {
        let seen = t.waker.seq();
        if let Err(e) = t.block(seen, None) {
            if e == Errno::ERESTARTSYS {
                return Err(Errno::ERESTARTNOHAND);
            }
            return Err(e);
        }
    }
}

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

fn rt_sigtimedwait(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (set, info, timeout, size) = (a[0], a[1], a[2], a[3]);
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let set: u64 = t.read_struct(set)?;
    let set = set & !UNBLOCKABLE;
    let deadline = if timeout != 0 {
        let ts: Timespec = t.read_struct(timeout)?;
        if ts.sec < 0 || !(0..1_000_000_000).contains(&ts.nsec) {
            return Err(Errno::EINVAL);
        }
        Some(Instant::now() + Duration::new(ts.sec as u64, ts.nsec as u32))
    } else {
        None
    };
    // While waiting, the awaited signals are taken here, not by handlers.
    let saved = t.signals.mask;
    t.signals.mask &= !set;
    let got = loop {
        let seen = t.waker.seq();
        if let Some(i) = t
            .shared
            .pending
            .take(set)
            .or_else(|| t.tg().pending.take(set))
        {
            break Ok(i);
        }
        match t.block(seen, deadline) {
            Ok(true) => {}
            Ok(false) => break Err(Errno::EAGAIN),
            // One of the awaited signals may be what woke us.
            Err(_) => match t
                .shared
                .pending
                .take(set)
                .or_else(|| t.tg().pending.take(set))
            {
                Some(i) => break Ok(i),
                None => break Err(Errno::EINTR),
            },
        }
    };
    t.signals.mask = saved;
    let i = got?;
    if info != 0 {
        t.mm.copy_out(info, &i.to_bytes())?;
    }
    Ok(i.signo as u64)
}

fn sender_info(t: &Task, sig: i32, code: i32) -> SigInfo {
    SigInfo::kill(sig, code, t.tgid, t.creds.uid)
}

const SI_USER: i32 = 0;
const SI_TKILL: i32 = -6;

fn kill(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (pid, sig) = (a[0] as i32, a[1]);
    if sig > NSIG as u64 {
        return Err(Errno::EINVAL);
    }
    let sig = sig as i32;
    let table = tasks();
    let targets: Vec<_> = match pid {
        p if p > 0 => vec![table
            .group(p)
            .filter(|g| !g.lock().zombie)
            .ok_or(Errno::ESRCH)?],
        _ => {
            let pgid = match pid {
                0 => Some(t.tg().lock().pgid),
                -1 => None,
                p => Some(-p),
            };
            let gs: Vec<_> = table
                .groups()
                .into_iter()
                .filter(|g| {
                    let st = g.lock();
                    !st.zombie
                        && match pgid {
                            Some(pg) => st.pgid == pg,
                            // kill(-1): everyone but init and the caller.
                            None => g.tgid != 1 && g.tgid != t.tgid,
                        }
                })
                .collect();
            if gs.is_empty() {
                return Err(Errno::ESRCH);
            }
            gs
        }
    };
    // kill(pid) fails when it may not signal its one target; a group or
    // everyone gets the signal where allowed, EPERM only when nowhere was.
    let allowed: Vec<_> = targets
        .iter()
        .filter(|g| may_signal(t, g, sig))
        .cloned()
        .collect();
    if allowed.is_empty() && pid != -1 {
        return Err(Errno::EPERM);
    }
    if sig == 0 {
        return Ok(0);
    }
    for g in allowed {
        send_to_group(&g, sender_info(t, sig, SI_USER));
    }
    Ok(0)
}

/// Linux's check_kill_permission: the sender's real or effective uid is
/// the target's real or saved uid, or CAP_KILL; SIGCONT within a session.
fn may_signal(t: &Task, g: &ThreadGroup, sig: i32) -> bool {
    if g.tgid == t.tgid || t.creds.has_cap(crate::kernel::creds::CAP_KILL) {
        return true;
    }
    let sid = t.tg().lock().sid;
    let st = g.lock();
    if sig == libc::SIGCONT && st.sid == sid {
        return true;
    }
    let c = &st.published.creds;
    [t.creds.uid, t.creds.euid]
        .iter()
        .any(|&u| u == c.uid || u == c.suid)
}

fn send_thread(t: &Task, tgid: Option<i32>, tid: i32, sig: u64) -> SysResult {
    if tid <= 0 || tgid.is_some_and(|g| g <= 0) || sig > NSIG as u64 {
        return Err(Errno::EINVAL);
    }
    let target = tasks().task(tid).ok_or(Errno::ESRCH)?;
    if tgid.is_some_and(|g| g != target.tg.tgid) {
        return Err(Errno::ESRCH);
    }
    if !may_signal(t, &target.tg, sig as i32) {
        return Err(Errno::EPERM);
    }
    if sig == 0 {
        return Ok(0);
    }
    send_to_task(&target, sender_info(t, sig as i32, SI_TKILL));
    Ok(0)
}

fn tkill(t: &mut Task, a: [u64; 6]) -> SysResult {
    send_thread(t, None, a[0] as i32, a[1])
}

fn tgkill(t: &mut Task, a: [u64; 6]) -> SysResult {
    send_thread(t, Some(a[0] as i32), a[1] as i32, a[2])
}

/// The siginfo a process queues: a kernel or kill() code may only be
/// forged towards itself.
fn queue_info(t: &Task, sig: i32, uinfo: u64, target_tgid: i32) -> Result<SigInfo, Errno> {
    let mut raw = [0u8; 128];
    t.mm.copy_in(uinfo, &mut raw)?;
    let mut info = SigInfo::from_bytes(&raw);
    if (info.code >= 0 || info.code == SI_TKILL) && target_tgid != t.tgid {
        return Err(Errno::EPERM);
    }
    info.signo = sig;
    Ok(info)
}

fn rt_sigqueueinfo(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (pid, sig) = (a[0] as i32, a[1]);
    if sig > NSIG as u64 {
        return Err(Errno::EINVAL);
    }
    let info = queue_info(t, sig as i32, a[2], pid)?;
    let g = tasks()
        .group(pid)
        .filter(|g| !g.lock().zombie)
        .ok_or(Errno::ESRCH)?;
    if sig != 0 {
        send_to_group(&g, info);
    }
    Ok(0)
}

fn rt_tgsigqueueinfo(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (tgid, tid, sig) = (a[0] as i32, a[1] as i32, valid_sig(a[2])?);
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let info = queue_info(t, sig, a[3], tgid)?;
    let target = tasks().task(tid).ok_or(Errno::ESRCH)?;
    if target.tg.tgid != tgid {
        return Err(Errno::ESRCH);
    }
    send_to_task(&target, info);
    Ok(0)
}

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct StackT {
    sp: u64,
    flags: i32,
    pad: i32,
    size: u64,
}

fn sigaltstack(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (ss, old) = (a[0], a[1]);
    let sp = t.regs.sp();
    let cur = t.signals.altstack;
    let new = if ss != 0 {
        let n: StackT = t.read_struct(ss)?;
        Some(AltStack {
            sp: n.sp,
            size: n.size,
            flags: n.flags,
        })
    } else {
        None
    };
    if old != 0 {
        let r = cur.report(sp);
        t.write_struct(
            old,
            &StackT {
                sp: r.sp,
                flags: r.flags,
                pad: 0,
                size: r.size,
            },
        )?;
    }
    if let Some(n) = new {
        t.signals.altstack = cur.change(&n, sp)?;
    }
    Ok(0)
}

fn rt_sigreturn(t: &mut Task, _a: [u64; 6]) -> SysResult {
    let space = t.mm.space().clone();
    // The XSAVE size is the same for every thread of this host: read it
    // from the platform once, not on every return from a handler.
    static FP_LEN: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let fp_len = match FP_LEN.get() {
        Some(&n) => n,
        None => {
            let n = space.fp_state().map(|f| f.len()).unwrap_or(0);
            if n > 0 {
                let _ = FP_LEN.set(n);
            }
            n
        }
    };
    match restore_frame(&t.mm, &mut t.regs, fp_len) {
        Ok(r) => {
            t.signals.mask = r.mask & !UNBLOCKABLE;
            let fp = match r.fpstate {
                Some(fp) => Some(fp),
                // No FP state in the frame: Linux resets it.
                None => space.fp_state().ok().map(|cur| init_fpstate(&cur)),
            };
            if let Some(fp) = fp {
                if space.set_fp_state(&fp).is_err() {
                    crate::kernel::deliver::force_fault(t, libc::SIGSEGV, 0x80, 0);
                }
            }
            if let Ok(st) = t.signals.altstack.change(&r.stack, t.regs.0.rsp) {
                t.signals.altstack = st;
            }
            // Keep the restored rax: it is the interrupted code's.
            Ok(t.regs.0.rax)
        }
        Err(_) => {
            crate::kernel::deliver::force_fault(t, libc::SIGSEGV, 0x80, 0);
            Ok(t.regs.0.rax)
        }
    }
}
