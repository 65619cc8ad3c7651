//! `ward`: the OCI runtime CLI, `ward do`, and the hidden `ward sentry` and
//! `ward gofer` verbs it re-executes itself as. Each verb lives in its own
//! file under commands/; this file only parses and dispatches.

mod commands;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use oci_cli::logging::{self, LogFormat};

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
    /// The directory of ward's container state (runc's --root); given
    /// before the command, as `ward --root DIR list`.
    #[arg(long, value_name = "DIR", default_value = oci_cli::state::DEFAULT_ROOT)]
    root: PathBuf,
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
    #[command(hide = true)]
    Sentry(commands::sentry::SentryArgs),
    #[command(hide = true)]
    Gofer(commands::gofer::GoferArgs),
}

fn main() {
    let cli = Cli::parse();
    let role = match cli.command {
        Command::Sentry(_) => "sentry",
        Command::Gofer(_) => "gofer",
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
    let result = match cli.command {
        Command::Do(a) => commands::do_cmd::run(a, &flags),
        Command::Syscalls(a) => commands::syscalls::run(a),
        Command::Spec(a) => commands::spec::run(a),
        Command::Features(a) => commands::features::run(a),
        Command::List(a) => commands::list::run(a, &cli.root),
        Command::State(a) => commands::state::run(a, &cli.root),
        Command::Sentry(a) => commands::sentry::run(a, &flags),
        Command::Gofer(a) => commands::gofer::run(a, &flags),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            tracing::debug!("{e:?}");
            eprintln!("ward: {e:#}");
            std::process::exit(125);
        }
    }
}
