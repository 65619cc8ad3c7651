//! Running an external command (ctr, podman, the runtime) with a bound on
//! how long it may take: a hung peer or a hung runtime fails the test with
//! what the command printed so far, it never hangs the suite.
//!
//! Bounds are enforced by waiting on a channel with a deadline, never by
//! sleeping: the child's exit, each chunk it prints and the end of each of
//! its output pipes are events on that channel.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// How long one peer command may take before the test gives up on it.
/// Generous: a loaded two-core CI machine runs builds beside the tests.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// How long a cleanup command may take (cleanup never panics).
pub const CLEANUP_LIMIT: Duration = Duration::from_secs(20);

/// A command that did not get as far as it should within its bound.
#[derive(Debug)]
pub struct TimedOut {
    /// The command, for the message.
    pub command: String,
    /// What it was waited for.
    pub waiting_for: String,
    pub limit: Duration,
    /// Its output until then.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} did not {} within {:?}; it was killed\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            self.waiting_for,
            self.limit,
            String::from_utf8_lossy(&self.stdout),
            String::from_utf8_lossy(&self.stderr)
        )
    }
}

/// Runs `cmd` with stdin from /dev/null, capturing stdout and stderr; panics
/// with its output if it takes longer than [`COMMAND_LIMIT`].
pub fn run(cmd: &mut Command) -> Output {
    run_within(cmd, COMMAND_LIMIT).unwrap_or_else(|timed_out| panic!("{timed_out}"))
}

/// Runs `cmd` as [`run`] does, but hands back a timeout instead of panicking
/// (for cleanup in `Drop`, where a panic would abort).
pub fn run_within(cmd: &mut Command, limit: Duration) -> Result<Output, TimedOut> {
    Watched::spawn(cmd).finish_within(limit)
}

/// What the watcher threads report.
enum Event {
    Exited(std::io::Result<ExitStatus>),
    Printed,
    PipeClosed,
}

/// A command running in the background, watched: the test can wait, with
/// a bound, for a line it prints and then for its end. It runs in a process
/// group of its own; on timeout, or if dropped unfinished, the whole group
/// is killed, so a helper it forked dies with it.
pub struct Watched {
    command: String,
    pid: u32,
    inbox: Receiver<Event>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    status: Option<ExitStatus>,
    open_pipes: usize,
}

impl Watched {
    /// Starts `cmd` with stdin from /dev/null and its output captured.
    pub fn spawn(cmd: &mut Command) -> Watched {
        let command = format!("{cmd:?}");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {command}: {e}"));
        let (events, inbox) = mpsc::channel();
        let stdout = collect(child.stdout.take(), events.clone());
        let stderr = collect(child.stderr.take(), events.clone());
        let pid = child.id();
        thread::spawn(move || {
            let _ = events.send(Event::Exited(child.wait()));
        });
        Watched {
            command,
            pid,
            inbox,
            stdout,
            stderr,
            status: None,
            open_pipes: 2,
        }
    }

    /// Waits until the command has printed `line` as a whole line on
    /// stdout; panics (killing it) if it ends first or takes longer than
    /// [`COMMAND_LIMIT`].
    pub fn wait_for_line(&mut self, line: &str) {
        let deadline = Instant::now() + COMMAND_LIMIT;
        let has_line = |out: &[u8]| String::from_utf8_lossy(out).lines().any(|l| l == line);
        while !has_line(&lock(&self.stdout)) {
            if self.status.is_some() && self.open_pipes == 0 {
                panic!(
                    "{} ended without printing {line:?}\n{}",
                    self.command,
                    self.output_so_far()
                );
            }
            if let Err(timed_out) =
                self.next_event(deadline, COMMAND_LIMIT, format!("print {line:?}"))
            {
                panic!("{timed_out}");
            }
        }
    }

    /// Waits for the command to end and its pipes to close; panics with its
    /// output if that takes longer than [`COMMAND_LIMIT`].
    pub fn finish(self) -> Output {
        self.finish_within(COMMAND_LIMIT)
            .unwrap_or_else(|timed_out| panic!("{timed_out}"))
    }

    /// Waits for the command to end and its pipes to close, up to `limit`.
    pub fn finish_within(mut self, limit: Duration) -> Result<Output, TimedOut> {
        let deadline = Instant::now() + limit;
        while self.status.is_none() || self.open_pipes > 0 {
            self.next_event(deadline, limit, "finish".to_owned())?;
        }
        Ok(Output {
            status: self
                .status
                .unwrap_or_else(|| unreachable!("the loop ends with a status")),
            stdout: taken(&self.stdout),
            stderr: taken(&self.stderr),
        })
    }

    /// Takes one event, or times out: then kills the command.
    fn next_event(
        &mut self,
        deadline: Instant,
        limit: Duration,
        waiting_for: String,
    ) -> Result<(), TimedOut> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.inbox.recv_timeout(left) {
            Ok(Event::Exited(result)) => {
                let status = result.unwrap_or_else(|e| panic!("waiting for {}: {e}", self.command));
                self.status = Some(status);
            }
            Ok(Event::Printed) => {}
            Ok(Event::PipeClosed) => self.open_pipes -= 1,
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                return Err(TimedOut {
                    command: self.command.clone(),
                    waiting_for,
                    limit,
                    stdout: taken(&self.stdout),
                    stderr: taken(&self.stderr),
                });
            }
            Err(RecvTimeoutError::Disconnected) => {
                unreachable!("the watcher threads hold the sender until they report")
            }
        }
        Ok(())
    }

    /// Kills the command's process group while it is still ours: only
    /// before the child is reaped is its pid sure not to be reused.
    fn kill(&self) {
        if self.status.is_none() {
            super::host::kill_group(self.pid);
        }
    }

    fn output_so_far(&self) -> String {
        format!(
            "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            String::from_utf8_lossy(&lock(&self.stdout)),
            String::from_utf8_lossy(&lock(&self.stderr))
        )
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // A test that panicked between spawn and finish leaves no orphan.
        // (After `finish`, `status` is set and this does nothing.)
        while self.status.is_none() {
            self.kill();
            match self.inbox.recv_timeout(CLEANUP_LIMIT) {
                Ok(Event::Exited(result)) => self.status = result.ok(),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
}

/// Reads `pipe` to its end on a thread of its own, into a shared buffer,
/// reporting each chunk.
fn collect(pipe: Option<impl Read + Send + 'static>, events: Sender<Event>) -> Arc<Mutex<Vec<u8>>> {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let Some(mut pipe) = pipe else {
        let _ = events.send(Event::PipeClosed);
        return buffer;
    };
    let sink = Arc::clone(&buffer);
    thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    lock(&sink).extend_from_slice(&chunk[..n]);
                    let _ = events.send(Event::Printed);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let _ = events.send(Event::PipeClosed);
    });
    buffer
}

fn taken(buffer: &Mutex<Vec<u8>>) -> Vec<u8> {
    std::mem::take(&mut *lock(buffer))
}

fn lock(buffer: &Mutex<Vec<u8>>) -> MutexGuard<'_, Vec<u8>> {
    buffer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
