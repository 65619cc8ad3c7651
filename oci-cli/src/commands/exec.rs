//! `ward exec [--process FILE | ARGS…] [options] ID`: runs another process
//! in a running container. Without --process the container's own process
//! spec is the template (env, cwd, user, capabilities), as with runc, and
//! the flags change it. The process has its own host process (the pid
//! file names it) that exits the way it ends; without --detach ward waits
//! for it and exits with its status.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use oci_cli::sandbox::plan::Plan;
use oci_cli::sandbox::spec::{cap_bit, process_spec};
use oci_cli::state::Status;
use sentry::control::protocol::ProcessSpec;

use super::common::{spawn_proxy, write_pid_file, Oci};

#[derive(Args)]
#[command(about = "Run a process in a running container")]
pub struct ExecArgs {
    /// A JSON process spec (as config.json's "process"); "-" is stdin.
    #[arg(long, short = 'p', value_name = "FILE")]
    pub process: Option<PathBuf>,
    /// Give the process a terminal.
    #[arg(long, short = 't')]
    pub tty: bool,
    /// Send the pty master here (with --tty).
    #[arg(long, value_name = "SOCKET")]
    pub console_socket: Option<PathBuf>,
    /// Do not wait for the process.
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// Write the process's host process id here.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Working directory inside the container.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<String>,
    /// Set an environment variable (repeatable).
    #[arg(long, short = 'e', value_name = "K=V")]
    pub env: Vec<String>,
    /// UID[:GID] to run as.
    #[arg(long, short = 'u', value_name = "UID[:GID]")]
    pub user: Option<String>,
    /// Supplementary group (repeatable).
    #[arg(long, short = 'g', value_name = "GID")]
    pub additional_gids: Vec<u32>,
    /// Add a capability (repeatable).
    #[arg(long, short = 'c', value_name = "CAP")]
    pub cap: Vec<String>,
    /// Set no_new_privs.
    #[arg(long)]
    pub no_new_privs: bool,
    /// Accepted for runc compatibility.
    #[arg(long, value_name = "LABEL")]
    pub process_label: Option<String>,
    /// Accepted for runc compatibility.
    #[arg(long, value_name = "PROFILE")]
    pub apparmor: Option<String>,
    /// Extra fds to pass on (only 0 is supported).
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    pub id: String,
    /// The command and its arguments (without --process).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

fn read_process(path: &PathBuf) -> Result<(ProcessSpec, bool)> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        s
    } else {
        std::fs::read_to_string(path).with_context(|| format!("--process {}", path.display()))?
    };
    let p: oci_spec::runtime::Process = serde_json::from_str(&text)
        .with_context(|| format!("--process {}: not a process spec", path.display()))?;
    Ok((process_spec(&p)?, p.terminal().unwrap_or(false)))
}

/// The process from the flags over the container's own process spec.
fn from_flags(a: &ExecArgs, bundle: &std::path::Path) -> Result<ProcessSpec> {
    if a.args.is_empty() {
        bail!("exec needs a command (or --process FILE)");
    }
    let b = oci_cli::bundle::load(bundle)?;
    let base = b
        .spec
        .process()
        .as_ref()
        .ok_or_else(|| anyhow!("the container's config.json has no process"))?;
    let mut p = process_spec(base)?;
    p.args = a.args.clone();
    for kv in &a.env {
        let Some((k, _)) = kv.split_once('=') else {
            bail!("--env {kv}: expected K=V");
        };
        let prefix = format!("{k}=");
        p.env.retain(|e| !e.starts_with(&prefix));
        p.env.push(kv.clone());
    }
    if let Some(c) = &a.cwd {
        if !c.starts_with('/') {
            bail!("--cwd {c}: must be an absolute path");
        }
        p.cwd = c.clone();
    }
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u.as_str(), None),
        };
        p.uid = uid
            .parse()
            .map_err(|_| anyhow!("--user {u}: expected UID[:GID] as numbers"))?;
        if let Some(g) = gid {
            p.gid = g
                .parse()
                .map_err(|_| anyhow!("--user {u}: expected UID[:GID] as numbers"))?;
        }
    }
    p.additional_gids.extend(&a.additional_gids);
    for c in &a.cap {
        let bit = cap_bit(c).ok_or_else(|| anyhow!("--cap {c}: unknown capability"))?;
        p.caps.bounding |= bit;
        p.caps.effective |= bit;
        p.caps.permitted |= bit;
        p.caps.inheritable |= bit;
        p.caps.ambient |= bit;
    }
    if a.no_new_privs {
        p.no_new_privileges = true;
    }
    Ok(p)
}

pub fn run(a: ExecArgs, oci: &Oci) -> Result<i32> {
    if a.preserve_fds != 0 {
        bail!("--preserve-fds is not supported");
    }
    let record = oci.root.read(&a.id)?;
    match record.current_status() {
        Status::Running => {}
        Status::Paused => bail!("cannot exec in a paused container"),
        Status::Created | Status::Creating => bail!("cannot exec in a container that has not started"),
        Status::Stopped => bail!("cannot exec in a stopped container"),
    }
    let (process, terminal) = match &a.process {
        Some(f) => read_process(f)?,
        None => (from_flags(&a, &record.bundle)?, a.tty),
    };
    let console: Option<OwnedFd> = match (&a.console_socket, terminal) {
        (Some(sock), true) => {
            let (master, slave) = oci_cli::sandbox::console::open_pty()?;
            oci_cli::sandbox::console::send_master(sock, &master)?;
            Some(slave)
        }
        (None, true) if a.detach => bail!("--tty with --detach needs --console-socket"),
        _ => None,
    };
    let mut proxy = spawn_proxy(&oci.flags, console.as_ref())?;
    drop(console);
    let plan = Plan::Exec {
        id: a.id.clone(),
        process,
        control: record.control.clone(),
    };
    if let Err(e) = proxy.send(&plan) {
        proxy.abandon();
        return Err(e);
    }
    if let Some(f) = &a.pid_file {
        write_pid_file(f, proxy.pid())?;
    }
    if a.detach {
        return Ok(0);
    }
    let pid = proxy.pid();
    oci_cli::signals::block(&oci_cli::sandbox::proxy::PASSED_ON).context("blocking signals")?;
    oci_cli::signals::watch(&oci_cli::sandbox::proxy::PASSED_ON, move |sig, _| {
        // SAFETY: kill takes plain integers; the host process is our child.
        unsafe {
            libc::kill(pid, sig);
        }
    })
    .context("starting the signal thread")?;
    let status = proxy.child.wait().context("waiting for the process")?;
    use std::os::unix::process::ExitStatusExt;
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        _ => 125,
    })
}
