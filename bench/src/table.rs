//! The markdown table (pure): medians formatted with their units, the
//! ratios of the best ward platform to native, to runsc and to the floor of
//! its trap mechanism, and the notes below.

use crate::runtimes::Column;
use crate::workloads::{Mechanism, Unit};

/// One cell's summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// The median.
    Value(f64),
    /// The runtime failed here (a note says how).
    Err,
    /// The runtime is absent, or the figure does not apply to it here.
    NotAvailable,
    /// Not measured in this column by design (floors are native only).
    Blank,
}

/// One row: a figure and its cells, in `Column::ALL` order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub figure: String,
    pub unit: Unit,
    pub cells: [Cell; 5],
    /// Trapped syscalls per operation, for ward/floor.
    pub syscalls_per_op: Option<u32>,
}

/// The per-syscall floors of the two trap mechanisms, when measured.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Floors {
    pub systrap: Option<f64>,
    pub ptrace: Option<f64>,
}

impl Floors {
    fn of(&self, mechanism: Mechanism) -> Option<f64> {
        match mechanism {
            Mechanism::Systrap => self.systrap,
            Mechanism::Ptrace => self.ptrace,
        }
    }
}

const HEADER: [&str; 9] = [
    "figure",
    "native",
    "ward-systrap",
    "ward-ptrace",
    "runsc",
    "runc",
    "ward/native",
    "ward/runsc",
    "ward/floor",
];

impl Row {
    fn value(&self, column: Column) -> Option<f64> {
        match self.cells[column.index()] {
            Cell::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The better of the two ward columns that have a value.
    pub fn best_ward(&self) -> Option<(Column, f64)> {
        let candidates = [Column::WardSystrap, Column::WardPtrace]
            .into_iter()
            .filter_map(|c| Some((c, self.value(c)?)));
        if self.unit.higher_is_better() {
            candidates.max_by(|a, b| a.1.total_cmp(&b.1))
        } else {
            candidates.min_by(|a, b| a.1.total_cmp(&b.1))
        }
    }

    /// The three ratio cells: ward/native, ward/runsc, ward/floor.
    pub fn ratios(&self, floors: &Floors) -> [Option<f64>; 3] {
        let Some((column, ward)) = self.best_ward() else {
            return [None; 3];
        };
        let over = |base: Option<f64>| base.filter(|b| *b > 0.0).map(|b| ward / b);
        let floor = self.syscalls_per_op.and_then(|n| {
            let per_call = floors.of(column.mechanism()?)?;
            Some(per_call * f64::from(n))
        });
        [
            over(self.value(Column::Native)),
            over(self.value(Column::Runsc)),
            over(floor),
        ]
    }
}

/// A value with three significant digits (fewer decimals as it grows),
/// and two below 1 ("0.85", "0.0016").
fn sig3(x: f64) -> String {
    if x > 0.0 && x < 1.0 {
        let decimals = (-x.log10().floor()) as usize + 1;
        format!("{x:.decimals$}")
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// A median with its unit: "87 ns", "3.80 µs", "1.90 ms", "4699 MiB/s",
/// "80.1 MiB".
pub fn format_value(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Nanos if value < 1e3 => format!("{value:.0} ns"),
        Unit::Nanos if value < 1e6 => format!("{} µs", sig3(value / 1e3)),
        Unit::Nanos if value < 1e9 => format!("{} ms", sig3(value / 1e6)),
        Unit::Nanos => format!("{} s", sig3(value / 1e9)),
        Unit::MibPerSec => format!("{value:.0} MiB/s"),
        Unit::Mib => format!("{value:.1} MiB"),
    }
}

/// A ratio: "0.85×", "12.3×", "140×".
pub fn format_ratio(ratio: f64) -> String {
    format!("{}×", sig3(ratio))
}

fn format_cell(cell: Cell, unit: Unit) -> String {
    match cell {
        Cell::Value(v) => format_value(v, unit),
        Cell::Err => "err".to_string(),
        Cell::NotAvailable => "n/a".to_string(),
        Cell::Blank => "—".to_string(),
    }
}

/// The table, one line per row, columns padded to line up.
pub fn render(rows: &[Row], floors: &Floors) -> String {
    let mut lines: Vec<Vec<String>> = vec![HEADER.iter().map(|h| h.to_string()).collect()];
    for row in rows {
        let mut line = vec![row.figure.clone()];
        line.extend(row.cells.iter().map(|c| format_cell(*c, row.unit)));
        let ward_blank = [Column::WardSystrap, Column::WardPtrace]
            .iter()
            .all(|c| row.cells[c.index()] == Cell::Blank);
        let ratios = row.ratios(floors);
        line.extend(ratios.iter().map(|r| match r {
            Some(r) => format_ratio(*r),
            None if ward_blank => "—".to_string(),
            None => "n/a".to_string(),
        }));
        lines.push(line);
    }
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let pad = |text: &str, width: usize, right: bool| {
        let fill = " ".repeat(width - text.chars().count());
        if right {
            format!("{fill}{text}")
        } else {
            format!("{text}{fill}")
        }
    };
    let mut out = String::new();
    for (n, line) in lines.iter().enumerate() {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(i, text)| pad(text, widths[i], i > 0))
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
        if n == 0 {
            let rule: Vec<String> = widths
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    if i == 0 {
                        "-".repeat(*w + 2)
                    } else {
                        format!("{}:", "-".repeat(*w + 1))
                    }
                })
                .collect();
            out.push_str(&format!("|{}|\n", rule.join("|")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(unit: Unit, cells: [Cell; 5], syscalls_per_op: Option<u32>) -> Row {
        Row {
            figure: "f".to_string(),
            unit,
            cells,
            syscalls_per_op,
        }
    }

    use Cell::{Blank, Err, NotAvailable as Na, Value as V};

    #[test]
    fn nanoseconds_scale_to_the_right_unit() {
        assert_eq!(format_value(87.4, Unit::Nanos), "87 ns");
        assert_eq!(format_value(3_800.0, Unit::Nanos), "3.80 µs");
        assert_eq!(format_value(24_123.0, Unit::Nanos), "24.1 µs");
        assert_eq!(format_value(146_000.0, Unit::Nanos), "146 µs");
        assert_eq!(format_value(1_900_000.0, Unit::Nanos), "1.90 ms");
        assert_eq!(format_value(2_500_000_000.0, Unit::Nanos), "2.50 s");
    }

    #[test]
    fn throughput_and_memory_keep_their_units() {
        assert_eq!(format_value(4699.4, Unit::MibPerSec), "4699 MiB/s");
        assert_eq!(format_value(80.06, Unit::Mib), "80.1 MiB");
    }

    #[test]
    fn ratios_have_three_significant_digits() {
        assert_eq!(format_ratio(0.8512), "0.85×");
        assert_eq!(format_ratio(12.34), "12.3×");
        assert_eq!(format_ratio(275.6), "276×");
        assert_eq!(format_ratio(1.0), "1.00×");
    }

    #[test]
    fn small_ratios_keep_two_significant_digits() {
        assert_eq!(format_ratio(0.0016), "0.0016×");
        assert_eq!(format_ratio(0.5), "0.50×");
        assert_eq!(format_ratio(0.0), "0.00×");
    }

    #[test]
    fn the_faster_ward_platform_is_the_best_for_times() {
        let r = row(Unit::Nanos, [V(1.0), V(30.0), V(50.0), Na, Na], None);
        assert_eq!(r.best_ward(), Some((Column::WardSystrap, 30.0)));
    }

    #[test]
    fn the_higher_throughput_is_the_best() {
        let r = row(Unit::MibPerSec, [V(1.0), V(300.0), V(500.0), Na, Na], None);
        assert_eq!(r.best_ward(), Some((Column::WardPtrace, 500.0)));
    }

    #[test]
    fn a_failed_platform_is_passed_over() {
        let r = row(Unit::Nanos, [V(1.0), Err, V(50.0), Na, Na], None);
        assert_eq!(r.best_ward(), Some((Column::WardPtrace, 50.0)));
    }

    #[test]
    fn ratios_divide_ward_by_native_runsc_and_the_floor_times_syscalls() {
        let r = row(
            Unit::Nanos,
            [V(100.0), Na, V(8000.0), V(40000.0), Na],
            Some(2),
        );
        let floors = Floors {
            systrap: Some(1000.0),
            ptrace: Some(4000.0),
        };
        assert_eq!(r.ratios(&floors), [Some(80.0), Some(0.2), Some(1.0)]);
    }

    #[test]
    fn the_floor_follows_the_chosen_platform() {
        let r = row(
            Unit::Nanos,
            [V(100.0), V(3000.0), V(8000.0), Na, Na],
            Some(1),
        );
        let floors = Floors {
            systrap: Some(2000.0),
            ptrace: Some(4000.0),
        };
        assert_eq!(r.ratios(&floors)[2], Some(1.5));
    }

    #[test]
    fn no_ratio_without_both_sides() {
        let r = row(Unit::Nanos, [Err, Na, V(8000.0), Na, Na], None);
        assert_eq!(r.ratios(&Floors::default()), [None, None, None]);
    }

    #[test]
    fn the_table_has_a_header_a_rule_and_a_line_per_row() {
        let rows = [
            row(
                Unit::Nanos,
                [V(87.0), Na, V(12_000.0), V(24_000.0), Err],
                Some(1),
            ),
            row(Unit::Nanos, [V(3800.0), Blank, Blank, Blank, Blank], None),
        ];
        let floors = Floors {
            systrap: None,
            ptrace: Some(3800.0),
        };
        let text = render(&rows, &floors);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("| figure "));
        assert!(lines[1].starts_with("|---"));
        assert!(lines[1].ends_with(":|"));
        let cells: Vec<&str> = lines[2].split('|').map(str::trim).collect();
        assert_eq!(
            cells[1..10],
            ["f", "87 ns", "n/a", "12.0 µs", "24.0 µs", "err", "138×", "0.50×", "3.16×"]
        );
        let floor_cells: Vec<&str> = lines[3].split('|').map(str::trim).collect();
        assert_eq!(
            floor_cells[2..10],
            ["3.80 µs", "—", "—", "—", "—", "—", "—", "—"]
        );
    }

    #[test]
    fn columns_line_up() {
        let rows = [row(Unit::Nanos, [V(1.0), Na, Na, Na, Na], None)];
        let text = render(&rows, &Floors::default());
        let widths: Vec<usize> = text.lines().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{text}");
    }
}
