//! `ward kill [--all] ID [SIGNAL]`: sends a signal (name or number,
//! default SIGTERM) to the container's init, or with --all to every
//! process of it. A paused sandbox is thawed for the delivery.

use anyhow::{bail, Result};
use clap::Args;
use oci_cli::sandbox::client;
use oci_cli::state::Status;
use sentry::control::protocol::{Request, SignalTarget};

use super::common::{parse_signal, Oci};

#[derive(Args)]
#[command(about = "Send a signal to a container's init (or all its processes)")]
pub struct KillArgs {
    /// Signal every process of the container.
    #[arg(long, short = 'a')]
    pub all: bool,
    pub id: String,
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

pub fn run(a: KillArgs, oci: &Oci) -> Result<i32> {
    let sig = parse_signal(&a.signal)?;
    let record = oci.root.read(&a.id)?;
    let status = record.current_status();
    if status == Status::Stopped {
        bail!("container not running");
    }
    let target = if a.all {
        SignalTarget::All
    } else {
        SignalTarget::Init
    };
    let req = Request::Signal {
        id: a.id.clone(),
        target,
        signal: sig,
    };
    let frozen = if status == Status::Paused {
        super::pause::sandbox_cgroup(&record, oci)?
    } else {
        None
    };
    if let Some(cg) = &frozen {
        cg.thaw()?;
    }
    let r = client::call(&record.control, &req);
    if let Some(cg) = &frozen {
        if sig != libc::SIGKILL {
            cg.freeze()?;
        }
    }
    r?;
    Ok(0)
}
