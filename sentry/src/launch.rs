//! Making a new process from outside the sandbox: a container's init or an
//! `exec`'d process (and `ward do`'s one program). It finds the program as
//! a shell does, loads it, gives it the caller's stdio as host files, its
//! credentials, limits and umask, and registers its thread group, all
//! before a single instruction of it runs. The caller decides when and on
//! which host thread it runs.

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use crate::errno::Errno;
use crate::fsimpl::host::HostFile;
use crate::kernel::fd_table::FdTable;
use crate::kernel::signal::{SigAction, NSIG};
use crate::kernel::task::{Creds, Rlimits};
use crate::kernel::{Kernel, Task};
use crate::mm::MemoryManager;
use crate::vfs::Vfs;

/// Why a process could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("working directory {path}: {}", err.message())]
    Cwd { path: String, err: Errno },
    #[error("{name}: command not found")]
    NotFound { name: String },
    #[error("{name}: {}", err.message())]
    Exec { name: String, err: Errno },
    #[error("platform: {0}")]
    Platform(String),
    #[error("no free pid: {}", .0.message())]
    Pid(Errno),
}

impl LaunchError {
    /// The exit code a shell would give for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            LaunchError::NotFound { .. } => 127,
            LaunchError::Exec { err, .. } if *err == Errno::ENOENT => 127,
            LaunchError::Exec { .. } => 126,
            _ => 125,
        }
    }
}

/// What the new process is.
pub struct Launch {
    /// The program and its arguments; argv[0] is looked up in PATH when it
    /// has no '/'.
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    pub cwd: Vec<u8>,
    pub creds: Creds,
    pub rlimits: Rlimits,
    pub umask: u32,
    /// Host fds that become its 0, 1 and 2.
    pub stdio: [OwnedFd; 3],
    /// Its pid: 1 for the sandbox's first process, else a fresh one.
    pub pid: Option<i32>,
    /// The container it belongs to (its children inherit it).
    pub container: u32,
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

/// Builds the process in `vfs`'s tree: its single task, ready for `run()`.
/// Its thread group is a session and process-group leader with no parent
/// (nobody in the sandbox waits for it; its end is reported to whoever
/// watches thread-group exits).
pub fn prepare(kernel: &Arc<Kernel>, vfs: &Vfs, l: Launch) -> Result<Task, LaunchError> {
    let mut fs = vfs
        .new_fs_context(&l.cwd)
        .map_err(|err| LaunchError::Cwd {
            path: String::from_utf8_lossy(&l.cwd).into_owned(),
            err,
        })?;
    fs.umask = l.umask & 0o777;
    let argv0 = l.argv.first().cloned().unwrap_or_default();
    let name = String::from_utf8_lossy(&argv0).into_owned();

    // Find the program as a shell does: the first PATH candidate that is an
    // executable file; ENOENT everywhere is "command not found".
    let ctx = crate::vfs::Ctx::kernel();
    let mut last = Errno::ENOENT;
    let mut found = None;
    for path in candidates(&argv0, &l.envp) {
        match vfs.open_exec_as(&ctx, &fs, &path) {
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
            LaunchError::NotFound { name }
        } else {
            LaunchError::Exec { name, err: last }
        });
    };
    let platform = kernel.platform.clone();
    let space = platform
        .new_address_space()
        .map_err(|e| LaunchError::Platform(e.to_string()))?;
    let mm = Arc::new(MemoryManager::new(kernel.memfile.clone(), space));
    // The program may be a `#!` script, as with execve.
    let (target, argv) = crate::kernel::exec::open_target(kernel, &ctx, &fs, &path)
        .and_then(|t| crate::kernel::exec::follow_scripts(kernel, &ctx, &fs, t, l.argv.clone()))
        .map_err(|err| LaunchError::Exec {
            name: name.clone(),
            err,
        })?;
    let loaded = crate::loader::load_file(
        kernel,
        &fs,
        &mm,
        &*target.file,
        &target.stat,
        target.abs.clone(),
        &target.execfn,
        &argv,
        &l.envp,
        &l.creds,
    )
    .map_err(|err| LaunchError::Exec { name, err })?;

    let fds = Arc::new(FdTable::new());
    for (i, fd) in l.stdio.into_iter().enumerate() {
        let label = ["host:stdin", "host:stdout", "host:stderr"][i];
        let file = HostFile::new(fd, label);
        crate::fsimpl::devpts::offer_host_terminal(&*file);
        let _ = fds.install_at(i as i32, file, false);
    }
    let ctx = platform
        .new_context()
        .map_err(|e| LaunchError::Platform(e.to_string()))?;
    let table = crate::kernel::kernel::tasks();
    let pid = match l.pid {
        Some(p) => p,
        None => table.alloc_pid().map_err(LaunchError::Pid)?,
    };
    let actions = Arc::new(Mutex::new([SigAction::default(); NSIG]));
    let tg = table.new_group(pid, 0, pid, pid, actions);
    {
        let mut st = tg.lock();
        st.container = l.container;
        st.exe = loaded.path.clone();
        st.argv = argv
            .iter()
            .flat_map(|a| a.iter().copied().chain([0]))
            .collect();
        st.envp = l
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
    let shared = table.add_task(pid, &tg, comm);
    shared
        .ruid
        .store(l.creds.uid, std::sync::atomic::Ordering::Relaxed);
    let task = Task {
        kernel: kernel.clone(),
        regs: platform::Regs::for_entry(loaded.entry, loaded.sp),
        mm,
        fds,
        fs: Arc::new(Mutex::new(fs)),
        creds: l.creds,
        signals: Default::default(),
        rlimits: l.rlimits,
        tid: pid,
        tgid: pid,
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
    Ok(task)
}
