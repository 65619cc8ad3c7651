//! Extended attributes in the user.* namespace, kept in sentry memory for
//! the writable file systems (tmpfs, the overlay root), keyed by the file's
//! identity (dev, ino) as locks are; the overlay keeps a file's identity
//! across copy-up, so its attributes survive one. Files on the host (the
//! gofer's lower layer) have none of their own here: reads find nothing.
//!
//! Never does: check names or permissions (the syscall layer does), or
//! reach the host.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, OnceLock};

use super::lock::FileKey;
use crate::errno::Errno;

/// Most bytes one value may hold (Linux's XATTR_SIZE_MAX).
pub const SIZE_MAX: usize = 65536;

type Attrs = BTreeMap<Vec<u8>, Vec<u8>>;

fn table() -> MutexGuard<'static, HashMap<FileKey, Attrs>> {
    static TABLE: OnceLock<Mutex<HashMap<FileKey, Attrs>>> = OnceLock::new();
    let m = TABLE.get_or_init(|| Mutex::new(HashMap::new()));
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The value of `name`; ENODATA when unset.
pub fn get(key: FileKey, name: &[u8]) -> Result<Vec<u8>, Errno> {
    table()
        .get(&key)
        .and_then(|a| a.get(name))
        .cloned()
        .ok_or(Errno::ENODATA)
}

/// Sets `name` to `value`; `flags` XATTR_CREATE (EEXIST if set) or
/// XATTR_REPLACE (ENODATA if unset).
pub fn set(key: FileKey, name: &[u8], value: &[u8], flags: i32) -> Result<(), Errno> {
    let mut t = table();
    let attrs = t.entry(key).or_default();
    let exists = attrs.contains_key(name);
    if flags & libc::XATTR_CREATE != 0 && exists {
        return Err(Errno::EEXIST);
    }
    if flags & libc::XATTR_REPLACE != 0 && !exists {
        return Err(Errno::ENODATA);
    }
    attrs.insert(name.to_vec(), value.to_vec());
    Ok(())
}

/// Removes `name`; ENODATA when unset.
pub fn remove(key: FileKey, name: &[u8]) -> Result<(), Errno> {
    let mut t = table();
    let attrs = t.get_mut(&key).ok_or(Errno::ENODATA)?;
    attrs.remove(name).ok_or(Errno::ENODATA)?;
    if attrs.is_empty() {
        t.remove(&key);
    }
    Ok(())
}

/// Every name set, each followed by a NUL (listxattr's format).
pub fn list(key: FileKey) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(attrs) = table().get(&key) {
        for name in attrs.keys() {
            out.extend_from_slice(name);
            out.push(0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_and_replace_flags_check_presence() {
        let key = (u64::MAX, 10);
        assert_eq!(
            set(key, b"user.a", b"1", libc::XATTR_REPLACE),
            Err(Errno::ENODATA)
        );
        set(key, b"user.a", b"1", libc::XATTR_CREATE).unwrap();
        assert_eq!(
            set(key, b"user.a", b"2", libc::XATTR_CREATE),
            Err(Errno::EEXIST)
        );
        set(key, b"user.a", b"2", libc::XATTR_REPLACE).unwrap();
        assert_eq!(get(key, b"user.a").unwrap(), b"2");
        assert_eq!(list(key), b"user.a\0");
        remove(key, b"user.a").unwrap();
        assert_eq!(remove(key, b"user.a"), Err(Errno::ENODATA));
    }
}
