//! The command-line surface of `ward-bench`: flags and their defaults,
//! nothing else.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

/// Runs the workloads natively, under ward (each platform), runsc and runc,
/// and prints the medians side by side as a markdown table.
#[derive(Debug, Parser)]
#[command(name = "ward-bench", version)]
pub struct Args {
    /// Short runs, five per cell: the whole bench in under two minutes.
    #[arg(long)]
    pub quick: bool,

    /// Only workloads whose name contains SUBSTR ("getpid", "fork",
    /// "floor"); may be repeated. `--list` shows the names.
    #[arg(long, value_name = "SUBSTR")]
    pub filter: Vec<String>,

    /// Also write every raw sample, as JSON, to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Runs per cell, at least 5 [default: 5 with --quick, 9 otherwise].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(5..))]
    pub runs: Option<u32>,

    /// Milliseconds each workload run repeats its operation for
    /// [default: 40 with --quick, 250 otherwise].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub min_ms: Option<u64>,

    /// Seconds one run may take before it is killed and its cell is "err".
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// Where to build the workloads [default: <target dir>/ward-bench].
    #[arg(long, value_name = "DIR")]
    pub build: Option<PathBuf>,

    /// Where the workload sources (*.c, bench.h) are.
    #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads"))]
    pub workloads: PathBuf,

    /// The C compiler.
    #[arg(long, value_name = "CMD", default_value = "cc")]
    pub cc: OsString,

    /// List the workloads and exit.
    #[arg(long)]
    pub list: bool,
}

impl Args {
    /// Runs per cell.
    pub fn runs(&self) -> u32 {
        self.runs.unwrap_or(if self.quick { 5 } else { 9 })
    }

    /// Milliseconds per workload run.
    pub fn min_ms(&self) -> u64 {
        self.min_ms.unwrap_or(if self.quick { 40 } else { 250 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn quick_means_five_short_runs() {
        let args = Args::parse_from(["ward-bench", "--quick"]);
        assert_eq!(args.runs(), 5);
        assert_eq!(args.min_ms(), 40);
    }

    #[test]
    fn explicit_runs_override_the_default() {
        let args = Args::parse_from(["ward-bench", "--quick", "--runs", "7"]);
        assert_eq!(args.runs(), 7);
    }

    #[test]
    fn fewer_than_five_runs_are_refused() {
        assert!(Args::try_parse_from(["ward-bench", "--runs", "3"]).is_err());
    }

    #[test]
    fn filters_repeat() {
        let args = Args::parse_from(["ward-bench", "--filter", "fork", "--filter", "pipe"]);
        assert_eq!(args.filter, ["fork", "pipe"]);
    }
}
