//! `ward`: the OCI runtime CLI, `ward do`, and the hidden `ward sentry`,
//! `ward gofer` and `ward proxy` verbs it re-executes itself as. Each verb
//! lives in its own file under commands/; this file only parses and
//! dispatches.

mod commands;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use oci_cli::logging::{self, LogFormat};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Network {
    /// No network but loopback inside the sandbox.
    None,
    /// The host's network (not supported yet: refused).
    Host,
}

#[derive(Parser)]
#[command(
    name = "ward",
    version,
    about = "ward: a user-space kernel sandbox for containers"
)]
struct Cli {
    /// Log at debug level, and log every syscall of the sandbox with its arguments.
    #[arg(long, global = true)]
    debug: bool,
    /// Write logs to this file instead of stderr.
    #[arg(long, global = true, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Leave the sentry and the gofer unconfined (no namespaces, empty root
    /// or seccomp allowlists): for debugging ward only, never for untrusted code.
    #[arg(long, global = true)]
    no_confine: bool,
    /// Where container state lives (as runc's --root).
    #[arg(long, value_name = "DIR", default_value = oci_cli::state::DEFAULT_ROOT)]
    root: PathBuf,
    /// Use systemd for cgroups (not supported: ward manages cgroupfs itself).
    #[arg(long)]
    systemd_cgroup: bool,
    /// How sandboxed code runs (the OCI verbs; `ward do` has its own flag).
    #[arg(long, default_value = "auto", value_parser = clap::builder::PossibleValuesParser::new(sentry::PLATFORM_NAMES))]
    platform: String,
    /// The sandbox's network.
    #[arg(long, value_enum, default_value_t = Network::None)]
    network: Network,
    /// Accepted for runc compatibility.
    #[arg(long, value_name = "true|false|auto")]
    rootless: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Do(commands::do_cmd::DoArgs),
    Syscalls(commands::syscalls::SyscallsArgs),
    Spec(commands::spec::SpecArgs),
    Features(commands::features::FeaturesArgs),
    List(commands::list::ListArgs),
    State(commands::state::StateArgs),
    Create(commands::create::CreateArgs),
    Start(commands::start::StartArgs),
    Run(commands::run::RunArgs),
    Kill(commands::kill::KillArgs),
    Delete(commands::delete::DeleteArgs),
    Exec(commands::exec::ExecArgs),
    Ps(commands::ps::PsArgs),
    Pause(commands::pause::PauseArgs),
    Resume(commands::pause::ResumeArgs),
    Events(commands::events::EventsArgs),
    Update(commands::update::UpdateArgs),
    #[command(hide = true)]
    Sentry(commands::sentry::SentryArgs),
    #[command(hide = true)]
    Gofer(commands::gofer::GoferArgs),
    #[command(hide = true)]
    Proxy(commands::proxy::ProxyArgs),
}

fn main() {
    let cli = Cli::parse();
    let role = match cli.command {
        Command::Sentry(_) => "sentry",
        Command::Gofer(_) => "gofer",
        Command::Proxy(_) => "proxy",
        _ => "ward",
    };
    if let Err(e) = logging::init(cli.debug, cli.log.as_deref(), cli.log_format, role) {
        eprintln!("ward: {e:#}");
        std::process::exit(125);
    }
    let flags = oci_cli::launch::LogFlags {
        debug: cli.debug,
        log: cli.log.clone(),
        log_format: cli.log_format,
        confine: !cli.no_confine,
    };
    let oci = || -> anyhow::Result<commands::common::Oci> {
        if cli.systemd_cgroup {
            anyhow::bail!("--systemd-cgroup is not supported: ward manages cgroups through cgroupfs (set SystemdCgroup = false)");
        }
        if cli.network == Network::Host {
            anyhow::bail!("--network host is not supported yet: the sandbox has loopback only (--network none)");
        }
        Ok(commands::common::Oci {
            flags: flags.clone(),
            root: oci_cli::state::StateRoot::new(cli.root.clone()),
            platform: cli.platform.clone(),
        })
    };
    let result = match cli.command {
        Command::Do(a) => commands::do_cmd::run(a, &flags),
        Command::Syscalls(a) => commands::syscalls::run(a),
        Command::Sentry(a) => commands::sentry::run(a, &flags),
        Command::Gofer(a) => commands::gofer::run(a, &flags),
        Command::Proxy(a) => commands::proxy::run(a, &flags),
        Command::Spec(a) => commands::spec::run(a),
        Command::Features(a) => commands::features::run(a),
        Command::List(a) => commands::list::run(a, &cli.root),
        Command::State(a) => commands::state::run(a, &cli.root),
        Command::Create(a) => oci().and_then(|o| commands::create::run(a, &o)),
        Command::Start(a) => oci().and_then(|o| commands::start::run(a, &o)),
        Command::Run(a) => oci().and_then(|o| commands::run::run(a, &o)),
        Command::Kill(a) => oci().and_then(|o| commands::kill::run(a, &o)),
        Command::Delete(a) => oci().and_then(|o| commands::delete::run(a, &o)),
        Command::Exec(a) => oci().and_then(|o| commands::exec::run(a, &o)),
        Command::Ps(a) => oci().and_then(|o| commands::ps::run(a, &o)),
        Command::Pause(a) => oci().and_then(|o| commands::pause::pause(a, &o)),
        Command::Resume(a) => oci().and_then(|o| commands::pause::resume(a, &o)),
        Command::Events(a) => oci().and_then(|o| commands::events::run(a, &o)),
        Command::Update(a) => oci().and_then(|o| commands::update::run(a, &o)),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            tracing::debug!("{e:?}");
            if cli.log.is_some() {
                // containerd reads the reason of a failure from the log.
                tracing::error!("{e:#}");
            }
            eprintln!("ward: {e:#}");
            std::process::exit(1);
        }
    }
}
