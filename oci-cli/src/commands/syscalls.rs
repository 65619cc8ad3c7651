//! `ward syscalls`: the compatibility report, printed from the syscall table itself.

use anyhow::Result;
use clap::Args;

#[derive(Args)]
#[command(about = "Print the syscall table: number, name, support level and notes")]
pub struct SyscallsArgs {
    /// Only syscalls with a handler.
    #[arg(long)]
    supported: bool,
}

pub fn run(a: SyscallsArgs) -> Result<i32> {
    let mut full = 0;
    let mut partial = 0;
    println!("{:>4}  {:<24} {:<12} note", "nr", "name", "support");
    for e in sentry::syscalls::table() {
        if e.name.is_empty() {
            continue;
        }
        match e.support {
            sentry::syscalls::Support::Full => full += 1,
            sentry::syscalls::Support::Partial => partial += 1,
            sentry::syscalls::Support::Unsupported => {}
        }
        if a.supported && e.handler.is_none() {
            continue;
        }
        println!(
            "{:>4}  {:<24} {:<12} {}",
            e.nr,
            e.name,
            e.support.as_str(),
            e.note
        );
    }
    println!("{full} full, {partial} partial");
    Ok(0)
}
