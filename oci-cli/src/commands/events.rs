//! `ward events [--stats] [--interval D] ID`: the sandbox's resource use
//! from its cgroup, as runc prints it: once with --stats, else one line
//! every interval until the container stops.

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use oci_cli::state::Status;

use super::common::Oci;

#[derive(Args)]
#[command(about = "Show a container's resource use (once with --stats, else every --interval)")]
pub struct EventsArgs {
    /// Print the statistics once and exit.
    #[arg(long)]
    pub stats: bool,
    /// Time between lines ("5s", "500ms", "1m").
    #[arg(long, default_value = "5s")]
    pub interval: String,
    pub id: String,
}

fn parse_interval(s: &str) -> Result<Duration> {
    let bad = || anyhow!("--interval {s}: expected a duration such as 5s, 500ms or 1m");
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| s.split_at(i))
        .unwrap_or((s, "s"));
    let n: u64 = num.parse().map_err(|_| bad())?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => return Err(bad()),
    };
    if d.is_zero() {
        return Err(bad());
    }
    Ok(d)
}

pub fn run(a: EventsArgs, oci: &Oci) -> Result<i32> {
    let interval = parse_interval(&a.interval)?;
    let record = oci.root.read(&a.id)?;
    let cg = super::pause::sandbox_cgroup(&record, oci)?
        .with_context(|| format!("container {} has no cgroup", a.id))?;
    loop {
        let stats = cg.stats()?;
        println!("{}", oci_cli::cgroups::events_stats_json(&a.id, &stats));
        if a.stats {
            return Ok(0);
        }
        std::thread::sleep(interval);
        match oci.root.read(&a.id) {
            Ok(r) if r.current_status() != Status::Stopped => {}
            _ => return Ok(0),
        }
    }
}
