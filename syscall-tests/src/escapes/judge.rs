//! Verdicts: what one run of an escape program showed once the host has
//! been looked at, and whether the native and sandboxed runs of an attack
//! are what the suite requires (natively ESCAPED unless "n/a"; in the
//! sandbox HELD, or a known failure).
//!
//! Pure: the host's evidence comes in as a closure and a list.

use std::fmt;
use std::path::{Path, PathBuf};

use super::known;
use super::lines::{AttackLine, Native, Report, Said};

/// What an attack finally did in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Held,
    Escaped,
    Wedged,
    /// The run printed no line for it (it died, or the sandbox did).
    Missing,
}

impl fmt::Display for Fate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Held => "HELD",
            Self::Escaped => "ESCAPED",
            Self::Wedged => "WEDGED",
            Self::Missing => "MISSING",
        })
    }
}

/// One attack in one run, after the host was looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub name: String,
    pub native: Native,
    pub fate: Fate,
    pub detail: String,
}

/// One run: its attacks and what went wrong with the run as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Run {
    pub attacks: Vec<Observed>,
    /// No end line, garbled lines, files left on the host outside any
    /// attack's marker, a bad exit: each a reason the run fails.
    pub problems: Vec<String>,
}

/// Combines a parsed report with the host's evidence: `exists` says
/// whether a marker is on the host; `leftovers` are the run's `/tmp/TAG-*`
/// entries that count against it (none natively, where attacks leave
/// helper files such as a symlink or a device node); `ending` is how the
/// program ended when it was not a plain exit 0.
pub fn observe(
    report: &Report,
    exists: impl Fn(&Path) -> bool,
    leftovers: &[PathBuf],
    ending: Option<String>,
) -> Run {
    let attacks = report.attacks.iter().map(|a| resolve(a, &exists)).collect();
    let mut problems = Vec::new();
    if let Some(ending) = ending {
        problems.push(ending);
    }
    if !report.ended {
        problems.push("the program was cut short (no ESCAPE-END line)".to_string());
    }
    for line in &report.garbled {
        problems.push(format!("garbled line: {line}"));
    }
    let strays: Vec<String> = leftovers
        .iter()
        .filter(|p| {
            !report
                .attacks
                .iter()
                .any(|a| a.marker.as_deref() == Some(p))
        })
        .map(|p| p.display().to_string())
        .collect();
    if !strays.is_empty() {
        problems.push(format!("files left on the host: {}", strays.join(", ")));
    }
    Run { attacks, problems }
}

fn resolve(line: &AttackLine, exists: &impl Fn(&Path) -> bool) -> Observed {
    let on_host = line.marker.as_deref().filter(|m| exists(m));
    let (fate, detail) = match (on_host, line.said) {
        (Some(marker), _) => (
            Fate::Escaped,
            format!("{} is on the host ({})", marker.display(), line.detail),
        ),
        (None, Said::Escaped) => (Fate::Escaped, line.detail.clone()),
        (None, Said::Wedged) => (Fate::Wedged, line.detail.clone()),
        (None, Said::Held | Said::Refused) => (Fate::Held, line.detail.clone()),
        (None, Said::Wrote) => (Fate::Held, format!("{} (not on the host)", line.detail)),
    };
    Observed {
        name: line.name.clone(),
        native: line.native,
        fate,
        detail,
    }
}

/// How one attack fared in one column of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// What the table shows ("ESCAPED", "n/a", "HELD", "ESCAPED (known: …)").
    pub shown: String,
    pub ok: bool,
    /// A known failure that held this time: its entry can go.
    pub known_now_holds: bool,
}

/// The native column: an attack that escapes natively must show ESCAPED.
pub fn native_cell(o: Option<&Observed>) -> Cell {
    match o {
        None => Cell {
            shown: "MISSING".into(),
            ok: false,
            known_now_holds: false,
        },
        Some(o) if o.native == Native::NotApplicable => Cell {
            shown: format!("n/a ({})", o.fate),
            ok: o.fate != Fate::Wedged,
            known_now_holds: false,
        },
        Some(o) => Cell {
            shown: o.fate.to_string(),
            ok: o.fate == Fate::Escaped,
            known_now_holds: false,
        },
    }
}

/// The sandbox column: every attack must hold, unless it is known.
pub fn sandbox_cell(name: &str, o: Option<&Observed>) -> Cell {
    judge_sandbox(o, known::reason(name))
}

/// The sandbox cell for an observation, given why the attack is known to
/// escape (if it is).
fn judge_sandbox(o: Option<&Observed>, known: Option<&str>) -> Cell {
    let fate = o.map_or(Fate::Missing, |o| o.fate);
    match (fate, known) {
        (Fate::Held, Some(_)) => Cell {
            shown: "HELD (known failure now holds: drop it from known.rs)".into(),
            ok: true,
            known_now_holds: true,
        },
        (Fate::Held, None) => Cell {
            shown: "HELD".into(),
            ok: true,
            known_now_holds: false,
        },
        (Fate::Escaped, Some(why)) => Cell {
            shown: format!("ESCAPED (known: {why})"),
            ok: true,
            known_now_holds: false,
        },
        (fate, _) => Cell {
            shown: fate.to_string(),
            ok: false,
            known_now_holds: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escapes::lines::parse;

    fn report() -> Report {
        parse(
            "ESCAPE WROTE w native=escapes marker=/tmp/t-w :: wrote\n\
             ESCAPE HELD p native=escapes marker=- :: ESRCH\n\
             ESCAPE-END\n",
        )
    }

    #[test]
    fn a_write_is_an_escape_only_when_its_marker_is_on_the_host() {
        let inside = observe(&report(), |_| false, &[], None);
        assert_eq!(inside.attacks[0].fate, Fate::Held);
        let native = observe(&report(), |_| true, &[PathBuf::from("/tmp/t-w")], None);
        assert_eq!(native.attacks[0].fate, Fate::Escaped);
        assert!(native.problems.is_empty());
    }

    #[test]
    fn a_file_left_outside_every_marker_is_a_problem() {
        let run = observe(&report(), |_| false, &[PathBuf::from("/tmp/t-other")], None);
        assert_eq!(run.problems.len(), 1);
        assert!(run.problems[0].contains("/tmp/t-other"));
    }

    #[test]
    fn a_run_without_its_end_line_is_a_problem() {
        let run = observe(&parse(""), |_| false, &[], None);
        assert_eq!(run.problems.len(), 1);
    }

    #[test]
    fn natively_an_attack_must_escape_unless_not_applicable() {
        let run = observe(&report(), |_| false, &[], None);
        assert!(!native_cell(run.attacks.get(1)).ok);
        let na = Observed {
            name: "x".into(),
            native: Native::NotApplicable,
            fate: Fate::Held,
            detail: String::new(),
        };
        assert!(native_cell(Some(&na)).ok);
        assert!(!native_cell(None).ok);
    }

    #[test]
    fn in_the_sandbox_only_held_or_known_passes() {
        let held = observe(&report(), |_| false, &[], None);
        assert!(sandbox_cell("p", held.attacks.get(1)).ok);
        let escaped = observe(&report(), |_| true, &[], None);
        assert!(!sandbox_cell("w", escaped.attacks.first()).ok);
        assert!(!sandbox_cell("w", None).ok);
        let cell = judge_sandbox(escaped.attacks.first(), Some("a reason"));
        assert!(cell.ok && cell.shown.starts_with("ESCAPED (known: a reason"));
        let cell = judge_sandbox(held.attacks.get(1), Some("a reason"));
        assert!(cell.ok && cell.known_now_holds);
    }
}
