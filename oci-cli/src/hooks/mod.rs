//! Running a config's hooks on the host, as the runtime spec says: in
//! order, each with exactly its args and env, the container's state JSON on
//! its stdin and its timeout enforced; the first that fails stops the chain.
//!
//! A hook runs in its own process group, so a timeout kills whatever it
//! started too. Its stdin, stdout and stderr are unlinked temporary files,
//! not pipes: a hook that leaves a daemon holding them cannot wedge ward.

mod raw;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use oci_spec::runtime::{Hook, Hooks};

/// How many lines of a failed hook's stderr its error quotes.
const STDERR_LINES: usize = 5;

/// The hook points of a container's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookKind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl HookKind {
    /// The name config.json gives this kind.
    pub fn name(self) -> &'static str {
        match self {
            HookKind::Prestart => "prestart",
            HookKind::CreateRuntime => "createRuntime",
            HookKind::CreateContainer => "createContainer",
            HookKind::StartContainer => "startContainer",
            HookKind::Poststart => "poststart",
            HookKind::Poststop => "poststop",
        }
    }

    /// This kind's hooks in `hooks` (none when the list is absent).
    pub fn select(self, hooks: &Hooks) -> &[Hook] {
        #[allow(deprecated)] // prestart is deprecated in the spec, still used
        let list = match self {
            HookKind::Prestart => hooks.prestart(),
            HookKind::CreateRuntime => hooks.create_runtime(),
            HookKind::CreateContainer => hooks.create_container(),
            HookKind::StartContainer => hooks.start_container(),
            HookKind::Poststart => hooks.poststart(),
            HookKind::Poststop => hooks.poststop(),
        };
        list.as_deref().unwrap_or_default()
    }
}

impl std::fmt::Display for HookKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{kind} hook {path}: the path is not absolute")]
    RelativePath { kind: HookKind, path: PathBuf },
    #[error("{kind} hook {path}: timeout {timeout} is not a positive number of seconds")]
    BadTimeout {
        kind: HookKind,
        path: PathBuf,
        timeout: i64,
    },
    #[error("{kind} hook {path}: a temporary file for its stdio: {source}")]
    Scratch {
        kind: HookKind,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{kind} hook {path}: starting it: {source}")]
    Spawn {
        kind: HookKind,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{kind} hook {path}: waiting for it: {source}")]
    Wait {
        kind: HookKind,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{kind} hook {path} timed out after {secs}s")]
    TimedOut {
        kind: HookKind,
        path: PathBuf,
        secs: i64,
    },
    #[error("{kind} hook {path} failed: {status}{}", stderr_suffix(.stderr))]
    Failed {
        kind: HookKind,
        path: PathBuf,
        status: String,
        stderr: String,
    },
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!("; stderr: {stderr}")
    }
}

/// Runs `hooks` of `kind` in order with `state_json` on each one's stdin;
/// stops at the first that fails, times out or cannot start.
pub fn run(kind: HookKind, hooks: &[Hook], state_json: &[u8]) -> Result<(), HookError> {
    for hook in hooks {
        run_one(kind, hook, state_json)?;
    }
    Ok(())
}

fn run_one(kind: HookKind, hook: &Hook, state_json: &[u8]) -> Result<(), HookError> {
    let path = hook.path().clone();
    if !path.is_absolute() {
        return Err(HookError::RelativePath { kind, path });
    }
    let timeout = match hook.timeout() {
        Some(t) if t <= 0 => {
            return Err(HookError::BadTimeout {
                kind,
                path,
                timeout: t,
            })
        }
        other => other,
    };
    let scratch_error = |source| HookError::Scratch {
        kind,
        path: path.clone(),
        source,
    };
    let mut stdin = scratch_file().map_err(scratch_error)?;
    stdin.write_all(state_json).map_err(scratch_error)?;
    stdin.seek(SeekFrom::Start(0)).map_err(scratch_error)?;
    let mut stderr = scratch_file().map_err(scratch_error)?;
    let stdout = scratch_file().map_err(scratch_error)?;
    let stderr_for_hook = stderr.try_clone().map_err(scratch_error)?;

    let mut cmd = command(hook);
    cmd.stdin(Stdio::from(stdin))
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr_for_hook))
        .process_group(0);
    tracing::debug!(kind = kind.name(), path = %path.display(), "running hook");
    let mut child = cmd.spawn().map_err(|source| HookError::Spawn {
        kind,
        path: path.clone(),
        source,
    })?;
    let wait_error = |source| HookError::Wait {
        kind,
        path: path.clone(),
        source,
    };
    if let Some(secs) = timeout {
        let pidfd = raw::pidfd_open(child.id()).map_err(wait_error)?;
        let limit = Duration::from_secs(u64::try_from(secs).unwrap_or(u64::MAX));
        if !raw::wait_exit(&pidfd, limit).map_err(wait_error)? {
            // The child is not reaped yet, so its pid (= its group's id)
            // cannot have been reused.
            if let Err(e) = raw::kill_group(child.id()) {
                tracing::debug!("killing the hook's process group: {e}");
            }
            child.wait().map_err(wait_error)?;
            return Err(HookError::TimedOut { kind, path, secs });
        }
    }
    let status = child.wait().map_err(wait_error)?;
    if status.success() {
        return Ok(());
    }
    Err(HookError::Failed {
        kind,
        status: describe(status),
        stderr: last_lines(&mut stderr),
        path,
    })
}

/// The hook's command: `path` run with argv exactly `args` (args[0] as
/// argv[0], or the path when there are no args) and only `env`.
fn command(hook: &Hook) -> Command {
    let mut cmd = Command::new(hook.path());
    let args = hook.args().as_deref().unwrap_or_default();
    if let Some((argv0, rest)) = args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for entry in hook.env().iter().flatten() {
        match entry.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                cmd.env(k, v);
            }
            _ => tracing::debug!(entry, "hook env entry without NAME= skipped"),
        }
    }
    cmd
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => status.to_string(),
    }
}

/// The last lines of what the hook wrote to `stderr`, on one line.
fn last_lines(stderr: &mut File) -> String {
    let mut text = Vec::new();
    if stderr.seek(SeekFrom::Start(0)).is_err() || stderr.read_to_end(&mut text).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(STDERR_LINES)..].join(" | ")
}

/// A fresh temporary file, already unlinked.
fn scratch_file() -> std::io::Result<File> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    loop {
        let name = format!(
            "ward-hook-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let path: PathBuf = std::env::temp_dir().join(name);
        match File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => {
                std::fs::remove_file(&path)?;
                return Ok(f);
            }
            // Left by an earlier process with our pid: take the next name.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
