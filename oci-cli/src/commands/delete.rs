//! `ward delete [--force] ID`: forgets a stopped (or created) container:
//! its processes are gone, a pod member is dropped from its sandbox, the
//! sandbox's cgroup is removed, poststop hooks run, and its state
//! directory goes. --force kills a running one first.

use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;
use oci_cli::hooks::{self, HookKind};
use oci_cli::sandbox::client;
use oci_cli::state::Status;
use sentry::control::protocol::{Request, SignalTarget};

use super::common::{wait_gone, Oci};

/// How long a killed container's host process may take to go.
const GONE_LIMIT: Duration = Duration::from_secs(10);

#[derive(Args)]
#[command(about = "Delete a container (--force: even a running one)")]
pub struct DeleteArgs {
    /// Kill the container first if it is running.
    #[arg(long, short = 'f')]
    pub force: bool,
    pub id: String,
}

pub fn run(a: DeleteArgs, oci: &Oci) -> Result<i32> {
    delete(&a.id, a.force, oci)?;
    Ok(0)
}

pub fn delete(id: &str, force: bool, oci: &Oci) -> Result<()> {
    let locked = oci.root.lock(id)?;
    let mut record = locked.record()?;
    let status = record.current_status();
    if matches!(status, Status::Running | Status::Paused) && !force {
        bail!(
            "cannot delete container {id} that is not stopped: {}",
            status.as_str()
        );
    }
    if status == Status::Paused {
        if let Some(cg) = super::pause::sandbox_cgroup(&record, oci)? {
            cg.thaw()?;
        }
    }
    let member = record.sandbox_id != record.id;
    if status != Status::Stopped {
        let req = Request::Signal {
            id: id.to_string(),
            target: SignalTarget::All,
            signal: libc::SIGKILL,
        };
        if let Err(e) = client::call(&record.control, &req) {
            tracing::debug!("killing {id}: {e}");
        }
        if !wait_gone(record.pid, record.pid_start, GONE_LIMIT) {
            // SAFETY: kill takes plain integers; `pid` is the container's
            // host process (start time checked by wait_gone).
            unsafe {
                libc::kill(record.pid, libc::SIGKILL);
            }
            wait_gone(record.pid, record.pid_start, GONE_LIMIT);
        }
    }
    if member {
        // The sandbox forgets it (its gofer connection closes with it).
        if let Err(e) = client::call(&record.control, &Request::Delete { id: id.to_string() }) {
            tracing::debug!("dropping {id} from its sandbox: {e}");
        }
    } else {
        // Its host process is gone, and with it the sentry; other
        // containers of the pod went with the sandbox.
        if let Some(path) = &record.cgroup {
            match oci_cli::cgroups::Cgroup::load(path) {
                Ok(cg) => {
                    if let Err(e) = cg.destroy() {
                        tracing::warn!("removing cgroup {path}: {e}");
                    }
                }
                Err(e) => tracing::debug!("cgroup {path}: {e}"),
            }
        }
    }
    record.status = Status::Stopped;
    if let Ok(b) = oci_cli::bundle::load(&record.bundle) {
        if let Some(h) = b.spec.hooks() {
            let state = serde_json::to_vec(&record.oci_state())?;
            if let Err(e) = hooks::run(
                HookKind::Poststop,
                h.poststop().as_deref().unwrap_or(&[]),
                &state,
            ) {
                tracing::warn!("{e}");
                eprintln!("ward: warning: {e}");
            }
        }
    }
    locked.remove()?;
    Ok(())
}
