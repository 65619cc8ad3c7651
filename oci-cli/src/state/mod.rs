//! The state directory under the global root (`--root`, default
//! /run/ward): one directory per container, holding its record
//! (state.json) and whatever sockets and files its commands keep there,
//! guarded by an flock on the directory itself.
//!
//! A container directory appears only whole and already locked: it is made
//! under a temporary name no id can have, locked, and renamed into place
//! without replacing anything. It disappears the same way: renamed away
//! while locked, then deleted. So a command that waited for the lock finds
//! either the directory it locked still in place, or knows the container
//! is gone. Reading a record (`read`, `list`) takes no lock: records are
//! replaced whole by a rename.

mod clock;
mod error;
pub mod listing;
mod owner;
pub mod proc_stat;
mod raw;
mod record;

use std::fs::{DirBuilder, File};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub use clock::{now_rfc3339, rfc3339};
pub use error::StateError;
pub use owner::current_owner;
pub use proc_stat::process_start_time;
pub use record::{ContainerRecord, Status};

/// ward's default global state root.
pub const DEFAULT_ROOT: &str = "/run/ward";

/// The record's file name in a container directory.
const RECORD: &str = "state.json";

/// Separates the parts of temporary names; no id may contain it.
const TEMP_MARK: char = '~';

/// Whether `id` is a valid container id: `[A-Za-z0-9_+.-]+`, not "." or "..".
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'.' | b'-'))
}

/// The global state root.
#[derive(Clone, Debug)]
pub struct StateRoot {
    root: PathBuf,
}

/// A container directory, locked until this is dropped.
#[derive(Debug)]
pub struct Locked {
    id: String,
    dir: PathBuf,
    /// The directory, open; its flock is the container's lock.
    _lock: File,
}

impl StateRoot {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StateRoot { root: root.into() }
    }

    /// The root directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Makes the directory of a new container `id`, locked, with no record
    /// yet: the caller saves one, or `remove`s the directory if the create
    /// fails, so nothing half-made stays behind.
    pub fn create(&self, id: &str) -> Result<Locked, StateError> {
        check_id(id)?;
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(|source| StateError::Root {
                path: self.root.clone(),
                source,
            })?;
        let dir = self.root.join(id);
        loop {
            if dir.join(RECORD).exists() {
                return Err(StateError::Exists(id.to_string()));
            }
            let temp = self.temp_name("new", id);
            DirBuilder::new()
                .mode(0o711)
                .create(&temp)
                .map_err(|source| StateError::Dir {
                    path: temp.clone(),
                    source,
                })?;
            let lock = open_locked(&temp)?;
            match raw::rename_noreplace(&temp, &dir) {
                Ok(()) => {
                    return Ok(Locked {
                        id: id.to_string(),
                        dir,
                        _lock: lock,
                    })
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    // Another create won the race, or a create that died
                    // left its directory without a record: look again.
                    drop(lock);
                    remove_dir(&temp)?;
                    self.clear_abandoned(id)?;
                }
                Err(source) => {
                    remove_dir(&temp)?;
                    return Err(StateError::Rename {
                        from: temp,
                        to: dir,
                        source,
                    });
                }
            }
        }
    }

    /// Locks container `id`, waiting for any other holder. `NotFound` when
    /// there is no such container, including when it was deleted while we
    /// waited.
    pub fn lock(&self, id: &str) -> Result<Locked, StateError> {
        check_id(id)?;
        let dir = self.root.join(id);
        loop {
            let lock = match File::open(&dir) {
                Ok(f) => f,
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    return Err(StateError::NotFound(id.to_string()))
                }
                Err(source) => return Err(StateError::Dir { path: dir, source }),
            };
            lock.lock().map_err(|source| StateError::Lock {
                path: dir.clone(),
                source,
            })?;
            if !still_at(&lock, &dir)? {
                // Deleted and made again while we waited: lock the new one.
                continue;
            }
            if !dir.join(RECORD).exists() {
                // A create that died before saving its record.
                return Err(StateError::NotFound(id.to_string()));
            }
            return Ok(Locked {
                id: id.to_string(),
                dir,
                _lock: lock,
            });
        }
    }

    /// Container `id`'s record as last saved, without taking its lock.
    pub fn read(&self, id: &str) -> Result<ContainerRecord, StateError> {
        check_id(id)?;
        let path = self.root.join(id).join(RECORD);
        match read_record(&path) {
            Err(StateError::ReadRecord { source, .. }) if source.kind() == ErrorKind::NotFound => {
                Err(StateError::NotFound(id.to_string()))
            }
            other => other,
        }
    }

    /// Every container with a readable record, sorted by id. Directories
    /// being made or removed, and unreadable records, are skipped.
    pub fn list(&self) -> Result<Vec<ContainerRecord>, StateError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(StateError::Root {
                    path: self.root.clone(),
                    source,
                })
            }
        };
        let mut records = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StateError::Root {
                path: self.root.clone(),
                source,
            })?;
            let name = entry.file_name();
            let Some(id) = name.to_str().filter(|n| valid_id(n)) else {
                tracing::debug!(name = ?entry.file_name(), "not a container directory");
                continue;
            };
            match read_record(&entry.path().join(RECORD)) {
                Ok(r) => records.push(r),
                Err(e) => tracing::debug!(id, "skipped: {e}"),
            }
        }
        records.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(records)
    }

    /// A fresh name in the root that no container id can have.
    fn temp_name(&self, what: &str, id: &str) -> PathBuf {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let m = TEMP_MARK;
        self.root.join(format!("{m}{what}{m}{id}{m}{pid}{m}{n}"))
    }

    /// Removes `id`'s directory if it has no record and no holder (a create
    /// died before saving); leaves it when its record exists.
    fn clear_abandoned(&self, id: &str) -> Result<(), StateError> {
        let dir = self.root.join(id);
        let lock = match File::open(&dir) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(StateError::Dir { path: dir, source }),
        };
        lock.lock().map_err(|source| StateError::Lock {
            path: dir.clone(),
            source,
        })?;
        if still_at(&lock, &dir)? && !dir.join(RECORD).exists() {
            tracing::debug!(id, "removing the directory of a create that died");
            Locked {
                id: id.to_string(),
                dir,
                _lock: lock,
            }
            .remove_as(self.temp_name("dead", id))?;
        }
        Ok(())
    }
}

impl Locked {
    /// The container's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The container's directory: a place for its sockets and files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The record as last saved.
    pub fn record(&self) -> Result<ContainerRecord, StateError> {
        read_record(&self.dir.join(RECORD))
    }

    /// Saves `record`, replacing the old one whole.
    pub fn save(&self, record: &ContainerRecord) -> Result<(), StateError> {
        let bytes = serde_json::to_vec(record).map_err(|source| StateError::EncodeRecord {
            id: self.id.clone(),
            source,
        })?;
        let temp = self.dir.join(format!("{RECORD}{TEMP_MARK}"));
        let write_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StateError::WriteRecord { path, source }
        };
        let mut f = File::create(&temp).map_err(write_error(&temp))?;
        f.write_all(&bytes).map_err(write_error(&temp))?;
        drop(f);
        let target = self.dir.join(RECORD);
        std::fs::rename(&temp, &target).map_err(write_error(&target))
    }

    /// Deletes the container's directory and everything in it; the lock is
    /// released only once it is gone from its place.
    pub fn remove(self) -> Result<(), StateError> {
        let root = self.dir.parent().map(Path::to_path_buf).unwrap_or_default();
        let tomb = StateRoot::new(root).temp_name("dead", &self.id);
        self.remove_as(tomb)
    }

    fn remove_as(self, tomb: PathBuf) -> Result<(), StateError> {
        std::fs::rename(&self.dir, &tomb).map_err(|source| StateError::Rename {
            from: self.dir.clone(),
            to: tomb.clone(),
            source,
        })?;
        std::fs::remove_dir_all(&tomb).map_err(|source| StateError::Remove { path: tomb, source })
    }
}

fn check_id(id: &str) -> Result<(), StateError> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(StateError::BadId(id.to_string()))
    }
}

/// Opens directory `dir` and takes its lock (nobody else can know it yet).
fn open_locked(dir: &Path) -> Result<File, StateError> {
    let f = File::open(dir).map_err(|source| StateError::Dir {
        path: dir.to_path_buf(),
        source,
    })?;
    f.lock().map_err(|source| StateError::Lock {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(f)
}

/// Whether the open directory `f` is still the one at `dir`.
fn still_at(f: &File, dir: &Path) -> Result<bool, StateError> {
    let held = f.metadata().map_err(|source| StateError::Dir {
        path: dir.to_path_buf(),
        source,
    })?;
    match std::fs::symlink_metadata(dir) {
        Ok(now) => Ok(now.dev() == held.dev() && now.ino() == held.ino()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(source) => Err(StateError::Dir {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

fn read_record(path: &Path) -> Result<ContainerRecord, StateError> {
    let bytes = std::fs::read(path).map_err(|source| StateError::ReadRecord {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| StateError::ParseRecord {
        path: path.to_path_buf(),
        source,
    })
}

fn remove_dir(dir: &Path) -> Result<(), StateError> {
    std::fs::remove_dir_all(dir).map_err(|source| StateError::Remove {
        path: dir.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests;
