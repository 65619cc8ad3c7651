//! `ward update`: new memory, cpu and pids limits for a running container's
//! sandbox, from runc update's flags or a resources JSON file.

use anyhow::{Context, Result};
use clap::Args;
use oci_cli::cgroups::{resources_from_update, Cgroup, UpdateFlags};

#[derive(Args)]
#[command(about = "Update the resource limits of a container's sandbox")]
pub struct UpdateArgs {
    #[command(flatten)]
    pub flags: UpdateFlags,
    /// The container's id.
    pub id: String,
}

pub fn run(args: UpdateArgs, cgroup: &Cgroup) -> Result<i32> {
    let resources = resources_from_update(&args.flags).context("reading the new resources")?;
    cgroup
        .apply(&resources)
        .with_context(|| format!("updating the resources of container {}", args.id))?;
    Ok(0)
}
