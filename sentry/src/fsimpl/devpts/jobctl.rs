//! Controlling terminals and job control for the sandbox's ptys. A
//! terminal is the controlling terminal of the session it records (so
//! every process of that session shares it, as each inherits it from the
//! leader on Linux); the checks here are Linux's: a background process
//! group reading gets SIGTTIN, one changing the terminal (or writing under
//! TOSTOP) gets SIGTTOU, unless it ignores or blocks the signal; an
//! orphaned group gets EIO instead of a stop it could never leave.

use std::sync::Arc;

use super::pair::Tty;
use crate::arch::siginfo::SigInfo;
use crate::errno::Errno;
use crate::kernel::kernel::tasks;
use crate::kernel::signal::{send_to_group, sig_bit};
use crate::kernel::Task;

/// The caller's process group and session.
pub fn ids(t: &Task) -> (i32, i32) {
    let st = t.tg().lock();
    (st.pgid, st.sid)
}

/// Whether `t`'s process is the leader of its session.
pub fn is_session_leader(t: &Task) -> bool {
    t.tg().lock().sid == t.tgid
}

/// Sends `sig` from the kernel to every live process of group `pgrp`.
pub fn signal_pgrp(pgrp: i32, sig: i32) {
    if pgrp <= 0 {
        return;
    }
    for g in tasks().groups() {
        let hit = {
            let st = g.lock();
            !st.zombie && st.pgid == pgrp
        };
        if hit {
            send_to_group(&g, SigInfo::kernel(sig));
        }
    }
}

/// Sends `sig` to the process `pid` (a session leader), if it lives.
pub fn signal_process(pid: i32, sig: i32) {
    if let Some(g) = tasks().group(pid) {
        if !g.lock().zombie {
            send_to_group(&g, SigInfo::kernel(sig));
        }
    }
}

/// Whether some live process of session `sid` is in group `pgrp`.
pub fn pgrp_in_session(pgrp: i32, sid: i32) -> Option<bool> {
    let mut found = None;
    for g in tasks().groups() {
        let st = g.lock();
        if !st.zombie && st.pgid == pgrp {
            if st.sid == sid {
                return Some(true);
            }
            found = Some(false);
        }
    }
    found
}

/// Whether group `pgrp` of session `sid` is orphaned: no live member has
/// a parent in another group of the same session (its stop signals would
/// stop it for good, so Linux fails the I/O with EIO instead).
fn orphaned(pgrp: i32, sid: i32) -> bool {
    let groups = tasks().groups();
    let parents: Vec<i32> = groups
        .iter()
        .filter_map(|g| {
            let st = g.lock();
            (!st.zombie && st.pgid == pgrp).then_some(st.parent)
        })
        .collect();
    !parents.iter().any(|&pp| {
        groups.iter().any(|g| {
            g.tgid == pp && {
                let st = g.lock();
                st.pgid != pgrp && st.sid == sid
            }
        })
    })
}

/// Whether `t` ignores or blocks `sig`.
fn ignores_or_blocks(t: &Task, sig: i32) -> bool {
    t.signals.mask & sig_bit(sig as u64) != 0 || t.tg().action(sig).handler == libc::SIG_IGN as u64
}

/// Where `t` stands towards `tty`: None when it is not `t`'s controlling
/// terminal or `t` is in its foreground group; else `t`'s process group.
fn background(t: &Task, tty: &Tty) -> Option<i32> {
    let (pgid, sid) = ids(t);
    let (session, pgrp) = tty.session_pgrp();
    if session != Some(sid) {
        return None;
    }
    match pgrp {
        Some(fg) if fg != pgid => Some(pgid),
        _ => None,
    }
}

/// A read of the replica: a background group gets SIGTTIN (EIO when it
/// ignores or blocks it).
pub fn check_read(t: &Task, tty: &Tty) -> Result<(), Errno> {
    let Some(pgid) = background(t, tty) else {
        return Ok(());
    };
    if ignores_or_blocks(t, libc::SIGTTIN) || orphaned(pgid, ids(t).1) {
        return Err(Errno::EIO);
    }
    signal_pgrp(pgid, libc::SIGTTIN);
    Err(Errno::ERESTARTSYS)
}

/// A change to the terminal (TCSETS*, TIOCSPGRP, TCFLSH…) or a write
/// under TOSTOP: a background group gets SIGTTOU, unless it ignores or
/// blocks it (then the change goes ahead).
pub fn check_change(t: &Task, tty: &Tty) -> Result<(), Errno> {
    let Some(pgid) = background(t, tty) else {
        return Ok(());
    };
    if ignores_or_blocks(t, libc::SIGTTOU) {
        return Ok(());
    }
    if orphaned(pgid, ids(t).1) {
        return Err(Errno::EIO);
    }
    signal_pgrp(pgid, libc::SIGTTOU);
    Err(Errno::ERESTARTSYS)
}

/// The controlling terminal of session `sid`, if any.
pub fn ctty_of(sid: i32) -> Option<Arc<Tty>> {
    super::live_ttys()
        .into_iter()
        .find(|tty| tty.session_pgrp().0 == Some(sid))
}

/// setsid(2) made session `sid`: it starts with no controlling terminal,
/// whatever an earlier session of that number had.
pub fn session_started(sid: i32) {
    for tty in super::live_ttys() {
        tty.clear_session_if(sid);
    }
}

/// The process `pid` ended: if it led a session with a controlling
/// terminal, the session loses the terminal and the foreground group gets
/// SIGHUP (Linux's disassociate_ctty on exit).
pub fn leader_exited(pid: i32) {
    let Some(tty) = ctty_of(pid) else {
        return;
    };
    let pgrp = {
        let mut st = tty.lock();
        st.session = None;
        st.pgrp.take()
    };
    if let Some(pg) = pgrp {
        signal_pgrp(pg, libc::SIGHUP);
    }
}
