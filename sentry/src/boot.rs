//! Starting a sandbox: the memory file, the platform, the VFS over the
//! gofer, the init task with its program loaded, and the run to its end.

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use crate::errno::Errno;
use crate::fsimpl::host::HostFile;
use crate::kernel::fd_table::FdTable;
use crate::kernel::signal::{SigAction, NSIG};
use crate::kernel::task::{Creds, ExitStatus};
use crate::kernel::{Kernel, Task};
use crate::mm::{MemoryFile, MemoryManager};
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
    #[error("working directory {path}: {}", err.message())]
    Cwd { path: String, err: Errno },
    #[error("{name}: command not found")]
    NotFound { name: String },
    #[error("{name}: {}", err.message())]
    Exec { name: String, err: Errno },
}

impl BootError {
    /// The exit code a shell would give for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            BootError::NotFound { .. } => 127,
            BootError::Exec { err, .. } if *err == Errno::ENOENT => 127,
            BootError::Exec { .. } => 126,
            _ => 125,
        }
    }
}

const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The candidates for argv[0]: itself if it has a '/', else each PATH entry.
fn candidates(argv0: &[u8], envp: &[Vec<u8>]) -> Vec<Vec<u8>> {
    if argv0.contains(&b'/') {
        return vec![argv0.to_vec()];
    }
    let path = envp
        .iter()
        .find_map(|e| e.strip_prefix(b"PATH="))
        .unwrap_or(DEFAULT_PATH);
    path.split(|&b| b == b':')
        .map(|dir| {
            let dir = if dir.is_empty() { b".".as_slice() } else { dir };
            let mut p = dir.to_vec();
            p.push(b'/');
            p.extend_from_slice(argv0);
            p
        })
        .collect()
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
        vfs,
        cfg.strace,
    ));
    // Everything read from host paths has been read (procfs capture, vDSO
    // cpuinfo, the CPU count in Kernel::new): close the walls.
    crate::confine::enter()?;

    let fs = kernel
        .vfs
        .new_fs_context(&cfg.cwd)
        .map_err(|err| BootError::Cwd {
            path: String::from_utf8_lossy(&cfg.cwd).into_owned(),
            err,
        })?;
    let argv0 = cfg.argv.first().cloned().unwrap_or_default();
    let name = String::from_utf8_lossy(&argv0).into_owned();

    let creds = Creds::new(cfg.uid, cfg.gid, cfg.bounding);

    // Find the program as a shell does: the first PATH candidate that is an
    // executable file; ENOENT everywhere is "command not found".
    let mut last = Errno::ENOENT;
    let mut found = None;
    for path in candidates(&argv0, &cfg.envp) {
        match kernel.vfs.open_exec(&fs, &path) {
            Ok(_) => {
                found = Some(path);
                break;
            }
            Err(e) if e != Errno::ENOENT && e != Errno::ENOTDIR => last = e,
            Err(_) => {}
        }
    }
    let Some(path) = found else {
        return Err(if last == Errno::ENOENT && !argv0.contains(&b'/') {
            BootError::NotFound { name }
        } else {
            BootError::Exec { name, err: last }
        });
    };
    let space = platform
        .new_address_space()
        .map_err(|e| BootError::Platform(e.to_string()))?;
    let mm = Arc::new(MemoryManager::new(memfile.clone(), space));
    // The program may be a `#!` script, as with execve.
    let kctx = crate::vfs::Ctx::kernel();
    let (target, argv) = crate::kernel::exec::open_target(&kernel, &kctx, &fs, &path)
        .and_then(|t| crate::kernel::exec::follow_scripts(&kernel, &kctx, &fs, t, cfg.argv.clone()))
        .map_err(|err| BootError::Exec {
            name: name.clone(),
            err,
        })?;
    let loaded = crate::loader::load_file(
        &kernel,
        &fs,
        &mm,
        &*target.file,
        &target.stat,
        target.abs.clone(),
        &target.execfn,
        &argv,
        &cfg.envp,
        &creds,
    )
    .map_err(|err| BootError::Exec { name, err })?;

    let fds = Arc::new(FdTable::new());
    for (i, fd) in cfg.stdio.into_iter().enumerate() {
        let label = ["host:stdin", "host:stdout", "host:stderr"][i];
        let file = HostFile::new(fd, label);
        crate::fsimpl::devpts::offer_host_terminal(&*file);
        let _ = fds.install_at(i as i32, file, false);
    }
    let ctx = platform
        .new_context()
        .map_err(|e| BootError::Platform(e.to_string()))?;
    let table = crate::kernel::kernel::tasks();
    let actions = Arc::new(Mutex::new([SigAction::default(); NSIG]));
    let tg = table.new_group(1, 0, 1, 1, actions);
    {
        let mut st = tg.lock();
        st.exe = loaded.path.clone();
        st.argv = argv
            .iter()
            .flat_map(|a| a.iter().copied().chain([0]))
            .collect();
        st.envp = cfg
            .envp
            .iter()
            .flat_map(|a| a.iter().copied().chain([0]))
            .collect();
    }
    let comm: Vec<u8> = path
        .rsplit(|&b| b == b'/')
        .next()
        .unwrap_or(b"")
        .iter()
        .take(15)
        .copied()
        .collect();
    let shared = table.add_task(1, &tg, comm);
    shared
        .ruid
        .store(cfg.uid, std::sync::atomic::Ordering::Relaxed);
    let mut task = Task {
        kernel,
        regs: platform::Regs::for_entry(loaded.entry, loaded.sp),
        mm,
        fds,
        fs: Arc::new(Mutex::new(fs)),
        creds,
        signals: Default::default(),
        rlimits: Default::default(),
        tid: 1,
        tgid: 1,
        waker: shared.waker.clone(),
        shared,
        clear_child_tid: 0,
        robust_list: (0, 0),
        pdeathsig: 0,
        nice: 0,
        affinity: None,
        exe: loaded.path,
        exit: None,
        restart: None,
        vfork_parent: None,
        ctx,
    };
    crate::fsimpl::proc::publish(&task);
    let status = task.run();
    crate::kernel::exit::finish(task, status);
    // The sandbox ends with init's process: wait for every other task.
    table.wait_all_gone();
    let status = tg.lock().exit.unwrap_or(status);
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
