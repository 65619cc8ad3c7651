//! The TAP (Test Anything Protocol) reader: turns a case's stdout into a
//! plan and test points, and names what is wrong with it (no plan, a count
//! that does not match, numbers out of sequence, a bail-out).
//!
//! It only reads text: it never runs anything and never decides whether a
//! program passed (that is `compare`'s job).

use std::fmt;

/// One "ok N - desc" or "not ok N - desc # reason" line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPoint {
    /// The test number (given, or the next one when the line omits it).
    pub number: u32,
    /// Whether the line said "ok".
    pub ok: bool,
    /// The description, without the leading "- ".
    pub desc: String,
    /// The reason given after `# SKIP`, when the point was skipped.
    pub skip: Option<String>,
    /// Any other text after " # ": for a failure, the case's reason.
    pub comment: Option<String>,
}

/// Something that makes a whole TAP stream untrustworthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TapProblem {
    /// The program printed "Bail out!".
    BailOut(String),
    /// More than one "1..N" line.
    DuplicatePlan,
    /// A test number that is not the next one.
    OutOfSequence { expected: u32, got: u32 },
    /// No "1..N" line at all.
    NoPlan,
    /// The plan and the number of test points disagree.
    CountMismatch { planned: u32, got: usize },
}

impl fmt::Display for TapProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BailOut(why) if why.is_empty() => write!(f, "bailed out"),
            Self::BailOut(why) => write!(f, "bailed out: {why}"),
            Self::DuplicatePlan => write!(f, "more than one plan line"),
            Self::OutOfSequence { expected, got } => {
                write!(f, "test {got} where test {expected} was expected")
            }
            Self::NoPlan => write!(f, "no TAP plan (1..N)"),
            Self::CountMismatch { planned, got } => {
                write!(f, "planned {planned} tests but reported {got}")
            }
        }
    }
}

/// A parsed TAP stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tap {
    /// N from the "1..N" line.
    pub plan: Option<u32>,
    /// The test points in the order they were printed.
    pub tests: Vec<TestPoint>,
    problems: Vec<TapProblem>,
}

impl Tap {
    /// Parses TAP text. Lines that are not TAP (comments, stray output) are
    /// ignored; malformed structure is recorded and reported by `problem`.
    pub fn parse(text: &str) -> Self {
        let mut tap = Self::default();
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if let Some(n) = parse_plan(line) {
                if tap.plan.is_some() {
                    tap.problems.push(TapProblem::DuplicatePlan);
                }
                tap.plan = Some(n);
            } else if let Some(rest) = line.strip_prefix("Bail out!") {
                tap.problems
                    .push(TapProblem::BailOut(rest.trim().to_string()));
            } else if let Some((ok, rest)) = result_line(line) {
                let expected = tap.tests.last().map_or(1, |t| t.number + 1);
                let point = parse_point(ok, rest, expected);
                if point.number != expected {
                    tap.problems.push(TapProblem::OutOfSequence {
                        expected,
                        got: point.number,
                    });
                }
                tap.tests.push(point);
            }
        }
        tap
    }

    /// True when the text held neither a plan nor a test point.
    pub fn is_empty(&self) -> bool {
        self.plan.is_none() && self.tests.is_empty()
    }

    /// The first thing wrong with the stream as a whole, if any.
    pub fn problem(&self) -> Option<TapProblem> {
        if let Some(p) = self.problems.first() {
            return Some(p.clone());
        }
        match self.plan {
            None => Some(TapProblem::NoPlan),
            Some(planned) if planned as usize != self.tests.len() => {
                Some(TapProblem::CountMismatch {
                    planned,
                    got: self.tests.len(),
                })
            }
            Some(_) => None,
        }
    }
}

/// "1..N", optionally followed by " # comment".
fn parse_plan(line: &str) -> Option<u32> {
    let rest = line.strip_prefix("1..")?;
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (digits, tail) = rest.split_at(digits_end);
    let tail = tail.trim_start();
    if digits.is_empty() || !(tail.is_empty() || tail.starts_with('#')) {
        return None;
    }
    digits.parse().ok()
}

/// Splits "ok ..." / "not ok ..." into the verdict and the rest of the line.
fn result_line(line: &str) -> Option<(bool, &str)> {
    let (ok, rest) = if let Some(rest) = line.strip_prefix("not ok") {
        (false, rest)
    } else {
        (true, line.strip_prefix("ok")?)
    };
    if rest.is_empty() || rest.starts_with(' ') {
        Some((ok, rest.trim_start()))
    } else {
        None
    }
}

/// Parses "[N] [- ]desc[ # directive]".
fn parse_point(ok: bool, rest: &str, expected: u32) -> TestPoint {
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (number, rest) = match rest[..digits_end].parse::<u32>() {
        Ok(n) => (n, &rest[digits_end..]),
        Err(_) => (expected, rest),
    };
    let rest = rest.trim_start();
    let rest = rest.strip_prefix("- ").unwrap_or(rest);
    let rest = if rest == "-" { "" } else { rest };
    let (desc, directive) = match rest.split_once(" # ") {
        Some((desc, directive)) => (desc, Some(directive.trim())),
        None => match rest.strip_prefix("# ") {
            Some(directive) => ("", Some(directive.trim())),
            None => (rest, None),
        },
    };
    let mut skip = None;
    let mut comment = None;
    if let Some(directive) = directive {
        let upper = directive.to_ascii_uppercase();
        if upper.starts_with("SKIP") {
            skip = Some(directive[4..].trim().to_string());
        } else {
            comment = Some(directive.to_string());
        }
    }
    TestPoint {
        number,
        ok,
        desc: desc.trim().to_string(),
        skip,
        comment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_and_passing_points_have_no_problem() {
        let tap = Tap::parse("1..2\nok 1 - first\nok 2 - second\n");
        assert_eq!(tap.plan, Some(2));
        assert_eq!(tap.tests.len(), 2);
        assert_eq!(tap.tests[1].desc, "second");
        assert!(tap.tests.iter().all(|t| t.ok));
        assert_eq!(tap.problem(), None);
    }

    #[test]
    fn failure_reason_follows_the_hash() {
        let tap = Tap::parse("1..1\nnot ok 1 - opens # expected -1 errno ENOENT, got 3\n");
        let t = &tap.tests[0];
        assert!(!t.ok);
        assert_eq!(t.desc, "opens");
        assert_eq!(
            t.comment.as_deref(),
            Some("expected -1 errno ENOENT, got 3")
        );
        assert_eq!(t.skip, None);
    }

    #[test]
    fn skip_directive_is_recognised_in_any_case() {
        let tap = Tap::parse("1..2\nok 1 - a # SKIP no symlink\nok 2 - b # skip\n");
        assert_eq!(tap.tests[0].skip.as_deref(), Some("no symlink"));
        assert_eq!(tap.tests[1].skip.as_deref(), Some(""));
        assert!(tap.tests[0].ok);
    }

    #[test]
    fn missing_plan_is_a_problem() {
        let tap = Tap::parse("ok 1 - a\n");
        assert_eq!(tap.problem(), Some(TapProblem::NoPlan));
    }

    #[test]
    fn count_mismatch_is_a_problem() {
        let tap = Tap::parse("1..3\nok 1 - a\nok 2 - b\n");
        assert_eq!(
            tap.problem(),
            Some(TapProblem::CountMismatch { planned: 3, got: 2 })
        );
    }

    #[test]
    fn plan_may_come_last() {
        let tap = Tap::parse("ok 1 - a\nok 2 - b\n1..2\n");
        assert_eq!(tap.problem(), None);
    }

    #[test]
    fn plan_with_skip_comment_and_no_tests_is_fine() {
        let tap = Tap::parse("1..0 # SKIP not on this machine\n");
        assert_eq!(tap.plan, Some(0));
        assert_eq!(tap.problem(), None);
    }

    #[test]
    fn numbers_out_of_sequence_are_a_problem() {
        let tap = Tap::parse("1..2\nok 1 - a\nok 3 - b\n");
        assert_eq!(
            tap.problem(),
            Some(TapProblem::OutOfSequence {
                expected: 2,
                got: 3
            })
        );
    }

    #[test]
    fn missing_numbers_are_assigned_in_order() {
        let tap = Tap::parse("1..2\nok - a\nnot ok b\n");
        assert_eq!(tap.tests[0].number, 1);
        assert_eq!(tap.tests[1].number, 2);
        assert_eq!(tap.tests[1].desc, "b");
        assert_eq!(tap.problem(), None);
    }

    #[test]
    fn comments_and_stray_output_are_ignored() {
        let tap = Tap::parse("# hello\n1..1\nsome noise\nokay\nok 1 - a\n# bye\n");
        assert_eq!(tap.tests.len(), 1);
        assert_eq!(tap.problem(), None);
    }

    #[test]
    fn bail_out_is_a_problem() {
        let tap = Tap::parse("1..2\nok 1 - a\nBail out! no memory\n");
        assert_eq!(
            tap.problem(),
            Some(TapProblem::BailOut("no memory".to_string()))
        );
    }

    #[test]
    fn duplicate_plan_is_a_problem() {
        let tap = Tap::parse("1..1\nok 1 - a\n1..1\n");
        assert_eq!(tap.problem(), Some(TapProblem::DuplicatePlan));
    }

    #[test]
    fn empty_output_is_empty() {
        let tap = Tap::parse("");
        assert!(tap.is_empty());
        assert_eq!(tap.problem(), Some(TapProblem::NoPlan));
    }

    #[test]
    fn crlf_line_endings_are_accepted() {
        let tap = Tap::parse("1..1\r\nok 1 - a\r\n");
        assert_eq!(tap.tests[0].desc, "a");
        assert_eq!(tap.problem(), None);
    }
}
