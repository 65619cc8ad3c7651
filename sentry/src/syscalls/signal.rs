//! Signal syscalls. Dispositions and masks are recorded with Linux's
//! validation; delivery comes with the process model.

use super::table::{Arg, Support, Table};
use crate::errno::{Errno, SysResult};
use crate::kernel::signal::{sig_bit, SigAction, NSIG, UNBLOCKABLE};
use crate::kernel::task::ExitStatus;
use crate::kernel::Task;

pub fn register(t: &mut Table) {
    use Arg::*;
    t.set(
        libc::SYS_rt_sigaction,
        rt_sigaction,
        Support::Partial,
        &[Int, Hex, Hex, Int],
        "recorded; signals are not delivered yet",
    );
    t.set(
        libc::SYS_rt_sigprocmask,
        rt_sigprocmask,
        Support::Partial,
        &[Int, Hex, Hex, Int],
        "recorded; signals are not delivered yet",
    );
    t.set(
        libc::SYS_rt_sigpending,
        rt_sigpending,
        Support::Full,
        &[Hex, Int],
        "",
    );
    t.set(
        libc::SYS_kill,
        kill,
        Support::Partial,
        &[Int, Int],
        "to the caller only; default actions apply, handlers are not run yet",
    );
    t.set(
        libc::SYS_tkill,
        tkill,
        Support::Partial,
        &[Int, Int],
        "to the caller only; default actions apply, handlers are not run yet",
    );
    t.set(
        libc::SYS_tgkill,
        tgkill,
        Support::Partial,
        &[Int, Int, Int],
        "to the caller only; default actions apply, handlers are not run yet",
    );
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

fn rt_sigaction(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (sig, act, oact, size) = (a[0], a[1], a[2], a[3]);
    if size != SIGSET_SIZE || sig == 0 || sig > NSIG as u64 {
        return Err(Errno::EINVAL);
    }
    if act != 0 && (sig == libc::SIGKILL as u64 || sig == libc::SIGSTOP as u64) {
        return Err(Errno::EINVAL);
    }
    let new = if act != 0 {
        Some(t.read_struct::<KSigAction>(act)?)
    } else {
        None
    };
    let idx = (sig - 1) as usize;
    let old = t.signals.actions[idx];
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
        t.signals.actions[idx] = SigAction {
            handler: n.handler,
            flags: n.flags,
            restorer: n.restorer,
            mask: n.mask & !UNBLOCKABLE,
        };
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

/// What a signal does when its disposition is SIG_DFL.
fn default_kills(sig: i32) -> bool {
    !matches!(
        sig,
        libc::SIGCHLD
            | libc::SIGCONT
            | libc::SIGURG
            | libc::SIGWINCH
            | libc::SIGSTOP
            | libc::SIGTSTP
            | libc::SIGTTIN
            | libc::SIGTTOU
    )
}

/// Sends `sig` to the calling task itself.
fn send_self(t: &mut Task, sig: u64) -> SysResult {
    if sig > NSIG as u64 {
        return Err(Errno::EINVAL);
    }
    if sig == 0 {
        return Ok(0);
    }
    let blocked = t.signals.mask & sig_bit(sig) != 0;
    let handler = t.signals.actions[(sig - 1) as usize].handler;
    let dfl = handler == libc::SIG_DFL as u64;
    if (dfl && !blocked && default_kills(sig as i32)) || sig == libc::SIGKILL as u64 {
        t.exit = Some(ExitStatus::Signaled(sig as i32));
    } else if blocked && handler != libc::SIG_IGN as u64 {
        t.signals.pending |= sig_bit(sig);
    }
    Ok(0)
}

fn kill(t: &mut Task, a: [u64; 6]) -> SysResult {
    let pid = a[0] as i32;
    if pid == t.tgid || pid == 0 || pid == -1 || pid == -t.tgid {
        send_self(t, a[1])
    } else {
        Err(Errno::ESRCH)
    }
}

fn tkill(t: &mut Task, a: [u64; 6]) -> SysResult {
    let tid = a[0] as i32;
    if tid <= 0 {
        return Err(Errno::EINVAL);
    }
    if tid != t.tid {
        return Err(Errno::ESRCH);
    }
    send_self(t, a[1])
}

fn tgkill(t: &mut Task, a: [u64; 6]) -> SysResult {
    let (tgid, tid) = (a[0] as i32, a[1] as i32);
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    if tgid != t.tgid || tid != t.tid {
        return Err(Errno::ESRCH);
    }
    send_self(t, a[2])
}

fn rt_sigpending(t: &mut Task, a: [u64; 6]) -> SysResult {
    if a[1] != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let pending = t.signals.pending;
    t.write_struct(a[0], &pending).map(|_| 0)
}
