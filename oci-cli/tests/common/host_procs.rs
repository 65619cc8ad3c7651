//! The host's view of a running sandbox: `ward do` kept running while a test
//! looks at its processes (the sentry, the gofer, the stubs) through
//! /proc: their status fields and children.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Stdio};

use super::ward_do;

/// The fields of /proc/PID/status (or /proc/PID/task/TID/status).
pub fn status(path: &str) -> BTreeMap<String, String> {
    try_status(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// As `status`, for a process or thread that may have ended.
pub fn try_status(path: &str) -> std::io::Result<BTreeMap<String, String>> {
    let text = fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect())
}

/// A capability mask of a status.
pub fn cap(st: &BTreeMap<String, String>, field: &str) -> u64 {
    u64::from_str_radix(&st[field], 16).expect("a hex capability mask")
}

/// A "NNN kB" field of a status, in KiB.
pub fn kib(st: &BTreeMap<String, String>, field: &str) -> u64 {
    st[field]
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{field}: {:?} is no size in kB", st[field]))
}

/// Host pids whose parent is `ppid`.
pub fn children(ppid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …: comm may hold spaces, so split after ')'.
        let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
        if after.split_whitespace().nth(1) == Some(&ppid.to_string()) {
            out.push(pid);
        }
    }
    out
}

pub fn argv(pid: u32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// `ward do ARGS` whose program prints "up" and then waits for a line on
/// stdin before it ends: while it waits the sentry runs app code, so it is
/// confined, and its processes can be looked at.
pub struct Running {
    ward: Child,
    out: BufReader<ChildStdout>,
}

impl Running {
    pub fn start<const N: usize>(args: [&str; N]) -> Running {
        let mut ward = ward_do(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ward do");
        let out = BufReader::new(ward.stdout.take().expect("stdout"));
        let mut r = Running { ward, out };
        r.expect_line("up");
        r
    }

    /// Reads the program's next line, which must be `want`.
    pub fn expect_line(&mut self, want: &str) {
        let mut line = String::new();
        self.out
            .read_line(&mut line)
            .expect("read the sandbox's output");
        assert_eq!(line.trim_end(), want, "the sandbox said something else");
    }

    /// Sends the program one line.
    pub fn send_line(&mut self) {
        let stdin = self.ward.stdin.as_mut().expect("stdin");
        stdin.write_all(b"\n").expect("write to the sandbox");
        stdin.flush().expect("write to the sandbox");
    }

    /// The host pid of ward's child whose argv names `role`.
    pub fn component(&self, role: &str) -> u32 {
        children(self.ward.id())
            .into_iter()
            .find(|&p| argv(p).iter().any(|a| a == role))
            .unwrap_or_else(|| panic!("no {role} among ward's children"))
    }

    /// Sends the line the program waits for and checks that ward ends well.
    pub fn finish(mut self) {
        let mut stdin = self.ward.stdin.take().expect("stdin");
        stdin.write_all(b"\n").expect("release the sandbox");
        drop(stdin);
        let st = self.ward.wait().expect("wait for ward");
        assert!(st.success(), "ward do ended {st:?}");
    }
}
