//! Checking one entry of config.json's `mounts`: an absolute destination, a
//! type ward can serve, and options it understands.

use std::path::Path;

use oci_spec::runtime::Mount;

use super::known::{MOUNT_DATA_WORDS, MOUNT_FLAG_OPTIONS, MOUNT_TYPES};
use super::BundleError;

/// Whether `m` is a bind mount: type "bind" or "rbind", or type "none" or
/// no type with a `bind` or `rbind` option (both spellings are in use).
pub fn is_bind(m: &Mount) -> bool {
    match m.typ().as_deref() {
        Some("bind") | Some("rbind") => true,
        None | Some("") | Some("none") => has_bind_option(m),
        Some(_) => false,
    }
}

/// Whether a bind mount is recursive (`rbind`, or type "rbind").
pub fn is_recursive_bind(m: &Mount) -> bool {
    m.typ().as_deref() == Some("rbind") || options(m).any(|o| o == "rbind")
}

/// Whether `option` is one ward understands: a mount flag, a data word a
/// file system takes without a value, or any `key=value` data option.
pub fn is_known_option(option: &str) -> bool {
    if MOUNT_FLAG_OPTIONS.contains(&option) || MOUNT_DATA_WORDS.contains(&option) {
        return true;
    }
    matches!(option.split_once('='), Some((key, _)) if !key.is_empty())
}

/// Checks mount number `index` of the config at `config`.
pub fn check(config: &Path, index: usize, m: &Mount) -> Result<(), BundleError> {
    let destination = m.destination();
    if !destination.is_absolute() {
        return Err(BundleError::MountDestination {
            path: config.to_path_buf(),
            index,
            destination: destination.clone(),
        });
    }
    let typ = m.typ().clone().unwrap_or_default();
    match typ.as_str() {
        "" | "none" if !has_bind_option(m) => {
            return Err(BundleError::MountNotBind {
                path: config.to_path_buf(),
                index,
                destination: destination.clone(),
                typ,
            });
        }
        "" | "none" => {}
        t if MOUNT_TYPES.contains(&t) => {}
        _ => {
            return Err(BundleError::MountType {
                path: config.to_path_buf(),
                index,
                destination: destination.clone(),
                typ,
            });
        }
    }
    if let Some(option) = options(m).find(|o| !is_known_option(o)) {
        return Err(BundleError::MountOption {
            path: config.to_path_buf(),
            index,
            destination: destination.clone(),
            option: option.to_string(),
        });
    }
    Ok(())
}

fn options(m: &Mount) -> impl Iterator<Item = &str> {
    m.options().iter().flatten().map(String::as_str)
}

fn has_bind_option(m: &Mount) -> bool {
    options(m).any(|o| o == "bind" || o == "rbind")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(json: &str) -> Mount {
        serde_json::from_str(json).unwrap()
    }

    fn check_one(json: &str) -> Result<(), BundleError> {
        check(Path::new("/b/config.json"), 4, &mount(json))
    }

    #[test]
    fn the_usual_mounts_pass() {
        for json in [
            r#"{"destination":"/proc","type":"proc","source":"proc"}"#,
            r#"{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]}"#,
            r#"{"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]}"#,
            r#"{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]}"#,
            r#"{"destination":"/etc/hosts","type":"bind","source":"/tmp/hosts","options":["rbind","rprivate","ro"]}"#,
            r#"{"destination":"/data","source":"data","options":["rbind","rw"]}"#,
            r#"{"destination":"/data","type":"none","source":"data","options":["bind"]}"#,
        ] {
            assert!(check_one(json).is_ok(), "{json}: {:?}", check_one(json));
        }
    }

    #[test]
    fn an_nfs_mount_is_refused_naming_its_index_and_destination() {
        let e = check_one(r#"{"destination":"/mnt","type":"nfs","source":"h:/x"}"#).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("mounts[4] (/mnt)"), "{msg}");
        assert!(msg.contains("unsupported mount type \"nfs\""), "{msg}");
    }

    #[test]
    fn a_relative_destination_is_refused() {
        let e = check_one(r#"{"destination":"mnt","type":"tmpfs"}"#).unwrap_err();
        assert!(matches!(e, BundleError::MountDestination { index: 4, .. }));
    }

    #[test]
    fn type_none_without_a_bind_option_is_refused() {
        let e = check_one(r#"{"destination":"/x","type":"none","source":"/x"}"#).unwrap_err();
        assert!(matches!(e, BundleError::MountNotBind { .. }), "{e}");
    }

    #[test]
    fn an_unknown_option_is_refused_by_name() {
        let e =
            check_one(r#"{"destination":"/x","type":"tmpfs","options":["nosuid","frobnicate"]}"#)
                .unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown mount option \"frobnicate\""),
            "{e}"
        );
    }

    #[test]
    fn data_options_with_values_pass_through() {
        assert!(is_known_option("nr_inodes=1k"));
        assert!(is_known_option("uid=1000"));
        assert!(!is_known_option("=5"));
    }

    #[test]
    fn bind_forms_are_recognised() {
        assert!(is_bind(&mount(
            r#"{"destination":"/x","type":"bind","source":"/y"}"#
        )));
        assert!(is_bind(&mount(
            r#"{"destination":"/x","source":"/y","options":["rbind"]}"#
        )));
        assert!(!is_bind(&mount(r#"{"destination":"/x","type":"tmpfs"}"#)));
        assert!(is_recursive_bind(&mount(
            r#"{"destination":"/x","source":"/y","options":["rbind"]}"#
        )));
        assert!(!is_recursive_bind(&mount(
            r#"{"destination":"/x","type":"bind","source":"/y"}"#
        )));
    }
}
