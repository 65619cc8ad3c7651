//! The escape suite (`--escapes`): attacks on the sandbox's walls, each of
//! which must fail inside the sandbox while it works natively. The C
//! programs in `escapes/` are built like the conformance cases (dynamic and
//! static) and run natively and under the runtime with a unique tag and the
//! pid of a victim sleeper this runner starts; the host is then searched
//! for the tag's marker files. The table shows each attack natively
//! (ESCAPED, or "n/a" where natively there is no wall) and in the sandbox
//! (HELD, or a known failure listed in `known.rs`, reported loudly).
//!
//! Every native effect stays in `/tmp/TAG-*` (removed after each run) and
//! in the runner's own victim process (killed at the end).

mod host;
mod judge;
mod known;
mod lines;

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::thread;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::cases::{self, Builder, Built, Program};
use crate::cli::Args;
use crate::exec::{self, Termination};
use crate::pool;
use crate::runtime::{self, Runtime};
use crate::sys;
use judge::{Cell, Run};

/// A host process of the runner's own for the attacks on host processes
/// to aim at; killed and reaped on drop.
struct Victim(Child);

impl Victim {
    fn start() -> Result<Self> {
        let child = Command::new("sleep")
            .arg("3600")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start the victim process (sleep)")?;
        Ok(Self(child))
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One attack's row in the table.
struct Row {
    program: String,
    attack: String,
    native: Cell,
    sandbox: Option<Cell>,
    native_detail: String,
    sandbox_detail: String,
}

impl Row {
    fn ok(&self) -> bool {
        self.native.ok && self.sandbox.as_ref().is_none_or(|c| c.ok)
    }
}

/// One program's rows and its run-level problems.
struct ProgramResult {
    rows: Vec<Row>,
    problems: Vec<String>,
}

/// Runs the escape suite as `args` asks; exit 0 only when every attack is
/// as required (or with `--report-only`).
pub fn run(args: &Args) -> Result<ExitCode> {
    let programs = cases::discover(&args.escapes_dir, &args.filter)?;
    if args.list {
        let mut out = io::stdout().lock();
        for p in &programs {
            writeln!(out, "{}", p.name())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if programs.is_empty() {
        bail!(
            "no escape program in {} matches the filter {:?}",
            args.escapes_dir.display(),
            args.filter
        );
    }
    let runtime = runtime::resolve(args.native_only, args.runtime.as_deref())?;
    let build_dir = match &args.build {
        Some(dir) => dir.clone(),
        None => runtime::default_build_dir()?.join("escapes"),
    };
    let builder = Builder::new(args.cc.clone(), &build_dir, &args.escapes_dir)?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()));
    let timeout = Duration::from_secs(args.timeout);
    let victim = Victim::start()?;
    println!(
        "# escapes: {} programs, runtime: {}, victim pid {}, {jobs} jobs",
        programs.len(),
        runtime.describe(),
        victim.pid()
    );
    let indexed: Vec<(usize, &Program)> = programs.iter().enumerate().collect();
    let results = pool::map(jobs, &indexed, |(i, p)| {
        check(&builder, &runtime, timeout, victim.pid(), *i, p)
    })
    .into_iter()
    .collect::<Result<Vec<_>>>()?;
    drop(victim);
    let failed = write_report(&mut io::stdout().lock(), &results, args.quiet)
        .context("cannot write the report")?;
    Ok(if failed == 0 || args.report_only {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Builds one program, runs it natively and under the runtime, and judges.
fn check(
    builder: &Builder,
    runtime: &Runtime,
    timeout: Duration,
    victim: u32,
    index: usize,
    program: &Program,
) -> Result<ProgramResult> {
    let name = program.name();
    let path = match builder.build(program)? {
        Built::Binary(path) => path,
        Built::CompileError(why) => {
            return Ok(ProgramResult {
                rows: Vec::new(),
                problems: vec![format!("{name}: {why}")],
            })
        }
    };
    let native = run_once(None, &path, victim, &host::tag(index, false), timeout)?;
    let sandbox = match runtime.command(&path) {
        Some(prefix) => Some(run_once(
            Some(prefix),
            &path,
            victim,
            &host::tag(index, true),
            timeout,
        )?),
        None => None,
    };
    Ok(combine(&name, &native, sandbox.as_ref()))
}

/// One run of `binary` (behind `prefix` when sandboxed), judged against the
/// host, whose `/tmp/TAG-*` entries are then removed.
fn run_once(
    prefix: Option<Vec<OsString>>,
    binary: &Path,
    victim: u32,
    tag: &str,
    timeout: Duration,
) -> Result<Run> {
    let sandboxed = prefix.is_some();
    let mut argv = prefix.unwrap_or_else(|| vec![binary.as_os_str().to_owned()]);
    argv.push(tag.into());
    argv.push(victim.to_string().into());
    let outcome = exec::run(&argv, timeout);
    let ending = match &outcome.termination {
        Termination::Exited(0) => None,
        Termination::Exited(code) => Some(format!("exited with status {code}")),
        Termination::Signaled(sig) => Some(format!("killed by {}", sys::signal_name(*sig))),
        Termination::TimedOut(d) => Some(format!("timed out after {}s", d.as_secs())),
        Termination::Failed(why) => Some(why.clone()),
    }
    .map(|e| match outcome.stderr.lines().last() {
        Some(last) => format!("{e} (stderr: {last})"),
        None => e,
    });
    let leftovers = host::leftovers(tag).context("cannot list /tmp")?;
    let report = lines::parse(&outcome.stdout);
    let counted: &[PathBuf] = if sandboxed { &leftovers } else { &[] };
    let run = judge::observe(&report, |m| host::marker_exists(m, tag), counted, ending);
    host::remove(&leftovers, tag).with_context(|| format!("cannot remove /tmp/{tag}-*"))?;
    Ok(run)
}

/// The rows of one program: every attack either run reported, in order.
fn combine(program: &str, native: &Run, sandbox: Option<&Run>) -> ProgramResult {
    let mut names: Vec<&str> = native.attacks.iter().map(|a| a.name.as_str()).collect();
    for a in sandbox.iter().flat_map(|s| s.attacks.iter()) {
        if !names.contains(&a.name.as_str()) {
            names.push(&a.name);
        }
    }
    let find = |run: &Run, name: &str| run.attacks.iter().find(|a| a.name == name).cloned();
    let rows = names
        .iter()
        .map(|name| {
            let n = find(native, name);
            let s = sandbox.and_then(|run| find(run, name));
            Row {
                program: program.to_string(),
                attack: name.to_string(),
                native: judge::native_cell(n.as_ref()),
                sandbox: sandbox.map(|_| judge::sandbox_cell(name, s.as_ref())),
                native_detail: n.map(|o| o.detail).unwrap_or_default(),
                sandbox_detail: s.map(|o| o.detail).unwrap_or_default(),
            }
        })
        .collect();
    let mut problems: Vec<String> = native
        .problems
        .iter()
        .map(|p| format!("{program} natively: {p}"))
        .collect();
    if let Some(s) = sandbox {
        problems.extend(
            s.problems
                .iter()
                .map(|p| format!("{program} in the sandbox: {p}")),
        );
    }
    ProgramResult { rows, problems }
}

/// Writes the failures (and, unless `quiet`, every attack's details), the
/// table, and the totals line last; returns the number of failures.
fn write_report(out: &mut impl Write, results: &[ProgramResult], quiet: bool) -> io::Result<usize> {
    let rows: Vec<&Row> = results.iter().flat_map(|r| r.rows.iter()).collect();
    let problems: Vec<&String> = results.iter().flat_map(|r| r.problems.iter()).collect();
    for row in &rows {
        let id = format!("{}:{}", row.program, row.attack);
        if !row.native.ok {
            writeln!(
                out,
                "FAIL-NATIVE      {id} {} :: {}",
                row.native.shown, row.native_detail
            )?;
        }
        if let Some(cell) = &row.sandbox {
            if !cell.ok {
                writeln!(
                    out,
                    "FAIL-IN-SANDBOX  {id} {} :: {}",
                    cell.shown, row.sandbox_detail
                )?;
            } else if cell.shown.starts_with("ESCAPED") || cell.known_now_holds {
                writeln!(
                    out,
                    "KNOWN            {id} {} :: {}",
                    cell.shown, row.sandbox_detail
                )?;
            } else if !quiet {
                writeln!(out, "held             {id} :: {}", row.sandbox_detail)?;
            }
        } else if !quiet && row.native.ok {
            writeln!(
                out,
                "native           {id} {} :: {}",
                row.native.shown, row.native_detail
            )?;
        }
    }
    for p in &problems {
        writeln!(out, "FAIL-RUN         {p}")?;
    }
    let pw = rows
        .iter()
        .map(|r| r.program.len())
        .max()
        .unwrap_or(0)
        .max(7);
    let aw = rows
        .iter()
        .map(|r| r.attack.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let nw = rows
        .iter()
        .map(|r| r.native.shown.len())
        .max()
        .unwrap_or(0)
        .max(6);
    writeln!(out)?;
    writeln!(
        out,
        "{:<pw$}  {:<aw$}  {:<nw$}  sandbox",
        "program", "attack", "native"
    )?;
    let (mut held, mut known, mut native_only, mut failed) = (0, 0, 0, problems.len());
    for row in &rows {
        let sandbox = row.sandbox.as_ref().map_or("-", |c| c.shown.as_str());
        writeln!(
            out,
            "{:<pw$}  {:<aw$}  {:<nw$}  {sandbox}",
            row.program, row.attack, row.native.shown
        )?;
        if !row.ok() {
            failed += 1;
        } else if row.sandbox.is_none() {
            native_only += 1;
        } else if sandbox.starts_with("ESCAPED") {
            known += 1;
        } else {
            held += 1;
        }
    }
    writeln!(out)?;
    if native_only > 0 {
        writeln!(
            out,
            "{} attacks: {native_only} as required natively, {failed} failed",
            rows.len()
        )?;
    } else {
        writeln!(
            out,
            "{} attacks: {held} held, {known} known escapes, {failed} failed",
            rows.len()
        )?;
    }
    Ok(failed)
}
