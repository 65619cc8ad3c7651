//! What the state needs from /proc/PID/stat: whether a process lives and
//! when it started (field 22, in clock ticks since boot), which tells a
//! recorded process from a later one that reused its pid.

/// A process's state letter and start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcStat {
    /// Field 3: R, S, D, Z, T, …
    pub state: char,
    /// Field 22: start time in clock ticks after boot.
    pub start_time: u64,
}

impl ProcStat {
    /// Whether the process has exited (a zombie waiting for its parent, or dead).
    pub fn exited(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Field 22 of /proc/PID/stat, or None when there is no such process.
pub fn process_start_time(pid: i32) -> Option<u64> {
    read(pid).map(|s| s.start_time)
}

/// /proc/PID/stat parsed, or None when there is no such process.
pub fn read(pid: i32) -> Option<ProcStat> {
    if pid <= 0 {
        return None;
    }
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse(&text)
}

/// Parses a stat line. The command name (field 2) is in parentheses and may
/// itself hold spaces and parentheses, so the fields after it are found
/// from the last ')'.
pub fn parse(line: &str) -> Option<ProcStat> {
    let after_comm = &line[line.rfind(')')? + 1..];
    let mut fields = after_comm.split_ascii_whitespace();
    // `fields` starts at field 3.
    let state = fields.next()?.chars().next()?;
    let start_time = fields.nth(22 - 4)?.parse().ok()?;
    Some(ProcStat { state, start_time })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str =
        "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 3 1 0 0 20 0 1 0 987654 1000 200 0 0";

    #[test]
    fn a_command_name_with_spaces_and_parens_is_skipped() {
        let s = parse(LINE).unwrap();
        assert_eq!(s.state, 'S');
        assert_eq!(s.start_time, 987_654);
    }

    #[test]
    fn a_zombie_has_exited() {
        let s = parse(&LINE.replace(") S ", ") Z ")).unwrap();
        assert!(s.exited());
    }

    #[test]
    fn a_truncated_line_is_none() {
        assert_eq!(parse("12 (x) S 1 2 3"), None);
        assert_eq!(parse("garbage"), None);
    }

    #[test]
    fn this_process_has_a_start_time_and_pid_0_none() {
        assert!(process_start_time(std::process::id() as i32).is_some());
        assert_eq!(process_start_time(0), None);
    }
}
