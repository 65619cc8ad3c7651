//! Peak memory of a runtime's whole process tree: while the command runs,
//! /proc is scanned every 50 ms for the command's descendants (by parent
//! pid), and each process's VmHWM (its own peak resident set) is kept; the
//! figure is their sum, in MiB. Memory shared between processes (a
//! sandbox's memory file mapped into sentry and stubs) is counted once per
//! process that maps it, as VmHWM does.
//!
//! The parsers are pure; only `measure` touches /proc.

use std::collections::HashMap;
use std::fs;
use std::process::Command;
use std::thread;
use std::time::Duration;

use anyhow::Result;

use crate::exec::{self, Finished};

/// How often /proc is scanned.
const POLL: Duration = Duration::from_millis(50);

/// The parent pid and start time (clock ticks after boot) from the text of
/// `/proc/PID/stat`. The command name may hold spaces and parentheses, so
/// the fields are counted from the last ')'.
pub fn parse_stat(text: &str) -> Option<(u32, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(0) ppid(1) … starttime(19).
    let ppid = fields.get(1)?.parse().ok()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((ppid, start))
}

/// VmHWM in KiB from the text of `/proc/PID/status`; None for kernel
/// threads, which have no memory of their own.
pub fn parse_vm_hwm_kib(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut words = line["VmHWM:".len()..].split_whitespace();
    let value = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(value)
}

/// The pids among `procs` (pid, parent pid) that are `root` or descend
/// from it.
pub fn tree_members(root: u32, procs: &[(u32, u32)]) -> Vec<u32> {
    let parent: HashMap<u32, u32> = procs.iter().copied().collect();
    procs
        .iter()
        .map(|&(pid, _)| pid)
        .filter(|&pid| {
            let mut at = pid;
            // A chain longer than the table means a cycle (pids reused
            // while scanning); give up on it.
            for _ in 0..=procs.len() {
                if at == root {
                    return true;
                }
                match parent.get(&at) {
                    Some(&up) if up != 0 && up != at => at = up,
                    _ => return false,
                }
            }
            false
        })
        .collect()
}

/// Every process on the host: (pid, parent pid, start time).
fn scan() -> Vec<(u32, u32, u64)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (ppid, start) = parse_stat(&text)?;
            Some((pid, ppid, start))
        })
        .collect()
}

/// Runs `cmd` and returns the summed peak RSS of its process tree in MiB,
/// with how the command ended.
pub fn measure(cmd: &mut Command, timeout: Duration) -> Result<(f64, Finished)> {
    let mut running = exec::spawn(cmd, timeout)?;
    let root = running.pid();
    // Keyed by (pid, start time) so a reused pid is another process.
    let mut peaks: HashMap<(u32, u64), u64> = HashMap::new();
    loop {
        let procs = scan();
        let links: Vec<(u32, u32)> = procs.iter().map(|&(pid, ppid, _)| (pid, ppid)).collect();
        let members = tree_members(root, &links);
        for &(pid, _, start) in procs.iter().filter(|p| members.contains(&p.0)) {
            let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            if let Some(kib) = parse_vm_hwm_kib(&status) {
                let peak = peaks.entry((pid, start)).or_default();
                *peak = (*peak).max(kib);
            }
        }
        if running.has_exited()? {
            break;
        }
        thread::sleep(POLL);
    }
    let finished = running.wait()?;
    let total_kib: u64 = peaks.values().sum();
    Ok((total_kib as f64 / 1024.0, finished))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_gives_parent_and_start_time() {
        let text = "1234 (sleep) S 1200 1234 1200 0 -1 4194304 90 0 0 0 0 0 0 0 20 0 1 0 98765 2285568 129 18446744073709551615";
        assert_eq!(parse_stat(text), Some((1200, 98765)));
    }

    #[test]
    fn stat_survives_a_name_with_spaces_and_parentheses() {
        let text = "77 (a b) (c)) R 5 77 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 0 0";
        assert_eq!(parse_stat(text), Some((5, 42)));
    }

    #[test]
    fn truncated_stat_is_none() {
        assert_eq!(parse_stat("77 (x) R 5"), None);
    }

    #[test]
    fn vm_hwm_is_read_in_kib() {
        let text = "Name:\tsleep\nVmPeak:\t    8000 kB\nVmHWM:\t     912 kB\nVmRSS:\t     900 kB\n";
        assert_eq!(parse_vm_hwm_kib(text), Some(912));
    }

    #[test]
    fn kernel_threads_have_no_vm_hwm() {
        assert_eq!(parse_vm_hwm_kib("Name:\tkthreadd\nState:\tS\n"), None);
    }

    #[test]
    fn the_tree_holds_the_root_and_every_descendant_only() {
        let procs = [(1, 0), (10, 1), (20, 10), (21, 20), (30, 1), (31, 30)];
        let mut members = tree_members(10, &procs);
        members.sort_unstable();
        assert_eq!(members, [10, 20, 21]);
    }

    #[test]
    fn a_parent_cycle_does_not_hang() {
        let procs = [(5, 6), (6, 5), (10, 1)];
        assert_eq!(tree_members(10, &procs), [10]);
    }
}
