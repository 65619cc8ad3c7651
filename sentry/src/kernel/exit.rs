//! Ending tasks and processes: exit_group and fatal signals end every
//! thread of a group; a finishing thread clears its child tid, walks its
//! robust futex list and leaves its group; the last one makes the process a
//! zombie, hands its children to the reaper and tells its parent.

use std::sync::Arc;

use super::process::ThreadGroup;
use super::signal::{kill_group, send_to_group, send_to_task};
use super::task::{ExitStatus, Task};
use crate::arch::siginfo::SigInfo;

/// Ends the task's whole thread group with `status`.
pub fn group_exit(t: &mut Task, status: ExitStatus) {
    kill_group(t.tg(), status);
    let s = t.tg().lock().exit.unwrap_or(status);
    t.exit = Some(s);
}

/// Tells `tg`'s parent that it stopped or continued (SIGCHLD with
/// CLD_STOPPED / CLD_CONTINUED unless the parent set SA_NOCLDSTOP).
pub fn notify_parent_job(tg: &ThreadGroup, code: i32, sig: i32) {
    let kernel_parent = tg.lock().parent;
    let Some(parent) = crate::kernel::kernel::tasks().group(kernel_parent) else {
        return;
    };
    parent.child_events.notify(u32::MAX);
    let act = parent.action(libc::SIGCHLD);
    if act.flags & libc::SA_NOCLDSTOP as u64 != 0 {
        return;
    }
    send_to_group(&parent, SigInfo::child(code, tg.tgid, 0, sig, 0, 0));
}

/// The process that adopts `tg`'s children: the nearest subreaper ancestor,
/// else init (pid 1).
fn reaper_for(tg: &ThreadGroup) -> i32 {
    let table = crate::kernel::kernel::tasks();
    let mut p = tg.lock().parent;
    while p > 1 {
        let Some(g) = table.group(p) else { break };
        let st = g.lock();
        if st.subreaper && !st.zombie && st.exit.is_none() {
            return p;
        }
        p = st.parent;
    }
    1
}

/// The thread's last steps, run on its host thread after `run()` returns.
pub fn finish(mut t: Task, status: ExitStatus) {
    // As Linux: robust futexes first, then CLONE_CHILD_CLEARTID (zero the
    // tid word and wake one waiter), so a joiner sees the owner-died marks.
    super::futex::exit_robust_list(&t);
    if t.clear_child_tid != 0 {
        let addr = t.clear_child_tid;
        if t.write_struct(addr, &0u32).is_ok() {
            let _ = super::futex::wake(&t, addr, 1, u32::MAX, false);
        }
    }
    release_vfork_parent(&mut t);
    t.mm.space().release_thread();
    // As Linux's exit_files, before the parent can learn of the exit: the
    // last reference to each file goes now (its close is seen, its locks
    // and inotify close events happen before a waiter wakes).
    drop(std::mem::take(&mut t.fds));

    let tg = t.tg().clone();
    let table = crate::kernel::kernel::tasks();
    let last = {
        let mut st = tg.lock();
        st.threads.retain(|th| th.tid != t.tid);
        if st.exit.is_none() && st.threads.is_empty() {
            st.exit = Some(status);
        }
        st.threads.is_empty()
    };
    table.remove_task(t.tid);
    // An exec waiting for the other threads to end.
    tg.job_events.notify(u32::MAX);
    if last {
        process_exit(&tg);
    }
    drop(t);
}

/// Releases a vfork parent waiting for this child to exec or exit.
pub fn release_vfork_parent(t: &mut Task) {
    if let Some(p) = t.vfork_parent.take() {
        p.lock().vfork_done = true;
        p.vfork_events.notify(u32::MAX);
    }
}

/// The last thread of `tg` is gone.
fn process_exit(tg: &Arc<ThreadGroup>) {
    crate::kernel::timers::exit_process_timers(tg.tgid);
    crate::vfs::lock::release_all(tg.tgid);
    crate::fsimpl::devpts::leader_exited(tg.tgid);
    let table = crate::kernel::kernel::tasks();
    let (children, parent_pid, exit_signal, status) = {
        let st = tg.lock();
        (
            st.children.clone(),
            st.parent,
            st.exit_signal,
            st.exit.unwrap_or(ExitStatus::Exited(0)),
        )
    };
    if tg.tgid == 1 {
        // Init is gone: so is every other process in the sandbox.
        for g in table.groups() {
            if g.tgid != 1 {
                kill_group(&g, ExitStatus::Signaled(libc::SIGKILL));
            }
        }
    }
    // Orphans go to the reaper.
    let reaper = reaper_for(tg);
    if let Some(r) = table.group(reaper).filter(|_| reaper != tg.tgid) {
        let mut moved = Vec::new();
        for c in &children {
            if let Some(cg) = table.group(*c) {
                cg.lock().parent = reaper;
                moved.push(*c);
                // PR_SET_PDEATHSIG: the orphan's threads learn of the death.
                for th in cg.lock().threads.clone() {
                    let sig = th.pdeathsig.load(std::sync::atomic::Ordering::SeqCst);
                    if sig > 0 {
                        send_to_task(&th, SigInfo::kill(sig, 0, tg.tgid, 0));
                    }
                }
            }
        }
        r.lock().children.extend(moved);
        r.child_events.notify(u32::MAX);
    }
    tg.lock().children.clear();

    let parent = table.group(parent_pid);
    let autoreap = match &parent {
        Some(p) => {
            let act = p.action(libc::SIGCHLD);
            act.handler == libc::SIG_IGN as u64 || act.flags & libc::SA_NOCLDWAIT as u64 != 0
        }
        None => true,
    };
    // Whoever outside the sandbox waits for this process (a container's
    // host process), before it can be reaped.
    super::exit_watch::exited(tg, status);
    if autoreap && tg.tgid != 1 {
        reap(tg);
    } else {
        tg.lock().zombie = true;
    }
    if let Some(p) = parent {
        p.child_events.notify(u32::MAX);
        if exit_signal > 0 && !autoreap {
            let (code, value) = match status {
                ExitStatus::Exited(c) => (libc::CLD_EXITED, c),
                ExitStatus::Signaled(s) => (
                    if status.wait_status() & 0x80 != 0 {
                        libc::CLD_DUMPED
                    } else {
                        libc::CLD_KILLED
                    },
                    s,
                ),
            };
            let mut info = SigInfo::child(code, tg.tgid, 0, value, 0, 0);
            info.signo = exit_signal;
            send_to_group(&p, info);
        }
    }
    // Whoever waits for the sandbox to end.
    tg.job_events.notify(u32::MAX);
}

/// Removes a zombie from its parent and the table.
pub fn reap(tg: &ThreadGroup) {
    let table = crate::kernel::kernel::tasks();
    let parent = tg.lock().parent;
    if let Some(p) = table.group(parent) {
        let mut st = p.lock();
        st.children.retain(|&c| c != tg.tgid);
    }
    table.remove_group(tg.tgid);
}
