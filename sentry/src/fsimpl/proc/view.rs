//! Whose state a /proc/<pid> directory shows, and how it is gathered. A
//! directory names its process by a weak reference and a pid: once the
//! process is reaped (or its pid reused) every name under it is ENOENT.
//! A task's address space, fd table, file-system context and credentials
//! belong to its own thread: for the caller's own process they are read
//! from the calling task, for any other from what that process published
//! (`TgState::published`), held only for the length of one read.

use std::sync::{Arc, Weak};

use super::format::{self, MemUsage, RunState, Sigs, TaskInfo};
use super::raw;
use crate::errno::Errno;
use crate::kernel::fd_table::FdTable;
use crate::kernel::kernel::tasks;
use crate::kernel::process::{lock, JobState, TaskShared, ThreadGroup};
use crate::kernel::task::{Creds, Rlimits};
use crate::kernel::Task;
use crate::mm::MemoryManager;
use crate::vfs::ctx::Ctx;
use crate::vfs::FsContext;

/// A process (or one of its threads) as a /proc directory names it.
#[derive(Clone)]
pub(super) struct Proc {
    tg: Weak<ThreadGroup>,
    pub tgid: i32,
    /// The thread shown: the tid looked up (the tgid for a process).
    pub tid: i32,
    /// A task/<tid> directory rather than a /proc/<pid> one.
    pub thread_view: bool,
}

/// What only the process's own threads hold, for one read.
pub(super) struct Resources {
    pub mm: Option<Arc<MemoryManager>>,
    pub fds: Option<Arc<FdTable>>,
    pub fs: Option<FsContext>,
    pub creds: Creds,
}

impl Proc {
    /// The process `pid` names (a thread group, or any thread of one), if
    /// it is in the sandbox.
    pub fn lookup(pid: i32) -> Option<Proc> {
        let table = tasks();
        if let Some(tg) = table.group(pid) {
            return Some(Proc::of(&tg, pid, false));
        }
        let t = table.task(pid)?;
        Some(Proc::of(&t.tg, pid, false))
    }

    pub fn of(tg: &Arc<ThreadGroup>, tid: i32, thread_view: bool) -> Proc {
        Proc {
            tg: Arc::downgrade(tg),
            tgid: tg.tgid,
            tid,
            thread_view,
        }
    }

    /// The thread group, while it is still in the table.
    pub fn group(&self) -> Result<Arc<ThreadGroup>, Errno> {
        let tg = self.tg.upgrade().ok_or(Errno::ENOENT)?;
        match tasks().group(self.tgid) {
            Some(g) if Arc::ptr_eq(&g, &tg) => Ok(tg),
            _ => Err(Errno::ENOENT),
        }
    }

    /// The thread shown: `tid` while it lives; for a process whose named
    /// thread is gone, any thread left.
    pub fn thread(&self, tg: &ThreadGroup) -> Option<Arc<TaskShared>> {
        let st = tg.lock();
        let named = st.threads.iter().find(|t| t.tid == self.tid).cloned();
        if self.thread_view {
            return named;
        }
        named.or_else(|| st.threads.first().cloned())
    }

    /// The tids of the process's threads, in order; a zombie's leader
    /// stays listed until it is reaped.
    pub fn tids(tg: &ThreadGroup) -> Vec<i32> {
        let mut tids: Vec<i32> = tg.lock().threads.iter().map(|t| t.tid).collect();
        if tids.is_empty() {
            tids.push(tg.tgid);
        }
        tids.sort_unstable();
        tids
    }

    /// Whether the process has no threads left (a zombie, or exiting).
    pub fn gone(tg: &ThreadGroup) -> bool {
        let st = tg.lock();
        st.zombie || st.threads.is_empty()
    }

    /// The calling task, when it belongs to this process.
    pub fn caller<'a>(&self, ctx: &Ctx<'a>) -> Option<&'a Task> {
        ctx.task().filter(|t| t.tgid == self.tgid)
    }

    /// The process's memory, files, directories and credentials.
    pub fn resources(&self, ctx: &Ctx<'_>, tg: &ThreadGroup) -> Resources {
        if let Some(t) = self.caller(ctx) {
            return Resources {
                mm: Some(Arc::clone(&t.mm)),
                fds: Some(Arc::clone(&t.fds)),
                fs: Some(lock(&t.fs).clone()),
                creds: t.creds.clone(),
            };
        }
        let (p, zombie) = {
            let st = tg.lock();
            (st.published.clone(), st.zombie)
        };
        if zombie {
            return Resources {
                mm: None,
                fds: None,
                fs: None,
                creds: p.creds,
            };
        }
        Resources {
            mm: p.mm.upgrade(),
            fds: p.fds.upgrade(),
            fs: p.fs.upgrade().map(|f| lock(&f).clone()),
            creds: p.creds,
        }
    }

    /// The process's owner (effective ids), as its /proc files show it.
    pub fn owner(&self, ctx: &Ctx<'_>) -> (u32, u32) {
        if let Some(t) = self.caller(ctx) {
            return (t.creds.euid, t.creds.egid);
        }
        match self.tg.upgrade() {
            Some(tg) => {
                let st = tg.lock();
                (st.published.creds.euid, st.published.creds.egid)
            }
            None => (0, 0),
        }
    }

    /// Whether the caller may look inside the process (its links, maps,
    /// environment): as Linux's ptrace read check: CAP_SYS_PTRACE, or the
    /// same user.
    pub fn may_inspect(&self, ctx: &Ctx<'_>) -> Result<(), Errno> {
        let Some(t) = ctx.task() else {
            return Ok(());
        };
        if t.tgid == self.tgid || t.creds.has_cap(crate::kernel::creds::CAP_SYS_PTRACE) {
            return Ok(());
        }
        let tg = self.group()?;
        let c = tg.lock().published.creds.clone();
        if [c.uid, c.euid, c.suid].iter().all(|&u| u == t.creds.uid) {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    /// The name shown: the thread's, or the last one published.
    pub fn comm(&self, tg: &ThreadGroup) -> Vec<u8> {
        match self.thread(tg) {
            Some(t) => lock(&t.comm).clone(),
            None => tg.lock().published.comm.clone(),
        }
    }
}

/// Memory use of `mm`, with resident bytes from the memory file.
pub(super) fn mem_of(mm: &MemoryManager, exe: &str) -> MemUsage {
    let vmas = mm.vmas();
    let mf = mm.memfile();
    format::mem_usage(&vmas, exe, |v| {
        if !(v.prot.read || v.prot.write || v.prot.exec) {
            return 0;
        }
        raw::resident_bytes(mf, v.mem_off, v.len())
    })
}

/// Signals blocked by `thread`, fresh for the caller's own thread.
fn blocked(ctx: &Ctx<'_>, thread: Option<&TaskShared>) -> u64 {
    match (ctx.task(), thread) {
        (Some(t), Some(th)) if t.tid == th.tid => t.signals.mask,
        (_, Some(th)) => th.mask.load(std::sync::atomic::Ordering::SeqCst),
        _ => 0,
    }
}

/// Everything stat and status show of the process (or thread).
pub(super) struct Gathered {
    pub comm: Vec<u8>,
    pub state: RunState,
    pub ppid: i32,
    pub pgid: i32,
    pub sid: i32,
    pub threads: usize,
    pub nice: i32,
    pub start_ticks: u64,
    pub mem: Option<MemUsage>,
    pub sigs: Sigs,
    pub exit_signal: i32,
    pub exit_code: i32,
    pub creds: Creds,
    pub umask: Option<u32>,
    pub fd_size: u64,
    pub ncpus: usize,
    pub sigpending_limit: u64,
}

impl Gathered {
    pub fn info(&self, pid: i32, tgid: i32) -> TaskInfo<'_> {
        TaskInfo {
            pid,
            tgid,
            comm: &self.comm,
            state: self.state,
            ppid: self.ppid,
            pgid: self.pgid,
            sid: self.sid,
            threads: self.threads,
            nice: self.nice,
            start_ticks: self.start_ticks,
            mem: self.mem,
            sigs: self.sigs,
            exit_signal: self.exit_signal,
            exit_code: self.exit_code,
            creds: &self.creds,
            umask: self.umask,
            fd_size: self.fd_size,
            ncpus: self.ncpus,
            sigpending_limit: self.sigpending_limit,
        }
    }
}

/// Gathers what stat and status show of `p`.
pub(super) fn gather(ctx: &Ctx<'_>, p: &Proc) -> Result<Gathered, Errno> {
    let tg = p.group()?;
    let thread = p.thread(&tg);
    if p.thread_view && thread.is_none() && !(Proc::gone(&tg) && p.tid == p.tgid) {
        return Err(Errno::ENOENT);
    }
    let res = p.resources(ctx, &tg);
    let comm = p.comm(&tg);
    let (ppid, pgid, sid, threads, zombie, job, exit, exit_signal, exe) = {
        let st = tg.lock();
        (
            st.parent,
            st.pgid,
            st.sid,
            st.threads.len().max(1),
            st.zombie || st.threads.is_empty(),
            st.job,
            st.exit,
            st.exit_signal,
            st.exe.clone(),
        )
    };
    let caller = ctx.task();
    let state = if zombie || thread.is_none() {
        RunState::Zombie
    } else if matches!(job, JobState::Stopped { .. }) {
        RunState::Stopped
    } else if thread
        .as_ref()
        .is_some_and(|th| caller.is_some_and(|c| c.tid == th.tid))
    {
        RunState::Running
    } else if thread.as_ref().is_some_and(|th| th.waker.is_sleeping()) {
        RunState::Sleeping
    } else {
        RunState::Running
    };
    let (ignored, caught) = {
        let actions = lock(&tg.actions);
        let mut ign = 0u64;
        let mut cgt = 0u64;
        for (i, a) in actions.iter().enumerate() {
            if a.handler == libc::SIG_IGN as u64 {
                ign |= 1 << i;
            } else if a.handler != libc::SIG_DFL as u64 {
                cgt |= 1 << i;
            }
        }
        (ign, cgt)
    };
    let sigs = Sigs {
        pending: thread.as_ref().map_or(0, |th| th.pending.bits()),
        shared: tg.pending.bits(),
        blocked: blocked(ctx, thread.as_deref()),
        ignored,
        caught,
    };
    let mine = p.caller(ctx);
    let kernel = caller.map(|t| &t.kernel);
    let start_ticks = kernel.map_or(0, |k| {
        let d = tg.start.saturating_duration_since(k.boot);
        d.as_millis() as u64 * format::CLK_TCK / 1000
    });
    let mem = if zombie {
        None
    } else {
        res.mm.as_deref().map(|mm| mem_of(mm, &exe))
    };
    let highest = res.fds.as_deref().and_then(|f| f.fds().last().copied());
    let limits = mine.map(|t| t.rlimits.clone()).unwrap_or_default();
    Ok(Gathered {
        comm,
        state,
        ppid,
        pgid,
        sid,
        threads,
        nice: mine.filter(|t| t.tid == p.tid).map_or(0, |t| t.nice),
        start_ticks,
        mem,
        sigs,
        exit_signal,
        exit_code: if zombie {
            exit.map_or(0, |e| e.wait_status())
        } else {
            0
        },
        creds: res.creds,
        umask: if zombie {
            None
        } else {
            res.fs.as_ref().map(|f| f.umask)
        },
        fd_size: format::fd_size(highest),
        ncpus: kernel.map_or(1, |k| k.ncpus),
        sigpending_limit: sigpending_limit(&limits),
    })
}

fn sigpending_limit(r: &Rlimits) -> u64 {
    r.0[libc::RLIMIT_SIGPENDING as usize].0
}
