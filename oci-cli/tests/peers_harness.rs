//! The peer harness's own pieces, checked without a peer: the busybox OCI
//! image it builds (digests, config, layer contents, archive), the bounded
//! runner, and the parsers of mountinfo and `ctr task ls`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::peers::bounded::{self, Watched};
use common::peers::containerd::parse_task_ls;
use common::peers::host::{mount_points, names_path_under};
use common::peers::image::{busybox_image, digest_of, IMAGE_REF, LAYER_TYPE, MANIFEST_TYPE};

fn json(path: &Path) -> serde_json::Value {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// The blob a descriptor names, checked against the descriptor's digest and size.
fn blob(layout: &Path, descriptor: &serde_json::Value) -> Vec<u8> {
    let digest = descriptor["digest"].as_str().unwrap_or_default();
    let path = layout
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert_eq!(
        digest_of(&bytes),
        digest,
        "{} does not hash to its name",
        path.display()
    );
    assert_eq!(
        descriptor["size"].as_u64(),
        Some(bytes.len() as u64),
        "size of {digest}"
    );
    bytes
}

/// Every entry of a tar: path → (type, link target).
fn tar_entries(bytes: &[u8]) -> BTreeMap<String, (tar::EntryType, Option<String>)> {
    let mut archive = tar::Archive::new(bytes);
    let entries = archive
        .entries()
        .unwrap_or_else(|e| panic!("reading tar: {e}"));
    entries
        .map(|entry| {
            let entry = entry.unwrap_or_else(|e| panic!("reading a tar entry: {e}"));
            let path = entry
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let link = entry
                .link_name()
                .ok()
                .flatten()
                .map(|l| l.display().to_string());
            (
                path.trim_end_matches('/').to_owned(),
                (entry.header().entry_type(), link),
            )
        })
        .collect()
}

#[test]
fn busybox_image_blobs_match_their_digests_and_the_index_names_it() {
    let layout = &busybox_image().layout;

    let index = json(&layout.join("index.json"));
    let manifest_descriptor = &index["manifests"][0];
    let manifest: serde_json::Value = serde_json::from_slice(&blob(layout, manifest_descriptor))
        .unwrap_or_else(|e| panic!("parsing the manifest: {e}"));
    let config: serde_json::Value = serde_json::from_slice(&blob(layout, &manifest["config"]))
        .unwrap_or_else(|e| panic!("parsing the config: {e}"));
    blob(layout, &manifest["layers"][0]);

    assert_eq!(
        manifest_descriptor["annotations"]["org.opencontainers.image.ref.name"],
        IMAGE_REF
    );
    assert_eq!(manifest_descriptor["mediaType"], MANIFEST_TYPE);
    assert_eq!(manifest["layers"][0]["mediaType"], LAYER_TYPE);
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(config["os"], "linux");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(
        json(&layout.join("oci-layout"))["imageLayoutVersion"],
        "1.0.0"
    );
}

#[test]
fn busybox_image_layer_is_a_busybox_root_whose_diff_id_the_config_holds() {
    let layout = &busybox_image().layout;
    let index = json(&layout.join("index.json"));
    let manifest: serde_json::Value = serde_json::from_slice(&blob(layout, &index["manifests"][0]))
        .unwrap_or_else(|e| panic!("parsing the manifest: {e}"));
    let config: serde_json::Value = serde_json::from_slice(&blob(layout, &manifest["config"]))
        .unwrap_or_else(|e| panic!("parsing the config: {e}"));

    let mut layer = Vec::new();
    flate2::read::GzDecoder::new(blob(layout, &manifest["layers"][0]).as_slice())
        .read_to_end(&mut layer)
        .unwrap_or_else(|e| panic!("gunzipping the layer: {e}"));
    let entries = tar_entries(&layer);

    assert_eq!(
        config["rootfs"]["diff_ids"][0].as_str(),
        Some(digest_of(&layer).as_str())
    );
    assert_eq!(entries["bin/busybox"].0, tar::EntryType::Regular);
    assert_eq!(
        entries["bin/sh"],
        (tar::EntryType::Symlink, Some("/bin/busybox".to_owned()))
    );
    for path in ["etc/passwd", "etc/group"] {
        assert_eq!(entries[path].0, tar::EntryType::Regular, "{path}");
    }
    for dir in ["tmp", "proc", "sys", "dev", "root"] {
        assert_eq!(entries[dir].0, tar::EntryType::Directory, "{dir}");
    }
}

#[test]
fn busybox_image_archive_holds_the_layout() {
    let image = busybox_image();
    let archived = fs::read(&image.archive)
        .unwrap_or_else(|e| panic!("reading {}: {e}", image.archive.display()));

    let entries = tar_entries(&archived);

    let blobs = fs::read_dir(image.layout.join("blobs/sha256"))
        .unwrap_or_else(|e| panic!("listing blobs: {e}"))
        .count();
    assert!(entries.contains_key("index.json"), "{entries:?}");
    assert!(entries.contains_key("oci-layout"), "{entries:?}");
    let archived_blobs = entries
        .keys()
        .filter(|p| p.starts_with("blobs/sha256/"))
        .count();
    assert_eq!(archived_blobs, blobs);
}

#[test]
fn bounded_run_kills_a_command_that_outlives_its_limit() {
    let result = bounded::run_within(
        Command::new("sh").args(["-c", "echo started; exec sleep 1000"]),
        Duration::from_millis(500),
    );

    let timed_out = result.expect_err("sleep 1000 cannot finish within its limit");
    assert_eq!(String::from_utf8_lossy(&timed_out.stdout), "started\n");
}

#[test]
fn watched_command_is_waited_for_by_the_line_it_prints() {
    let mut watched = Watched::spawn(Command::new("sh").args(["-c", "echo one; echo two; exit 5"]));

    watched.wait_for_line("two");
    let out = watched.finish();

    assert_eq!(out.status.code(), Some(5));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\ntwo\n");
}

#[test]
fn mount_points_undo_mountinfos_octal_escapes() {
    let mountinfo = "36 35 98:0 / /mnt/a\\040b rw,noatime master:1 - ext3 /dev/root rw\n\
                     37 36 0:5 / /tmp/x rw - tmpfs tmpfs rw\n";

    let points = mount_points(mountinfo);

    assert_eq!(points, [Path::new("/mnt/a b"), Path::new("/tmp/x")]);
}

#[test]
fn a_path_under_a_directory_is_named_only_by_whole_components() {
    assert!(names_path_under(b"--root=/tmp/d/run", b"/tmp/d"));
    assert!(names_path_under(b"/tmp/d", b"/tmp/d"));
    assert!(!names_path_under(b"/tmp/d2/run", b"/tmp/d"));
}

#[test]
fn ctr_task_ls_gives_a_tasks_status_and_pid() {
    let listing =
        "TASK    PID      STATUS    \nweb     23557    PAUSED\nweb2    1        RUNNING\n";

    assert_eq!(
        parse_task_ls(listing, "web"),
        Some(("PAUSED".to_owned(), 23557))
    );
    assert_eq!(parse_task_ls(listing, "we"), None);
}
