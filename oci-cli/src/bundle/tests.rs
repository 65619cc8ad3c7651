//! `bundle::load` on real bundle directories: a starter config, and each
//! way a config can be refused, checked by the one line it gives.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;

/// A fresh bundle directory with an empty `rootfs` and `config` as config.json.
fn bundle_with(name: &str, config: &serde_json::Value) -> PathBuf {
    let dir = scratch(name);
    fs::create_dir_all(dir.join("rootfs")).unwrap();
    fs::write(
        dir.join(CONFIG_FILE),
        serde_json::to_vec_pretty(config).unwrap(),
    )
    .unwrap();
    dir
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ward-bundle-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn starter() -> serde_json::Value {
    serde_json::to_value(template::starter_spec(None)).unwrap()
}

/// The starter config with `edit` applied, loaded; the error's message.
fn refused(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut config = starter();
    edit(&mut config);
    let dir = bundle_with(name, &config);
    let e = load(&dir).expect_err("the bundle should be refused");
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "one line: {msg}");
    fs::remove_dir_all(&dir).unwrap();
    msg
}

#[test]
fn a_starter_bundle_loads_with_canonical_paths() {
    let dir = bundle_with("starter", &starter());
    let b = load(&dir.join(".")).unwrap();
    assert_eq!(b.dir, fs::canonicalize(&dir).unwrap());
    assert_eq!(b.rootfs, b.dir.join("rootfs"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_absolute_root_path_is_used_as_is() {
    let elsewhere = scratch("absroot-rootfs");
    let dir = bundle_with("absroot", &{
        let mut c = starter();
        c["root"]["path"] = elsewhere.to_str().unwrap().into();
        c
    });
    assert_eq!(
        load(&dir).unwrap().rootfs,
        fs::canonicalize(&elsewhere).unwrap()
    );
    fs::remove_dir_all(&dir).unwrap();
    fs::remove_dir_all(&elsewhere).unwrap();
}

#[test]
fn a_missing_config_is_named() {
    let dir = scratch("noconfig");
    let msg = load(&dir).unwrap_err().to_string();
    assert!(msg.contains("config.json: no such file"), "{msg}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_config_that_does_not_parse_gives_line_and_column() {
    let dir = scratch("badjson");
    fs::write(
        dir.join(CONFIG_FILE),
        "{\n  \"ociVersion\": \"1.0.2\",\n  oops\n}",
    )
    .unwrap();
    let msg = load(&dir).unwrap_err().to_string();
    assert!(msg.contains("line 3 column 3"), "{msg}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_field_of_the_wrong_type_gives_line_and_column() {
    let dir = scratch("badtype");
    let text = serde_json::to_string_pretty(&starter())
        .unwrap()
        .replace("\"hostname\": \"ward\"", "\"hostname\": 5");
    fs::write(dir.join(CONFIG_FILE), text).unwrap();
    fs::create_dir(dir.join("rootfs")).unwrap();
    let msg = load(&dir).unwrap_err().to_string();
    assert!(msg.contains("line ") && msg.contains("column "), "{msg}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_config_that_is_not_an_object_is_refused_with_line_and_column() {
    let msg = parse_config(Path::new("/b/config.json"), b"[1, 2]")
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("/b/config.json: invalid type"), "{msg}");
    assert!(msg.contains("line 1 column"), "{msg}");
}

#[test]
fn an_oci_version_2_is_refused_saying_what_ward_supports() {
    let msg = refused("v2", |c| c["ociVersion"] = "2.0.0".into());
    assert!(msg.contains("unsupported ociVersion \"2.0.0\""), "{msg}");
    assert!(msg.contains("ward supports 1.x"), "{msg}");
}

#[test]
fn older_and_dev_1_x_versions_are_accepted() {
    for version in ["1.0.0", "1.0.2-dev", "1.2.0"] {
        let mut c = starter();
        c["ociVersion"] = version.into();
        let dir = bundle_with("v1x", &c);
        assert!(load(&dir).is_ok(), "{version}");
        fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_missing_root_is_refused() {
    let msg = refused("noroot", |c| {
        c.as_object_mut().unwrap().remove("root");
    });
    assert!(msg.contains("no root"), "{msg}");
}

#[test]
fn a_root_path_that_does_not_exist_is_named() {
    let msg = refused("rootmissing", |c| c["root"]["path"] = "nothere".into());
    assert!(
        msg.contains("root.path") && msg.contains("nothere"),
        "{msg}"
    );
    assert!(msg.contains("No such file"), "{msg}");
}

#[test]
fn a_root_path_that_is_a_file_is_refused() {
    let dir = bundle_with("rootfile", &{
        let mut c = starter();
        c["root"]["path"] = "config.json".into();
        c
    });
    let msg = load(&dir).unwrap_err().to_string();
    assert!(msg.contains("is not a directory"), "{msg}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_process_is_refused() {
    let msg = refused("noprocess", |c| {
        c.as_object_mut().unwrap().remove("process");
    });
    assert!(msg.contains("no process"), "{msg}");
}

#[test]
fn empty_args_are_refused() {
    let msg = refused("noargs", |c| c["process"]["args"] = serde_json::json!([]));
    assert!(msg.contains("process.args is empty"), "{msg}");
}

#[test]
fn a_relative_cwd_is_refused() {
    let msg = refused("relcwd", |c| c["process"]["cwd"] = "work".into());
    assert!(
        msg.contains("process.cwd work is not an absolute path"),
        "{msg}"
    );
}

#[test]
fn an_nfs_mount_is_refused_with_its_index() {
    let msg = refused("nfs", |c| {
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!(
            {"destination": "/mnt", "type": "nfs", "source": "server:/export"}
        ))
    });
    assert!(
        msg.contains("mounts[7] (/mnt): unsupported mount type \"nfs\""),
        "{msg}"
    );
}

#[test]
fn an_unknown_mount_option_is_refused() {
    let msg = refused("mountopt", |c| {
        c["mounts"][1]["options"]
            .as_array_mut()
            .unwrap()
            .push("turbo".into())
    });
    assert!(
        msg.contains("mounts[1] (/dev): unknown mount option \"turbo\""),
        "{msg}"
    );
}

#[test]
fn a_namespace_path_that_does_not_exist_is_refused() {
    let msg = refused("nspath", |c| {
        c["linux"]["namespaces"][1]["path"] = "/proc/999999999/ns/net".into()
    });
    assert!(msg.contains("linux.namespaces[1] (network)"), "{msg}");
    assert!(
        msg.contains("/proc/999999999/ns/net does not exist"),
        "{msg}"
    );
}

#[test]
fn an_existing_namespace_path_is_accepted() {
    let mut c = starter();
    c["linux"]["namespaces"][1]["path"] = "/proc/self/ns/net".into();
    let dir = bundle_with("nspath-ok", &c);
    assert!(load(&dir).is_ok());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unknown_namespace_type_is_refused() {
    let msg = refused("nstype", |c| {
        c["linux"]["namespaces"][0]["type"] = "galaxy".into()
    });
    assert!(
        msg.contains("unsupported namespace type \"galaxy\""),
        "{msg}"
    );
}

#[test]
fn an_unknown_rlimit_is_refused() {
    let msg = refused("rlimit", |c| {
        c["process"]["rlimits"][0]["type"] = "RLIMIT_COFFEE".into()
    });
    assert!(
        msg.contains("process.rlimits[0]: unknown rlimit type \"RLIMIT_COFFEE\""),
        "{msg}"
    );
}

#[test]
fn an_unknown_capability_is_refused() {
    let msg = refused("cap", |c| {
        c["process"]["capabilities"]["effective"][2] = "CAP_TELEPORT".into()
    });
    assert!(
        msg.contains("process.capabilities.effective[2]: unknown capability \"CAP_TELEPORT\""),
        "{msg}"
    );
}

#[test]
fn seccomp_and_apparmor_are_accepted() {
    let mut c = starter();
    c["process"]["apparmorProfile"] = "docker-default".into();
    c["linux"]["seccomp"] = serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO"});
    let dir = bundle_with("seccomp", &c);
    assert!(load(&dir).is_ok());
    fs::remove_dir_all(&dir).unwrap();
}

fn with_annotations(pairs: &[(&str, &str)]) -> Bundle {
    let mut spec = template::starter_spec(None);
    spec.set_annotations(Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    ));
    Bundle {
        dir: PathBuf::from("/bundles/b1"),
        spec,
        rootfs: PathBuf::from("/bundles/b1/rootfs"),
    }
}

#[test]
fn no_annotations_is_standalone() {
    assert_eq!(with_annotations(&[]).pod_role(), PodRole::Standalone);
}

#[test]
fn containerd_annotations_give_sandbox_and_member() {
    let sandbox = with_annotations(&[(CRI_CONTAINER_TYPE, "sandbox"), (CRI_SANDBOX_ID, "p1")]);
    assert_eq!(sandbox.pod_role(), PodRole::Sandbox);
    let member = with_annotations(&[(CRI_CONTAINER_TYPE, "container"), (CRI_SANDBOX_ID, "p1")]);
    assert_eq!(
        member.pod_role(),
        PodRole::Member {
            sandbox_id: "p1".into()
        }
    );
}

#[test]
fn crio_annotations_give_sandbox_and_member() {
    let sandbox = with_annotations(&[(CRIO_CONTAINER_TYPE, "sandbox")]);
    assert_eq!(sandbox.pod_role(), PodRole::Sandbox);
    let member = with_annotations(&[(CRIO_CONTAINER_TYPE, "container"), (CRIO_SANDBOX_ID, "p2")]);
    assert_eq!(
        member.pod_role(),
        PodRole::Member {
            sandbox_id: "p2".into()
        }
    );
}

#[test]
fn a_member_without_a_sandbox_id_is_standalone() {
    let b = with_annotations(&[(CRI_CONTAINER_TYPE, "container")]);
    assert_eq!(b.pod_role(), PodRole::Standalone);
}

#[test]
fn annotations_are_returned_sorted() {
    let b = with_annotations(&[("b", "2"), ("a", "1")]);
    let keys: Vec<_> = b.annotations().into_keys().collect();
    assert_eq!(keys, ["a", "b"]);
}

#[test]
fn bind_sources_are_relative_to_the_bundle() {
    let b = with_annotations(&[]);
    let m = |src: &str| -> Mount {
        serde_json::from_value(serde_json::json!(
            {"destination": "/x", "type": "bind", "source": src}
        ))
        .unwrap()
    };
    assert_eq!(b.bind_source(&m("data")), Path::new("/bundles/b1/data"));
    assert_eq!(
        b.bind_source(&m("./a/../data")),
        Path::new("/bundles/b1/data")
    );
    assert_eq!(b.bind_source(&m("/srv/data")), Path::new("/srv/data"));
}
