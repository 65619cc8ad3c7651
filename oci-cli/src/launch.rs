//! Starting a sandbox's processes: `ward gofer` serving a root over a
//! SOCK_SEQPACKET socketpair, and `ward sentry` holding the other end, the
//! caller's stdio and the program to run. Each is a re-execution of this
//! binary, dies with its parent (PR_SET_PDEATHSIG), and gets only the fds
//! meant for it.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command};

use anyhow::{Context, Result};

use crate::logging::LogFormat;

/// The fd number a component finds its socket at.
pub const COMPONENT_FD: RawFd = 3;

/// Global flags every component inherits.
#[derive(Clone, Debug)]
pub struct LogFlags {
    pub debug: bool,
    pub log: Option<PathBuf>,
    pub log_format: LogFormat,
    /// Confine the sentry and the gofer (namespaces, empty root, seccomp);
    /// on unless `--no-confine`.
    pub confine: bool,
}

impl Default for LogFlags {
    /// Confined: a caller has to ask for an unconfined sandbox.
    fn default() -> Self {
        LogFlags {
            debug: false,
            log: None,
            log_format: LogFormat::default(),
            confine: true,
        }
    }
}

impl LogFlags {
    fn apply(&self, cmd: &mut Command) {
        if self.debug {
            cmd.arg("--debug");
        }
        if let Some(l) = &self.log {
            cmd.arg("--log").arg(l);
        }
        cmd.arg("--log-format").arg(self.log_format.as_str());
        if !self.confine {
            cmd.arg("--no-confine");
        }
    }
}

/// What `ward do` asks for.
pub struct DoRequest {
    pub argv: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub cwd: PathBuf,
    pub platform: String,
    /// The directory served as the sandbox's root.
    pub root: PathBuf,
    /// Write through to `root` (a read-write gofer, no overlay).
    pub rw_root: bool,
}

fn socketpair() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for the kernel to fill.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error()).context("creating the gofer socket pair");
    }
    // SAFETY: both fds were just created by socketpair and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Makes `fd` the child's COMPONENT_FD and ties the child's life to ours.
fn hand_over(cmd: &mut Command, fd: RawFd) {
    // SAFETY: the closure runs between fork and exec and calls only
    // async-signal-safe functions (dup2, fcntl, prctl).
    unsafe {
        cmd.pre_exec(move || {
            if fd == COMPONENT_FD {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(fd, COMPONENT_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Start with no blocked signals, whatever ward blocks.
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            Ok(())
        });
    }
}

fn self_exe() -> Result<PathBuf> {
    std::env::current_exe().context("finding the ward binary")
}

/// A bind mount's source for the gofer to serve beside the root: a
/// directory or a single regular file, attached by the sentry as index
/// 1, 2, … in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoferMount {
    pub source: PathBuf,
    /// Every change beneath it is EROFS.
    pub read_only: bool,
}

impl GoferMount {
    /// The `ward gofer --mount` argument: the path, then ":ro" or ":rw"
    /// (always one of them, so a path with a colon in it reads back whole).
    pub fn to_arg(&self) -> OsString {
        let mut arg = self.source.clone().into_os_string();
        arg.push(if self.read_only { ":ro" } else { ":rw" });
        arg
    }

    /// Reads a `--mount SRC[:ro|:rw]` argument (read-write without a suffix).
    pub fn parse(arg: &std::ffi::OsStr) -> GoferMount {
        use std::os::unix::ffi::OsStrExt;
        let bytes = arg.as_bytes();
        let (path, read_only) = match bytes.len().checked_sub(3).map(|at| bytes.split_at(at)) {
            Some((path, b":ro")) => (path, true),
            Some((path, b":rw")) => (path, false),
            _ => (bytes, false),
        };
        GoferMount {
            source: PathBuf::from(std::ffi::OsStr::from_bytes(path)),
            read_only,
        }
    }
}

/// Starts the gofer for `root` (read-write if `rw`) and `mounts` (each
/// attached at its index: the first is 1); returns it and the sentry's
/// end of its socket. The gofer may change its trees at all only when
/// the root or a mount is read-write.
pub fn start_gofer(
    root: &std::path::Path,
    rw: bool,
    mounts: &[GoferMount],
    flags: &LogFlags,
) -> Result<(Child, OwnedFd)> {
    let (ours, theirs) = socketpair()?;
    let mut cmd = Command::new(self_exe()?);
    flags.apply(&mut cmd);
    cmd.arg("gofer").arg("--root").arg(root);
    if rw || mounts.iter().any(|m| !m.read_only) {
        cmd.arg("--rw");
        if !rw {
            cmd.arg("--root-ro");
        }
    }
    for m in mounts {
        cmd.arg("--mount").arg(m.to_arg());
    }
    cmd.stdin(std::process::Stdio::null());
    cmd.env_clear();
    hand_over(&mut cmd, theirs.as_raw_fd());
    let child = cmd.spawn().context("starting the gofer")?;
    drop(theirs);
    Ok((child, ours))
}

/// Starts `ward sentry --control` serving containers on `listener` (its
/// fd 3), in a new pid namespace when confined; stdin and stdout are
/// /dev/null, stderr ours (where it reports a failure of the sandbox).
pub fn start_sentry_server(
    listener: &OwnedFd,
    platform: &str,
    netns: Option<&std::path::Path>,
    flags: &LogFlags,
) -> Result<Child> {
    let mut cmd = Command::new(self_exe()?);
    flags.apply(&mut cmd);
    cmd.arg("sentry")
        .arg("--control")
        .arg("--platform")
        .arg(platform);
    if let Some(path) = netns {
        // The sentry starts in it (inherited from this thread) and stays.
        join_netns(path)?;
        cmd.arg("--joined-netns");
    }
    cmd.stdin(std::process::Stdio::null());
    cmd.stdout(std::process::Stdio::null());
    cmd.env_clear();
    hand_over(&mut cmd, listener.as_raw_fd());
    if flags.confine {
        crate::confine::new_pid_namespace_for_children()
            .context("creating the sentry's pid namespace")?;
    }
    cmd.spawn().context("starting the sentry")
}

/// Moves the calling thread (and the children it starts) into the network
/// namespace at `path`.
fn join_netns(path: &std::path::Path) -> Result<()> {
    let f = std::fs::File::open(path)
        .with_context(|| format!("network namespace {}", path.display()))?;
    // SAFETY: setns takes an fd we hold open and a namespace type.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("joining network namespace {}", path.display()));
    }
    Ok(())
}

/// Runs `req` in a new sandbox and returns the exit code `ward do` should
/// exit with (the program's status, 128+N for a signal).
pub fn run_do(req: &DoRequest, flags: &LogFlags) -> Result<i32> {
    let (mut gofer, sock) = start_gofer(&req.root, req.rw_root, &[], flags)?;
    let mut cmd = Command::new(self_exe()?);
    flags.apply(&mut cmd);
    cmd.arg("sentry")
        .arg("--platform")
        .arg(&req.platform)
        .arg("--cwd")
        .arg(&req.cwd);
    if req.rw_root {
        cmd.arg("--rw-root");
    }
    cmd.arg("--");
    cmd.args(&req.argv);
    cmd.env_clear();
    cmd.envs(req.env.iter().map(|(k, v)| (k, v)));
    hand_over(&mut cmd, sock.as_raw_fd());
    // Signals sent to ward go on to the sentry, which passes them to the
    // sandbox's init; ward itself lives on to report the exit status.
    crate::signals::block(&crate::signals::FORWARDED).context("blocking signals")?;
    // The forwarding thread starts before the sentry: once ward has made a
    // pid namespace for its children it can no longer create threads. A
    // signal that arrives before the sentry exists is kept and sent after.
    use std::sync::atomic::{AtomicI32, Ordering};
    use std::sync::Arc;
    let target = Arc::new(AtomicI32::new(0));
    let early = Arc::new(AtomicI32::new(0));
    {
        let (target, early) = (Arc::clone(&target), Arc::clone(&early));
        crate::signals::watch(&crate::signals::FORWARDED, move |sig, from_kernel| {
            if from_kernel {
                return;
            }
            match target.load(Ordering::SeqCst) {
                0 => early.store(sig, Ordering::SeqCst),
                pid => {
                    // SAFETY: kill takes plain integers; the sentry is our child.
                    unsafe {
                        libc::kill(pid, sig);
                    }
                }
            }
        })
        .context("starting the signal thread")?;
    }
    if flags.confine {
        crate::confine::new_pid_namespace_for_children()
            .context("creating the sentry's pid namespace")?;
    }
    let mut sentry = cmd.spawn().context("starting the sentry")?;
    drop(sock);
    let sentry_pid = sentry.id() as i32;
    target.store(sentry_pid, Ordering::SeqCst);
    match early.swap(0, Ordering::SeqCst) {
        0 => {}
        sig => {
            // SAFETY: kill takes plain integers; the sentry is our child.
            unsafe {
                libc::kill(sentry_pid, sig);
            }
        }
    }
    let status = sentry.wait().context("waiting for the sentry")?;
    // The gofer exits when the sentry's end of the socket closes.
    let gofer_status = gofer.wait();
    use std::os::unix::process::ExitStatusExt;
    crate::confine::report_seccomp_death("sentry", &status);
    if let Ok(g) = &gofer_status {
        crate::confine::report_seccomp_death("gofer", g);
    }
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        _ => 125,
    })
}

#[cfg(test)]
mod tests {
    use super::GoferMount;
    use std::ffi::OsStr;
    use std::path::PathBuf;

    fn mount(path: &str, read_only: bool) -> GoferMount {
        GoferMount {
            source: PathBuf::from(path),
            read_only,
        }
    }

    #[test]
    fn a_mount_argument_reads_back_as_written() {
        for m in [
            mount("/etc/hosts", true),
            mount("/srv/data", false),
            mount("/odd:ro", false),
            mount("/a:b", true),
        ] {
            assert_eq!(GoferMount::parse(&m.to_arg()), m);
        }
    }

    #[test]
    fn a_mount_argument_without_a_suffix_is_read_write() {
        assert_eq!(
            GoferMount::parse(OsStr::new("/srv/data")),
            mount("/srv/data", false)
        );
        assert_eq!(GoferMount::parse(OsStr::new("/x:ro")), mount("/x", true));
        assert_eq!(GoferMount::parse(OsStr::new("ro")), mount("ro", false));
    }
}
