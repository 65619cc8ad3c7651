//! `ward pause ID` / `ward resume ID`: freeze and thaw the whole sandbox
//! the container runs in (its cgroup's freezer: the sentry, its stubs and
//! gofers stop together).

use anyhow::{bail, Context, Result};
use clap::Args;
use oci_cli::cgroups::Cgroup;
use oci_cli::state::{ContainerRecord, Status};

use super::common::Oci;

#[derive(Args)]
#[command(about = "Freeze the container's whole sandbox")]
pub struct PauseArgs {
    pub id: String,
}

#[derive(Args)]
#[command(about = "Thaw a paused container's sandbox")]
pub struct ResumeArgs {
    pub id: String,
}

/// The cgroup of the sandbox `record` runs in, if it has one.
pub fn sandbox_cgroup(record: &ContainerRecord, oci: &Oci) -> Result<Option<Cgroup>> {
    let path = if record.sandbox_id == record.id {
        record.cgroup.clone()
    } else {
        oci.root.read(&record.sandbox_id).ok().and_then(|r| r.cgroup)
    };
    match path {
        Some(p) => Ok(Some(
            Cgroup::load(&p).with_context(|| format!("cgroup {p}"))?,
        )),
        None => Ok(None),
    }
}

pub fn pause(a: PauseArgs, oci: &Oci) -> Result<i32> {
    let locked = oci.root.lock(&a.id)?;
    let mut record = locked.record()?;
    match record.current_status() {
        Status::Running => {}
        Status::Paused => bail!("container {} is already paused", a.id),
        s => bail!("container {} is not running: {}", a.id, s.as_str()),
    }
    let cg = sandbox_cgroup(&record, oci)?
        .with_context(|| format!("container {} has no cgroup to freeze", a.id))?;
    cg.freeze()?;
    record.status = Status::Paused;
    locked.save(&record)?;
    Ok(0)
}

pub fn resume(a: ResumeArgs, oci: &Oci) -> Result<i32> {
    let locked = oci.root.lock(&a.id)?;
    let mut record = locked.record()?;
    if record.current_status() != Status::Paused {
        bail!("container {} is not paused", a.id);
    }
    let cg = sandbox_cgroup(&record, oci)?
        .with_context(|| format!("container {} has no cgroup to thaw", a.id))?;
    cg.thaw()?;
    record.status = Status::Running;
    locked.save(&record)?;
    Ok(0)
}
