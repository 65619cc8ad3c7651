//! What `ward features` reports: the runtime-features document of the
//! runtime spec, filled from the same lists the bundle checks use
//! (`bundle::known`), so it states exactly what ward accepts.

use serde_json::{json, Value};

use crate::bundle::known::{
    CAPABILITIES, HOOKS, MOUNT_FLAG_OPTIONS, MOUNT_TYPES, NAMESPACES, OCI_VERSION_MAX,
    OCI_VERSION_MIN,
};

/// The features document.
pub fn features() -> Value {
    json!({
        "ociVersionMin": OCI_VERSION_MIN,
        "ociVersionMax": OCI_VERSION_MAX,
        "hooks": HOOKS,
        "mountOptions": MOUNT_FLAG_OPTIONS,
        "linux": {
            "namespaces": NAMESPACES,
            "capabilities": CAPABILITIES,
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            // The sentry serves every syscall: there is no host filter to configure.
            "seccomp": {"enabled": false},
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": false}
        },
        "annotations": {
            "dev.ward.version": env!("CARGO_PKG_VERSION"),
            "dev.ward.mountTypes": MOUNT_TYPES.join(",")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_parses_as_the_spec_features_type() {
        let f: oci_spec::runtime::Features = serde_json::from_value(features()).unwrap();
        assert_eq!(f.oci_version_min(), OCI_VERSION_MIN);
        assert_eq!(f.hooks().as_ref().unwrap().len(), HOOKS.len());
    }

    #[test]
    fn the_listed_mount_options_are_the_ones_the_validator_knows() {
        let doc = features();
        for option in doc["mountOptions"].as_array().unwrap() {
            assert!(crate::bundle::mounts::is_known_option(
                option.as_str().unwrap()
            ));
        }
    }

    #[test]
    fn systemd_cgroups_and_seccomp_are_not_claimed() {
        let doc = features();
        assert_eq!(doc["linux"]["cgroup"]["systemd"], false);
        assert_eq!(doc["linux"]["seccomp"]["enabled"], false);
    }
}
