//! `ward-bench`: builds the small C workloads in `workloads/`, runs each
//! natively, under `ward do` on every platform this ward offers, under
//! `runsc do` and under runc when they are installed, interleaving the
//! runtimes run by run, and prints the medians as a markdown table with
//! ratios (plus every raw sample as JSON on request). It also measures the
//! floors of the trap mechanisms on this machine.
//!
//! It judges runtimes from the outside only: it never links against the
//! sandbox it measures. Benchmarks are not tests: nothing here asserts a
//! timing.

mod cli;
mod exec;
mod report;
mod rss;
mod run;
mod runc;
mod runtimes;
mod stats;
mod sys;
mod table;
mod workloads;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match run::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ward-bench: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
