//! The host side of the escape checks: does a marker a write attack aimed
//! at exist on the host, which `/tmp/TAG-*` entries a run left behind, and
//! removing them after a native run (where they are expected).
//!
//! It only ever stats, lists and removes entries named `/tmp/TAG-*`, TAG
//! being this run's own unique tag; paths a program prints are checked
//! against that prefix before they are touched.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Where every marker lives.
const TMP: &str = "/tmp";

/// A tag unique to this runner process and one run of one program.
pub fn tag(program_index: usize, sandboxed: bool) -> String {
    format!(
        "ward-escape-{}-{program_index}-{}",
        std::process::id(),
        if sandboxed { "s" } else { "n" }
    )
}

/// Whether `path` is one of `tag`'s markers (`/tmp/TAG-...`, one level).
fn is_tagged(path: &Path, tag: &str) -> bool {
    path.parent() == Some(Path::new(TMP))
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&format!("{tag}-")))
}

/// Whether the marker exists on the host (as anything, even a dangling
/// symlink). A path outside the tag's markers counts as absent: the runner
/// never looks outside them.
pub fn marker_exists(path: &Path, tag: &str) -> bool {
    is_tagged(path, tag) && fs::symlink_metadata(path).is_ok()
}

/// Every `/tmp/TAG-*` entry on the host, sorted.
pub fn leftovers(tag: &str) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(TMP)? {
        let path = entry?.path();
        if is_tagged(&path, tag) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// Removes `tag`'s markers; directories (never followed through symlinks)
/// with their contents.
pub fn remove(paths: &[PathBuf], tag: &str) -> io::Result<()> {
    for path in paths.iter().filter(|p| is_tagged(p, tag)) {
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if meta.is_dir() {
            fs::remove_dir_all(path)?;
        } else {
            fs::remove_file(path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_direct_children_of_tmp_with_the_tag_count() {
        assert!(is_tagged(Path::new("/tmp/t1-direct"), "t1"));
        assert!(!is_tagged(Path::new("/tmp/t1"), "t1"));
        assert!(!is_tagged(Path::new("/tmp/t10-direct"), "t1"));
        assert!(!is_tagged(Path::new("/tmp/x/t1-direct"), "t1"));
        assert!(!is_tagged(Path::new("/etc/t1-direct"), "t1"));
    }

    #[test]
    fn leftovers_are_found_and_removed() {
        let tag = format!("{}-unit", tag(999, false));
        let file = PathBuf::from(format!("/tmp/{tag}-file"));
        let dir = PathBuf::from(format!("/tmp/{tag}-dir"));
        fs::write(&file, b"x").expect("scratch file");
        fs::create_dir(&dir).expect("scratch dir");
        fs::write(dir.join("inner"), b"x").expect("scratch inner file");

        let found = leftovers(&tag).expect("listing /tmp");
        assert_eq!(found, vec![dir.clone(), file.clone()]);
        assert!(marker_exists(&file, &tag));
        remove(&found, &tag).expect("removing");
        assert!(leftovers(&tag).expect("listing /tmp").is_empty());
    }
}
