//! Creating tasks: clone, clone3, fork and vfork. A thread shares its
//! parent's address space (and gets a stub thread of its own in it); a
//! process gets a copy-on-write image of it, mapped into a new stub process
//! by the child's own host thread, which is the only one that may trace it.

use std::sync::{Arc, Mutex};

use platform::{Regs, ThreadTicket};

use super::exit::finish;
use super::kernel::{tasks, Kernel};
use super::process::{lock, TaskShared};
use super::signal::SignalState;
use super::task::{Creds, ExitStatus, Rlimits, Task};
use super::waiter::Registration;
use crate::errno::Errno;
use crate::kernel::fd_table::FdTable;
use crate::mm::manager::MmImage;
use crate::mm::MemoryManager;
use crate::vfs::FsContext;

/// clone's arguments, from clone(2) or clone3(2).
#[derive(Clone, Copy, Debug, Default)]
pub struct CloneArgs {
    pub flags: u64,
    pub stack: u64,
    pub parent_tid: u64,
    pub child_tid: u64,
    pub tls: u64,
    pub exit_signal: i32,
}

const F: fn(i32) -> u64 = |f| f as u64;

/// How the child gets its memory.
enum MmSetup {
    Shared(Arc<MemoryManager>, ThreadTicket),
    Fork(MmImage),
}

/// Everything the child's host thread needs to build its Task.
struct ChildStart {
    kernel: Arc<Kernel>,
    shared: Arc<TaskShared>,
    mm: MmSetup,
    regs: Regs,
    fds: Arc<FdTable>,
    fs: Arc<Mutex<FsContext>>,
    creds: Creds,
    signals: SignalState,
    rlimits: Rlimits,
    exe: String,
    clear_child_tid: u64,
    set_child_tid: u64,
    vfork_parent: Option<Arc<super::process::ThreadGroup>>,
    nice: i32,
    affinity: Option<Vec<u8>>,
}

/// How many tasks one sandbox may hold: each is a sentry host thread and a
/// stub thread, so an app must not be able to make them without bound.
pub const MAX_TASKS: usize = 4096;

/// EAGAIN past the sandbox's task cap, or past RLIMIT_NPROC for the
/// caller's real uid (which root, CAP_SYS_RESOURCE and CAP_SYS_ADMIN pass,
/// as in Linux's copy_process).
fn check_task_limits(t: &Task) -> Result<(), Errno> {
    use crate::kernel::creds::{CAP_SYS_ADMIN, CAP_SYS_RESOURCE};
    let (live, of_uid) = tasks().count(t.creds.uid);
    if live >= MAX_TASKS {
        return Err(Errno::EAGAIN);
    }
    let limit = t.rlimits.0[libc::RLIMIT_NPROC as usize].0;
    let exempt =
        t.creds.uid == 0 || t.creds.has_cap(CAP_SYS_RESOURCE) || t.creds.has_cap(CAP_SYS_ADMIN);
    if !exempt && of_uid as u64 >= limit {
        return Err(Errno::EAGAIN);
    }
    Ok(())
}

fn validate(a: &CloneArgs) -> Result<(), Errno> {
    let f = a.flags;
    if f & F(libc::CLONE_THREAD) != 0 && f & F(libc::CLONE_SIGHAND) == 0 {
        return Err(Errno::EINVAL);
    }
    if f & F(libc::CLONE_SIGHAND) != 0 && f & F(libc::CLONE_VM) == 0 {
        return Err(Errno::EINVAL);
    }
    if f & F(libc::CLONE_FS) != 0 && f & F(libc::CLONE_NEWNS) != 0 {
        return Err(Errno::EINVAL);
    }
    if f & F(libc::CLONE_THREAD) != 0 && a.exit_signal != 0 && f & 0xff == 0 {
        // clone3 with CLONE_THREAD must not name an exit signal.
    }
    if !(0..=64).contains(&a.exit_signal) {
        return Err(Errno::EINVAL);
    }
    // Namespaces are not offered inside the sandbox yet; CLONE_NEWNS is
    // accepted (see do_clone) with the one mount table shared.
    let ns = F(libc::CLONE_NEWUTS)
        | F(libc::CLONE_NEWIPC)
        | F(libc::CLONE_NEWUSER)
        | F(libc::CLONE_NEWPID)
        | F(libc::CLONE_NEWNET)
        | F(libc::CLONE_NEWCGROUP);
    if f & ns != 0 {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// clone: creates the child and starts its host thread; returns its tid.
pub fn do_clone(t: &mut Task, a: CloneArgs) -> Result<i32, Errno> {
    validate(&a)?;
    let f = a.flags;
    if f & F(libc::CLONE_NEWNS) != 0 && !t.creds.has_cap(crate::kernel::creds::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let table = tasks();
    check_task_limits(t)?;
    let tid = table.alloc_pid()?;
    if f & F(libc::CLONE_PARENT_SETTID) != 0 {
        t.write_struct(a.parent_tid, &(tid as u32))?;
    }
    let mm = if f & F(libc::CLONE_VM) != 0 {
        let ticket = t.mm.space().new_thread().map_err(|e| {
            tracing::error!("creating a stub thread: {e}");
            Errno::EAGAIN
        })?;
        MmSetup::Shared(t.mm.clone(), ticket)
    } else {
        MmSetup::Fork(t.mm.fork_image()?)
    };
    let fds = if f & F(libc::CLONE_FILES) != 0 {
        t.fds.clone()
    } else {
        Arc::new(t.fds.fork())
    };
    let fs = if f & F(libc::CLONE_FS) != 0 {
        t.fs.clone()
    } else {
        Arc::new(Mutex::new(lock(&t.fs).clone()))
    };
    let tg = if f & F(libc::CLONE_THREAD) != 0 {
        t.tg().clone()
    } else {
        let actions = if f & F(libc::CLONE_SIGHAND) != 0 {
            t.tg().actions.clone()
        } else {
            Arc::new(Mutex::new(*lock(&t.tg().actions)))
        };
        let parent = if f & F(libc::CLONE_PARENT) != 0 {
            t.ppid()
        } else {
            t.tgid
        };
        let (pgid, sid, exe, argv, envp, container) = {
            let st = t.tg().lock();
            (
                st.pgid,
                st.sid,
                st.exe.clone(),
                st.argv.clone(),
                st.envp.clone(),
                st.container,
            )
        };
        let g = table.new_group(tid, parent, pgid, sid, actions);
        {
            let mut st = g.lock();
            st.exit_signal = a.exit_signal;
            st.container = container;
            st.exe = exe;
            st.argv = argv;
            st.envp = envp;
        }
        g
    };
    let comm = lock(&t.shared.comm).clone();
    let shared = table.add_task(tid, &tg, comm);
    shared
        .ruid
        .store(t.creds.uid, std::sync::atomic::Ordering::Relaxed);

    let mut regs = t.regs;
    regs.0.rax = 0;
    regs.0.orig_rax = u64::MAX;
    if a.stack != 0 {
        regs.0.rsp = a.stack;
    }
    if f & F(libc::CLONE_SETTLS) != 0 {
        regs.0.fs_base = a.tls;
    }
    let vfork = f & F(libc::CLONE_VFORK) != 0;
    if vfork {
        t.tg().lock().vfork_done = false;
    }
    let mut signals = t.signals.clone();
    signals.saved_mask = None;
    if f & F(libc::CLONE_VM) != 0 && f & F(libc::CLONE_VFORK) == 0 {
        // A new thread does not inherit the alternate signal stack.
        signals.altstack = Default::default();
    }
    let start = ChildStart {
        kernel: t.kernel.clone(),
        shared: shared.clone(),
        mm,
        regs,
        fds,
        fs,
        creds: t.creds.clone(),
        signals,
        rlimits: t.rlimits.clone(),
        exe: t.exe.clone(),
        clear_child_tid: if f & F(libc::CLONE_CHILD_CLEARTID) != 0 {
            a.child_tid
        } else {
            0
        },
        set_child_tid: if f & F(libc::CLONE_CHILD_SETTID) != 0 {
            a.child_tid
        } else {
            0
        },
        vfork_parent: vfork.then(|| t.tg().clone()),
        nice: t.nice,
        affinity: t.affinity.clone(),
    };
    let spawned = std::thread::Builder::new()
        .name(format!("task-{tid}"))
        .spawn(move || child_main(start));
    if let Err(e) = spawned {
        tracing::error!("starting a task thread: {e}");
        tg.lock().threads.retain(|th| th.tid != tid);
        table.remove_task(tid);
        if tg.tgid == tid {
            super::exit::reap(&tg);
        }
        return Err(Errno::EAGAIN);
    }
    if vfork {
        wait_for_vfork_child(t);
    }
    Ok(tid)
}

/// The vfork parent sleeps until the child execs or exits (killable only).
fn wait_for_vfork_child(t: &Task) {
    loop {
        let seen = t.waker.seq();
        let mut reg = Registration::new(&t.waker);
        reg.add(&t.tg().vfork_events, u32::MAX);
        if t.tg().lock().vfork_done || t.shared.kill.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        t.waker.sleep(seen, None);
    }
}

/// The child's host thread: set up its address space, then run.
fn child_main(s: ChildStart) {
    tracing::debug!(tid = s.shared.tid, "task thread started");
    let platform = s.kernel.platform.clone();
    let ctx = platform.new_context();
    let mm = match s.mm {
        MmSetup::Shared(mm, ticket) => mm
            .space()
            .bind_thread(ticket)
            .map(|_| mm)
            .map_err(|e| e.to_string()),
        MmSetup::Fork(image) => platform
            .new_address_space()
            .map_err(|e| e.to_string())
            .and_then(|space| {
                MemoryManager::from_image(s.kernel.memfile.clone(), space, image)
                    .map(Arc::new)
                    .inspect(MemoryManager::attach_page_caches)
                    .map_err(|e| e.to_string())
            }),
    };
    tracing::debug!(tid = s.shared.tid, "address space ready");
    let (mm, ctx) = match (mm, ctx) {
        (Ok(mm), Ok(ctx)) => (mm, ctx),
        (Err(e), _) => return abandon(&s.shared, &e),
        (_, Err(e)) => return abandon(&s.shared, &e.to_string()),
    };
    let mut task = Task {
        kernel: s.kernel,
        regs: s.regs,
        mm,
        fds: s.fds,
        fs: s.fs,
        creds: s.creds,
        signals: s.signals,
        rlimits: s.rlimits,
        tid: s.shared.tid,
        tgid: s.shared.tg.tgid,
        waker: s.shared.waker.clone(),
        shared: s.shared,
        clear_child_tid: s.clear_child_tid,
        robust_list: (0, 0),
        pdeathsig: 0,
        nice: s.nice,
        affinity: s.affinity,
        exe: s.exe,
        exit: None,
        restart: None,
        vfork_parent: s.vfork_parent,
        ctx,
    };
    if s.set_child_tid != 0 {
        let _ = task.write_struct(s.set_child_tid, &(task.tid as u32));
    }
    crate::fsimpl::proc::publish(&task);
    let status = task.run();
    finish(task, status);
}

/// A child that could not start: it dies as if killed.
fn abandon(shared: &Arc<TaskShared>, why: &str) {
    tracing::error!(tid = shared.tid, "task could not start: {why}");
    let tg = shared.tg.clone();
    super::signal::kill_group(&tg, ExitStatus::Signaled(libc::SIGKILL));
    let last = {
        let mut st = tg.lock();
        st.threads.retain(|th| th.tid != shared.tid);
        st.threads.is_empty()
    };
    tasks().remove_task(shared.tid);
    if last {
        tg.lock().zombie = true;
        if let Some(p) = tasks().group(tg.lock().parent) {
            p.child_events.notify(u32::MAX);
        }
    }
}
