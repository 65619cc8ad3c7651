//! What the OCI verbs share: the global options they run with, starting a
//! container's host process (`ward proxy`) with its plan, pid files, and
//! waiting for a host process that is not our child to end.

use std::io::{BufRead, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use oci_cli::launch::LogFlags;
use oci_cli::sandbox::plan::Plan;
use oci_cli::sandbox::proxy::{PLAN_FD, READY_FD};
use oci_cli::state::StateRoot;

/// The global options every OCI verb gets.
pub struct Oci {
    pub flags: LogFlags,
    pub root: StateRoot,
    pub platform: String,
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for the kernel to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error()).context("making a pipe");
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A started `ward proxy` waiting for its plan.
pub struct Proxy {
    pub child: Child,
    plan: Option<std::fs::File>,
    ready: std::io::BufReader<std::fs::File>,
}

/// Starts `ward proxy` with `stdio` (None: ours) as its 0, 1, 2. It waits
/// for its plan (`Proxy::send`), so the caller can first put it in a
/// cgroup.
pub fn spawn_proxy(flags: &LogFlags, stdio: Option<&OwnedFd>) -> Result<Proxy> {
    let (plan_r, plan_w) = pipe()?;
    let (ready_r, ready_w) = pipe()?;
    let exe = std::env::current_exe().context("finding the ward binary")?;
    let mut cmd = Command::new(exe);
    if flags.debug {
        cmd.arg("--debug");
    }
    if let Some(l) = &flags.log {
        cmd.arg("--log").arg(l);
    }
    cmd.arg("--log-format").arg(flags.log_format.as_str());
    if !flags.confine {
        cmd.arg("--no-confine");
    }
    cmd.arg("proxy");
    if let Some(t) = stdio {
        cmd.stdin(Stdio::from(t.try_clone()?));
        cmd.stdout(Stdio::from(t.try_clone()?));
        cmd.stderr(Stdio::from(t.try_clone()?));
    }
    let (p, r): (RawFd, RawFd) = (plan_r.as_raw_fd(), ready_w.as_raw_fd());
    // SAFETY: the closure runs between fork and exec and calls only
    // async-signal-safe functions (dup2, fcntl, sigprocmask).
    unsafe {
        cmd.pre_exec(move || {
            // Move both out of the way first: either may sit on 3 or 4.
            let p2 = libc::fcntl(p, libc::F_DUPFD, 10);
            let r2 = libc::fcntl(r, libc::F_DUPFD, 10);
            if p2 < 0
                || r2 < 0
                || libc::dup2(p2, PLAN_FD) < 0
                || libc::dup2(r2, READY_FD) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(p2);
            libc::close(r2);
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            Ok(())
        });
    }
    let child = cmd.spawn().context("starting the container's host process")?;
    drop(plan_r);
    drop(ready_w);
    Ok(Proxy {
        child,
        plan: Some(std::fs::File::from(plan_w)),
        ready: std::io::BufReader::new(std::fs::File::from(ready_r)),
    })
}

impl Proxy {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends the plan and waits for the outcome: the process's sandbox pid.
    pub fn send(&mut self, plan: &Plan) -> Result<i32> {
        let mut w = self.plan.take().ok_or_else(|| anyhow!("plan already sent"))?;
        let text = serde_json::to_vec(plan).context("encoding the plan")?;
        w.write_all(&text).context("sending the plan")?;
        drop(w);
        let mut line = String::new();
        self.ready
            .read_line(&mut line)
            .context("reading the host process's outcome")?;
        let line = line.trim_end();
        if let Some(pid) = line.strip_prefix("made ") {
            return pid
                .parse()
                .map_err(|_| anyhow!("bad outcome from the host process: {line}"));
        }
        if let Some(msg) = line.strip_prefix("error ") {
            let _ = self.child.wait();
            bail!("{msg}");
        }
        let status = self.child.wait().context("waiting for the host process")?;
        bail!("the container's host process ended before making it ({status})")
    }

    /// Kills and reaps it (a create that failed).
    pub fn abandon(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `pid` to `path` whole (a temporary file renamed into place), as
/// runc does: the number, no newline.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("pid file {}: not a file name", path.display()))?;
    let tmp: PathBuf = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&tmp, pid.to_string())
        .with_context(|| format!("writing pid file {}", path.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing pid file {}", path.display()))
}

/// Waits until host process `pid` (started at `start`) is gone, at most
/// `limit`; whether it is.
pub fn wait_gone(pid: i32, start: u64, limit: Duration) -> bool {
    let lives = || {
        pid > 0
            && oci_cli::state::process_start_time(pid).is_some_and(|s| s == start)
            && !zombie(pid)
    };
    if !lives() {
        return true;
    }
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd >= 0 {
        // SAFETY: `fd` is a new fd owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // Opened after the start-time check: make sure it is still the same
        // process, then wait for it to be readable (it exited).
        if lives() {
            let mut p = libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: `p` is one valid pollfd.
            unsafe { libc::poll(&mut p, 1, limit.as_millis() as i32) };
        }
        return !lives();
    }
    let step = Duration::from_millis(10);
    let mut waited = Duration::ZERO;
    while lives() && waited < limit {
        std::thread::sleep(step);
        waited += step;
    }
    !lives()
}

fn zombie(pid: i32) -> bool {
    oci_cli::state::proc_stat::read(pid).is_some_and(|s| s.exited())
}

/// A signal by name ("KILL", "SIGKILL") or number.
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
        bail!("signal {s} is out of range");
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    let n = match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ILL" => libc::SIGILL,
        "TRAP" => libc::SIGTRAP,
        "ABRT" | "IOT" => libc::SIGABRT,
        "BUS" => libc::SIGBUS,
        "FPE" => libc::SIGFPE,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "SEGV" => libc::SIGSEGV,
        "USR2" => libc::SIGUSR2,
        "PIPE" => libc::SIGPIPE,
        "ALRM" => libc::SIGALRM,
        "TERM" => libc::SIGTERM,
        "STKFLT" => libc::SIGSTKFLT,
        "CHLD" => libc::SIGCHLD,
        "CONT" => libc::SIGCONT,
        "STOP" => libc::SIGSTOP,
        "TSTP" => libc::SIGTSTP,
        "TTIN" => libc::SIGTTIN,
        "TTOU" => libc::SIGTTOU,
        "URG" => libc::SIGURG,
        "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ,
        "VTALRM" => libc::SIGVTALRM,
        "PROF" => libc::SIGPROF,
        "WINCH" => libc::SIGWINCH,
        "IO" | "POLL" => libc::SIGIO,
        "PWR" => libc::SIGPWR,
        "SYS" => libc::SIGSYS,
        _ => {
            if let Some(rest) = name.strip_prefix("RTMIN+") {
                let k: i32 = rest.parse().map_err(|_| anyhow!("unknown signal {s}"))?;
                return Ok(libc::SIGRTMIN() + k);
            }
            bail!("unknown signal {s}")
        }
    };
    Ok(n)
}
