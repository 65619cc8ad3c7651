//! Starting a sandbox: the memory file, the platform, the VFS over the
//! gofer, the init task with its program loaded, and the run to its end.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use crate::kernel::task::{Creds, ExitStatus};
use crate::kernel::Kernel;
use crate::mm::MemoryFile;
use crate::vfs::Vfs;

/// Everything a sandbox needs to start its first program.
pub struct SandboxConfig {
    /// The program and its arguments; argv[0] is looked up in PATH when it
    /// has no '/'.
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    pub cwd: Vec<u8>,
    /// The caller's stdin, stdout and stderr, donated to the sandbox.
    pub stdio: [OwnedFd; 3],
    /// The connection to the gofer serving the root file system.
    pub gofer: OwnedFd,
    pub platform: String,
    /// Log every syscall (`--debug`).
    pub strace: bool,
    pub uid: u32,
    pub gid: u32,
    /// The sandbox's capability bounding set (`kernel::creds::CAP_FULL` for
    /// `ward do`; an OCI bundle's `process.capabilities.bounding`): no task
    /// ever holds a capability outside it.
    pub bounding: u64,
    /// The gofer serves its root read-write and the sandbox's "/" is that
    /// tree itself, writes going through to it; otherwise "/" is the
    /// gofer's tree under an in-memory overlay.
    pub rw_root: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error("memory file: {0}")]
    MemFile(#[from] crate::mm::memfile::MemFileError),
    #[error("platform: {0}")]
    Platform(String),
    #[error("confining the sentry: {0}")]
    Confine(#[from] crate::confine::ConfineError),
    #[error("connecting to the gofer: {0}")]
    Gofer(#[from] gofer::ClientError),
    #[error("mounting the root file system: {0}")]
    Vfs(#[from] crate::vfs::VfsError),
    #[error(transparent)]
    Launch(#[from] crate::launch::LaunchError),
    /// The OCI sandbox's first container could not be made; the reason
    /// has gone to the `ward` that asked, which reports it.
    #[error("{0}")]
    Refused(String),
}

impl BootError {
    /// Whether the reason was already given to the caller.
    pub fn reported(&self) -> bool {
        matches!(self, BootError::Refused(_))
    }
}

impl BootError {
    /// The exit code a shell would give for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            BootError::Launch(e) => e.exit_code(),
            _ => 125,
        }
    }
}

/// Runs the sandbox until its init exits; returns how it ended.
pub fn run(cfg: SandboxConfig) -> Result<ExitStatus, BootError> {
    // What /proc shows of the host is read now, while host paths still open.
    crate::fsimpl::proc::capture_host();
    let memfile = Arc::new(MemoryFile::new()?);
    crate::loader::vdso::init(&memfile);
    let (platform, why) = platform::select(&cfg.platform, memfile.fd())
        .map_err(|e| BootError::Platform(e.to_string()))?;
    tracing::debug!(
        platform = platform.name(),
        "platform chosen: {} ({why})",
        platform.name()
    );
    let client = gofer::Client::new(cfg.gofer)?;
    let vfs = if cfg.rw_root {
        Vfs::new_writable(client, Arc::clone(&memfile))?
    } else {
        Vfs::new(client, Arc::clone(&memfile))?
    };
    let kernel = Arc::new(Kernel::new(
        memfile.clone(),
        platform.clone(),
        Arc::new(vfs),
        cfg.strace,
    ));
    // Everything read from host paths has been read (procfs capture, vDSO
    // cpuinfo, the CPU count in Kernel::new): close the walls.
    crate::confine::enter()?;
    memfile.enable_reuse();

    let mut task = crate::launch::prepare(
        &kernel,
        &kernel.vfs,
        crate::launch::Launch {
            argv: cfg.argv,
            envp: cfg.envp,
            cwd: cfg.cwd,
            creds: Creds::new(cfg.uid, cfg.gid, cfg.bounding),
            rlimits: Default::default(),
            umask: 0o022,
            stdio: cfg.stdio,
            pid: Some(1),
            container: 0,
        },
    )?;
    let status = task.run();
    crate::kernel::exit::finish(task, status);
    // The sandbox ends with init's process: wait for every other task.
    let table = crate::kernel::kernel::tasks();
    table.wait_all_gone();
    let status = table
        .group(1)
        .and_then(|tg| tg.lock().exit)
        .unwrap_or(status);
    Ok(status)
}

/// Sends `sig` from outside the sandbox to its init process (the signals
/// `ward` forwards). Before init exists it is dropped.
pub fn signal_init(sig: i32) {
    if let Some(init) = crate::kernel::kernel::tasks().group(1) {
        let info = crate::arch::siginfo::SigInfo::kill(sig, 0, 0, 0);
        crate::kernel::signal::send_to_group(&init, info);
    }
}
