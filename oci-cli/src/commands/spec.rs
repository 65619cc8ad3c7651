//! `ward spec [--bundle DIR] [--rootless]`: write a starting config.json.

use std::io::{ErrorKind, Write};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use oci_cli::bundle::{template, CONFIG_FILE};

#[derive(Args)]
#[command(about = "Write a starting config.json (a shell on a terminal in ./rootfs)")]
pub struct SpecArgs {
    /// The bundle directory to write config.json in.
    #[arg(long, short = 'b', value_name = "DIR", default_value = ".")]
    bundle: PathBuf,
    /// A config for an unprivileged user: root in a user namespace mapped
    /// to the caller, and no network namespace.
    #[arg(long)]
    rootless: bool,
}

pub fn run(a: SpecArgs) -> Result<i32> {
    let rootless = if a.rootless {
        let me = std::fs::metadata("/proc/self").context("reading this process's uid and gid")?;
        Some((me.uid(), me.gid()))
    } else {
        None
    };
    let spec = template::starter_spec(rootless);
    let text = serde_json::to_string_pretty(&spec).context("encoding the config")?;
    let path = a.bundle.join(CONFIG_FILE);
    let mut file = match std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            bail!("{} exists: remove it first", path.display())
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(0)
}
