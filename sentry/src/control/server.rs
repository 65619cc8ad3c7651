//! Answering requests on the control socket: each connection is one
//! request, handled on its own host thread. `Create` and `Exec` keep their
//! connection as the waiter for the new process's end.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{mpsc, Arc};

use super::protocol::{ContainerSpec, ProcessInfo, ProcessSpec, Reply, Request, SignalTarget};
use super::registry::{lock, registry, Container, Gate, Phase};
use super::wire;
use crate::kernel::creds::Creds;
use crate::kernel::signal::{default_action, kill_group, send_to_group, Default_};
use crate::kernel::task::{ExitStatus, Rlimits};
use crate::kernel::Kernel;
use crate::launch::{Launch, LaunchError};
use crate::vfs::Vfs;

/// Answers every connection on `listener` until the sentry exits.
pub fn accept_loop(listener: OwnedFd) {
    loop {
        let conn = match wire::accept(listener.as_fd()) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("control socket: accept: {e}");
                continue;
            }
        };
        let spawned = std::thread::Builder::new()
            .name("control".into())
            .spawn(move || handle(conn));
        if let Err(e) = spawned {
            tracing::warn!("control socket: starting a handler: {e}");
        }
    }
}

fn reply(conn: &OwnedFd, r: &Reply) {
    if let Err(e) = wire::send(conn.as_fd(), r, &[]) {
        tracing::debug!("control socket: replying: {e}");
    }
}

fn handle(conn: OwnedFd) {
    let (req, fds) = match wire::recv::<Request>(conn.as_fd()) {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!("control socket: {e}");
            return reply(&conn, &Reply::Error { message: e.to_string() });
        }
    };
    tracing::debug!(?req, "control request");
    let Some(kernel) = registry().kernel.get().cloned() else {
        return reply(
            &conn,
            &Reply::Error {
                message: "the sandbox is still starting".into(),
            },
        );
    };
    let result = match req {
        Request::Create { spec } => return create(&kernel, conn, spec, fds, false),
        Request::Exec { id, process } => return exec(&kernel, conn, &id, process, fds),
        Request::Start { id } => start(&id),
        Request::Signal { id, target, signal } => signal_container(&id, target, signal),
        Request::Ps { id } => ps(&kernel, &id),
        Request::Delete { id } => delete(&id),
    };
    match result {
        Ok(r) => reply(&conn, &r),
        Err(message) => reply(&conn, &Reply::Error { message }),
    }
}

fn env_bytes(v: &[String]) -> Vec<Vec<u8>> {
    v.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn creds_of(p: &ProcessSpec) -> Creds {
    let mut c = Creds::new(p.uid, p.gid, p.caps.bounding);
    let mut groups = p.additional_gids.clone();
    groups.sort_unstable();
    groups.dedup();
    c.groups = groups;
    c.effective = p.caps.effective & p.caps.bounding;
    c.permitted = p.caps.permitted & p.caps.bounding;
    c.inheritable = p.caps.inheritable;
    c.ambient = p.caps.ambient & c.permitted & c.inheritable;
    c.no_new_privs = p.no_new_privileges;
    c
}

fn rlimits_of(p: &ProcessSpec) -> Result<Rlimits, String> {
    let mut r = Rlimits::default();
    for l in &p.rlimits {
        let slot = r
            .0
            .get_mut(l.resource as usize)
            .ok_or_else(|| format!("rlimit {} is not a resource", l.resource))?;
        if l.soft > l.hard {
            return Err(format!(
                "rlimit {}: soft limit {} above hard limit {}",
                l.resource, l.soft, l.hard
            ));
        }
        *slot = (l.soft, l.hard);
    }
    Ok(r)
}

/// The three stdio fds a request carried after `skip` others.
fn stdio(fds: &mut Vec<OwnedFd>, skip: usize) -> Result<[OwnedFd; 3], String> {
    if fds.len() != skip + 3 {
        return Err(format!(
            "expected {} fds with the request, got {}",
            skip + 3,
            fds.len()
        ));
    }
    let err = fds.pop();
    let out = fds.pop();
    let inp = fds.pop();
    match (inp, out, err) {
        (Some(i), Some(o), Some(e)) => Ok([i, o, e]),
        _ => Err("missing stdio fds".into()),
    }
}

/// Makes the process on a new task thread (a ptrace tracer or systrap
/// context belongs to the thread that runs the task) which waits on `gate`
/// (if any) before running; returns its pid once it is loaded.
pub fn spawn_process(
    kernel: &Arc<Kernel>,
    vfs: Arc<Vfs>,
    launch: Launch,
    gate: Option<Arc<Gate>>,
    on_made: impl FnOnce(i32) + Send + 'static,
) -> Result<i32, LaunchError> {
    let (tx, rx) = mpsc::channel();
    let kernel = kernel.clone();
    let spawned = std::thread::Builder::new()
        .name("task-new".into())
        .spawn(move || {
            let task = match crate::launch::prepare(&kernel, &vfs, launch) {
                Ok(t) => t,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let pid = task.tid;
            on_made(pid);
            let _ = tx.send(Ok(pid));
            if let Some(status) = gate.and_then(|g| g.wait()) {
                crate::kernel::exit::finish(task, status);
                return;
            }
            let mut task = task;
            let status = task.run();
            crate::kernel::exit::finish(task, status);
        });
    if let Err(e) = spawned {
        return Err(LaunchError::Platform(format!("starting a task thread: {e}")));
    }
    rx.recv()
        .map_err(|_| LaunchError::Platform("the task thread ended early".into()))?
}

/// Makes a container and its init (pid 1 when `first`), which waits for
/// `Start`; `conn` then waits for the init's end.
pub fn create(
    kernel: &Arc<Kernel>,
    conn: OwnedFd,
    spec: ContainerSpec,
    mut fds: Vec<OwnedFd>,
    first: bool,
) {
    match create_inner(kernel, &conn, spec, &mut fds, first, None) {
        Ok(()) => {}
        Err(message) => reply(&conn, &Reply::Error { message }),
    }
}

/// The work of `create`; `vfs` is the tree already built for the first
/// container. On success the reply has been sent and `conn` is watching.
pub fn create_inner(
    kernel: &Arc<Kernel>,
    conn: &OwnedFd,
    spec: ContainerSpec,
    fds: &mut Vec<OwnedFd>,
    first: bool,
    vfs: Option<Arc<Vfs>>,
) -> Result<(), String> {
    let id = spec.id.clone();
    let index = {
        let mut cs = lock(&registry().containers);
        if cs.by_id.contains_key(&id) {
            return Err(format!("container {id} already exists in the sandbox"));
        }
        cs.next_index()
    };
    let io = stdio(fds, usize::from(vfs.is_none()))?;
    let vfs = match vfs {
        Some(v) => v,
        None => {
            let gofer = fds.pop().ok_or("missing the gofer's socket")?;
            Arc::new(super::tree::build(&kernel.memfile, &spec, gofer)?)
        }
    };
    let gate = Gate::new();
    let launch = Launch {
        argv: env_bytes(&spec.process.args),
        envp: env_bytes(&spec.process.env),
        cwd: spec.process.cwd.as_bytes().to_vec(),
        creds: creds_of(&spec.process),
        rlimits: rlimits_of(&spec.process)?,
        umask: spec.process.umask.unwrap_or(0o022),
        stdio: io,
        pid: first.then_some(1),
        container: index,
    };
    let watcher = conn.try_clone().map_err(|e| e.to_string())?;
    let made_id = id.clone();
    let made_vfs = vfs.clone();
    let made_gate = gate.clone();
    // Registered before the init can run or be killed, so its end is
    // always seen.
    let on_made = move |pid: i32| {
        lock(&registry().containers).by_id.insert(
            made_id,
            Container {
                index,
                vfs: made_vfs,
                init: pid,
                phase: Phase::Created,
                gate: made_gate,
            },
        );
        let _ = wire::send(watcher.as_fd(), &Reply::Made { pid }, &[]);
        registry().watch(pid, watcher);
    };
    if let Some(h) = &spec.hostname {
        *lock(&kernel.hostname) = h.as_bytes().to_vec();
    }
    if let Some(d) = &spec.domainname {
        *lock(&kernel.domainname) = d.as_bytes().to_vec();
    }
    spawn_process(kernel, vfs, launch, Some(gate), on_made).map_err(|e| e.to_string())?;
    Ok(())
}

fn exec(kernel: &Arc<Kernel>, conn: OwnedFd, id: &str, process: ProcessSpec, mut fds: Vec<OwnedFd>) {
    let r = (|| -> Result<(), String> {
        let (index, vfs) = {
            let cs = lock(&registry().containers);
            let c = cs
                .by_id
                .get(id)
                .ok_or_else(|| format!("container {id} does not exist in the sandbox"))?;
            if c.phase != Phase::Running {
                return Err(format!("container {id} is not running"));
            }
            (c.index, c.vfs.clone())
        };
        let launch = Launch {
            argv: env_bytes(&process.args),
            envp: env_bytes(&process.env),
            cwd: process.cwd.as_bytes().to_vec(),
            creds: creds_of(&process),
            rlimits: rlimits_of(&process)?,
            umask: process.umask.unwrap_or(0o022),
            stdio: stdio(&mut fds, 0)?,
            pid: None,
            container: index,
        };
        let watcher = conn.try_clone().map_err(|e| e.to_string())?;
        let on_made = move |pid: i32| {
            let _ = wire::send(watcher.as_fd(), &Reply::Made { pid }, &[]);
            registry().watch(pid, watcher);
        };
        spawn_process(kernel, vfs, launch, None, on_made).map_err(|e| e.to_string())?;
        Ok(())
    })();
    if let Err(message) = r {
        reply(&conn, &Reply::Error { message });
    }
}

fn start(id: &str) -> Result<Reply, String> {
    let mut cs = lock(&registry().containers);
    let c = cs
        .by_id
        .get_mut(id)
        .ok_or_else(|| format!("container {id} does not exist in the sandbox"))?;
    match c.phase {
        Phase::Created => {
            c.phase = Phase::Running;
            c.gate.open();
            Ok(Reply::Ok)
        }
        Phase::Running => Err(format!("container {id} has already started")),
        Phase::Stopped(_) => Err(format!("container {id} has stopped")),
    }
}

/// The container's (index, init pid, phase).
fn lookup(id: &str) -> Result<(u32, i32, Phase, Arc<Gate>), String> {
    let cs = lock(&registry().containers);
    let c = cs
        .by_id
        .get(id)
        .ok_or_else(|| format!("container {id} does not exist in the sandbox"))?;
    Ok((c.index, c.init, c.phase, c.gate.clone()))
}

fn members(index: u32) -> Vec<Arc<crate::kernel::process::ThreadGroup>> {
    crate::kernel::kernel::tasks()
        .groups()
        .into_iter()
        .filter(|g| {
            let st = g.lock();
            st.container == index && st.exit.is_none()
        })
        .collect()
}

fn signal_container(id: &str, target: SignalTarget, sig: i32) -> Result<Reply, String> {
    if !(1..=64).contains(&sig) {
        return Err(format!("signal {sig} is not a valid signal"));
    }
    let (index, init, phase, gate) = lookup(id)?;
    if phase == Phase::Created {
        // The init has not run an instruction: a signal that would end it
        // ends it now; one that would not is dropped, as for a process
        // blocked before its first instruction.
        if matches!(default_action(sig), Default_::Terminate | Default_::Core) {
            gate.abort(ExitStatus::Signaled(sig));
        }
        return Ok(Reply::Ok);
    }
    let table = crate::kernel::kernel::tasks();
    let info = || crate::arch::siginfo::SigInfo::kill(sig, 0, 0, 0);
    match target {
        SignalTarget::Init => {
            let g = table
                .group(init)
                .ok_or_else(|| format!("container {id} is not running"))?;
            send_to_group(&g, info());
        }
        SignalTarget::All => {
            for g in members(index) {
                send_to_group(&g, info());
            }
        }
        SignalTarget::Pid(pid) => {
            let g = table
                .group(pid)
                .filter(|g| g.lock().container == index)
                .ok_or_else(|| format!("container {id} has no process {pid}"))?;
            send_to_group(&g, info());
        }
    }
    Ok(Reply::Ok)
}

fn ps(kernel: &Arc<Kernel>, id: &str) -> Result<Reply, String> {
    let (index, ..) = lookup(id)?;
    let table = crate::kernel::kernel::tasks();
    let processes = members(index)
        .into_iter()
        .map(|g| {
            let st = g.lock();
            let uid = st
                .threads
                .first()
                .map(|t| t.ruid.load(std::sync::atomic::Ordering::Relaxed))
                .unwrap_or(0);
            let cmd = st
                .argv
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            ProcessInfo {
                pid: g.tgid,
                ppid: if table.group(st.parent).is_some() {
                    st.parent
                } else {
                    0
                },
                uid,
                start_secs: g.start.saturating_duration_since(kernel.boot).as_secs(),
                cpu_secs: 0,
                cmd,
            }
        })
        .collect();
    Ok(Reply::Ps { processes })
}

fn delete(id: &str) -> Result<Reply, String> {
    let (index, _, _, gate) = lookup(id)?;
    gate.abort(ExitStatus::Signaled(libc::SIGKILL));
    for g in members(index) {
        kill_group(&g, ExitStatus::Signaled(libc::SIGKILL));
    }
    lock(&registry().containers).by_id.remove(id);
    Ok(Reply::Ok)
}
