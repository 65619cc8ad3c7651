//! `ward create [--bundle DIR] [--pid-file F] [--console-socket S] ID`:
//! makes the container — its host process, its gofer, and the sandbox
//! itself for a standalone container or a pod's sandbox container — with
//! its init loaded but not one instruction of it run until `ward start`.
//! A failure at any step undoes the earlier ones: no state, process or
//! cgroup is left behind.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use oci_cli::bundle::{self, Bundle, PodRole};
use oci_cli::cgroups::Cgroup;
use oci_cli::hooks::{self, HookKind};
use oci_cli::sandbox::plan::{NewSandbox, Plan};
use oci_cli::state::{ContainerRecord, Locked, Status};

use super::common::{spawn_proxy, write_pid_file, Oci, Proxy};

#[derive(Args)]
#[command(about = "Create a container from a bundle; its process waits for `start`")]
pub struct CreateArgs {
    /// The bundle directory (holding config.json).
    #[arg(long, short = 'b', default_value = ".")]
    pub bundle: PathBuf,
    /// Write the container's host process id here.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Send the pty master here when process.terminal is true.
    #[arg(long, value_name = "SOCKET")]
    pub console_socket: Option<PathBuf>,
    /// Accepted for runc compatibility (the sentry never pivots the host).
    #[arg(long)]
    pub no_pivot: bool,
    /// Accepted for runc compatibility (ward has no session keyrings).
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Extra fds to pass on (only 0 is supported).
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    pub id: String,
}

pub fn run(a: CreateArgs, oci: &Oci) -> Result<i32> {
    create(&a, oci, false)?;
    Ok(0)
}

/// What `create` leaves for `run`.
pub struct Created {
    pub proxy: std::process::Child,
}

/// The default cgroup of a sandbox without linux.cgroupsPath.
fn cgroup_path(b: &Bundle, id: &str) -> String {
    b.spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().clone())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("/ward/{id}"))
}

/// Creates the container. With `foreground` (ward run without -d) and a
/// terminal but no console socket, the process gets ward's own stdio.
pub fn create(a: &CreateArgs, oci: &Oci, foreground: bool) -> Result<Created> {
    if a.preserve_fds != 0 {
        bail!("--preserve-fds is not supported");
    }
    let b = bundle::load(&a.bundle)?;
    let (spec, sources) = oci_cli::sandbox::spec::container_spec(&a.id, &b.spec, &b.dir)?;
    let terminal = b
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    // A pod member joins its sandbox; anything else starts one.
    let member_of = match b.pod_role() {
        PodRole::Member { sandbox_id } => {
            let sb = oci.root.read(&sandbox_id).map_err(|_| {
                anyhow!(
                    "sandbox container {sandbox_id} of container {} does not exist",
                    a.id
                )
            })?;
            if sb.current_status() == Status::Stopped {
                bail!("sandbox container {sandbox_id} is not running");
            }
            Some(sb)
        }
        PodRole::Standalone | PodRole::Sandbox => None,
    };
    let locked = oci.root.create(&a.id)?;
    match create_in(
        a, oci, &b, spec, sources, terminal, foreground, member_of, &locked,
    ) {
        Ok(c) => Ok(c),
        Err(e) => {
            let _ = locked.remove();
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn create_in(
    a: &CreateArgs,
    oci: &Oci,
    b: &Bundle,
    spec: sentry::control::protocol::ContainerSpec,
    sources: Vec<oci_cli::sandbox::plan::GoferSource>,
    terminal: bool,
    foreground: bool,
    member_of: Option<ContainerRecord>,
    locked: &Locked,
) -> Result<Created> {
    let console: Option<OwnedFd> = match (&a.console_socket, terminal) {
        (Some(sock), true) => {
            let (master, slave) = oci_cli::sandbox::console::open_pty()?;
            oci_cli::sandbox::console::send_master(sock, &master)?;
            Some(slave)
        }
        (None, true) if !foreground => {
            bail!("process.terminal is true: --console-socket is required")
        }
        (Some(_), false) => bail!("--console-socket given but process.terminal is false"),
        _ => None,
    };
    let control = match &member_of {
        Some(sb) => sb.control.clone(),
        None => locked.dir().join("control"),
    };
    let mut proxy = spawn_proxy(&oci.flags, console.as_ref())?;
    let cgroup = match member_of {
        Some(_) => None,
        None => match place_in_cgroup(b, &a.id, &proxy) {
            Ok(c) => Some(c),
            // Without limits to enforce, a host whose cgroups ward cannot
            // manage still runs the container (pause, update and events
            // then say it has no cgroup).
            Err(e) if !asks_for_limits(b) => {
                tracing::warn!("running {} without a cgroup: {e:#}", a.id);
                None
            }
            Err(e) => {
                proxy.abandon();
                return Err(e);
            }
        },
    };
    let undo = |proxy: Proxy, cgroup: Option<Cgroup>| {
        proxy.abandon();
        if let Some(c) = cgroup {
            let _ = c.destroy();
        }
    };
    let oom = b.spec.process().as_ref().and_then(|p| p.oom_score_adj());
    if let Some(adj) = oom {
        // The host process, and so the sentry, stubs and gofer it starts.
        if let Err(e) = set_oom_score_adj(proxy.pid(), adj) {
            undo(proxy, cgroup);
            return Err(e);
        }
    }
    let plan = Plan::Container {
        spec: Box::new(spec),
        rootfs: b.rootfs.clone(),
        sources,
        control: control.clone(),
        sandbox: member_of.is_none().then(|| NewSandbox {
            platform: oci.platform.clone(),
            netns: network_namespace_path(b),
        }),
    };
    if let Err(e) = proxy.send(&plan) {
        undo(proxy, cgroup);
        return Err(e);
    }
    let pid = proxy.pid();
    let sandbox_id = match &member_of {
        Some(sb) => sb.id.clone(),
        None => a.id.clone(),
    };
    let record = ContainerRecord {
        id: a.id.clone(),
        bundle: b.dir.clone(),
        rootfs: b.rootfs.clone(),
        created: oci_cli::state::now_rfc3339(),
        owner: oci_cli::state::current_owner(),
        annotations: b.annotations(),
        pid,
        pid_start: oci_cli::state::process_start_time(pid).unwrap_or(0),
        status: Status::Created,
        sandbox_id,
        control,
        cgroup: cgroup.as_ref().map(|c| c.path().to_string()),
        extra: Default::default(),
    };
    let done = (|| -> Result<()> {
        locked.save(&record)?;
        if let Some(f) = &a.pid_file {
            write_pid_file(f, pid)?;
        }
        let state = serde_json::to_vec(&record.oci_state())?;
        if let Some(h) = b.spec.hooks() {
            hooks::run(
                HookKind::Prestart,
                h.prestart().as_deref().unwrap_or(&[]),
                &state,
            )?;
            hooks::run(
                HookKind::CreateRuntime,
                h.create_runtime().as_deref().unwrap_or(&[]),
                &state,
            )?;
            hooks::run(
                HookKind::CreateContainer,
                h.create_container().as_deref().unwrap_or(&[]),
                &state,
            )?;
        }
        Ok(())
    })();
    if let Err(e) = done {
        undo(proxy, cgroup);
        return Err(e);
    }
    Ok(Created { proxy: proxy.child })
}

/// The path of the bundle's network namespace, if it names one to join.
fn network_namespace_path(b: &Bundle) -> Option<PathBuf> {
    b.spec
        .linux()
        .as_ref()?
        .namespaces()
        .as_ref()?
        .iter()
        .find(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Network)
        .and_then(|n| n.path().clone())
}

/// Whether the bundle limits memory, cpu or pids.
fn asks_for_limits(b: &Bundle) -> bool {
    let Some(r) = b.spec.linux().as_ref().and_then(|l| l.resources().as_ref()) else {
        return false;
    };
    r.memory().is_some() || r.cpu().is_some() || r.pids().is_some()
}

/// Makes the sandbox's cgroup, with the bundle's resources, and puts the
/// host process (so everything it starts) in it.
fn place_in_cgroup(b: &Bundle, id: &str, proxy: &Proxy) -> Result<Cgroup> {
    let path = cgroup_path(b, id);
    let cg = Cgroup::create(&path).with_context(|| format!("cgroup {path}"))?;
    let r = (|| -> Result<()> {
        cg.add(proxy.pid())?;
        if let Some(res) = b.spec.linux().as_ref().and_then(|l| l.resources().as_ref()) {
            cg.apply(res)?;
        }
        Ok(())
    })();
    match r {
        Ok(()) => Ok(cg),
        Err(e) => {
            let _ = cg.destroy();
            Err(e.context(format!("cgroup {path}")))
        }
    }
}

/// Writes /proc/PID/oom_score_adj. Lowering it needs CAP_SYS_RESOURCE,
/// which some hosts withhold: that is one clear error, not a half-made
/// container.
fn set_oom_score_adj(pid: i32, adj: i32) -> Result<()> {
    let path = format!("/proc/{pid}/oom_score_adj");
    std::fs::write(&path, adj.to_string()).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::PermissionDenied && adj < 0 {
            " (a negative value needs CAP_SYS_RESOURCE, which this host does not grant)"
        } else {
            ""
        };
        anyhow!("process.oomScoreAdj {adj}: {e}{hint}")
    })
}
