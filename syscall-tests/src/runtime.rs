//! Where things are: the runtime under test (a command prefix such as
//! `ward do` or `runsc --network=none do`), the default ward binary next to
//! the runner, and the default build directory under cargo's target dir.
//!
//! It only resolves paths and words; it never starts the runtime.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// What the cases run under, besides natively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    /// Native runs only: checks the cases themselves.
    NativeOnly,
    /// Each case runs as `PREFIX... /path/to/case`.
    Prefix(Vec<OsString>),
}

impl Runtime {
    /// The command line that runs `binary` under this runtime, or None when
    /// there is no runtime.
    pub fn command(&self, binary: &Path) -> Option<Vec<OsString>> {
        match self {
            Self::NativeOnly => None,
            Self::Prefix(words) => {
                let mut argv = words.clone();
                argv.push(binary.as_os_str().to_owned());
                Some(argv)
            }
        }
    }

    /// A short human name ("ward do", "native only").
    pub fn describe(&self) -> String {
        match self {
            Self::NativeOnly => "native only".to_string(),
            Self::Prefix(words) => words
                .iter()
                .map(|w| w.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// Chooses the runtime: `--native-only`, else `--runtime` split on
/// whitespace (empty means native only), else `$WARD_BIN do`, else the
/// `ward` binary next to the runner (or one directory up) with `do`.
pub fn resolve(native_only: bool, runtime: Option<&str>) -> Result<Runtime> {
    if native_only {
        return Ok(Runtime::NativeOnly);
    }
    if let Some(spec) = runtime {
        return Ok(parse_prefix(spec));
    }
    let ward = match env::var_os("WARD_BIN") {
        Some(path) if !path.is_empty() => {
            let path = PathBuf::from(path);
            if !path.is_file() {
                bail!("WARD_BIN names {}, which is not a file", path.display());
            }
            path
        }
        _ => default_ward()?,
    };
    Ok(Runtime::Prefix(vec![ward.into_os_string(), "do".into()]))
}

/// Splits a runtime string on whitespace; nothing at all means native only.
pub fn parse_prefix(spec: &str) -> Runtime {
    let words: Vec<OsString> = spec.split_whitespace().map(OsString::from).collect();
    if words.is_empty() {
        Runtime::NativeOnly
    } else {
        Runtime::Prefix(words)
    }
}

/// The `ward` binary beside the runner's own executable, or in its parent
/// directory (when the runner is `target/<profile>/deps/...`).
fn default_ward() -> Result<PathBuf> {
    let exe = env::current_exe().context("cannot find the runner's own executable")?;
    let dir = exe
        .parent()
        .context("the runner's executable has no directory")?;
    let candidates = [Some(dir.join("ward")), dir.parent().map(|p| p.join("ward"))];
    for candidate in candidates.into_iter().flatten() {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "no ward binary next to {} (build ward first: cargo build --workspace; or set WARD_BIN, or pass --runtime CMD or --native-only)",
        exe.display()
    )
}

/// The default build directory: `<target dir>/syscall-tests`, where the
/// target dir is the parent of the runner's profile directory
/// (`target/debug/ward-syscall-tests` or `target/debug/deps/...`).
pub fn default_build_dir() -> Result<PathBuf> {
    let exe = env::current_exe().context("cannot find the runner's own executable")?;
    let mut dir = exe
        .parent()
        .context("the runner's executable has no directory")?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().unwrap_or(dir);
    }
    let target = dir.parent().unwrap_or(dir);
    Ok(target.join("syscall-tests"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_string_is_split_on_whitespace() {
        let rt = parse_prefix("  runsc --network=none   do ");
        assert_eq!(
            rt,
            Runtime::Prefix(vec!["runsc".into(), "--network=none".into(), "do".into()])
        );
        assert_eq!(rt.describe(), "runsc --network=none do");
    }

    #[test]
    fn empty_runtime_string_means_native_only() {
        assert_eq!(parse_prefix(""), Runtime::NativeOnly);
        assert_eq!(parse_prefix("   "), Runtime::NativeOnly);
    }

    #[test]
    fn command_appends_the_binary() {
        let rt = parse_prefix("ward do");
        let argv = rt.command(Path::new("/b/open.dyn")).expect("a command");
        assert_eq!(
            argv,
            vec![OsString::from("ward"), "do".into(), "/b/open.dyn".into()]
        );
        assert_eq!(Runtime::NativeOnly.command(Path::new("/b/x")), None);
    }

    #[test]
    fn native_only_flag_wins_over_a_runtime() {
        assert_eq!(
            resolve(true, Some("ward do")).ok(),
            Some(Runtime::NativeOnly)
        );
    }
}
