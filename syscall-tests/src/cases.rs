//! The C cases: finding `cases/*.c`, choosing which to run, and building
//! each twice (dynamic and `-static`) with the system C compiler into the
//! build directory, only when the source or a shared header is newer.
//!
//! It never runs a case; a compiler failure is returned as data so the
//! report can name it.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};

/// How a case binary is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Linkage {
    Dynamic,
    Static,
}

impl Linkage {
    pub const ALL: [Self; 2] = [Self::Dynamic, Self::Static];

    /// The suffix of the binary's name ("dyn" or "static").
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Dynamic => "dyn",
            Self::Static => "static",
        }
    }
}

/// One case binary to build and run: `NAME.dyn` or `NAME.static`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The case's name: the source file's stem ("openat").
    pub case: String,
    pub linkage: Linkage,
    pub source: PathBuf,
}

impl Program {
    /// The name used in every report line ("openat.dyn").
    pub fn name(&self) -> String {
        format!("{}.{}", self.case, self.linkage.suffix())
    }
}

/// Lists every `*.c` in `dir` as two programs (dynamic, static), sorted by
/// name, keeping those whose name contains one of `filters` (all when none).
pub fn discover(dir: &Path, filters: &[String]) -> Result<Vec<Program>> {
    let entries =
        fs::read_dir(dir).with_context(|| format!("cannot list cases in {}", dir.display()))?;
    let mut sources = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list cases in {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "c") {
            sources.push(path);
        }
    }
    sources.sort();
    let mut programs = Vec::new();
    for source in sources {
        let Some(case) = source.file_stem().and_then(|s| s.to_str()) else {
            bail!("case file name is not UTF-8: {}", source.display());
        };
        for linkage in Linkage::ALL {
            let program = Program {
                case: case.to_string(),
                linkage,
                source: source.clone(),
            };
            let name = program.name();
            if filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())) {
                programs.push(program);
            }
        }
    }
    Ok(programs)
}

/// How to build cases.
#[derive(Debug, Clone)]
pub struct Builder {
    /// The C compiler command ("cc").
    pub cc: OsString,
    /// Where binaries go.
    pub build_dir: PathBuf,
    /// Where the shared headers live (the cases directory).
    pub include_dir: PathBuf,
    /// The newest modification time among the shared headers.
    headers_mtime: Option<SystemTime>,
}

/// The result of building one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Built {
    /// Ready to run at this path.
    Binary(PathBuf),
    /// The compiler refused: a one-line summary of why.
    CompileError(String),
}

impl Builder {
    /// Prepares a builder; creates the build directory.
    pub fn new(cc: OsString, build_dir: &Path, include_dir: &Path) -> Result<Self> {
        fs::create_dir_all(build_dir)
            .with_context(|| format!("cannot create build directory {}", build_dir.display()))?;
        let build_dir = build_dir
            .canonicalize()
            .with_context(|| format!("cannot resolve build directory {}", build_dir.display()))?;
        let headers_mtime = newest_header(include_dir)?;
        Ok(Self {
            cc,
            build_dir,
            include_dir: include_dir.to_path_buf(),
            headers_mtime,
        })
    }

    /// The path of a program's binary.
    pub fn binary_path(&self, program: &Program) -> PathBuf {
        self.build_dir.join(program.name())
    }

    /// Builds `program` unless its binary is newer than its inputs.
    pub fn build(&self, program: &Program) -> Result<Built> {
        let out = self.binary_path(program);
        if self.is_fresh(program, &out) {
            return Ok(Built::Binary(out));
        }
        // Compile to a private name and rename: other runners may be
        // building the same case into the same directory.
        let tmp = out.with_extension(format!(
            "{}.tmp{}",
            program.linkage.suffix(),
            std::process::id()
        ));
        let mut cmd = Command::new(&self.cc);
        cmd.args(["-O1", "-Wall", "-Werror"]);
        if program.linkage == Linkage::Static {
            cmd.arg("-static");
        }
        cmd.arg("-I").arg(&self.include_dir);
        cmd.arg("-o").arg(&tmp).arg(&program.source);
        let output = match cmd.output() {
            Ok(output) => output,
            Err(e) => {
                return Ok(Built::CompileError(format!(
                    "cannot run {}: {e}",
                    self.cc.to_string_lossy()
                )))
            }
        };
        if !output.status.success() {
            let _ = fs::remove_file(&tmp);
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Ok(Built::CompileError(summarise_compiler_error(
                &stderr,
                output.status.code(),
            )));
        }
        fs::rename(&tmp, &out)
            .with_context(|| format!("cannot move {} to {}", tmp.display(), out.display()))?;
        Ok(Built::Binary(out))
    }

    fn is_fresh(&self, program: &Program, out: &Path) -> bool {
        let Ok(built) = fs::metadata(out).and_then(|m| m.modified()) else {
            return false;
        };
        let Ok(source) = fs::metadata(&program.source).and_then(|m| m.modified()) else {
            return false;
        };
        built >= source && self.headers_mtime.is_none_or(|h| built >= h)
    }
}

/// The newest mtime of the `*.h` files in `dir`.
fn newest_header(dir: &Path) -> Result<Option<SystemTime>> {
    let entries =
        fs::read_dir(dir).with_context(|| format!("cannot list headers in {}", dir.display()))?;
    let mut newest = None;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "h") {
            let mtime = fs::metadata(&path)
                .and_then(|m| m.modified())
                .with_context(|| format!("cannot stat {}", path.display()))?;
            newest = newest.max(Some(mtime));
        }
    }
    Ok(newest)
}

/// One line naming the compiler's first error (and how much more it said).
pub fn summarise_compiler_error(stderr: &str, code: Option<i32>) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let first = lines
        .iter()
        .find(|l| l.contains("error"))
        .or_else(|| lines.first())
        .map(|l| l.trim());
    match (first, code) {
        (Some(line), _) if lines.len() > 1 => {
            format!("does not compile: {line} (+{} more lines)", lines.len() - 1)
        }
        (Some(line), _) => format!("does not compile: {line}"),
        (None, Some(code)) => format!("does not compile: cc exited with status {code}"),
        (None, None) => "does not compile: cc was killed".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_error_summary_names_the_first_error() {
        let stderr = "x.c: In function 'main':\nx.c:3:5: error: 'y' undeclared\n  3 | y;\n";
        assert_eq!(
            summarise_compiler_error(stderr, Some(1)),
            "does not compile: x.c:3:5: error: 'y' undeclared (+2 more lines)"
        );
    }

    #[test]
    fn compiler_error_summary_without_output_gives_the_status() {
        assert_eq!(
            summarise_compiler_error("", Some(4)),
            "does not compile: cc exited with status 4"
        );
    }

    #[test]
    fn program_names_carry_the_linkage() {
        let p = Program {
            case: "openat".into(),
            linkage: Linkage::Static,
            source: PathBuf::from("openat.c"),
        };
        assert_eq!(p.name(), "openat.static");
    }
}
