//! The sandbox-wide kernel state shared by every task: the memory file, the
//! platform, the VFS, the clock's origin, the identity the sandbox shows
//! (uname), and the set of unknown syscalls already logged.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use platform::Platform;

use super::futex::FutexTable;
use super::process::TaskTable;
use crate::mm::MemoryFile;
use crate::vfs::Vfs;

/// The kernel release the sandbox reports: a current long-term kernel.
pub const UNAME_RELEASE: &str = "6.12.0";
pub const UNAME_VERSION: &str = "#1 SMP PREEMPT_DYNAMIC ward";

/// The sandbox's tasks. One sentry process runs one sandbox, so the table
/// is process-wide.
pub fn tasks() -> &'static TaskTable {
    static TASKS: std::sync::OnceLock<TaskTable> = std::sync::OnceLock::new();
    TASKS.get_or_init(TaskTable::new)
}

pub struct Kernel {
    pub memfile: Arc<MemoryFile>,
    pub platform: Arc<dyn Platform>,
    pub vfs: Arc<Vfs>,
    pub boot: Instant,
    pub hostname: Mutex<Vec<u8>>,
    pub domainname: Mutex<Vec<u8>>,
    /// Log every syscall with decoded arguments (`--debug`, like `runsc --strace`).
    pub strace: bool,
    /// Host CPUs the sandbox reports (read at start, before any pinning).
    pub ncpus: usize,
    pub futexes: FutexTable,
    /// Bound AF_UNIX socket names (abstract names and socket inodes).
    pub unix_names: Arc<crate::fsimpl::socket::unix::Names>,
    /// The loopback inet stack's port tables.
    pub inet: crate::fsimpl::socket::inet::Stack,
    unknown_logged: Mutex<HashSet<u64>>,
}

impl Kernel {
    pub fn new(
        memfile: Arc<MemoryFile>,
        platform: Arc<dyn Platform>,
        vfs: Arc<Vfs>,
        strace: bool,
    ) -> Kernel {
        Kernel {
            memfile,
            platform,
            vfs,
            boot: Instant::now(),
            hostname: Mutex::new(b"ward".to_vec()),
            domainname: Mutex::new(b"(none)".to_vec()),
            strace,
            ncpus: host_cpus(),
            futexes: FutexTable::default(),
            unix_names: Arc::default(),
            inet: Default::default(),
            unknown_logged: Mutex::new(HashSet::new()),
        }
    }

    /// Logs an unsupported syscall the first time the sandbox makes it.
    pub fn log_unsupported(&self, nr: u64, name: &str) {
        let first = match self.unknown_logged.lock() {
            Ok(mut g) => g.insert(nr),
            Err(p) => p.into_inner().insert(nr),
        };
        if first {
            tracing::warn!("unsupported syscall {name} ({nr}): returning ENOSYS");
        }
    }
}

/// Online host CPUs, as sysconf reports them (before confinement).
/// The host's online CPUs, read once (before confinement: glibc reads
/// /sys for it, and later the sentry cannot): what every CPU count the
/// sandbox shows (sched_getaffinity, /proc, /sys) is built from.
pub fn host_cpus() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        // SAFETY: sysconf takes an integer name.
        let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        if n < 1 {
            1
        } else {
            n as usize
        }
    })
}
