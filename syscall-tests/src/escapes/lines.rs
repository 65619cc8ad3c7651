//! Reading an escape program's stdout: one `ESCAPE <VERDICT> <name>
//! native=<escapes|na> marker=<path|-> :: <detail>` line per attack and a
//! closing `ESCAPE-END` (see `escapes/escape.h`).
//!
//! It only reads text: whether a marker exists on the host is `host`'s
//! question, and what a verdict means for the run is `judge`'s.

use std::path::PathBuf;

/// What an attack's own process saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    /// The wall held.
    Held,
    /// The attack did what it must not do.
    Escaped,
    /// A write the kernel accepted; the host decides (is the marker there?).
    Wrote,
    /// A write the kernel refused.
    Refused,
    /// The attack hung past its alarm.
    Wedged,
}

impl Said {
    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "HELD" => Self::Held,
            "ESCAPED" => Self::Escaped,
            "WROTE" => Self::Wrote,
            "REFUSED" => Self::Refused,
            "WEDGED" => Self::Wedged,
            _ => return None,
        })
    }
}

/// Whether an attack is an escape when run natively too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Native {
    /// Natively it must work (proving the attack is real).
    Escapes,
    /// Natively there is no wall to cross (or the host may lack the thing).
    NotApplicable,
}

/// One attack's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttackLine {
    pub name: String,
    pub said: Said,
    pub native: Native,
    /// The host path a write attack aimed at.
    pub marker: Option<PathBuf>,
    pub detail: String,
}

/// Everything a run printed about its attacks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub attacks: Vec<AttackLine>,
    /// Whether the closing `ESCAPE-END` line came (the program was not cut
    /// short).
    pub ended: bool,
    /// Lines that start with `ESCAPE ` but do not parse.
    pub garbled: Vec<String>,
}

/// Parses a whole stdout; other lines are ignored.
pub fn parse(stdout: &str) -> Report {
    let mut report = Report::default();
    for line in stdout.lines() {
        if line == "ESCAPE-END" {
            report.ended = true;
        } else if let Some(rest) = line.strip_prefix("ESCAPE ") {
            match parse_attack(rest) {
                Some(attack) => report.attacks.push(attack),
                None => report.garbled.push(line.to_string()),
            }
        }
    }
    report
}

fn parse_attack(rest: &str) -> Option<AttackLine> {
    let (head, detail) = rest.split_once(" :: ")?;
    let mut words = head.split_whitespace();
    let said = Said::parse(words.next()?)?;
    let name = words.next()?.to_string();
    let native = match words.next()?.strip_prefix("native=")? {
        "escapes" => Native::Escapes,
        "na" => Native::NotApplicable,
        _ => return None,
    };
    let marker = match words.next()?.strip_prefix("marker=")? {
        "-" => None,
        path => Some(PathBuf::from(path)),
    };
    if words.next().is_some() {
        return None;
    }
    Some(AttackLine {
        name,
        said,
        native,
        marker,
        detail: detail.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_attack_line_parses_with_its_marker() {
        let r = parse(
            "ESCAPE WROTE write_tmp native=escapes marker=/tmp/t-direct :: wrote /tmp/t-direct\nESCAPE-END\n",
        );
        assert!(r.ended);
        assert_eq!(
            r.attacks,
            vec![AttackLine {
                name: "write_tmp".into(),
                said: Said::Wrote,
                native: Native::Escapes,
                marker: Some(PathBuf::from("/tmp/t-direct")),
                detail: "wrote /tmp/t-direct".into(),
            }]
        );
    }

    #[test]
    fn a_line_without_a_marker_and_not_applicable_natively_parses() {
        let r = parse("ESCAPE HELD int80 native=na marker=- :: killed by SIGSYS\n");
        assert!(!r.ended);
        assert_eq!(r.attacks[0].native, Native::NotApplicable);
        assert_eq!(r.attacks[0].marker, None);
        assert_eq!(r.attacks[0].said, Said::Held);
    }

    #[test]
    fn malformed_escape_lines_are_kept_as_garbled() {
        let r = parse("ESCAPE MAYBE x native=na marker=- :: d\nESCAPE HELD x :: d\nnoise\n");
        assert!(r.attacks.is_empty());
        assert_eq!(r.garbled.len(), 2);
    }
}
