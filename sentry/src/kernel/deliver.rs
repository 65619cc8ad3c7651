//! Taking pending signals on the way back to app code: default actions
//! (ignore, stop, continue, terminate), handler frames built in app memory,
//! syscall restart or EINTR, and signals forced by faults.

use std::sync::atomic::Ordering;

use super::exit::{group_exit, notify_parent_job};
use super::process::{lock, JobState};
use super::signal::{default_action, sig_bit, Default_, SigAction, UNBLOCKABLE};
use super::task::{ExitStatus, Task};
use super::waiter::Registration;
use crate::arch::siginfo::SigInfo;
use crate::arch::signal_frame::{init_fpstate, setup_frame, AltStack, SS_AUTODISARM};
use crate::errno::Errno;

const SA_RESTART: u64 = libc::SA_RESTART as u64;
const SA_NODEFER: u64 = libc::SA_NODEFER as u64;
const SA_RESETHAND: u64 = libc::SA_RESETHAND as u64;
const ERESTARTNOINTR: i32 = 513;

/// Sleeps while the task's group is stopped; returns when it continues or
/// the task must exit.
fn wait_while_stopped(t: &Task) {
    loop {
        let seen = t.waker.seq();
        let mut reg = Registration::new(&t.waker);
        reg.add(&t.tg().job_events, u32::MAX);
        let stopped = matches!(t.tg().lock().job, JobState::Stopped { .. });
        if !stopped || t.shared.kill.load(Ordering::SeqCst) {
            return;
        }
        t.waker.sleep(seen, None);
    }
}

/// Stops the task's whole group for `sig`.
fn stop_group(t: &Task, sig: i32) {
    let (threads, changed) = {
        let mut st = t.tg().lock();
        let changed = !matches!(st.job, JobState::Stopped { .. });
        if changed {
            st.job = JobState::Stopped {
                sig,
                reported: false,
            };
        }
        (st.threads.clone(), changed)
    };
    if changed {
        for th in threads.iter().filter(|th| th.tid != t.tid) {
            th.kick();
        }
        notify_parent_job(t.tg(), libc::CLD_STOPPED, sig);
    }
}

/// Rewinds the registers so the interrupted syscall runs again.
fn rewind(t: &mut Task) {
    t.regs.0.rax = t.regs.0.orig_rax;
    t.regs.0.rip -= 2;
}

/// Settles an interrupted syscall when a handler is about to run.
fn restart_for_handler(t: &mut Task, act: &SigAction) {
    let Some(code) = t.restart.take() else {
        return;
    };
    if code == Errno::ERESTARTSYS && act.flags & SA_RESTART != 0 || code.0 == ERESTARTNOINTR {
        rewind(t);
    } else {
        t.regs.0.rax = Errno::EINTR.as_return();
    }
}

/// Settles an interrupted syscall when no handler ran: restart it.
fn restart_without_handler(t: &mut Task) {
    if t.restart.take().is_some() {
        rewind(t);
    }
}

/// Delivers what is pending and deliverable: at most one handler frame.
pub fn deliver_signals(t: &mut Task) {
    loop {
        if matches!(t.tg().lock().job, JobState::Stopped { .. }) {
            wait_while_stopped(t);
            if t.shared.kill.load(Ordering::SeqCst) {
                return;
            }
        }
        let allowed = !t.signals.mask | UNBLOCKABLE;
        let Some(info) = t
            .shared
            .pending
            .take(allowed)
            .or_else(|| t.tg().pending.take(allowed))
        else {
            break;
        };
        let sig = info.signo;
        let act = t.tg().action(sig);
        if act.handler == libc::SIG_IGN as u64 {
            continue;
        }
        if act.handler == libc::SIG_DFL as u64 {
            match default_action(sig) {
                Default_::Ignore | Default_::Continue => continue,
                Default_::Stop => {
                    stop_group(t, sig);
                    continue;
                }
                Default_::Terminate | Default_::Core => {
                    group_exit(t, ExitStatus::Signaled(sig));
                    return;
                }
            }
        }
        run_handler(t, sig, &info, &act);
        return;
    }
    restart_without_handler(t);
    if let Some(m) = t.signals.saved_mask.take() {
        t.signals.mask = m;
    }
}

fn run_handler(t: &mut Task, sig: i32, info: &SigInfo, act: &SigAction) {
    restart_for_handler(t, act);
    let fp = match t.mm.space().fp_state() {
        Ok(fp) => fp,
        Err(e) => {
            tracing::error!(tid = t.tid, "reading FP state: {e}");
            group_exit(t, ExitStatus::Signaled(libc::SIGSEGV));
            return;
        }
    };
    let saved = t.signals.saved_mask.take().unwrap_or(t.signals.mask);
    let alt = t.signals.altstack;
    if setup_frame(&t.mm, &mut t.regs, &fp, info, act, saved, &alt).is_err() {
        // No room for the frame: Linux kills the task with SIGSEGV.
        group_exit(t, ExitStatus::Signaled(libc::SIGSEGV));
        return;
    }
    // The handler starts with a clean FP state, as on Linux.
    let _ = t.mm.space().set_fp_state(&init_fpstate(&fp));
    if act.flags & libc::SA_ONSTACK as u64 != 0 && alt.flags & SS_AUTODISARM != 0 && alt.enabled() {
        t.signals.altstack = AltStack::DISABLED;
    }
    let mut block = act.mask;
    if act.flags & SA_NODEFER == 0 {
        block |= sig_bit(sig as u64);
    }
    t.signals.mask = (t.signals.mask | block) & !UNBLOCKABLE;
    if act.flags & SA_RESETHAND != 0 {
        lock(&t.tg().actions)[(sig - 1) as usize] = SigAction::default();
    }
}

/// A synchronous signal raised by the app's own instruction (fault, trap):
/// if it is blocked or ignored, Linux resets it to the default action.
pub fn force_fault(t: &mut Task, signo: i32, code: i32, addr: u64) {
    if !(1..=64).contains(&signo) {
        return;
    }
    let bit = sig_bit(signo as u64);
    {
        let mut actions = lock(&t.tg().actions);
        let act = &mut actions[(signo - 1) as usize];
        if act.handler == libc::SIG_IGN as u64 || t.signals.mask & bit != 0 {
            *act = SigAction::default();
        }
    }
    t.signals.mask &= !bit;
    t.shared.pending.push(SigInfo::fault(signo, code, addr));
}
