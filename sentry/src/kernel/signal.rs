//! Signal dispositions, masks and the default action of each signal; and
//! sending: queueing a signal on a task or a thread group and waking the
//! task that should take it.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::process::{lock, JobState, TaskShared, ThreadGroup};
use super::task::ExitStatus;
use crate::arch::siginfo::SigInfo;
use crate::arch::signal_frame::AltStack;

/// struct k_sigaction as the kernel sees it from rt_sigaction(2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

pub const NSIG: usize = 64;

/// A thread's own signal state.
#[derive(Clone, Debug, Default)]
pub struct SignalState {
    pub mask: u64,
    pub altstack: AltStack,
    /// The mask to restore after the next handler returns (sigsuspend,
    /// pselect and ppoll replace the mask only while they wait).
    pub saved_mask: Option<u64>,
}

/// The bit of signal `sig` (1-based) in a sigset.
pub fn sig_bit(sig: u64) -> u64 {
    1u64 << (sig - 1)
}

/// SIGKILL and SIGSTOP can be neither caught, blocked nor ignored.
pub const UNBLOCKABLE: u64 = (1 << (libc::SIGKILL - 1)) | (1 << (libc::SIGSTOP - 1));

const fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// Signals whose default action stops the process.
pub const STOP_SIGNALS: u64 =
    bit(libc::SIGSTOP) | bit(libc::SIGTSTP) | bit(libc::SIGTTIN) | bit(libc::SIGTTOU);

/// What SIG_DFL does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Default_ {
    Terminate,
    Core,
    Ignore,
    Stop,
    Continue,
}

pub fn default_action(sig: i32) -> Default_ {
    match sig {
        libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH => Default_::Ignore,
        libc::SIGCONT => Default_::Continue,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => Default_::Stop,
        libc::SIGQUIT
        | libc::SIGILL
        | libc::SIGTRAP
        | libc::SIGABRT
        | libc::SIGBUS
        | libc::SIGFPE
        | libc::SIGSEGV
        | libc::SIGXCPU
        | libc::SIGXFSZ
        | libc::SIGSYS => Default_::Core,
        _ => Default_::Terminate,
    }
}

/// Whether `tg` discards `sig` at once: ignored (by SIG_IGN or a default
/// of ignore) and blocked by none of its threads (a blocked ignored signal
/// stays pending, as on Linux, so sigwait can take it).
fn ignored(tg: &ThreadGroup, sig: i32) -> bool {
    let act = tg.action(sig);
    let ign = act.handler == libc::SIG_IGN as u64
        || (act.handler == libc::SIG_DFL as u64 && default_action(sig) == Default_::Ignore);
    ign && !tg
        .lock()
        .threads
        .iter()
        .any(|t| t.mask.load(Ordering::SeqCst) & bit(sig) != 0)
}

/// Makes the whole group exit with `status`: every thread is told to end.
pub fn kill_group(tg: &ThreadGroup, status: ExitStatus) {
    let threads = {
        let mut st = tg.lock();
        if st.exit.is_none() {
            st.exit = Some(status);
        }
        st.threads.clone()
    };
    for t in threads {
        t.kill.store(true, Ordering::SeqCst);
        t.kick();
    }
    tg.job_events.notify(u32::MAX);
}

/// Side effects of SIGCONT and the stop signals at send time.
fn job_control_on_send(tg: &ThreadGroup, sig: i32) {
    if sig == libc::SIGCONT {
        tg.pending.discard(STOP_SIGNALS);
        for t in lock(&tg.state).threads.iter() {
            t.pending.discard(STOP_SIGNALS);
        }
        let resumed = {
            let mut st = tg.lock();
            if matches!(st.job, JobState::Stopped { .. }) {
                st.job = JobState::Continued;
                true
            } else {
                false
            }
        };
        if resumed {
            tg.job_events.notify(u32::MAX);
            super::exit::notify_parent_job(tg, libc::CLD_CONTINUED, libc::SIGCONT);
        }
    } else if STOP_SIGNALS & bit(sig) != 0 {
        tg.pending.discard(bit(libc::SIGCONT));
    }
}

/// Sends `info` to the thread group `tg` (kill(2)).
pub fn send_to_group(tg: &Arc<ThreadGroup>, info: SigInfo) {
    let sig = info.signo;
    if sig == libc::SIGKILL {
        kill_group(tg, ExitStatus::Signaled(libc::SIGKILL));
        return;
    }
    job_control_on_send(tg, sig);
    if ignored(tg, sig) {
        return;
    }
    let threads = tg.lock().threads.clone();
    tg.pending.push(info);
    tg.signal_events.notify(u32::MAX);
    // Wake a thread that does not block it (or all, if every one does: the
    // first to unblock takes it).
    let b = bit(sig);
    match threads
        .iter()
        .find(|t| t.mask.load(Ordering::SeqCst) & b == 0)
    {
        Some(t) => t.kick(),
        None => threads.iter().for_each(|t| t.waker.wake()),
    }
}

/// Sends `info` to one task (tgkill(2), faults, timers with SIGEV_THREAD_ID).
pub fn send_to_task(task: &Arc<TaskShared>, info: SigInfo) {
    let sig = info.signo;
    let tg = &task.tg;
    if sig == libc::SIGKILL {
        kill_group(tg, ExitStatus::Signaled(libc::SIGKILL));
        return;
    }
    job_control_on_send(tg, sig);
    if ignored(tg, sig) {
        return;
    }
    task.pending.push(info);
    tg.signal_events.notify(u32::MAX);
    task.kick();
}
