//! The sandbox's containers: each one's tree, its init and whether it has
//! started, and the connections waiting for a process to end. Process
//! exits arrive here through `kernel::exit_watch`: the waiting host
//! process is told, and a container whose init ended loses its other
//! processes, as a pid namespace does when its init dies.

use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use super::protocol::{Reply, Status};
use super::wire;
use crate::kernel::process::ThreadGroup;
use crate::kernel::signal::kill_group;
use crate::kernel::task::ExitStatus;
use crate::kernel::Kernel;
use crate::vfs::Vfs;

/// Whether a created container's init may run.
pub enum GateState {
    Closed,
    Open,
    /// Killed before it started: it ends with this status, running nothing.
    Aborted(ExitStatus),
}

/// What a created container's init waits on before its first instruction.
pub struct Gate {
    state: Mutex<GateState>,
    cv: Condvar,
}

impl Gate {
    pub fn new() -> Arc<Gate> {
        Arc::new(Gate {
            state: Mutex::new(GateState::Closed),
            cv: Condvar::new(),
        })
    }

    fn set(&self, s: GateState) {
        let mut g = lock(&self.state);
        if matches!(*g, GateState::Closed) {
            *g = s;
        }
        self.cv.notify_all();
    }

    pub fn open(&self) {
        self.set(GateState::Open);
    }

    pub fn abort(&self, status: ExitStatus) {
        self.set(GateState::Aborted(status));
    }

    /// Blocks until opened or aborted: None to run, else the exit status.
    pub fn wait(&self) -> Option<ExitStatus> {
        let mut g = lock(&self.state);
        loop {
            match *g {
                GateState::Closed => {
                    g = match self.cv.wait(g) {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    }
                }
                GateState::Open => return None,
                GateState::Aborted(s) => return Some(s),
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Created,
    Running,
    Stopped(ExitStatus),
}

pub struct Container {
    pub index: u32,
    pub vfs: Arc<Vfs>,
    pub init: i32,
    pub phase: Phase,
    pub gate: Arc<Gate>,
}

#[derive(Default)]
pub struct Containers {
    pub by_id: BTreeMap<String, Container>,
    next_index: u32,
}

impl Containers {
    pub fn next_index(&mut self) -> u32 {
        let i = self.next_index;
        self.next_index += 1;
        i
    }
}

/// The sandbox-wide control state.
pub struct Registry {
    pub kernel: OnceLock<Arc<Kernel>>,
    pub containers: Mutex<Containers>,
    /// Connections waiting for a process (by sandbox pid) to end.
    watchers: Mutex<HashMap<i32, OwnedFd>>,
    /// The sandbox's first process (pid 1) ended: the sandbox ends.
    root_exit: Mutex<Option<ExitStatus>>,
    root_cv: Condvar,
}

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| Registry {
        kernel: OnceLock::new(),
        containers: Mutex::new(Containers::default()),
        watchers: Mutex::new(HashMap::new()),
        root_exit: Mutex::new(None),
        root_cv: Condvar::new(),
    })
}

pub fn wire_status(s: ExitStatus) -> Status {
    match s {
        ExitStatus::Exited(code) => Status::Exited { code: code & 0xff },
        ExitStatus::Signaled(signal) => Status::Signaled { signal },
    }
}

impl Registry {
    /// `conn` is told (with `Exited`) when process `pid` ends.
    pub fn watch(&self, pid: i32, conn: OwnedFd) {
        lock(&self.watchers).insert(pid, conn);
    }

    /// Blocks until the sandbox's pid 1 has ended; its status.
    pub fn wait_root_exit(&self) -> ExitStatus {
        let mut g = lock(&self.root_exit);
        loop {
            if let Some(s) = *g {
                return s;
            }
            g = match self.root_cv.wait(g) {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
        }
    }

    /// A process ended (from `kernel::exit_watch`).
    pub fn exited(&self, tg: &Arc<ThreadGroup>, status: ExitStatus) {
        let tgid = tg.tgid;
        let container = tg.lock().container;
        let mut ended_container = false;
        {
            let mut cs = lock(&self.containers);
            for c in cs.by_id.values_mut() {
                if c.index == container && c.init == tgid {
                    c.phase = Phase::Stopped(status);
                    ended_container = true;
                }
            }
        }
        if ended_container && tgid != 1 {
            // As a pid namespace's init: its end kills the container.
            for g in crate::kernel::kernel::tasks().groups() {
                if g.tgid != tgid && g.lock().container == container {
                    kill_group(&g, ExitStatus::Signaled(libc::SIGKILL));
                }
            }
        }
        if tgid == 1 {
            // The sandbox ends: its waiter hears of it once every other
            // process is gone and has been reported (`tell_root_exit`).
            *lock(&self.root_exit) = Some(status);
            self.root_cv.notify_all();
            return;
        }
        if let Some(conn) = lock(&self.watchers).remove(&tgid) {
            let reply = Reply::Exited {
                status: wire_status(status),
            };
            if let Err(e) = wire::send(conn.as_fd(), &reply, &[]) {
                tracing::debug!(pid = tgid, "telling the waiter of an exit: {e}");
            }
        }
    }

    /// Tells pid 1's waiter that it ended with `status`.
    pub fn tell_root_exit(&self, status: ExitStatus) {
        if let Some(conn) = lock(&self.watchers).remove(&1) {
            let reply = Reply::Exited {
                status: wire_status(status),
            };
            if let Err(e) = wire::send(conn.as_fd(), &reply, &[]) {
                tracing::debug!("telling the sandbox's waiter of its end: {e}");
            }
        }
    }
}
