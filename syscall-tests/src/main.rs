//! `ward-syscall-tests`: the syscall conformance runner. It builds the C
//! cases in `cases/` (dynamic and static), runs each natively and under a
//! runtime such as `ward do` or `runsc do`, and compares them case by case.
//!
//! With `--escapes` it runs the escape suite (`escapes/`) instead: attacks
//! on the sandbox's walls that must fail inside and work natively.
//!
//! It judges runtimes from the outside only: it never links against or
//! reaches into the sandbox it measures.

mod cases;
mod cli;
mod compare;
mod escapes;
mod exec;
mod pool;
mod report;
mod runtime;
mod suite;
mod sys;
mod tap;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match suite::run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ward-syscall-tests: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
