//! `ward [--root DIR] list [--format table|json] [--quiet]`: the containers
//! under the state root, in runc's layouts.

use std::path::Path;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use oci_cli::state::{listing, StateRoot};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Args)]
#[command(about = "List the containers under --root")]
pub struct ListArgs {
    /// Output layout.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Only the container ids.
    #[arg(long, short = 'q')]
    quiet: bool,
}

pub fn run(a: ListArgs, root: &Path) -> Result<i32> {
    let records = StateRoot::new(root)
        .list()
        .with_context(|| format!("listing containers in {}", root.display()))?;
    let out = match (a.quiet, a.format) {
        (true, _) => listing::quiet(&records),
        (false, Format::Table) => listing::table(&records),
        (false, Format::Json) => listing::json(&records) + "\n",
    };
    print!("{out}");
    Ok(0)
}
