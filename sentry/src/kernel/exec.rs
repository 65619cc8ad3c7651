//! execve and execveat: the new program is loaded into a fresh address
//! space first, so a bad file is an error the old program sees; then the
//! other threads of the group end, close-on-exec fds close, handled signals
//! revert to their defaults and the task continues in the new image.
//! `#!` scripts run through their interpreter (up to four levels).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::exit::release_vfork_parent;
use super::kernel::Kernel;
use super::process::lock;
use super::signal::SigAction;
use super::task::Task;
use super::waiter::Registration;
use crate::errno::{Errno, SysResult};
use crate::loader;
use crate::mm::MemoryManager;
use crate::vfs::file::FileDescription;
use crate::vfs::{Ctx, FsContext, Stat};

/// Linux's limit on one argument or environment string.
pub const MAX_ARG_STRLEN: usize = 131_072;
/// The limit on argv plus envp: a quarter of the 8 MiB stack limit.
pub const ARG_MAX: usize = 2 << 20;
const MAX_SCRIPT_DEPTH: usize = 4;

/// Reads a NULL-terminated array of string pointers (argv or envp).
pub fn read_string_array(t: &Task, addr: u64, total: &mut usize) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    for i in 0.. {
        let p: u64 = t.read_struct(addr + i * 8)?;
        if p == 0 {
            break;
        }
        let s = t.mm.read_cstring(p, MAX_ARG_STRLEN).map_err(|e| {
            if e == Errno::ENAMETOOLONG {
                Errno::E2BIG
            } else {
                e
            }
        })?;
        *total += s.len() + 1 + 8;
        if *total > ARG_MAX {
            return Err(Errno::E2BIG);
        }
        out.push(s);
    }
    Ok(out)
}

/// What to execute: an opened file and the name it was reached by.
pub struct Target {
    pub file: Arc<dyn FileDescription>,
    pub stat: Stat,
    /// Absolute sandbox path of the file.
    pub abs: String,
    /// The name exec was given (AT_EXECFN, comm).
    pub execfn: Vec<u8>,
}

/// Opens `path` for exec on behalf of `ctx`.
pub fn open_target(
    kernel: &Kernel,
    ctx: &Ctx<'_>,
    fs: &FsContext,
    path: &[u8],
) -> Result<Target, Errno> {
    let (file, stat, abs) = kernel.vfs.open_exec_as(ctx, fs, path)?;
    Ok(Target {
        file,
        stat,
        abs,
        execfn: path.to_vec(),
    })
}

/// Follows `#!` lines (up to four levels) from `target`: returns the ELF
/// file to load and the argv it gets (interpreter, optional argument,
/// script path, then the original argv[1..]).
pub fn follow_scripts(
    kernel: &Kernel,
    ctx: &Ctx<'_>,
    fs: &FsContext,
    mut target: Target,
    mut argv: Vec<Vec<u8>>,
) -> Result<(Target, Vec<Vec<u8>>), Errno> {
    for depth in 0..=MAX_SCRIPT_DEPTH {
        let mut head = [0u8; 256];
        let n = target.file.read_at(&mut head, 0)?;
        let head = &head[..n];
        if loader::elf::is_elf(head) {
            return Ok((target, argv));
        }
        let Some((interp, arg)) = parse_shebang(head) else {
            return Err(Errno::ENOEXEC);
        };
        if depth == MAX_SCRIPT_DEPTH {
            return Err(Errno::ELOOP);
        }
        let mut new_argv = vec![interp.clone()];
        if let Some(a) = arg {
            new_argv.push(a);
        }
        new_argv.push(target.execfn.clone());
        new_argv.extend(argv.iter().skip(1).cloned());
        argv = new_argv;
        target = open_target(kernel, ctx, fs, &interp)?;
    }
    Err(Errno::ELOOP)
}

/// The interpreter line of a `#!` script: (interpreter, optional argument).
fn parse_shebang(head: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|&b| b == b'\n').next()?;
    let line: Vec<u8> = line.to_vec();
    let trimmed: &[u8] = {
        let s = line.iter().position(|&b| b != b' ' && b != b'\t')?;
        let e = line
            .iter()
            .rposition(|&b| b != b' ' && b != b'\t' && b != b'\r')?;
        &line[s..=e]
    };
    let split = trimmed.iter().position(|&b| b == b' ' || b == b'\t');
    Some(match split {
        None => (trimmed.to_vec(), None),
        Some(i) => {
            let arg = &trimmed[i..];
            let s = arg
                .iter()
                .position(|&b| b != b' ' && b != b'\t')
                .unwrap_or(arg.len());
            let arg = &arg[s..];
            (
                trimmed[..i].to_vec(),
                (!arg.is_empty()).then(|| arg.to_vec()),
            )
        }
    })
}

/// execve(path, argv, envp) relative to `fs` (execveat passes a context
/// whose cwd is its dirfd), or of an already open file (AT_EMPTY_PATH).
pub fn do_execve(
    t: &mut Task,
    fs: &FsContext,
    path: Vec<u8>,
    opened: Option<Arc<dyn FileDescription>>,
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> SysResult {
    let ctx = Ctx::of(t);
    let target = match opened {
        Some(file) => {
            let stat = file.stat()?;
            let noexec = file.dentry().is_some_and(|d| d.mount_flags().noexec);
            if !stat.is_regular() || noexec {
                return Err(Errno::EACCES);
            }
            if stat.mode & 0o111 == 0 {
                return Err(Errno::EACCES);
            }
            let abs = file.path();
            Target {
                file,
                stat,
                execfn: path.clone(),
                abs,
            }
        }
        None => open_target(&t.kernel, &ctx, fs, &path)?,
    };
    let (target, argv) = follow_scripts(&t.kernel, &ctx, fs, target, argv)?;

    // Load into a fresh address space; until this succeeds nothing changed.
    let space = t.kernel.platform.new_address_space().map_err(|e| {
        tracing::error!("exec: new address space: {e}");
        Errno::ENOMEM
    })?;
    let mm = Arc::new(MemoryManager::new(t.kernel.memfile.clone(), space));
    // The credentials the new image runs with: set-user/group-ID bits
    // (unless no_new_privs) and the capability sets Linux's exec computes.
    // A nosuid mount's set-ID bits are ignored (Linux's mnt_may_suid).
    let nosuid = target.file.dentry().is_some_and(|d| d.mount_flags().nosuid);
    let mode = if nosuid {
        target.stat.mode & !(libc::S_ISUID | libc::S_ISGID)
    } else {
        target.stat.mode
    };
    let creds = t.creds.after_exec(target.stat.uid, target.stat.gid, mode);
    let loaded = loader::load_file(
        &t.kernel,
        fs,
        &mm,
        &*target.file,
        &target.stat,
        target.abs.clone(),
        &target.execfn,
        &argv,
        &envp,
        &creds,
    )?;

    // The point of no return. Mark the exec first: a parent that learns of
    // it (a close-on-exec pipe closing) must see it already done.
    {
        let mut st = t.tg().lock();
        st.execed = true;
        st.dumpable = creds.euid == creds.uid && creds.egid == creds.gid;
    }
    t.creds = creds;
    end_other_threads(t);
    take_leader_tid(t);
    let old = std::mem::replace(&mut t.mm, mm);
    old.space().release_thread();
    drop(old);
    t.refresh_interrupter();
    if Arc::strong_count(&t.fds) > 1 {
        t.fds = Arc::new(t.fds.fork());
    }
    t.fds.close_on_exec();
    crate::kernel::timers::exec_process_timers(t.tgid);
    {
        let mut actions = lock(&t.tg().actions);
        for a in actions.iter_mut() {
            if a.handler != libc::SIG_IGN as u64 {
                *a = SigAction::default();
            }
        }
    }
    t.signals.altstack = Default::default();
    t.signals.saved_mask = None;
    t.clear_child_tid = 0;
    t.robust_list = (0, 0);
    t.exe = loaded.path.clone();
    {
        let mut st = t.tg().lock();
        st.exe = loaded.path.clone();
        st.argv = argv
            .iter()
            .flat_map(|a| a.iter().copied().chain([0]))
            .collect();
        st.envp = envp
            .iter()
            .flat_map(|a| a.iter().copied().chain([0]))
            .collect();
    }
    // comm is the last component of the name exec was given, as on Linux.
    let base = target
        .execfn
        .rsplit(|&b| b == b'/')
        .next()
        .unwrap_or(b"")
        .iter()
        .take(15)
        .copied()
        .collect();
    *lock(&t.shared.comm) = base;
    t.regs = platform::Regs::for_entry(loaded.entry, loaded.sp);
    crate::fsimpl::proc::publish(t);
    release_vfork_parent(t);
    Ok(0)
}

/// A thread other than the leader that execs takes over the leader's tid,
/// so the process keeps its pid and its one thread has tid == pid.
fn take_leader_tid(t: &mut Task) {
    if t.tid == t.tgid {
        return;
    }
    let table = super::kernel::tasks();
    let comm = lock(&t.shared.comm).clone();
    let new = table.add_task(t.tgid, t.tg(), comm);
    new.ruid
        .store(t.creds.uid, std::sync::atomic::Ordering::Relaxed);
    while let Some(i) = t.shared.pending.take(u64::MAX) {
        new.pending.push(i);
    }
    let old_tid = t.tid;
    t.tg().lock().threads.retain(|th| th.tid != old_tid);
    table.remove_task(old_tid);
    t.waker = new.waker.clone();
    t.shared = new;
    t.tid = t.tgid;
}

/// Tells every other thread of the group to end and waits until they have.
fn end_other_threads(t: &Task) {
    let tg = t.tg().clone();
    loop {
        let seen = t.waker.seq();
        let mut reg = Registration::new(&t.waker);
        reg.add(&tg.job_events, u32::MAX);
        let others: Vec<_> = tg
            .lock()
            .threads
            .iter()
            .filter(|th| th.tid != t.tid)
            .cloned()
            .collect();
        let leader_gone = t.tid == t.tgid || super::kernel::tasks().task(t.tgid).is_none();
        if others.is_empty() && leader_gone {
            return;
        }
        for th in &others {
            th.kill.store(true, Ordering::SeqCst);
            th.kick();
        }
        t.waker.sleep(
            seen,
            Some(std::time::Instant::now() + std::time::Duration::from_millis(50)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_lines_split_into_interpreter_and_one_argument() {
        assert_eq!(
            parse_shebang(b"#!/bin/sh\n"),
            Some((b"/bin/sh".to_vec(), None))
        );
        assert_eq!(
            parse_shebang(b"#! /usr/bin/env  python3 -u\nprint()"),
            Some((b"/usr/bin/env".to_vec(), Some(b"python3 -u".to_vec())))
        );
        assert_eq!(parse_shebang(b"#!\n"), None);
        assert_eq!(parse_shebang(b"\x7fELF"), None);
    }
}
