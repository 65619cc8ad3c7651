//! `ward do --root DIR [--rw-root]` over a scratch root made of a static
//! busybox: with `--rw-root` the sandbox's changes land in DIR exactly;
//! without it they stay in the overlay and DIR is left as it was.
//!
//! Skipped with a note where no static /bin/busybox is installed
//! (scripts/test-all installs busybox-static).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

use common::{describe, run, skip, ward_do, TempDir};

/// What the sandbox does to its root.
const SCRIPT: &str = "echo hi > /f; mkdir /d; mv /f /d/g; ln -s g /d/l; chmod 600 /d/g";

/// A root holding /bin/busybox and /bin/sh -> busybox; None (skipped)
/// without a static busybox on the host.
fn busybox_root() -> Option<TempDir> {
    let busybox = Path::new("/bin/busybox");
    if !busybox.exists() {
        skip("/bin/busybox is missing (scripts/test-all installs busybox-static)");
        return None;
    }
    let root = TempDir::new("rw-root");
    fs::create_dir(root.path().join("bin")).expect("mkdir bin");
    fs::copy(busybox, root.path().join("bin/busybox")).expect("copy busybox");
    symlink("busybox", root.path().join("bin/sh")).expect("symlink sh");
    Some(root)
}

/// Every path below `root` with its type, mode, size, mtime and link
/// target or contents: what a run may have changed.
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).expect("read_dir") {
            let path = e.expect("entry").path();
            let md = fs::symlink_metadata(&path).expect("lstat");
            let what = if md.file_type().is_symlink() {
                format!("link {}", fs::read_link(&path).expect("readlink").display())
            } else if md.is_dir() {
                stack.push(path.clone());
                "dir".to_owned()
            } else if md.len() < 64 {
                format!(
                    "file {:?}",
                    String::from_utf8_lossy(&fs::read(&path).expect("read"))
                )
            } else {
                format!("file of {} bytes", md.len())
            };
            let rel = path
                .strip_prefix(root)
                .expect("below root")
                .display()
                .to_string();
            let mode = md.permissions().mode() & 0o7777;
            out.insert(
                rel,
                format!(
                    "{what} mode {mode:o} mtime {}.{}",
                    md.mtime(),
                    md.mtime_nsec()
                ),
            );
        }
    }
    out
}

#[test]
fn rw_root_writes_through_to_the_root_exactly() {
    let Some(root) = busybox_root() else { return };
    let out = run(ward_do([
        "--root".as_ref(),
        root.path().as_os_str(),
        "--rw-root".as_ref(),
    ])
    .args(["/bin/sh", "-c", SCRIPT]));
    assert!(out.status.success(), "{}", describe(&out));
    let mut names: Vec<String> = snapshot(root.path()).into_keys().collect();
    names.sort();
    assert_eq!(names, ["bin", "bin/busybox", "bin/sh", "d", "d/g", "d/l"]);
    let r = root.path();
    assert_eq!(fs::read(r.join("d/g")).expect("read d/g"), b"hi\n");
    let g = fs::metadata(r.join("d/g")).expect("stat d/g");
    assert_eq!(g.permissions().mode() & 0o7777, 0o600);
    assert_eq!(
        fs::read_link(r.join("d/l")).expect("readlink"),
        Path::new("g")
    );
    assert!(fs::metadata(r.join("d")).expect("stat d").is_dir());
}

#[test]
fn without_rw_root_the_root_is_left_unchanged() {
    let Some(root) = busybox_root() else { return };
    let before = snapshot(root.path());
    // The sandbox sees its own changes (in the overlay)…
    let script = format!("{SCRIPT}; cat /d/l");
    let out =
        run(ward_do(["--root".as_ref(), root.path().as_os_str()]).args(["/bin/sh", "-c", &script]));
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    // …and the root never does.
    assert_eq!(snapshot(root.path()), before);
}

#[test]
fn a_root_that_is_missing_is_a_clear_error() {
    let out = run(&mut ward_do([
        "--root",
        "/nonexistent/ward-root",
        "/bin/true",
    ]));
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--root /nonexistent/ward-root"),
        "{}",
        describe(&out)
    );
}
