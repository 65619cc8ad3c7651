//! `ward ps [--format table|json] ID`: the container's processes as the
//! sandbox sees them. In JSON (what containerd's shim reads) the init is
//! given by its host process's pid, the one the pid file names, so a shim
//! can match it; other processes by their sandbox pids.

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use oci_cli::sandbox::client;
use oci_cli::state::Status;
use sentry::control::protocol::{Reply, Request};

use super::common::Oci;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Args)]
#[command(about = "List the processes of a container")]
pub struct PsArgs {
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
    pub id: String,
    /// ps(1) options: accepted, the table has a fixed layout.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

pub fn run(a: PsArgs, oci: &Oci) -> Result<i32> {
    let record = oci.root.read(&a.id)?;
    if record.current_status() == Status::Stopped {
        bail!("container {} is not running", a.id);
    }
    let reply = client::call(&record.control, &Request::Ps { id: a.id.clone() })?;
    let Reply::Ps { processes } = reply else {
        bail!("unexpected reply from the sandbox");
    };
    let init = {
        // The container's init: the one without a parent in the container.
        processes.iter().find(|p| p.ppid == 0).map(|p| p.pid)
    };
    match a.format {
        Format::Json => {
            let pids: Vec<i32> = processes
                .iter()
                .map(|p| if Some(p.pid) == init { record.pid } else { p.pid })
                .collect();
            println!("{}", serde_json::to_string(&pids)?);
        }
        Format::Table => {
            println!("{:<8} {:>8} {:>8} {:>3} {:>8} {:>8} CMD", "UID", "PID", "PPID", "C", "STIME", "TIME");
            for p in &processes {
                println!(
                    "{:<8} {:>8} {:>8} {:>3} {:>8} {:>8} {}",
                    p.uid,
                    p.pid,
                    p.ppid,
                    0,
                    format!("+{}s", p.start_secs),
                    format!("{}s", p.cpu_secs),
                    p.cmd
                );
            }
        }
    }
    Ok(0)
}
