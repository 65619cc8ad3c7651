//! Judging runs: what one run of a program says (its TAP test points and
//! anything wrong with the run as a whole), and the case-by-case verdicts
//! from a native run and, optionally, a run under the sandbox.
//!
//! Pure logic over captured output: it runs nothing and prints nothing.

use std::fmt;

use crate::exec::{Outcome, Termination};
use crate::sys;
use crate::tap::{Tap, TestPoint};

/// What one run of one program said.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    /// The test points it reported.
    pub tests: Vec<TestPoint>,
    /// Why the run as a whole cannot be trusted (crash, timeout, no plan,
    /// count mismatch, ...), if it cannot.
    pub problem: Option<String>,
}

impl RunResult {
    /// A run that never happened, e.g. because the case does not compile.
    pub fn failed(why: impl Into<String>) -> Self {
        Self {
            tests: Vec::new(),
            problem: Some(why.into()),
        }
    }

    /// Reads a finished run: TAP from stdout, then the exit status.
    pub fn from_outcome(outcome: &Outcome) -> Self {
        let tap = Tap::parse(&outcome.stdout);
        let last = tap.tests.last().map(|t| t.number);
        let after = match last {
            Some(n) => format!(" after test {n}"),
            None => String::new(),
        };
        let problem = match &outcome.termination {
            Termination::Failed(why) => Some(why.clone()),
            Termination::TimedOut(d) => {
                Some(format!("timed out after {}s{after}", d.as_secs_f64()))
            }
            Termination::Signaled(sig) => {
                Some(format!("killed by {}{after}", sys::signal_name(*sig)))
            }
            Termination::Exited(code) if tap.is_empty() => {
                Some(format!("exit status {code} with no TAP output"))
            }
            Termination::Exited(code) => match tap.problem() {
                Some(p) if *code != 0 => Some(format!("{p}; exit status {code}")),
                Some(p) => Some(p.to_string()),
                None if *code != 0 && tap.tests.iter().all(|t| t.ok) => {
                    Some(format!("exit status {code} although every test passed"))
                }
                None => None,
            },
        };
        let problem = problem.map(|p| match last_line(&outcome.stderr) {
            Some(line) => format!("{p}; stderr: {line}"),
            None => p,
        });
        Self {
            tests: tap.tests,
            problem,
        }
    }
}

/// The last non-empty line of `text`, shortened to a readable length.
fn last_line(text: &str) -> Option<String> {
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?.trim();
    const MAX: usize = 200;
    if line.chars().count() > MAX {
        let cut: String = line.chars().take(MAX).collect();
        Some(format!("{cut}…"))
    } else {
        Some(line.to_string())
    }
}

/// The verdict on one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Passed natively and (when there is one) under the sandbox.
    Pass,
    /// Passed natively but not under the sandbox: a sandbox bug.
    FailInSandbox,
    /// Failed natively: a bad case (or a host that differs from Linux).
    FailNative,
}

impl Kind {
    /// The tag that starts a report line.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::FailInSandbox => "FAIL-IN-SANDBOX",
            Self::FailNative => "FAIL-NATIVE",
        }
    }
}

/// One line of the report: a test point of a program, or the program as a
/// whole (when `number` is None).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub program: String,
    pub number: Option<u32>,
    pub desc: String,
    pub kind: Kind,
    /// What follows " — " on the line.
    pub detail: Option<String>,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}  {}", self.kind.tag(), self.program)?;
        if let Some(n) = self.number {
            write!(f, ":{n}")?;
        }
        if !self.desc.is_empty() {
            write!(f, " {}", self.desc)?;
        }
        if let Some(detail) = &self.detail {
            write!(f, " — {detail}")?;
        }
        Ok(())
    }
}

/// Compares a program's native run with its sandbox run (None when only
/// native runs were asked for), case by case.
pub fn compare(program: &str, native: &RunResult, sandbox: Option<&RunResult>) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    let mut sandbox_failures = 0;
    for t in &native.tests {
        let (kind, detail) = if !t.ok {
            let why = t.comment.as_deref().unwrap_or("not ok");
            (Kind::FailNative, Some(format!("native said: {why}")))
        } else if let Some(sb) = sandbox {
            match sb.tests.iter().find(|s| s.number == t.number) {
                Some(s) if s.ok => match (&t.skip, &s.skip) {
                    (None, Some(why)) => (Kind::Pass, Some(format!("skipped in sandbox: {why}"))),
                    _ => (Kind::Pass, skip_note(t)),
                },
                Some(s) => {
                    let why = s.comment.as_deref().unwrap_or("not ok");
                    (Kind::FailInSandbox, Some(format!("sandbox said: {why}")))
                }
                None => {
                    let why = sb.problem.as_deref().unwrap_or("result missing");
                    (
                        Kind::FailInSandbox,
                        Some(format!("sandbox said: no result ({why})")),
                    )
                }
            }
        } else {
            (Kind::Pass, skip_note(t))
        };
        if kind == Kind::FailInSandbox {
            sandbox_failures += 1;
        }
        verdicts.push(Verdict {
            program: program.to_string(),
            number: Some(t.number),
            desc: t.desc.clone(),
            kind,
            detail,
        });
    }
    if let Some(problem) = &native.problem {
        verdicts.push(Verdict {
            program: program.to_string(),
            number: None,
            desc: String::new(),
            kind: Kind::FailNative,
            detail: Some(problem.clone()),
        });
    } else if let Some(problem) = sandbox.and_then(|s| s.problem.as_ref()) {
        // Only when no test point already carries the blame: otherwise the
        // same crash would count twice.
        if sandbox_failures == 0 {
            verdicts.push(Verdict {
                program: program.to_string(),
                number: None,
                desc: String::new(),
                kind: Kind::FailInSandbox,
                detail: Some(format!("sandbox said: {problem}")),
            });
        }
    }
    verdicts
}

fn skip_note(t: &TestPoint) -> Option<String> {
    t.skip.as_ref().map(|why| {
        if why.is_empty() {
            "skipped".to_string()
        } else {
            format!("skipped: {why}")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn outcome(termination: Termination, stdout: &str) -> Outcome {
        Outcome {
            termination,
            stdout: stdout.to_string(),
            stderr: String::new(),
        }
    }

    fn result(stdout: &str) -> RunResult {
        RunResult::from_outcome(&outcome(Termination::Exited(0), stdout))
    }

    fn kinds(v: &[Verdict]) -> Vec<Kind> {
        v.iter().map(|v| v.kind).collect()
    }

    #[test]
    fn clean_run_has_no_problem() {
        let r = result("1..2\nok 1 - a\nok 2 - b\n");
        assert_eq!(r.problem, None);
        assert_eq!(r.tests.len(), 2);
    }

    #[test]
    fn nonzero_exit_without_tap_is_a_problem() {
        let r = RunResult::from_outcome(&Outcome {
            termination: Termination::Exited(127),
            stdout: String::new(),
            stderr: "ward: cannot start sandbox\n".to_string(),
        });
        assert_eq!(
            r.problem.as_deref(),
            Some("exit status 127 with no TAP output; stderr: ward: cannot start sandbox")
        );
    }

    #[test]
    fn nonzero_exit_after_all_passed_is_a_problem() {
        let r = RunResult::from_outcome(&outcome(Termination::Exited(1), "1..1\nok 1 - a\n"));
        assert_eq!(
            r.problem.as_deref(),
            Some("exit status 1 although every test passed")
        );
    }

    #[test]
    fn nonzero_exit_with_a_failure_is_consistent() {
        let r =
            RunResult::from_outcome(&outcome(Termination::Exited(1), "1..1\nnot ok 1 - a # x\n"));
        assert_eq!(r.problem, None);
    }

    #[test]
    fn crash_names_the_signal_and_last_test() {
        let r = RunResult::from_outcome(&outcome(
            Termination::Signaled(libc::SIGSEGV),
            "1..3\nok 1 - a\n",
        ));
        assert_eq!(r.problem.as_deref(), Some("killed by SIGSEGV after test 1"));
    }

    #[test]
    fn timeout_is_a_problem() {
        let r = RunResult::from_outcome(&outcome(
            Termination::TimedOut(Duration::from_secs(30)),
            "1..3\n",
        ));
        assert_eq!(r.problem.as_deref(), Some("timed out after 30s"));
    }

    #[test]
    fn count_mismatch_is_a_problem() {
        let r = result("1..3\nok 1 - a\n");
        assert_eq!(r.problem.as_deref(), Some("planned 3 tests but reported 1"));
    }

    #[test]
    fn passing_everywhere_is_pass() {
        let n = result("1..1\nok 1 - a\n");
        let s = result("1..1\nok 1 - a\n");
        let v = compare("x.dyn", &n, Some(&s));
        assert_eq!(kinds(&v), vec![Kind::Pass]);
        assert_eq!(v[0].to_string(), "pass  x.dyn:1 a");
    }

    #[test]
    fn failing_only_in_sandbox_is_fail_in_sandbox_with_its_reason() {
        let n = result("1..2\nok 1 - a\nok 2 - b\n");
        let s = result("1..2\nok 1 - a\nnot ok 2 - b # expected 0, got -1 errno ENOSYS\n");
        let v = compare("x.dyn", &n, Some(&s));
        assert_eq!(kinds(&v), vec![Kind::Pass, Kind::FailInSandbox]);
        assert_eq!(
            v[1].to_string(),
            "FAIL-IN-SANDBOX  x.dyn:2 b — sandbox said: expected 0, got -1 errno ENOSYS"
        );
    }

    #[test]
    fn failing_natively_is_fail_native_whatever_the_sandbox_says() {
        let n = result("1..1\nnot ok 1 - a # bad case\n");
        let s = result("1..1\nok 1 - a\n");
        let v = compare("x.static", &n, Some(&s));
        assert_eq!(kinds(&v), vec![Kind::FailNative]);
        assert_eq!(
            v[0].to_string(),
            "FAIL-NATIVE  x.static:1 a — native said: bad case"
        );
    }

    #[test]
    fn sandbox_crash_fails_the_missing_cases_only() {
        let n = result("1..3\nok 1 - a\nok 2 - b\nok 3 - c\n");
        let s = RunResult::from_outcome(&outcome(
            Termination::Signaled(libc::SIGSEGV),
            "1..3\nok 1 - a\n",
        ));
        let v = compare("x.dyn", &n, Some(&s));
        assert_eq!(
            kinds(&v),
            vec![Kind::Pass, Kind::FailInSandbox, Kind::FailInSandbox]
        );
        assert_eq!(
            v[2].detail.as_deref(),
            Some("sandbox said: no result (killed by SIGSEGV after test 1)")
        );
    }

    #[test]
    fn sandbox_problem_after_all_passed_is_one_program_failure() {
        let n = result("1..1\nok 1 - a\n");
        let s = RunResult::from_outcome(&outcome(Termination::Exited(3), "1..1\nok 1 - a\n"));
        let v = compare("x.dyn", &n, Some(&s));
        assert_eq!(kinds(&v), vec![Kind::Pass, Kind::FailInSandbox]);
        assert_eq!(
            v[1].to_string(),
            "FAIL-IN-SANDBOX  x.dyn — sandbox said: exit status 3 although every test passed"
        );
    }

    #[test]
    fn native_program_problem_is_fail_native() {
        let n = RunResult::failed("does not compile: x.c:1: error: oops");
        let v = compare("x.dyn", &n, None);
        assert_eq!(kinds(&v), vec![Kind::FailNative]);
        assert_eq!(
            v[0].to_string(),
            "FAIL-NATIVE  x.dyn — does not compile: x.c:1: error: oops"
        );
    }

    #[test]
    fn native_only_passes_on_native_results() {
        let n = result("1..2\nok 1 - a\nok 2 - b # SKIP no tty\n");
        let v = compare("x.dyn", &n, None);
        assert_eq!(kinds(&v), vec![Kind::Pass, Kind::Pass]);
        assert_eq!(v[1].to_string(), "pass  x.dyn:2 b — skipped: no tty");
    }

    #[test]
    fn skipped_only_in_sandbox_passes_with_a_note() {
        let n = result("1..1\nok 1 - a\n");
        let s = result("1..1\nok 1 - a # SKIP stdout is not a pipe\n");
        let v = compare("x.dyn", &n, Some(&s));
        assert_eq!(kinds(&v), vec![Kind::Pass]);
        assert_eq!(
            v[0].detail.as_deref(),
            Some("skipped in sandbox: stdout is not a pipe")
        );
    }
}
