//! `ward update [--resources FILE | --memory … --pids-limit …] ID`: changes
//! the resources of the container's sandbox (its cgroup), as runc update.

use anyhow::{Context, Result};
use clap::Args;
use oci_cli::cgroups::{resources_from_update, UpdateFlags};

use super::common::Oci;

#[derive(Args)]
#[command(about = "Change the resources of a container's sandbox")]
pub struct UpdateArgs {
    #[command(flatten)]
    pub flags: UpdateFlags,
    pub id: String,
}

pub fn run(a: UpdateArgs, oci: &Oci) -> Result<i32> {
    let resources = resources_from_update(&a.flags)?;
    let locked = oci.root.lock(&a.id)?;
    let record = locked.record()?;
    let cg = super::pause::sandbox_cgroup(&record, oci)?
        .with_context(|| format!("container {} has no cgroup", a.id))?;
    cg.apply(&resources)?;
    Ok(0)
}
