//! Checking a `linux.cgroupsPath` and putting it in one canonical form.
//!
//! The canonical form is absolute ("/ward/ID"): a relative path such as
//! containerd's "k8s.io/ID" is taken from the root of each hierarchy, not
//! from the cgroup of the `ward` process that happens to run. Every later
//! command (`ward update`, `events`, `pause`, `delete`) runs from wherever
//! its caller lives, and must find the same cgroup from the same string.

use super::CgroupError;

/// `path` as an absolute, slash-joined list of plain components.
pub fn canonical(path: &str) -> Result<String, CgroupError> {
    let invalid = |reason| CgroupError::InvalidPath {
        path: path.to_string(),
        reason,
    };
    if path.contains(':') {
        return Err(CgroupError::SystemdPath {
            path: path.to_string(),
        });
    }
    if path.contains('\0') {
        return Err(invalid("it contains a NUL byte"));
    }
    let mut out = String::new();
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            return Err(invalid("'..' is not allowed"));
        }
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        return Err(invalid("it names the root cgroup, not a cgroup of its own"));
    }
    Ok(out)
}

/// The canonical `path` as relative components, to join under a mount point.
pub fn relative(canonical: &str) -> &str {
    canonical.trim_start_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_path_is_kept() {
        assert_eq!(canonical("/default/abc").unwrap(), "/default/abc");
    }

    #[test]
    fn relative_path_is_taken_from_the_root() {
        assert_eq!(canonical("k8s.io/abc").unwrap(), "/k8s.io/abc");
    }

    #[test]
    fn repeated_slashes_and_dots_are_dropped() {
        assert_eq!(canonical("//ward/./x/").unwrap(), "/ward/x");
    }

    #[test]
    fn systemd_style_path_is_refused() {
        let err = canonical("system.slice:ward:abc").unwrap_err();
        assert!(matches!(err, CgroupError::SystemdPath { .. }), "{err}");
        assert!(err.to_string().contains("systemd"));
    }

    #[test]
    fn parent_components_are_refused() {
        assert!(matches!(
            canonical("/ward/../etc"),
            Err(CgroupError::InvalidPath { .. })
        ));
    }

    #[test]
    fn root_is_refused() {
        assert!(matches!(
            canonical("/"),
            Err(CgroupError::InvalidPath { .. })
        ));
        assert!(matches!(
            canonical(""),
            Err(CgroupError::InvalidPath { .. })
        ));
    }
}
