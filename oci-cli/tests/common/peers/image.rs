//! The busybox image the peers run, built here from the host's
//! busybox-static (no registry, no network) as an OCI image layout: one
//! gzip'ed tar layer (busybox, its applet links, /etc/passwd and /etc/group
//! with root, empty /tmp /proc /sys /dev), an image config, a manifest, and
//! `index.json` naming it [`IMAGE_REF`]; both as a directory and as the tar
//! archive that `ctr images import` and `podman load` take.
//!
//! The build is reproducible (fixed owners, modes and times, sorted
//! entries), so it is cached under Cargo's per-target temp dir, keyed by the
//! digest of the busybox it holds, and shared by every test and test run.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::json;
use sha2::{Digest, Sha256};

/// The name the image carries in `index.json` and so in containerd and podman.
pub const IMAGE_REF: &str = "localhost/ward-busybox:latest";

/// The host's static busybox (Debian's busybox-static).
pub const BUSYBOX: &str = "/bin/busybox";

/// Where busybox sits in the image; every applet links to it.
const IMAGE_BUSYBOX: &str = "/bin/busybox";

/// PATH in the image config.
const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// The built image.
pub struct BusyboxImage {
    /// The OCI image layout directory.
    pub layout: PathBuf,
    /// The same layout as a tar archive.
    pub archive: PathBuf,
}

/// The image, built on first use in this process (or found in the cache).
pub fn busybox_image() -> &'static BusyboxImage {
    static IMAGE: OnceLock<BusyboxImage> = OnceLock::new();
    IMAGE.get_or_init(|| cached_or_built(Path::new(env!("CARGO_TARGET_TMPDIR"))))
}

/// `sha256:HEX` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn cached_or_built(cache: &Path) -> BusyboxImage {
    let busybox = fs::read(BUSYBOX).unwrap_or_else(|e| {
        panic!("reading {BUSYBOX} (scripts/test-all installs busybox-static): {e}")
    });
    let key = hex(&Sha256::digest(&busybox)[..8]);
    let home = cache.join(format!("busybox-oci-{key}"));
    let image = BusyboxImage {
        layout: home.join("layout"),
        archive: home.join("image.tar"),
    };
    if image.archive.is_file() {
        return image;
    }
    // Built aside and renamed into place whole, so a concurrent test binary
    // sees either no image or a complete one.
    let scratch = cache.join(format!("busybox-oci-{key}.{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    create_dir(&scratch.join("layout"));
    write_layout(&scratch.join("layout"), &busybox);
    write_archive(&scratch.join("layout"), &scratch.join("image.tar"));
    if fs::rename(&scratch, &home).is_err() {
        // Another process finished first; its image is the same.
        let _ = fs::remove_dir_all(&scratch);
        assert!(
            image.archive.is_file(),
            "no image at {} after building it",
            home.display()
        );
    }
    image
}

/// What a layer entry is.
enum Entry {
    Dir(u32),
    File(Vec<u8>, u32),
    Symlink(String),
}

/// The root filesystem: paths relative to `/`, in tar order.
fn rootfs_entries(busybox: Vec<u8>) -> BTreeMap<String, Entry> {
    let mut entries = BTreeMap::new();
    for dir in [
        "bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "var",
    ] {
        entries.insert(dir.to_owned(), Entry::Dir(0o755));
    }
    entries.insert("root".to_owned(), Entry::Dir(0o700));
    entries.insert("tmp".to_owned(), Entry::Dir(0o1777));
    for applet in applet_paths() {
        if let Some((parent, _)) = applet.rsplit_once('/') {
            entries
                .entry(parent.to_owned())
                .or_insert(Entry::Dir(0o755));
        }
        entries.insert(applet, Entry::Symlink(IMAGE_BUSYBOX.to_owned()));
    }
    entries.insert(
        IMAGE_BUSYBOX.trim_start_matches('/').to_owned(),
        Entry::File(busybox, 0o755),
    );
    entries.insert(
        "etc/passwd".to_owned(),
        Entry::File(b"root:x:0:0:root:/root:/bin/sh\n".to_vec(), 0o644),
    );
    entries.insert(
        "etc/group".to_owned(),
        Entry::File(b"root:x:0:\n".to_vec(), 0o644),
    );
    entries
}

/// Where busybox installs each applet (`bin/sh`, `usr/bin/env`, …).
fn applet_paths() -> Vec<String> {
    let out = super::bounded::run(Command::new(BUSYBOX).arg("--list-full"));
    assert!(
        out.status.success(),
        "{BUSYBOX} --list-full failed: {out:?}"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| line.trim().trim_start_matches('/').to_owned())
        .filter(|path| !path.is_empty() && path != IMAGE_BUSYBOX.trim_start_matches('/'))
        .collect()
}

/// A tar header with fixed owner and time.
fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(size);
    header
}

/// The uncompressed layer tar.
fn layer_tar(entries: &BTreeMap<String, Entry>) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, entry) in entries {
        let result = match entry {
            Entry::Dir(mode) => {
                let mut h = header(tar::EntryType::Directory, *mode, 0);
                tar.append_data(&mut h, format!("{path}/"), std::io::empty())
            }
            Entry::File(data, mode) => {
                let mut h = header(tar::EntryType::Regular, *mode, data.len() as u64);
                tar.append_data(&mut h, path, data.as_slice())
            }
            Entry::Symlink(target) => {
                let mut h = header(tar::EntryType::Symlink, 0o777, 0);
                tar.append_link(&mut h, path, target)
            }
        };
        result.unwrap_or_else(|e| panic!("adding {path} to the layer: {e}"));
    }
    tar.into_inner()
        .unwrap_or_else(|e| panic!("finishing the layer tar: {e}"))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .unwrap_or_else(|e| panic!("compressing the layer: {e}"))
}

/// Stores `bytes` as a blob of the layout; returns its descriptor.
fn put_blob(layout: &Path, media_type: &str, bytes: &[u8]) -> serde_json::Value {
    let digest = digest_of(bytes);
    let hex = digest.trim_start_matches("sha256:");
    write(&layout.join("blobs/sha256").join(hex), bytes);
    json!({ "mediaType": media_type, "digest": digest, "size": bytes.len() })
}

fn write_layout(layout: &Path, busybox: &[u8]) {
    create_dir(&layout.join("blobs/sha256"));
    let layer = layer_tar(&rootfs_entries(busybox.to_vec()));
    let diff_id = digest_of(&layer);
    let layer = put_blob(layout, LAYER_TYPE, &gzip(&layer));
    let config = json!({
        "created": "1970-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": { "Env": [PATH_ENV], "Cmd": ["sh"], "WorkingDir": "/" },
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
        "history": [{ "created": "1970-01-01T00:00:00Z", "created_by": "ward test harness: busybox-static" }],
    });
    let config = put_blob(layout, CONFIG_TYPE, &to_json(&config));
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": config,
        "layers": [layer],
    });
    let mut manifest = put_blob(layout, MANIFEST_TYPE, &to_json(&manifest));
    manifest["annotations"] = json!({ "org.opencontainers.image.ref.name": IMAGE_REF });
    let index = json!({ "schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": [manifest] });
    write(&layout.join("index.json"), &to_json(&index));
    write(
        &layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    );
}

/// The layout directory as a tar archive, entries at its top level.
fn write_archive(layout: &Path, archive: &Path) {
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |path: &str, bytes: Option<&[u8]>| {
        let result = match bytes {
            None => {
                let mut h = header(tar::EntryType::Directory, 0o755, 0);
                tar.append_data(&mut h, format!("{path}/"), std::io::empty())
            }
            Some(data) => {
                let mut h = header(tar::EntryType::Regular, 0o644, data.len() as u64);
                tar.append_data(&mut h, path, data)
            }
        };
        result.unwrap_or_else(|e| panic!("adding {path} to {}: {e}", archive.display()));
    };
    add("oci-layout", Some(&read(&layout.join("oci-layout"))));
    add("index.json", Some(&read(&layout.join("index.json"))));
    add("blobs", None);
    add("blobs/sha256", None);
    let blobs = layout.join("blobs/sha256");
    let mut names: Vec<String> = fs::read_dir(&blobs)
        .unwrap_or_else(|e| panic!("listing {}: {e}", blobs.display()))
        .map(|entry| {
            let entry = entry.unwrap_or_else(|e| panic!("listing {}: {e}", blobs.display()));
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    for name in names {
        add(
            &format!("blobs/sha256/{name}"),
            Some(&read(&blobs.join(&name))),
        );
    }
    let bytes = tar
        .into_inner()
        .unwrap_or_else(|e| panic!("finishing {}: {e}", archive.display()));
    write(archive, &bytes);
}

fn to_json(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|e| panic!("serializing {value}: {e}"))
}

fn create_dir(path: &Path) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
}

fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
