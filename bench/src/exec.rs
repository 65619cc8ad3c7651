//! Running one command with a deadline: stdin is /dev/null, stdout and
//! stderr are captured, the wall time from spawn to exit is kept, and the
//! command runs in its own process group so a timeout kills it and every
//! helper it started.
//!
//! It reports what happened; reading a figure out of the output is
//! `parse_figure`'s job, and deciding what a failure means is the caller's.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::sys;

/// How long to wait for output to drain once the command has exited (a
/// helper may still hold the pipes); after that the group is killed.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// The exit status a workload uses for "does not apply here".
pub const EXIT_NOT_APPLICABLE: i32 = 77;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Exited(i32),
    Signaled(i32),
    /// Still running at the deadline; killed.
    TimedOut(Duration),
}

/// What a finished command produced.
#[derive(Debug, Clone)]
pub struct Finished {
    pub status: Status,
    pub stdout: String,
    pub stderr: String,
    /// From just before spawn to the moment wait(2) returned.
    pub wall: Duration,
}

impl Finished {
    /// One line saying why the command did not succeed, or None when it
    /// exited 0.
    pub fn failure(&self) -> Option<String> {
        let why = match self.status {
            Status::Exited(0) => return None,
            Status::Exited(code) => format!("exit status {code}"),
            Status::Signaled(sig) => format!("killed by signal {sig}"),
            Status::TimedOut(after) => format!("timed out after {} s", after.as_secs()),
        };
        Some(match last_line(&self.stderr) {
            Some(line) => format!("{why}: {}", clip(line, 200)),
            None => why,
        })
    }
}

/// A command started by `spawn`, not yet waited for.
pub struct Running {
    child: Child,
    started: Instant,
    timeout: Duration,
    timed_out: Arc<AtomicBool>,
    /// Dropped on exit: tells the watchdog to stand down.
    watchdog: Option<mpsc::Sender<()>>,
    output: mpsc::Receiver<(usize, Vec<u8>)>,
}

/// Starts `cmd` in its own process group with a watchdog that kills the
/// group after `timeout`.
pub fn spawn(cmd: &mut Command, timeout: Duration) -> Result<Running> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let pid = child.id();
    let (out_tx, output) = mpsc::channel();
    if let Some(pipe) = child.stdout.take() {
        spawn_reader(0, pipe, out_tx.clone());
    }
    if let Some(pipe) = child.stderr.take() {
        spawn_reader(1, pipe, out_tx);
    }
    let timed_out = Arc::new(AtomicBool::new(false));
    let (watchdog, stand_down) = mpsc::channel::<()>();
    let flag = Arc::clone(&timed_out);
    thread::spawn(move || {
        if let Err(RecvTimeoutError::Timeout) = stand_down.recv_timeout(timeout) {
            flag.store(true, Ordering::SeqCst);
            let _ = sys::kill_group(pid);
        }
    });
    Ok(Running {
        child,
        started,
        timeout,
        timed_out,
        watchdog: Some(watchdog),
        output,
    })
}

/// Runs `cmd` to completion (or its deadline).
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Finished> {
    spawn(cmd, timeout)?.wait()
}

impl Running {
    /// The process id, which is also its process group id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the command has exited (without reaping anything else).
    pub fn has_exited(&mut self) -> Result<bool> {
        Ok(self
            .child
            .try_wait()
            .context("cannot poll a child")?
            .is_some())
    }

    /// Waits for exit, then for the output to drain.
    pub fn wait(mut self) -> Result<Finished> {
        let status = self.child.wait().context("cannot wait for a child")?;
        let wall = self.started.elapsed();
        self.watchdog.take();
        let mut streams: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
        let mut open = 2;
        let mut limit = Instant::now() + DRAIN_GRACE;
        let mut killed = false;
        while open > 0 {
            match self
                .output
                .recv_timeout(limit.saturating_duration_since(Instant::now()))
            {
                Ok((i, bytes)) => {
                    streams[i] = bytes;
                    open -= 1;
                }
                Err(RecvTimeoutError::Timeout) if !killed => {
                    killed = true;
                    let _ = sys::kill_group(self.child.id());
                    limit = Instant::now() + DRAIN_GRACE;
                }
                Err(_) => break,
            }
        }
        let status = if self.timed_out.load(Ordering::SeqCst) {
            Status::TimedOut(self.timeout)
        } else {
            status_of(status)?
        };
        let [stdout, stderr] = streams.map(|b| String::from_utf8_lossy(&b).into_owned());
        Ok(Finished {
            status,
            stdout,
            stderr,
            wall,
        })
    }
}

fn status_of(status: ExitStatus) -> Result<Status> {
    match (status.code(), status.signal()) {
        (Some(code), _) => Ok(Status::Exited(code)),
        (None, Some(sig)) => Ok(Status::Signaled(sig)),
        (None, None) => bail!("unknown wait status {status}"),
    }
}

/// Reads a pipe to its end and sends the bytes, tagged with `index`.
fn spawn_reader(
    index: usize,
    mut pipe: impl Read + Send + 'static,
    tx: mpsc::Sender<(usize, Vec<u8>)>,
) {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send((index, bytes));
    });
}

/// The last line of `text` that is not blank, trimmed.
pub fn last_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).rfind(|l| !l.is_empty())
}

/// The figure a workload printed: its last non-blank line, as a finite,
/// non-negative number.
pub fn parse_figure(stdout: &str) -> Result<f64> {
    let line = last_line(stdout).ok_or_else(|| anyhow!("the workload printed nothing"))?;
    let value: f64 = line
        .parse()
        .map_err(|_| anyhow!("no number on the last line: {:?}", clip(line, 80)))?;
    if !value.is_finite() || value < 0.0 {
        bail!("not a usable figure: {line}");
    }
    Ok(value)
}

/// `text` cut to at most `max` characters, with "…" when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figure_is_the_last_line() {
        assert_eq!(parse_figure("warming up\n87.5\n").unwrap(), 87.5);
    }

    #[test]
    fn trailing_blank_lines_are_skipped() {
        assert_eq!(parse_figure("12\n\n  \n").unwrap(), 12.0);
    }

    #[test]
    fn surrounding_spaces_are_ignored() {
        assert_eq!(parse_figure("  3.25  \n").unwrap(), 3.25);
    }

    #[test]
    fn empty_output_is_an_error() {
        assert!(parse_figure("").is_err());
        assert!(parse_figure("\n\n").is_err());
    }

    #[test]
    fn a_word_on_the_last_line_is_an_error() {
        let err = parse_figure("1.0\nsegfault\n").unwrap_err();
        assert!(err.to_string().contains("segfault"));
    }

    #[test]
    fn non_finite_and_negative_figures_are_refused() {
        assert!(parse_figure("nan\n").is_err());
        assert!(parse_figure("inf\n").is_err());
        assert!(parse_figure("-4\n").is_err());
    }

    #[test]
    fn failure_names_the_status_and_the_last_stderr_line() {
        let finished = Finished {
            status: Status::Exited(3),
            stdout: String::new(),
            stderr: "noise\nopen: No such file or directory\n".to_string(),
            wall: Duration::ZERO,
        };
        assert_eq!(
            finished.failure().unwrap(),
            "exit status 3: open: No such file or directory"
        );
    }

    #[test]
    fn success_is_no_failure() {
        let finished = Finished {
            status: Status::Exited(0),
            stdout: "1\n".to_string(),
            stderr: "chatter\n".to_string(),
            wall: Duration::ZERO,
        };
        assert!(finished.failure().is_none());
    }

    #[test]
    fn clip_marks_the_cut() {
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
    }
}
