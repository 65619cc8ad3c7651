//! The command-line surface of `ward-syscall-tests`: flags and their
//! defaults, nothing else.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

/// Builds the C conformance cases, runs each natively and under a runtime,
/// and compares the results case by case.
#[derive(Debug, Parser)]
#[command(name = "ward-syscall-tests", version)]
pub struct Args {
    /// Runtime command prefix, split on whitespace: "ward do",
    /// "runsc --network=none do"; "" means native runs only. Default: the
    /// ward binary next to this runner (or $WARD_BIN) with "do".
    #[arg(long, value_name = "CMD")]
    pub runtime: Option<String>,

    /// Run the cases natively only (checks the cases themselves).
    #[arg(long, conflicts_with = "runtime")]
    pub native_only: bool,

    /// Where to build the case binaries [default: <target dir>/syscall-tests].
    #[arg(long, value_name = "DIR")]
    pub build: Option<PathBuf>,

    /// Where the case sources (*.c, tap.h) are.
    #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/cases"))]
    pub cases: PathBuf,

    /// Run the escape suite instead of the conformance cases: attacks that
    /// must fail in the sandbox and (most of them) work natively.
    #[arg(long)]
    pub escapes: bool,

    /// Where the escape programs (*.c, escape.h) are.
    #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/escapes"))]
    pub escapes_dir: PathBuf,

    /// The C compiler.
    #[arg(long, value_name = "CMD", default_value = "cc")]
    pub cc: OsString,

    /// Seconds each run may take before it is killed and failed.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// Programs built and run at once [default: number of CPUs].
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,

    /// Only programs whose name (e.g. "openat.dyn") contains SUBSTR;
    /// may be repeated.
    #[arg(long, value_name = "SUBSTR")]
    pub filter: Vec<String>,

    /// List the selected programs and exit.
    #[arg(long)]
    pub list: bool,

    /// Print only failures, the table and the totals.
    #[arg(long, short)]
    pub quiet: bool,

    /// Exit 0 even when cases fail (to measure other runtimes).
    #[arg(long)]
    pub report_only: bool,
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
    fn defaults_are_thirty_seconds_and_cc() {
        let args = Args::parse_from(["ward-syscall-tests"]);
        assert_eq!(args.timeout, 30);
        assert_eq!(args.cc, "cc");
        assert!(args.runtime.is_none());
    }

    #[test]
    fn runtime_and_filters_parse() {
        let args = Args::parse_from([
            "ward-syscall-tests",
            "--runtime",
            "runsc --network=none do",
            "--filter",
            "mmap",
            "--filter",
            ".static",
            "--report-only",
        ]);
        assert_eq!(args.runtime.as_deref(), Some("runsc --network=none do"));
        assert_eq!(args.filter, vec!["mmap", ".static"]);
        assert!(args.report_only);
    }

    #[test]
    fn native_only_conflicts_with_a_runtime() {
        assert!(Args::try_parse_from(["x", "--native-only", "--runtime", "ward do"]).is_err());
    }
}
