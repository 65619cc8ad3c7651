//! The fd table of a task: fd numbers to open file descriptions, with the
//! close-on-exec bit, and the RLIMIT_NOFILE bound.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::errno::Errno;
use crate::vfs::file::FileDescription;

#[derive(Clone)]
pub struct FdEntry {
    pub file: Arc<dyn FileDescription>,
    pub cloexec: bool,
}

/// inotify's close events: when `e` holds the last reference to its file,
/// that file is closing (an entry just taken out of a table).
fn last_close(e: &FdEntry) {
    if Arc::strong_count(&e.file) == 1 {
        crate::vfs::notify::closed(&*e.file);
    }
}

pub struct FdTable {
    inner: Mutex<Inner>,
}

struct Inner {
    fds: BTreeMap<i32, FdEntry>,
    /// RLIMIT_NOFILE soft limit: fds must be below it.
    limit: u64,
}

impl Drop for FdTable {
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        for e in inner.fds.values() {
            last_close(e);
        }
    }
}

impl Default for FdTable {
    fn default() -> Self {
        FdTable::new()
    }
}

impl FdTable {
    pub fn new() -> FdTable {
        FdTable {
            inner: Mutex::new(Inner {
                fds: BTreeMap::new(),
                limit: 1024,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn get(&self, fd: i32) -> Result<Arc<dyn FileDescription>, Errno> {
        self.get_entry(fd).map(|e| e.file)
    }

    pub fn get_entry(&self, fd: i32) -> Result<FdEntry, Errno> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        self.lock().fds.get(&fd).cloned().ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free fd >= `min`.
    pub fn install_from(
        &self,
        min: i32,
        file: Arc<dyn FileDescription>,
        cloexec: bool,
    ) -> Result<i32, Errno> {
        let mut g = self.lock();
        let mut fd = min.max(0);
        for (&k, _) in g.fds.range(fd..) {
            if k != fd {
                break;
            }
            fd += 1;
        }
        if fd as u64 >= g.limit {
            return Err(Errno::EMFILE);
        }
        g.fds.insert(fd, FdEntry { file, cloexec });
        Ok(fd)
    }

    /// Installs `file` at the lowest free fd.
    pub fn install(&self, file: Arc<dyn FileDescription>, cloexec: bool) -> Result<i32, Errno> {
        self.install_from(0, file, cloexec)
    }

    /// Installs `file` at exactly `fd`, returning what was there (dup2).
    pub fn install_at(
        &self,
        fd: i32,
        file: Arc<dyn FileDescription>,
        cloexec: bool,
    ) -> Result<Option<FdEntry>, Errno> {
        let mut g = self.lock();
        if fd < 0 || fd as u64 >= g.limit {
            return Err(Errno::EBADF);
        }
        let old = g.fds.insert(fd, FdEntry { file, cloexec });
        drop(g);
        if let Some(e) = &old {
            last_close(e);
        }
        Ok(old)
    }

    pub fn remove(&self, fd: i32) -> Result<FdEntry, Errno> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        let e = self.lock().fds.remove(&fd).ok_or(Errno::EBADF)?;
        last_close(&e);
        Ok(e)
    }

    pub fn set_cloexec(&self, fd: i32, cloexec: bool) -> Result<(), Errno> {
        let mut g = self.lock();
        let e = g.fds.get_mut(&fd).ok_or(Errno::EBADF)?;
        e.cloexec = cloexec;
        Ok(())
    }

    /// A copy for a forked process: the same open file descriptions.
    pub fn fork(&self) -> FdTable {
        let g = self.lock();
        FdTable {
            inner: Mutex::new(Inner {
                fds: g.fds.clone(),
                limit: g.limit,
            }),
        }
    }

    /// Closes every close-on-exec fd (execve).
    pub fn close_on_exec(&self) {
        let gone: Vec<FdEntry> = {
            let mut g = self.lock();
            let keys: Vec<i32> = g
                .fds
                .iter()
                .filter(|(_, e)| e.cloexec)
                .map(|(&k, _)| k)
                .collect();
            keys.into_iter().filter_map(|k| g.fds.remove(&k)).collect()
        };
        // Dropped outside the lock: a file's Drop may take other locks.
        for e in &gone {
            last_close(e);
        }
        drop(gone);
    }

    pub fn set_limit(&self, limit: u64) {
        self.lock().limit = limit;
    }

    pub fn limit(&self) -> u64 {
        self.lock().limit
    }

    /// The open fds, in order (for /proc/PID/fd).
    pub fn fds(&self) -> Vec<i32> {
        self.lock().fds.keys().copied().collect()
    }
}
