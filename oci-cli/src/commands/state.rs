//! `ward [--root DIR] state ID`: a container's state, as the runtime spec's
//! state JSON.

use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use oci_cli::state::{StateError, StateRoot};

#[derive(Args)]
#[command(about = "Print a container's state as JSON")]
pub struct StateArgs {
    /// The container's id.
    id: String,
}

pub fn run(a: StateArgs, root: &Path) -> Result<i32> {
    let record = match StateRoot::new(root).read(&a.id) {
        Ok(r) => r,
        Err(e @ StateError::NotFound(_)) => {
            // runc's exit status for a missing container, which callers test.
            eprintln!("ward: {e}");
            return Ok(1);
        }
        Err(e) => return Err(e).with_context(|| format!("reading the state of {}", a.id)),
    };
    let text = serde_json::to_string_pretty(&record.oci_state()).context("encoding the state")?;
    println!("{text}");
    Ok(0)
}
