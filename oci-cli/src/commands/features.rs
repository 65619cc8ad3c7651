//! `ward features`: what ward accepts, as the runtime spec's features JSON.

use anyhow::{Context, Result};
use clap::Args;

#[derive(Args)]
#[command(about = "Print the OCI runtime features ward supports, as JSON")]
pub struct FeaturesArgs {}

pub fn run(_a: FeaturesArgs) -> Result<i32> {
    let doc = serde_json::to_string_pretty(&oci_cli::features::features())
        .context("encoding the features")?;
    println!("{doc}");
    Ok(0)
}
