//! The JSON record of a bench run: the settings, what each runtime was,
//! and every raw sample of every cell with its median and, where the cell
//! has no figure, why.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::runtimes::Column;
use crate::workloads::Unit;

#[derive(Debug, Serialize)]
pub struct Report {
    /// Seconds since the Unix epoch when the run ended.
    pub unix_time: u64,
    pub quick: bool,
    /// /proc/loadavg's three averages when the run started.
    pub load_average: String,
    pub runs: u32,
    pub min_ms: u64,
    pub runtimes: Vec<RuntimeRecord>,
    pub figures: Vec<FigureRecord>,
}

#[derive(Debug, Serialize)]
pub struct RuntimeRecord {
    pub column: Column,
    pub available: bool,
    /// The binary and version, or why the runtime is n/a.
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct FigureRecord {
    pub name: &'static str,
    pub figure: &'static str,
    pub unit: Unit,
    pub cells: Vec<CellRecord>,
}

#[derive(Debug, Serialize)]
pub struct CellRecord {
    pub column: Column,
    /// "ok", "err", "n/a" or "not measured".
    pub state: &'static str,
    /// In `unit`, in the order they were taken.
    pub samples: Vec<f64>,
    pub median: Option<f64>,
    pub message: Option<String>,
}

impl Report {
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).context("cannot encode the report")?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))
    }
}
