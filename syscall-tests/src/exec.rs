//! Running one program (natively or behind a runtime prefix) with a
//! deadline: stdin is /dev/null, stdout and stderr are captured (capped),
//! and the program runs in its own process group so a timeout kills it and
//! anything it started.
//!
//! It reports what happened; it never interprets the output.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::sys;

/// How much of each output stream is kept; the rest is drained and dropped.
const OUTPUT_CAP: usize = 8 << 20;

/// How long to wait for output to drain after a kill.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Termination {
    /// Exited with this status.
    Exited(i32),
    /// Killed by this signal (not by us).
    Signaled(i32),
    /// Still running at the deadline; killed.
    TimedOut(Duration),
    /// Never started, or could not be waited for.
    Failed(String),
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub termination: Termination,
    pub stdout: String,
    pub stderr: String,
}

enum Event {
    Status(std::io::Result<ExitStatus>),
    StreamDone,
}

/// Runs `argv` to completion or until `timeout` has passed.
pub fn run(argv: &[OsString], timeout: Duration) -> Outcome {
    let Some((program, args)) = argv.split_first() else {
        return failed("empty command line".to_string());
    };
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            return failed(format!(
                "could not start {}: {e}",
                program.to_string_lossy()
            ))
        }
    };
    let pid = child.id();
    let deadline = Instant::now() + timeout;
    let (tx, rx) = mpsc::channel();
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    if let Some(pipe) = child.stdout.take() {
        spawn_reader(pipe, Arc::clone(&stdout), tx.clone());
    }
    if let Some(pipe) = child.stderr.take() {
        spawn_reader(pipe, Arc::clone(&stderr), tx.clone());
    }
    thread::spawn(move || {
        let _ = tx.send(Event::Status(child.wait()));
    });

    let mut status = None;
    let mut streams_open = 2;
    let mut timed_out = false;
    let mut limit = deadline;
    while status.is_none() || streams_open > 0 {
        let wait = limit.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(Event::Status(s)) => status = Some(s),
            Ok(Event::StreamDone) => streams_open -= 1,
            Err(RecvTimeoutError::Timeout) if !timed_out => {
                timed_out = true;
                let _ = sys::kill_group(pid);
                limit = Instant::now() + KILL_GRACE;
            }
            Err(_) => break,
        }
    }

    let termination = match (timed_out, status) {
        (true, _) => Termination::TimedOut(timeout),
        (false, Some(Ok(s))) => match (s.code(), s.signal()) {
            (Some(code), _) => Termination::Exited(code),
            (None, Some(sig)) => Termination::Signaled(sig),
            (None, None) => Termination::Failed(format!("unknown wait status {s}")),
        },
        (false, Some(Err(e))) => Termination::Failed(format!("wait failed: {e}")),
        (false, None) => Termination::Failed("lost track of the process".to_string()),
    };
    Outcome {
        termination,
        stdout: take_text(&stdout),
        stderr: take_text(&stderr),
    }
}

fn failed(why: String) -> Outcome {
    Outcome {
        termination: Termination::Failed(why),
        stdout: String::new(),
        stderr: String::new(),
    }
}

/// Copies a pipe into `buf` (up to the cap) until end of file.
fn spawn_reader(
    mut pipe: impl Read + Send + 'static,
    buf: Arc<Mutex<Vec<u8>>>,
    tx: mpsc::Sender<Event>,
) {
    thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    let mut buf = buf.lock().unwrap_or_else(|e| e.into_inner());
                    let room = OUTPUT_CAP.saturating_sub(buf.len());
                    buf.extend_from_slice(&chunk[..n.min(room)]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(Event::StreamDone);
    });
}

fn take_text(buf: &Mutex<Vec<u8>>) -> String {
    let buf = buf.lock().unwrap_or_else(|e| e.into_inner());
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn captures_stdout_and_exit_status() {
        let out = run(
            &argv(&["sh", "-c", "echo hi; echo err >&2; exit 3"]),
            Duration::from_secs(10),
        );
        assert_eq!(out.termination, Termination::Exited(3));
        assert_eq!(out.stdout, "hi\n");
        assert_eq!(out.stderr, "err\n");
    }

    #[test]
    fn reports_death_by_signal() {
        let out = run(
            &argv(&["sh", "-c", "kill -SEGV $$"]),
            Duration::from_secs(10),
        );
        assert_eq!(out.termination, Termination::Signaled(libc::SIGSEGV));
    }

    #[test]
    fn kills_a_program_past_its_deadline() {
        let out = run(
            &argv(&["sh", "-c", "echo started; exec sleep 30"]),
            Duration::from_secs(2),
        );
        assert_eq!(
            out.termination,
            Termination::TimedOut(Duration::from_secs(2))
        );
        assert_eq!(out.stdout, "started\n");
    }

    #[test]
    fn a_missing_program_is_a_failure_to_start() {
        let out = run(
            &argv(&["/nonexistent/ward-test-binary"]),
            Duration::from_secs(10),
        );
        assert!(
            matches!(out.termination, Termination::Failed(ref why) if why.contains("could not start"))
        );
    }
}
