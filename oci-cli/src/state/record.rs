//! What ward remembers about one container (state.json in its directory),
//! the status it has now, and the runtime spec's state JSON made from it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::proc_stat;
use crate::bundle::known::OCI_VERSION_MAX;

/// A container's status as ward last recorded it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    /// The name the state JSON and `ward list` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One container, as saved in its state directory.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ContainerRecord {
    pub id: String,
    /// The bundle directory, canonical.
    pub bundle: PathBuf,
    /// The root file system, canonical.
    pub rootfs: PathBuf,
    /// When the container was created: RFC 3339 UTC with nanoseconds.
    pub created: String,
    /// The user who created it.
    pub owner: String,
    pub annotations: BTreeMap<String, String>,
    /// The container's host process (what the pid file names); 0 before it exists.
    pub pid: i32,
    /// Field 22 of /proc/PID/stat when `pid` was recorded: a later process
    /// that reuses the pid has another start time.
    pub pid_start: u64,
    /// The status as last recorded; `current_status` says what it is now.
    pub status: Status,
    /// The pod sandbox container's id; the container's own id when it is
    /// standalone or the sandbox itself.
    pub sandbox_id: String,
    /// The sandbox's control socket.
    pub control: PathBuf,
    /// The cgroup the sandbox runs in, when ward placed it in one.
    pub cgroup: Option<String>,
    /// Room for later fields, kept across a read and a save.
    #[serde(default)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl ContainerRecord {
    /// The status now: stopped when the recorded process has exited or its
    /// pid now names another process; a container still being created
    /// shows as created once its process lives (and as creating before a
    /// process is recorded).
    pub fn current_status(&self) -> Status {
        if self.status == Status::Stopped {
            return Status::Stopped;
        }
        if self.pid == 0 {
            return match self.status {
                Status::Creating => Status::Creating,
                _ => Status::Stopped,
            };
        }
        if !self.process_lives() {
            return Status::Stopped;
        }
        match self.status {
            Status::Creating => Status::Created,
            other => other,
        }
    }

    /// Whether the recorded process is the one alive under `pid`.
    pub fn process_lives(&self) -> bool {
        match proc_stat::read(self.pid) {
            None => false,
            Some(s) if s.exited() => false,
            Some(s) => self.pid_start == 0 || s.start_time == self.pid_start,
        }
    }

    /// The runtime spec's state of the container, with runc's extra fields
    /// (rootfs, created, owner); annotations only when there are some, and
    /// pid 0 once stopped, as runc prints them.
    pub fn oci_state(&self) -> serde_json::Value {
        let status = self.current_status();
        let pid = match status {
            Status::Stopped => 0,
            _ => self.pid,
        };
        let mut state = serde_json::json!({
            "ociVersion": OCI_VERSION_MAX,
            "id": self.id,
            "pid": pid,
            "status": status.as_str(),
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": self.owner,
        });
        if !self.annotations.is_empty() {
            state["annotations"] = serde_json::json!(self.annotations);
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pid: i32, pid_start: u64, status: Status) -> ContainerRecord {
        ContainerRecord {
            id: "c1".into(),
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: "2026-01-01T00:00:00.000000000Z".into(),
            owner: "root".into(),
            annotations: BTreeMap::new(),
            pid,
            pid_start,
            status,
            sandbox_id: "c1".into(),
            control: "/run/ward/c1/control.sock".into(),
            cgroup: None,
            extra: BTreeMap::new(),
        }
    }

    fn me() -> (i32, u64) {
        let pid = std::process::id() as i32;
        (pid, proc_stat::process_start_time(pid).unwrap())
    }

    #[test]
    fn a_live_process_keeps_the_recorded_status() {
        let (pid, start) = me();
        assert_eq!(
            record(pid, start, Status::Running).current_status(),
            Status::Running
        );
        assert_eq!(
            record(pid, start, Status::Paused).current_status(),
            Status::Paused
        );
    }

    #[test]
    fn creating_with_a_live_process_shows_as_created() {
        let (pid, start) = me();
        assert_eq!(
            record(pid, start, Status::Creating).current_status(),
            Status::Created
        );
    }

    #[test]
    fn creating_before_a_process_exists_shows_as_creating() {
        assert_eq!(
            record(0, 0, Status::Creating).current_status(),
            Status::Creating
        );
    }

    #[test]
    fn a_reused_pid_is_stopped() {
        let (pid, start) = me();
        assert_eq!(
            record(pid, start + 1, Status::Running).current_status(),
            Status::Stopped
        );
    }

    #[test]
    fn a_stopped_state_has_pid_0() {
        let (pid, start) = me();
        let s = record(pid, start + 1, Status::Running).oci_state();
        assert_eq!(s["status"], "stopped");
        assert_eq!(s["pid"], 0);
    }

    #[test]
    fn the_state_json_has_the_spec_fields_and_runc_extras() {
        let (pid, start) = me();
        let mut r = record(pid, start, Status::Running);
        let s = r.oci_state();
        assert_eq!(s["ociVersion"], OCI_VERSION_MAX);
        assert_eq!(s["id"], "c1");
        assert_eq!(s["pid"], pid);
        assert_eq!(s["status"], "running");
        assert_eq!(s["bundle"], "/b");
        assert_eq!(s["rootfs"], "/b/rootfs");
        assert_eq!(s["owner"], "root");
        assert!(s.get("annotations").is_none());
        r.annotations.insert("k".into(), "v".into());
        assert_eq!(r.oci_state()["annotations"]["k"], "v");
    }

    #[test]
    fn a_paused_container_shows_as_paused() {
        let (pid, start) = me();
        assert_eq!(
            record(pid, start, Status::Paused).oci_state()["status"],
            "paused"
        );
    }

    #[test]
    fn unknown_fields_survive_in_extra() {
        let mut v = serde_json::to_value(record(1, 1, Status::Created)).unwrap();
        v["extra"] = serde_json::json!({"future": 7});
        let r: ContainerRecord = serde_json::from_value(v).unwrap();
        assert_eq!(r.extra["future"], 7);
    }
}
