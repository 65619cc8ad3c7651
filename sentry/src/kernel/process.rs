//! Processes and threads as other tasks see them: the shared half of each
//! task (its pending signals, published mask, waker and interrupter), thread
//! groups (pid, parent, children, process group, session, shared signal
//! dispositions and pending signals, exit and stop state), and the table of
//! all of them with sandbox pid allocation. A task's own thread owns the
//! rest of its state (`Task`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use platform::Interrupter;

use super::signal::{SigAction, NSIG};
use super::task::ExitStatus;
use super::waiter::{WaitQueue, Waker};
use crate::arch::siginfo::SigInfo;

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Signals queued for a task or a thread group: a bit per signal number and
/// the siginfo of each queued instance (standard signals coalesce).
#[derive(Default)]
pub struct PendingQueue {
    pub bits: AtomicU64,
    infos: Mutex<VecDeque<SigInfo>>,
}

impl PendingQueue {
    /// Queues `info`; a standard signal already pending is not queued twice.
    pub fn push(&self, info: SigInfo) {
        let sig = info.signo as u64;
        let bit = 1u64 << (sig - 1);
        let mut q = lock(&self.infos);
        if sig < 32 && self.bits.load(Ordering::SeqCst) & bit != 0 {
            return;
        }
        q.push_back(info);
        self.bits.fetch_or(bit, Ordering::SeqCst);
    }

    /// Takes the lowest-numbered pending signal in `allowed`.
    pub fn take(&self, allowed: u64) -> Option<SigInfo> {
        let mut q = lock(&self.infos);
        let ready = self.bits.load(Ordering::SeqCst) & allowed;
        if ready == 0 {
            return None;
        }
        let sig = ready.trailing_zeros() as i32 + 1;
        let idx = q.iter().position(|i| i.signo == sig)?;
        let info = q.remove(idx)?;
        if !q.iter().any(|i| i.signo == sig) {
            self.bits.fetch_and(!(1u64 << (sig - 1)), Ordering::SeqCst);
        }
        Some(info)
    }

    /// Runs `f` on the queued siginfos until it returns true; says whether
    /// one did. A POSIX timer counts overruns on its still-queued signal.
    pub fn find_mut(&self, f: impl FnMut(&mut SigInfo) -> bool) -> bool {
        lock(&self.infos).iter_mut().any(f)
    }

    /// Drops every pending instance of the signals in `set`.
    pub fn discard(&self, set: u64) {
        let mut q = lock(&self.infos);
        q.retain(|i| (1u64 << (i.signo - 1)) & set == 0);
        self.bits.fetch_and(!set, Ordering::SeqCst);
    }

    pub fn bits(&self) -> u64 {
        self.bits.load(Ordering::SeqCst)
    }
}

/// The half of a task that other tasks touch.
pub struct TaskShared {
    pub tid: i32,
    pub tg: Arc<ThreadGroup>,
    pub waker: Arc<Waker>,
    pub pending: PendingQueue,
    /// The task's signal mask, published by its own thread for senders.
    pub mask: AtomicU64,
    pub interrupter: Mutex<Option<Interrupter>>,
    /// Set when the task has been told to exit (group exit, exec, SIGKILL).
    pub kill: AtomicBool,
    pub comm: Mutex<Vec<u8>>,
    /// PR_SET_PDEATHSIG: the signal this task gets when its parent dies.
    pub pdeathsig: std::sync::atomic::AtomicI32,
    /// The task's real uid, published by its own thread (RLIMIT_NPROC
    /// counts tasks per real uid).
    pub ruid: std::sync::atomic::AtomicU32,
}

impl TaskShared {
    /// Kicks the task: out of a sentry sleep and out of app code.
    pub fn kick(&self) {
        self.waker.wake();
        if let Some(i) = *lock(&self.interrupter) {
            i.interrupt();
        }
    }
}

/// Whether a thread group is running, stopped by a signal, or continued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    Running,
    /// Stopped by `sig`; `reported` once a waiter saw it.
    Stopped {
        sig: i32,
        reported: bool,
    },
    /// Continued after a stop, not yet reported to a WCONTINUED waiter.
    Continued,
}

/// The part of a thread group behind its lock.
pub struct TgState {
    pub parent: i32,
    pub children: Vec<i32>,
    pub pgid: i32,
    pub sid: i32,
    pub threads: Vec<Arc<TaskShared>>,
    /// Set once the group is exiting (exit_group, a fatal signal).
    pub exit: Option<ExitStatus>,
    /// All threads are gone: a zombie waiting for its parent.
    pub zombie: bool,
    pub job: JobState,
    pub subreaper: bool,
    /// The container (of the sandbox's pod) the process belongs to; a
    /// child inherits its parent's.
    pub container: u32,
    /// The signal sent to the parent on exit (SIGCHLD unless clone said otherwise).
    pub exit_signal: i32,
    /// Times of exited children, for getrusage(RUSAGE_CHILDREN) and times().
    pub children_utime_us: u64,
    pub children_stime_us: u64,
    pub argv: Vec<u8>,
    pub envp: Vec<u8>,
    pub exe: String,
    /// A vfork parent waits on this until the child execs or exits.
    pub vfork_done: bool,
    /// The process has called execve (its parent may no longer setpgid it).
    pub execed: bool,
    /// PR_SET_DUMPABLE.
    pub dumpable: bool,
    /// What /proc shows of the process's own state, published by its
    /// threads (`fsimpl::proc::publish`).
    pub published: Published,
}

/// A process's state that only its own threads hold, published (weakly,
/// so it never keeps a dead process's memory or files alive) for /proc
/// readers in other processes. Updated at start, clone and exec.
#[derive(Clone, Default)]
pub struct Published {
    pub mm: std::sync::Weak<crate::mm::MemoryManager>,
    pub fds: std::sync::Weak<super::fd_table::FdTable>,
    pub fs: std::sync::Weak<Mutex<crate::vfs::FsContext>>,
    pub creds: super::task::Creds,
    /// The name at the last publication: a zombie has no thread left to ask.
    pub comm: Vec<u8>,
}

pub struct ThreadGroup {
    pub tgid: i32,
    pub state: Mutex<TgState>,
    /// Signal dispositions, shared by the threads (and CLONE_SIGHAND processes).
    pub actions: Arc<Mutex<[SigAction; NSIG]>>,
    pub pending: PendingQueue,
    /// Notified when a child changes state (exit, stop, continue).
    pub child_events: WaitQueue,
    /// Notified when this group's vfork child releases it.
    pub vfork_events: WaitQueue,
    /// Notified when the group's job state changes (stop/continue).
    pub job_events: WaitQueue,
    /// Notified when a signal is queued on the group or one of its threads
    /// (signalfd readiness).
    pub signal_events: WaitQueue,
    pub start: std::time::Instant,
}

impl ThreadGroup {
    pub fn lock(&self) -> MutexGuard<'_, TgState> {
        lock(&self.state)
    }

    pub fn action(&self, sig: i32) -> SigAction {
        lock(&self.actions)[(sig - 1) as usize]
    }
}

/// Every task and thread group of the sandbox, and pid allocation.
pub struct TaskTable {
    inner: Mutex<Tables>,
    /// Signalled when the last task is gone.
    all_gone: Condvar,
}

#[derive(Default)]
struct Tables {
    next: i32,
    tasks: BTreeMap<i32, Arc<TaskShared>>,
    groups: BTreeMap<i32, Arc<ThreadGroup>>,
    live_threads: usize,
}

pub const PID_MAX: i32 = 4_194_304;

impl Default for TaskTable {
    fn default() -> Self {
        TaskTable::new()
    }
}

impl TaskTable {
    pub fn new() -> TaskTable {
        TaskTable {
            inner: Mutex::new(Tables {
                next: 1,
                ..Default::default()
            }),
            all_gone: Condvar::new(),
        }
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        lock(&self.inner)
    }

    /// A fresh pid, not used by any task or thread group (nor as a pgid/sid).
    pub fn alloc_pid(&self) -> Result<i32, crate::errno::Errno> {
        let mut t = self.tables();
        for _ in 0..PID_MAX {
            let pid = t.next;
            t.next = if t.next >= PID_MAX - 1 {
                300
            } else {
                t.next + 1
            };
            if !t.tasks.contains_key(&pid) && !t.groups.contains_key(&pid) {
                return Ok(pid);
            }
        }
        Err(crate::errno::Errno::EAGAIN)
    }

    /// A new thread group led by a task with tid == tgid.
    pub fn new_group(
        &self,
        tgid: i32,
        parent: i32,
        pgid: i32,
        sid: i32,
        actions: Arc<Mutex<[SigAction; NSIG]>>,
    ) -> Arc<ThreadGroup> {
        let tg = Arc::new(ThreadGroup {
            tgid,
            state: Mutex::new(TgState {
                parent,
                children: Vec::new(),
                pgid,
                sid,
                threads: Vec::new(),
                exit: None,
                zombie: false,
                job: JobState::Running,
                subreaper: false,
                container: 0,
                exit_signal: libc::SIGCHLD,
                children_utime_us: 0,
                children_stime_us: 0,
                argv: Vec::new(),
                envp: Vec::new(),
                exe: String::new(),
                vfork_done: false,
                execed: false,
                dumpable: true,
                published: Published::default(),
            }),
            actions,
            pending: PendingQueue::default(),
            child_events: WaitQueue::new(),
            vfork_events: WaitQueue::new(),
            job_events: WaitQueue::new(),
            signal_events: WaitQueue::new(),
            start: std::time::Instant::now(),
        });
        self.tables().groups.insert(tgid, tg.clone());
        if let Some(p) = self.group(parent) {
            p.lock().children.push(tgid);
        }
        tg
    }

    /// Registers a new task in `tg`.
    pub fn add_task(&self, tid: i32, tg: &Arc<ThreadGroup>, comm: Vec<u8>) -> Arc<TaskShared> {
        let ts = Arc::new(TaskShared {
            tid,
            tg: tg.clone(),
            waker: Waker::new(),
            pending: PendingQueue::default(),
            mask: AtomicU64::new(0),
            interrupter: Mutex::new(None),
            kill: AtomicBool::new(false),
            pdeathsig: std::sync::atomic::AtomicI32::new(0),
            ruid: std::sync::atomic::AtomicU32::new(0),
            comm: Mutex::new(comm),
        });
        tg.lock().threads.push(ts.clone());
        let mut t = self.tables();
        t.tasks.insert(tid, ts.clone());
        t.live_threads += 1;
        ts
    }

    /// Forgets a task whose thread has finished.
    pub fn remove_task(&self, tid: i32) {
        let mut t = self.tables();
        if t.tasks.remove(&tid).is_some() {
            t.live_threads -= 1;
        }
        if t.live_threads == 0 {
            self.all_gone.notify_all();
        }
    }

    /// How many tasks are alive, and how many of them have real uid `uid`.
    pub fn count(&self, uid: u32) -> (usize, usize) {
        let t = self.tables();
        let of_uid = t
            .tasks
            .values()
            .filter(|ts| ts.ruid.load(std::sync::atomic::Ordering::Relaxed) == uid)
            .count();
        (t.live_threads, of_uid)
    }

    /// Forgets a reaped thread group.
    pub fn remove_group(&self, tgid: i32) {
        self.tables().groups.remove(&tgid);
    }

    pub fn task(&self, tid: i32) -> Option<Arc<TaskShared>> {
        self.tables().tasks.get(&tid).cloned()
    }

    pub fn group(&self, tgid: i32) -> Option<Arc<ThreadGroup>> {
        self.tables().groups.get(&tgid).cloned()
    }

    /// Every thread group, in pid order.
    pub fn groups(&self) -> Vec<Arc<ThreadGroup>> {
        self.tables().groups.values().cloned().collect()
    }

    /// Every task, in tid order.
    pub fn tasks(&self) -> Vec<Arc<TaskShared>> {
        self.tables().tasks.values().cloned().collect()
    }

    /// Blocks until every task's thread has finished.
    pub fn wait_all_gone(&self) {
        let mut t = self.tables();
        while t.live_threads > 0 {
            t = match self.all_gone.wait(t) {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
        }
    }
}
