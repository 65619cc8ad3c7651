//! Reading and writing cgroup control files, and waiting for one to say
//! what we wait for.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use super::CgroupError;

/// How long a freeze or a thaw may take before it is an error.
pub const FREEZE_LIMIT: Duration = Duration::from_secs(10);

/// How long processes that were killed get to leave a cgroup being removed.
const REMOVE_LIMIT: Duration = Duration::from_secs(2);

/// A control file's contents.
pub fn read(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path).map_err(|source| CgroupError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// A control file's contents, or `None` if the kernel does not have it.
pub fn read_optional(path: &Path) -> Result<Option<String>, CgroupError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CgroupError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes `value` to a control file in one write(2), as the kernel wants.
pub fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    std::fs::write(path, value).map_err(|source| CgroupError::Write {
        path: path.to_path_buf(),
        value: value.to_string(),
        source,
    })
}

/// A one-number control file; "max" reads as `u64::MAX`.
pub fn read_u64(path: &Path) -> Result<u64, CgroupError> {
    let text = read(path)?;
    parse_u64(text.trim()).ok_or_else(|| CgroupError::Parse {
        path: path.to_path_buf(),
        value: text.trim().to_string(),
    })
}

/// Like `read_u64`, `None` if the kernel does not have the file.
pub fn read_u64_optional(path: &Path) -> Result<Option<u64>, CgroupError> {
    if !path.exists() {
        return Ok(None);
    }
    read_u64(path).map(Some)
}

/// A number as cgroup files print it; "max" is `u64::MAX`.
pub fn parse_u64(text: &str) -> Option<u64> {
    match text {
        "max" => Some(u64::MAX),
        _ => text.parse().ok(),
    }
}

/// A flat keyed file ("key value" lines: memory.stat, cpu.stat) as a map;
/// lines without a number are left out.
pub fn flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(' ')?;
            Some((key.to_string(), parse_u64(value.trim())?))
        })
        .collect()
}

/// A whitespace-separated list of numbers (cpuacct.usage_percpu).
pub fn number_list(text: &str) -> Vec<u64> {
    text.split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// Appends the pids in `dir`'s cgroup.procs and in its descendants'.
pub fn collect_procs(dir: &Path, pids: &mut Vec<i32>) -> Result<(), CgroupError> {
    let text = read(&dir.join("cgroup.procs"))?;
    pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    for child in child_dirs(dir)? {
        collect_procs(&child, pids)?;
    }
    Ok(())
}

/// The cgroups directly below `dir`.
pub fn child_dirs(dir: &Path) -> Result<Vec<std::path::PathBuf>, CgroupError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CgroupError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect())
}

/// Removes `dir` and the cgroups below it, deepest first, retrying while
/// exiting processes keep one busy; an error if one stays busy.
pub fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    let children = match child_dirs(dir) {
        Ok(children) => children,
        Err(_) if !dir.exists() => return Ok(()),
        Err(e) => return Err(e),
    };
    for child in children {
        remove_tree(&child)?;
    }
    let removed = wait_until(REMOVE_LIMIT, || match std::fs::remove_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => Ok(false),
        Err(source) => Err(CgroupError::Remove {
            path: dir.to_path_buf(),
            source,
        }),
    })?;
    if removed {
        Ok(())
    } else {
        Err(CgroupError::Busy {
            path: dir.to_path_buf(),
        })
    }
}

/// Calls `done` until it says true (then true) or `limit` passes (then
/// false), backing off from 1 ms to 50 ms between calls.
pub fn wait_until(
    limit: Duration,
    mut done: impl FnMut() -> Result<bool, CgroupError>,
) -> Result<bool, CgroupError> {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        if done()? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_reads_as_the_largest_number() {
        assert_eq!(parse_u64("max"), Some(u64::MAX));
        assert_eq!(parse_u64("42"), Some(42));
        assert_eq!(parse_u64("-1"), None);
    }

    #[test]
    fn flat_keyed_file_becomes_a_map() {
        let map = flat_keyed("usage_usec 120\nuser_usec 100\nbogus\nsystem_usec 20\n");
        assert_eq!(map.len(), 3);
        assert_eq!(map["usage_usec"], 120);
        assert_eq!(map["system_usec"], 20);
    }

    #[test]
    fn number_list_reads_every_number() {
        assert_eq!(number_list("10 20 30 \n"), [10, 20, 30]);
    }
}
