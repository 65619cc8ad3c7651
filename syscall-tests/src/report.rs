//! The report: one line per case (or only the failures), a per-program
//! table, and the closing `N passed, N failed` line, which is always last.

use std::io::{self, Write};

use crate::compare::{Kind, Verdict};

/// The verdicts of one program, in test order.
#[derive(Debug, Clone)]
pub struct ProgramReport {
    pub program: String,
    pub verdicts: Vec<Verdict>,
}

impl ProgramReport {
    fn passed(&self) -> usize {
        self.verdicts
            .iter()
            .filter(|v| v.kind == Kind::Pass)
            .count()
    }

    fn failed(&self) -> usize {
        self.verdicts.len() - self.passed()
    }
}

/// Totals over the whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
}

/// Writes the report; returns the totals. With `quiet`, passing cases are
/// left out but the table and totals are not.
pub fn write(out: &mut impl Write, reports: &[ProgramReport], quiet: bool) -> io::Result<Totals> {
    for report in reports {
        for v in &report.verdicts {
            if !quiet || v.kind != Kind::Pass {
                writeln!(out, "{v}")?;
            }
        }
    }
    let width = reports
        .iter()
        .map(|r| r.program.len())
        .max()
        .unwrap_or(0)
        .max("program".len());
    writeln!(out)?;
    writeln!(
        out,
        "{:<width$}  {:>6}  {:>6}",
        "program", "passed", "failed"
    )?;
    let mut totals = Totals::default();
    for report in reports {
        let (passed, failed) = (report.passed(), report.failed());
        writeln!(out, "{:<width$}  {passed:>6}  {failed:>6}", report.program)?;
        totals.passed += passed;
        totals.failed += failed;
    }
    writeln!(out)?;
    writeln!(out, "{} passed, {} failed", totals.passed, totals.failed)?;
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(program: &str, number: u32, kind: Kind) -> Verdict {
        Verdict {
            program: program.to_string(),
            number: Some(number),
            desc: "d".to_string(),
            kind,
            detail: None,
        }
    }

    fn sample() -> Vec<ProgramReport> {
        vec![
            ProgramReport {
                program: "a.dyn".into(),
                verdicts: vec![
                    verdict("a.dyn", 1, Kind::Pass),
                    verdict("a.dyn", 2, Kind::FailInSandbox),
                ],
            },
            ProgramReport {
                program: "b.static".into(),
                verdicts: vec![verdict("b.static", 1, Kind::FailNative)],
            },
        ]
    }

    fn render(quiet: bool) -> (String, Totals) {
        let mut buf = Vec::new();
        let totals = write(&mut buf, &sample(), quiet).expect("writing to a Vec");
        (String::from_utf8(buf).expect("utf-8"), totals)
    }

    #[test]
    fn totals_count_fail_native_as_failed() {
        let (_, totals) = render(false);
        assert_eq!(
            totals,
            Totals {
                passed: 1,
                failed: 2
            }
        );
    }

    #[test]
    fn last_line_is_the_totals() {
        let (text, _) = render(false);
        assert_eq!(text.lines().last(), Some("1 passed, 2 failed"));
    }

    #[test]
    fn quiet_leaves_out_passing_lines_but_keeps_the_table() {
        let (text, _) = render(true);
        assert!(!text.contains("pass  a.dyn:1"));
        assert!(text.contains("FAIL-IN-SANDBOX  a.dyn:2 d"));
        assert!(text.contains("a.dyn          1       1"));
    }

    #[test]
    fn table_has_a_row_per_program() {
        let (text, _) = render(false);
        assert!(text.contains("program   passed  failed"));
        assert!(text.contains("b.static       0       1"));
    }
}
