//! `ward proxy` (hidden): a container's or exec'd process's host process;
//! see `oci_cli::sandbox::proxy`.

use anyhow::Result;
use clap::Args;
use oci_cli::launch::LogFlags;

#[derive(Args)]
pub struct ProxyArgs {}

pub fn run(_a: ProxyArgs, flags: &LogFlags) -> Result<i32> {
    oci_cli::sandbox::proxy::run(flags)
}
