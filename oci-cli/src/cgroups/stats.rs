//! What a sandbox's processes use, in the shape `runc events --stats`
//! prints (the field names containerd and scripts read), and the event that
//! carries it. The v1 and v2 readers fill it from their own files.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub cpu: CpuStats,
    pub memory: MemoryStats,
    pub pids: PidsStats,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CpuStats {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

/// CPU time in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CpuUsage {
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    /// Nanoseconds.
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemoryStats {
    /// Page cache bytes.
    pub cache: u64,
    pub usage: MemoryEntry,
    /// Memory plus swap.
    pub swap: MemoryEntry,
    /// The whole memory.stat file.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

/// Bytes; a limit of `u64::MAX` is no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    pub usage: u64,
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PidsStats {
    pub current: u64,
    /// 0 when there is no limit.
    pub limit: u64,
}

/// The `ward events --stats` line for container `id`.
pub fn events_stats_json(id: &str, stats: &Stats) -> serde_json::Value {
    serde_json::json!({ "type": "stats", "id": id, "data": stats })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_event_has_runc_field_names() {
        let mut stats = Stats::default();
        stats.cpu.usage.total = 5;
        stats.memory.usage.limit = 7;
        stats.pids.current = 2;
        stats.memory.raw.insert("cache".into(), 3);
        let v = events_stats_json("c1", &stats);
        assert_eq!(v["type"], "stats");
        assert_eq!(v["id"], "c1");
        assert_eq!(v["data"]["cpu"]["usage"]["total"], 5);
        assert_eq!(v["data"]["cpu"]["throttling"]["throttled_periods"], 0);
        assert_eq!(v["data"]["memory"]["usage"]["limit"], 7);
        assert_eq!(v["data"]["memory"]["raw"]["cache"], 3);
        assert_eq!(v["data"]["pids"]["current"], 2);
        assert!(v["data"]["cpu"]["usage"].get("percpu").is_none());
    }
}
