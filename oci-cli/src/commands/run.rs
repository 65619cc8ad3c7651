//! `ward run [--bundle DIR] [--detach] [--pid-file F] [--console-socket S] ID`:
//! create and start; without --detach, wait for the container's init and
//! exit with its status, then delete the container (as runc run does).

use anyhow::{Context, Result};
use clap::Args;

use super::common::Oci;
use super::create::CreateArgs;

#[derive(Args)]
#[command(about = "Create and start a container, and wait for it unless --detach")]
pub struct RunArgs {
    /// Do not wait for the container.
    #[arg(long, short = 'd')]
    pub detach: bool,
    #[command(flatten)]
    pub create: CreateArgs,
}

pub fn run(a: RunArgs, oci: &Oci) -> Result<i32> {
    let created = super::create::create(&a.create, oci, !a.detach)?;
    let id = a.create.id.clone();
    if let Err(e) = super::start::start(&id, oci) {
        let _ = super::delete::delete(&id, true, oci);
        return Err(e);
    }
    if a.detach {
        return Ok(0);
    }
    // Signals sent to ward go to the host process, which passes them on.
    let mut proxy = created.proxy;
    let pid = proxy.id() as i32;
    oci_cli::signals::block(&oci_cli::sandbox::proxy::PASSED_ON).context("blocking signals")?;
    oci_cli::signals::watch(&oci_cli::sandbox::proxy::PASSED_ON, move |sig, _| {
        // SAFETY: kill takes plain integers; the host process is our child.
        unsafe {
            libc::kill(pid, sig);
        }
    })
    .context("starting the signal thread")?;
    let status = proxy.wait().context("waiting for the container")?;
    let _ = super::delete::delete(&id, true, oci);
    use std::os::unix::process::ExitStatusExt;
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        _ => 125,
    })
}
