//! One whole conformance run: select and build the programs, run each
//! natively and under the runtime (in parallel), compare, and report.
//!
//! The only place that ties the other modules together; it decides the
//! exit status but leaves printing errors to `main`.

use std::io::{self, Write};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::cases::{self, Builder, Built, Program};
use crate::cli::Args;
use crate::compare::{self, RunResult};
use crate::escapes;
use crate::exec;
use crate::pool;
use crate::report::{self, ProgramReport};
use crate::runtime::{self, Runtime};

/// Runs the suite as `args` asks; the exit code is 0 only when nothing
/// failed (or with `--report-only`).
pub fn run(args: &Args) -> Result<ExitCode> {
    if args.escapes {
        return escapes::run(args);
    }
    let programs = cases::discover(&args.cases, &args.filter)?;
    if args.list {
        let mut out = io::stdout().lock();
        for p in &programs {
            writeln!(out, "{}", p.name())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if programs.is_empty() {
        bail!(
            "no case in {} matches the filter {:?}",
            args.cases.display(),
            args.filter
        );
    }
    let runtime = runtime::resolve(args.native_only, args.runtime.as_deref())?;
    let build_dir = match &args.build {
        Some(dir) => dir.clone(),
        None => runtime::default_build_dir()?,
    };
    let builder = Builder::new(args.cc.clone(), &build_dir, &args.cases)?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()));
    let timeout = Duration::from_secs(args.timeout);
    if !args.quiet {
        println!(
            "# {} programs, runtime: {}, build dir: {}, {jobs} jobs",
            programs.len(),
            runtime.describe(),
            builder.build_dir.display()
        );
    }

    let reports = pool::map(jobs, &programs, |p| check(&builder, &runtime, timeout, p))
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    let totals = report::write(&mut io::stdout().lock(), &reports, args.quiet)
        .context("cannot write the report")?;
    Ok(if totals.failed == 0 || args.report_only {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Builds one program, runs it natively and under the runtime, compares.
fn check(
    builder: &Builder,
    runtime: &Runtime,
    timeout: Duration,
    program: &Program,
) -> Result<ProgramReport> {
    let name = program.name();
    let (native, sandbox) = match builder.build(program)? {
        Built::CompileError(why) => (RunResult::failed(why), None),
        Built::Binary(path) => {
            let native =
                RunResult::from_outcome(&exec::run(&[path.clone().into_os_string()], timeout));
            let sandbox = runtime
                .command(&path)
                .map(|argv| RunResult::from_outcome(&exec::run(&argv, timeout)));
            (native, sandbox)
        }
    };
    Ok(ProgramReport {
        verdicts: compare::compare(&name, &native, sandbox.as_ref()),
        program: name,
    })
}
