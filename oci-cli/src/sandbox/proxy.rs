//! `ward proxy` (hidden): a container's host process, the one the pid
//! file names. It reads its plan from fd 3, makes the container (or exec's
//! process) in the sandbox — starting the sandbox first for a pod's first
//! container — and tells its parent on fd 4 ("made PID" or "error MSG").
//! Then it lives as long as that process: signals sent to it go on to the
//! process, and it exits the way the process ended. Its children (the
//! gofer, and the sentry for a first container) die with it.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use sentry::control::protocol::{Reply, Request, SignalTarget, Status};
use sentry::control::wire;

use super::client;
use super::plan::Plan;
use crate::launch::LogFlags;

/// The fd the plan arrives on.
pub const PLAN_FD: i32 = 3;
/// The fd the outcome is written to.
pub const READY_FD: i32 = 4;

/// Signals a host process passes on to the process it stands for: all
/// but those about itself (its children, its pipes, its own faults).
pub const PASSED_ON: [i32; 22] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGABRT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
    libc::SIGTERM,
    libc::SIGSTKFLT,
    libc::SIGCONT,
    libc::SIGTSTP,
    libc::SIGTTIN,
    libc::SIGTTOU,
    libc::SIGURG,
    libc::SIGXCPU,
    libc::SIGXFSZ,
    libc::SIGVTALRM,
    libc::SIGPROF,
    libc::SIGWINCH,
    libc::SIGIO,
    libc::SIGPWR,
    libc::SIGSYS,
];

fn take_fd(fd: i32) -> Result<OwnedFd> {
    // SAFETY: fcntl(F_GETFD) only queries whether the fd is open.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        bail!("fd {fd} is not open: ward proxy is started by ward create and ward exec");
    }
    // SAFETY: `fd` is open and handed to this process to own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn stdio_fds() -> Result<[OwnedFd; 3]> {
    let dup = |fd: i32| -> Result<OwnedFd> {
        // SAFETY: fd 0-2 are ours; F_DUPFD_CLOEXEC makes a new fd or fails.
        let n = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
        if n < 0 {
            return Err(std::io::Error::last_os_error()).context(format!("stdio fd {fd}"));
        }
        // SAFETY: `n` is a new fd owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(n) })
    };
    Ok([dup(0)?, dup(1)?, dup(2)?])
}

/// Points 0, 1 and 2 at /dev/null: the process holds its stdio now, and
/// a reader waiting for EOF must not wait for us too.
fn release_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..3 {
            // SAFETY: dup2 onto our own stdio slots.
            unsafe {
                libc::dup2(null.as_raw_fd(), fd);
            }
        }
    }
}

/// Where a forwarded signal goes, once the process exists.
struct Target {
    control: std::path::PathBuf,
    id: String,
    /// 0 until made; for an exec, its sandbox pid.
    pid: AtomicI32,
    exec: bool,
    early: AtomicI32,
}

impl Target {
    fn forward(&self, sig: i32) {
        let pid = self.pid.load(Ordering::SeqCst);
        if pid == 0 {
            self.early.store(sig, Ordering::SeqCst);
            return;
        }
        let target = if self.exec {
            SignalTarget::Pid(pid)
        } else {
            SignalTarget::Init
        };
        let req = Request::Signal {
            id: self.id.clone(),
            target,
            signal: sig,
        };
        if let Err(e) = client::call(&self.control, &req) {
            tracing::debug!("passing on signal {sig}: {e}");
        }
    }
}

pub fn run(flags: &LogFlags) -> Result<i32> {
    let mut plan_pipe = std::fs::File::from(take_fd(PLAN_FD)?);
    let mut ready = std::fs::File::from(take_fd(READY_FD)?);
    let mut text = Vec::new();
    plan_pipe
        .read_to_end(&mut text)
        .context("reading the plan")?;
    let plan: Plan = serde_json::from_slice(&text).context("parsing the plan")?;
    match make(&plan, flags) {
        Ok((conn, target, children)) => {
            let pid = target.pid.load(Ordering::SeqCst);
            let _ = writeln!(ready, "made {pid}");
            drop(ready);
            release_stdio();
            let early = target.early.swap(0, Ordering::SeqCst);
            if early != 0 {
                target.forward(early);
            }
            let status = wait_end(&conn);
            drop(conn);
            // The sentry (a first container's) ends with its sandbox; the
            // gofer is needed no more once the container has stopped (a pod
            // member's tree stays in the sentry until `delete`).
            if let Some((mut gofer, sentry)) = children {
                if let Some(mut s) = sentry {
                    let _ = s.wait();
                }
                let _ = gofer.kill();
                let _ = gofer.wait();
            }
            super::exit::exit_as(&status)
        }
        Err(e) => {
            let line = format!("{e:#}").replace('\n', " ");
            let _ = writeln!(ready, "error {line}");
            Ok(1)
        }
    }
}

/// Waits on the connection for the process's end. A sandbox that dies
/// without saying so ended it as SIGKILL would.
fn wait_end(conn: &OwnedFd) -> Status {
    loop {
        match wire::recv::<Reply>(conn.as_fd()) {
            Ok((Reply::Exited { status }, _)) => return status,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!("the sandbox ended without reporting the process: {e}");
                return Status::Signaled {
                    signal: libc::SIGKILL,
                };
            }
        }
    }
}

/// The connection, the signal target, and the children: the gofer and,
/// for a sandbox's first container, the sentry.
type Made = (
    OwnedFd,
    Arc<Target>,
    Option<(std::process::Child, Option<std::process::Child>)>,
);

fn make(plan: &Plan, flags: &LogFlags) -> Result<Made> {
    crate::signals::block(&PASSED_ON).context("blocking signals")?;
    let (id, exec) = match plan {
        Plan::Container { spec, .. } => (spec.id.clone(), false),
        Plan::Exec { id, .. } => (id.clone(), true),
    };
    let target = Arc::new(Target {
        control: plan.control().to_path_buf(),
        id,
        pid: AtomicI32::new(0),
        exec,
        early: AtomicI32::new(0),
    });
    {
        let target = target.clone();
        crate::signals::watch(&PASSED_ON, move |sig, _| target.forward(sig))
            .context("starting the signal thread")?;
    }
    let stdio = stdio_fds()?;
    let mut gofer_child = None;
    let mut sentry_child = None;
    let (req, gofer) = match plan {
        Plan::Container {
            spec,
            rootfs,
            sources,
            control,
            sandbox,
        } => {
            let mounts: Vec<crate::launch::GoferMount> = sources
                .iter()
                .map(|s| crate::launch::GoferMount {
                    source: s.source.clone(),
                    read_only: s.read_only,
                })
                .collect();
            let (gofer, sock) =
                crate::launch::start_gofer(rootfs, !spec.root_readonly, &mounts, flags)?;
            gofer_child = Some(gofer);
            if let Some(sb) = sandbox {
                let (_dir, short) = client::short_path(control)
                    .with_context(|| format!("control socket {}", control.display()))?;
                let listener = wire::listen(&short)
                    .with_context(|| format!("control socket {}", control.display()))?;
                sentry_child = Some(crate::launch::start_sentry_server(
                    &listener,
                    &sb.platform,
                    sb.netns.as_deref(),
                    flags,
                )?);
            }
            (
                Request::Create {
                    spec: (**spec).clone(),
                },
                Some(sock),
            )
        }
        Plan::Exec { id, process, .. } => (
            Request::Exec {
                id: id.clone(),
                process: process.clone(),
            },
            None,
        ),
    };
    let conn = client::connect(plan.control())?;
    let mut fds: Vec<std::os::fd::BorrowedFd<'_>> = Vec::new();
    if let Some(g) = &gofer {
        fds.push(g.as_fd());
    }
    fds.extend(stdio.iter().map(|f| f.as_fd()));
    match client::call_on(conn.as_fd(), &req, &fds) {
        Ok(Reply::Made { pid }) => {
            target.pid.store(pid, Ordering::SeqCst);
        }
        Ok(other) => return Err(anyhow!("unexpected reply from the sandbox: {other:?}")),
        Err(e) => {
            for c in sentry_child.iter_mut().chain(gofer_child.iter_mut()) {
                let _ = c.kill();
                let _ = c.wait();
            }
            return Err(e.into());
        }
    }
    Ok((conn, target, gofer_child.map(|g| (g, sentry_child))))
}
