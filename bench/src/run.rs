//! One bench run from start to end: build the workloads and data files,
//! find and probe the runtimes, measure every selected workload in rounds
//! that interleave the runtimes (native, ward-systrap, ward-ptrace, runsc,
//! runc, native, …), then print the table and notes and write the JSON.
//!
//! A runtime that fails marks its cell "err" and is not run again for that
//! workload; nothing a runtime does aborts the run.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::cli::Args;
use crate::exec::{self, Status, EXIT_NOT_APPLICABLE};
use crate::report::{CellRecord, FigureRecord, Report, RuntimeRecord};
use crate::rss;
use crate::runc::{self, Bundle, Contents};
use crate::runtimes::{self, Column, Files, Launcher, Runtime, Target};
use crate::stats::median;
use crate::table::{self, Cell, Floors, Row};
use crate::workloads::{self, Builder, Kind, Linkage, Workload};

/// What one run of one cell gave.
#[derive(Debug)]
enum Outcome {
    Sample(f64),
    NotApplicable(String),
    Failed(String),
}

/// Why a cell stopped being measured.
#[derive(Debug, Clone)]
enum End {
    Failed(String),
    NotApplicable(String),
    /// The runtime is absent.
    Absent,
    /// Not measured in this column by design.
    Blank,
}

#[derive(Debug, Default, Clone)]
struct CellState {
    samples: Vec<f64>,
    end: Option<End>,
}

/// Everything a measurement needs.
struct Bench {
    files: Files,
    min_ms: u64,
    timeout: Duration,
    /// Programs that did not build, per linkage, with the reason.
    build_errors: HashMap<(String, Linkage), String>,
}

pub fn run(args: &Args) -> Result<()> {
    let selected = workloads::select(&args.filter);
    if args.list {
        for w in &selected {
            println!("{:<24} {}", w.name, w.figure);
        }
        return Ok(());
    }
    if selected.is_empty() {
        bail!("no workload matches {:?} (see --list)", args.filter);
    }
    let started = Instant::now();
    let load = load_average();
    let build_dir = match &args.build {
        Some(dir) => dir.clone(),
        None => default_build_dir()?,
    };
    fs::create_dir_all(&build_dir)
        .with_context(|| format!("cannot create {}", build_dir.display()))?;
    let build_dir = build_dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", build_dir.display()))?;
    let builder = Builder::new(args.cc.clone(), &args.workloads, &build_dir)?;
    let files = prepare_files(&build_dir, &builder)?;
    let mut bench = Bench {
        files,
        min_ms: args.min_ms(),
        timeout: Duration::from_secs(args.timeout),
        build_errors: HashMap::new(),
    };
    progress(started, "building workloads");
    for program in programs(&selected) {
        if let Err(e) = builder.build(program, Linkage::Dynamic) {
            bench
                .build_errors
                .insert((program.to_string(), Linkage::Dynamic), format!("{e:#}"));
        }
    }
    progress(started, "finding runtimes");
    let runtimes = discover(&builder, &build_dir, &selected, &mut bench);
    for rt in &runtimes {
        let state = match &rt.launcher {
            Ok(_) => format!("ok ({})", rt.detail),
            Err(why) => format!("n/a: {why}"),
        };
        progress(started, &format!("  {}: {state}", rt.column.label()));
    }

    let runs = args.runs();
    let mut cells: Vec<[CellState; 5]> = Vec::new();
    for workload in &selected {
        progress(started, &format!("{} ({runs} runs)", workload.name));
        cells.push(measure_workload(workload, &runtimes, &bench, runs));
    }

    let rows: Vec<Row> = selected
        .iter()
        .zip(&cells)
        .map(|(w, c)| to_row(w, c))
        .collect();
    let floors = floors(&selected, &rows);
    let mut out = String::new();
    out.push_str(&format!(
        "ward-bench: medians of {runs} interleaved runs per cell, each workload run at least {} ms{}; load average at start {load}.\n\n",
        bench.min_ms,
        if args.quick { " (--quick)" } else { "" }
    ));
    out.push_str(&table::render(&rows, &floors));
    out.push('\n');
    for note in notes(&selected, &cells, &runtimes) {
        out.push_str(&format!("- {note}\n"));
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .context("cannot print the table")?;
    stdout.flush().context("cannot print the table")?;

    if let Some(path) = &args.json {
        report(args, &load, &selected, &cells, &runtimes).write(path)?;
    }
    progress(
        started,
        &format!("done in {:.0} s", started.elapsed().as_secs_f64()),
    );
    Ok(())
}

/// `<target dir>/ward-bench`, where the target dir is the parent of this
/// executable's profile directory.
fn default_build_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find ward-bench's own executable")?;
    let mut dir = exe
        .parent()
        .context("ward-bench's executable has no directory")?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().unwrap_or(dir);
    }
    Ok(dir.parent().unwrap_or(dir).join("ward-bench"))
}

/// Creates the data files (when missing or the wrong size) and says where
/// each runtime reads and writes.
fn prepare_files(build_dir: &Path, builder: &Builder) -> Result<Files> {
    let data = build_dir.join("data");
    fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let small = data.join(runc::SMALL_FILE);
    let big = data.join(runc::BIG_FILE);
    ensure_file(&small, 4096)?;
    ensure_file(&big, 64 << 20)?;
    Ok(Files {
        bin_dir: builder
            .binary("x", Linkage::Dynamic)
            .parent()
            .context("no binary directory")?
            .to_path_buf(),
        small,
        big,
        native_write: data.join("write.tmp"),
        sandbox_write: format!("/dev/shm/ward-bench-{}.tmp", std::process::id()),
    })
}

/// Writes `len` bytes of a fixed pattern to `path` unless it has that size.
fn ensure_file(path: &Path, len: u64) -> Result<()> {
    if fs::metadata(path).is_ok_and(|m| m.len() == len) {
        return Ok(());
    }
    let chunk: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
    let mut file =
        fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n])
            .with_context(|| format!("cannot write {}", path.display()))?;
        left -= n as u64;
    }
    Ok(())
}

/// The distinct programs of `selected`, in order.
fn programs(selected: &[&Workload]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for program in selected.iter().filter_map(|w| w.program()) {
        if !out.contains(&program) {
            out.push(program);
        }
    }
    out
}

/// Finds every runtime and probes each with /bin/true.
fn discover(
    builder: &Builder,
    build_dir: &Path,
    selected: &[&Workload],
    bench: &mut Bench,
) -> Vec<Runtime> {
    let mut found = vec![Runtime {
        column: Column::Native,
        launcher: Ok(Launcher::Native),
        detail: "the host".to_string(),
    }];
    let ward = runtimes::find_ward();
    for column in [Column::WardSystrap, Column::WardPtrace] {
        let platform = column.ward_platform().unwrap_or_default();
        let (launcher, detail) = match &ward {
            Ok(bin) => {
                let launcher = Launcher::Ward {
                    bin: bin.clone(),
                    platform,
                };
                let probed = runtimes::probe(&launcher, &bench.files, bench.timeout)
                    .map(|()| launcher)
                    .map_err(|why| format!("`ward do --platform {platform}` does not work: {why}"));
                (probed, bin.display().to_string())
            }
            Err(e) => (Err(format!("{e:#}")), String::new()),
        };
        found.push(Runtime {
            column,
            launcher,
            detail,
        });
    }
    found.push(discover_runsc(bench));
    found.push(discover_runc(builder, build_dir, selected, bench));
    found
}

fn discover_runsc(bench: &Bench) -> Runtime {
    let absent = |why: String| Runtime {
        column: Column::Runsc,
        launcher: Err(why),
        detail: String::new(),
    };
    let Some(bin) = runtimes::which("runsc") else {
        return absent("runsc is not installed".to_string());
    };
    if !crate::sys::is_root() {
        return absent("runsc do needs root".to_string());
    }
    let detail = format!("{} ({})", bin.display(), runtimes::version_of(&bin));
    let launcher = Launcher::Runsc { bin };
    Runtime {
        column: Column::Runsc,
        launcher: runtimes::probe(&launcher, &bench.files, bench.timeout).map(|()| launcher),
        detail,
    }
}

fn discover_runc(
    builder: &Builder,
    build_dir: &Path,
    selected: &[&Workload],
    bench: &mut Bench,
) -> Runtime {
    let absent = |why: String| Runtime {
        column: Column::Runc,
        launcher: Err(why),
        detail: String::new(),
    };
    let Some(bin) = runtimes::which("runc") else {
        return absent("runc is not installed".to_string());
    };
    if !crate::sys::is_root() {
        return absent("runc needs root".to_string());
    }
    let mut static_programs = Vec::new();
    for program in programs(selected) {
        match builder.build(program, Linkage::Static) {
            Ok(path) => static_programs.push((program.to_string(), path)),
            Err(e) => {
                bench
                    .build_errors
                    .insert((program.to_string(), Linkage::Static), format!("{e:#}"));
            }
        }
    }
    let busybox = Path::new("/bin/busybox");
    let busybox = runc::is_static_elf(busybox).then_some(busybox);
    let helper = |name: &str| {
        busybox
            .is_none()
            .then(|| {
                builder
                    .build(&format!("rootfs/{name}"), Linkage::Static)
                    .ok()
            })
            .flatten()
    };
    let contents = Contents {
        programs: static_programs,
        busybox,
        fallback_true: helper("true"),
        fallback_sleep: helper("sleep"),
        small: &bench.files.small,
        big: &bench.files.big,
    };
    let detail = format!(
        "{} ({}), root with {}",
        bin.display(),
        runtimes::version_of(&bin),
        if busybox.is_some() {
            "busybox-static"
        } else {
            "static true and sleep"
        }
    );
    let launcher = match Bundle::create(&bin, build_dir, &contents) {
        Ok(bundle) => Launcher::Runc(bundle),
        Err(e) => return absent(format!("cannot build the bundle: {e:#}")),
    };
    Runtime {
        column: Column::Runc,
        launcher: runtimes::probe(&launcher, &bench.files, bench.timeout).map(|()| launcher),
        detail,
    }
}

/// Measures one workload: `runs` rounds, each visiting every runtime in
/// column order (all at once for peak RSS, which does not depend on time).
fn measure_workload(
    workload: &Workload,
    runtimes: &[Runtime],
    bench: &Bench,
    runs: u32,
) -> [CellState; 5] {
    let mut cells: [CellState; 5] = Default::default();
    for rt in runtimes {
        let cell = &mut cells[rt.column.index()];
        if workload.is_floor() && rt.column != Column::Native {
            cell.end = Some(End::Blank);
        } else if rt.launcher.is_err() {
            cell.end = Some(End::Absent);
        }
    }
    for _ in 0..runs {
        let open: Vec<(&Runtime, &Launcher)> = runtimes
            .iter()
            .filter(|rt| cells[rt.column.index()].end.is_none())
            .filter_map(|rt| Some((rt, rt.launcher.as_ref().ok()?)))
            .collect();
        if open.is_empty() {
            break;
        }
        let results: Vec<(Column, Outcome)> = if workload.kind == Kind::PeakRss {
            thread::scope(|s| {
                let handles: Vec<_> = open
                    .iter()
                    .map(|(rt, launcher)| {
                        s.spawn(move || {
                            (
                                rt.column,
                                measure_once(workload, rt.column, launcher, bench),
                            )
                        })
                    })
                    .collect();
                handles.into_iter().filter_map(|h| h.join().ok()).collect()
            })
        } else {
            open.iter()
                .map(|(rt, launcher)| {
                    (
                        rt.column,
                        measure_once(workload, rt.column, launcher, bench),
                    )
                })
                .collect()
        };
        for (column, outcome) in results {
            let cell = &mut cells[column.index()];
            match outcome {
                Outcome::Sample(v) => cell.samples.push(v),
                Outcome::NotApplicable(why) => cell.end = Some(End::NotApplicable(why)),
                Outcome::Failed(why) => cell.end = Some(End::Failed(why)),
            }
        }
    }
    cells
}

/// One run of one cell.
fn measure_once(
    workload: &Workload,
    column: Column,
    launcher: &Launcher,
    bench: &Bench,
) -> Outcome {
    let linkage = if column == Column::Runc {
        Linkage::Static
    } else {
        Linkage::Dynamic
    };
    let target = match workload.kind {
        Kind::Program { program, args } | Kind::Floor { program, args, .. } => {
            if let Some(why) = bench.build_errors.get(&(program.to_string(), linkage)) {
                return Outcome::Failed(why.clone());
            }
            Target::Program {
                name: program,
                min_ms: bench.min_ms,
                args,
            }
        }
        Kind::Startup => Target::True,
        Kind::PeakRss => Target::Sleep,
    };
    let mut prepared = match launcher.prepare(target, &bench.files) {
        Ok(p) => p,
        Err(e) => return Outcome::Failed(format!("{e:#}")),
    };
    let result = match workload.kind {
        Kind::PeakRss => rss::measure(&mut prepared.cmd, bench.timeout),
        _ => exec::run(&mut prepared.cmd, bench.timeout).map(|f| (0.0, f)),
    };
    let outcome = match result {
        Err(e) => Outcome::Failed(format!("{e:#}")),
        Ok((_, finished)) if finished.status == Status::Exited(EXIT_NOT_APPLICABLE) => {
            Outcome::NotApplicable(
                exec::last_line(&finished.stderr)
                    .unwrap_or("does not apply")
                    .to_string(),
            )
        }
        Ok((mib, finished)) => match finished.failure() {
            Some(why) => Outcome::Failed(why),
            None => match workload.kind {
                Kind::Startup => Outcome::Sample(finished.wall.as_nanos() as f64),
                Kind::PeakRss => Outcome::Sample(mib),
                _ => match exec::parse_figure(&finished.stdout) {
                    Ok(v) => Outcome::Sample(v),
                    Err(e) => Outcome::Failed(format!("{e:#}")),
                },
            },
        },
    };
    if let Outcome::Failed(_) = outcome {
        launcher.after_failure(prepared.container.as_deref());
    }
    outcome
}

fn to_row(workload: &Workload, cells: &[CellState; 5]) -> Row {
    let cell = |c: &CellState| match &c.end {
        Some(End::Failed(_)) => Cell::Err,
        Some(End::NotApplicable(_)) | Some(End::Absent) => Cell::NotAvailable,
        Some(End::Blank) => Cell::Blank,
        None => median(&c.samples).map_or(Cell::NotAvailable, Cell::Value),
    };
    Row {
        figure: workload.figure.to_string(),
        unit: workload.unit,
        cells: [
            cell(&cells[0]),
            cell(&cells[1]),
            cell(&cells[2]),
            cell(&cells[3]),
            cell(&cells[4]),
        ],
        syscalls_per_op: workload.syscalls_per_op,
    }
}

/// The same-CPU floors, from the floor rows measured in this run.
fn floors(selected: &[&Workload], rows: &[Row]) -> Floors {
    let mut floors = Floors::default();
    for (w, row) in selected.iter().zip(rows) {
        if let (
            Kind::Floor {
                floor_of: Some(m), ..
            },
            Cell::Value(v),
        ) = (w.kind, row.cells[Column::Native.index()])
        {
            match m {
                workloads::Mechanism::Systrap => floors.systrap = Some(v),
                workloads::Mechanism::Ptrace => floors.ptrace = Some(v),
            }
        }
    }
    floors
}

/// The notes under the table: what the ratios mean, absent runtimes, and
/// every cell without a figure.
fn notes(selected: &[&Workload], cells: &[[CellState; 5]], runtimes: &[Runtime]) -> Vec<String> {
    let mut notes = vec![
        "ratios divide the better ward platform's median by native's, by runsc's, and by its own mechanism's same-CPU floor times the trapped syscalls per operation (getpid, stat: 1; open+read+close: 3); for MiB/s above 1 is faster".to_string(),
        "runsc runs `runsc --network=none --platform=ptrace do`; runc runs a bundle with statically linked workloads and busybox's /bin/true; sandboxed writes go to /dev/shm, native ones to the build directory".to_string(),
        "peak RSS sums VmHWM over the runtime's whole process tree (app included, shared memory counted per process)".to_string(),
    ];
    for rt in runtimes {
        if let Err(why) = &rt.launcher {
            notes.push(format!("{}: n/a: {why}", rt.column.label()));
        }
    }
    for (w, row) in selected.iter().zip(cells) {
        for column in Column::ALL {
            match &row[column.index()].end {
                Some(End::Failed(why)) => {
                    notes.push(format!("{}, {}: err: {why}", column.label(), w.figure));
                }
                Some(End::NotApplicable(why)) => {
                    notes.push(format!("{}, {}: n/a: {why}", column.label(), w.figure));
                }
                _ => {}
            }
        }
    }
    notes
}

fn report(
    args: &Args,
    load: &str,
    selected: &[&Workload],
    cells: &[[CellState; 5]],
    runtimes: &[Runtime],
) -> Report {
    let figures = selected
        .iter()
        .zip(cells)
        .map(|(w, row)| FigureRecord {
            name: w.name,
            figure: w.figure,
            unit: w.unit,
            cells: Column::ALL
                .iter()
                .map(|&column| {
                    let cell = &row[column.index()];
                    let (state, message) = match &cell.end {
                        None => ("ok", None),
                        Some(End::Failed(why)) => ("err", Some(why.clone())),
                        Some(End::NotApplicable(why)) => ("n/a", Some(why.clone())),
                        Some(End::Absent) => ("n/a", Some("runtime absent".to_string())),
                        Some(End::Blank) => ("not measured", None),
                    };
                    CellRecord {
                        column,
                        state,
                        samples: cell.samples.clone(),
                        median: median(&cell.samples),
                        message,
                    }
                })
                .collect(),
        })
        .collect();
    Report {
        unix_time: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        quick: args.quick,
        load_average: load.to_string(),
        runs: args.runs(),
        min_ms: args.min_ms(),
        runtimes: runtimes
            .iter()
            .map(|rt| RuntimeRecord {
                column: rt.column,
                available: rt.launcher.is_ok(),
                detail: match &rt.launcher {
                    Ok(_) => rt.detail.clone(),
                    Err(why) => why.clone(),
                },
            })
            .collect(),
        figures,
    }
}

/// The 1, 5 and 15 minute load averages ("0.52 0.40 0.31"): other work on
/// the machine moves every figure, so the table says how busy it was.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// A progress line on stderr, with the seconds since the start.
fn progress(started: Instant, what: &str) {
    eprintln!("[{:>4.0}s] {what}", started.elapsed().as_secs_f64());
}
