//! `ward start ID`: lets a created container's init run (after the
//! startContainer hooks; poststart hooks follow).

use anyhow::{bail, Result};
use clap::Args;
use oci_cli::hooks::{self, HookKind};
use oci_cli::sandbox::client;
use oci_cli::state::Status;
use sentry::control::protocol::Request;

use super::common::Oci;

#[derive(Args)]
#[command(about = "Start a created container")]
pub struct StartArgs {
    pub id: String,
}

pub fn run(a: StartArgs, oci: &Oci) -> Result<i32> {
    start(&a.id, oci)?;
    Ok(0)
}

pub fn start(id: &str, oci: &Oci) -> Result<()> {
    let locked = oci.root.lock(id)?;
    let mut record = locked.record()?;
    match record.current_status() {
        Status::Created => {}
        Status::Stopped => bail!("cannot start a container that has stopped"),
        Status::Running | Status::Paused => bail!("cannot start an already running container"),
        Status::Creating => bail!("container {id} is still being created"),
    }
    let hooks_of = oci_cli::bundle::load(&record.bundle)
        .ok()
        .and_then(|b| b.spec.hooks().clone());
    let state = serde_json::to_vec(&record.oci_state())?;
    if let Some(h) = &hooks_of {
        hooks::run(
            HookKind::StartContainer,
            h.start_container().as_deref().unwrap_or(&[]),
            &state,
        )?;
    }
    client::call(&record.control, &Request::Start { id: id.to_string() })?;
    record.status = Status::Running;
    locked.save(&record)?;
    if let Some(h) = &hooks_of {
        let state = serde_json::to_vec(&record.oci_state())?;
        // As the runtime spec says: a failing poststart hook is logged,
        // the container keeps running.
        if let Err(e) = hooks::run(
            HookKind::Poststart,
            h.poststart().as_deref().unwrap_or(&[]),
            &state,
        ) {
            tracing::warn!("{e}");
            eprintln!("ward: warning: {e}");
        }
    }
    Ok(())
}
