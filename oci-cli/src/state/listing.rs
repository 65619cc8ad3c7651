//! `ward list`'s two layouts, as runc prints them: a table padded like Go's
//! tabwriter (minimum width 12, padding 3), or a JSON array of state
//! objects (`null` when there are none).

use super::ContainerRecord;

const MIN_WIDTH: usize = 12;
const PADDING: usize = 3;

/// The table: ID PID STATUS BUNDLE CREATED OWNER, a row per container.
pub fn table(records: &[ContainerRecord]) -> String {
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
    for r in records {
        let state = r.oci_state();
        rows.push([
            r.id.clone(),
            state["pid"].to_string(),
            state["status"].as_str().unwrap_or_default().to_string(),
            r.bundle.display().to_string(),
            r.created.clone(),
            r.owner.clone(),
        ]);
    }
    let mut widths = [0; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count() + PADDING).max(MIN_WIDTH);
        }
    }
    let mut out = String::new();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                // The last cell ends the line: no padding after it.
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}", width = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}

/// The JSON array of the containers' state objects, or `null` for none.
pub fn json(records: &[ContainerRecord]) -> String {
    if records.is_empty() {
        return "null".to_string();
    }
    let states: Vec<_> = records.iter().map(ContainerRecord::oci_state).collect();
    serde_json::Value::Array(states).to_string()
}

/// The ids alone, one a line (`--quiet`).
pub fn quiet(records: &[ContainerRecord]) -> String {
    records.iter().map(|r| format!("{}\n", r.id)).collect()
}

#[cfg(test)]
mod tests {
    use super::super::{ContainerRecord, Status};
    use super::*;

    fn record(id: &str, bundle: &str) -> ContainerRecord {
        ContainerRecord {
            id: id.into(),
            bundle: bundle.into(),
            rootfs: format!("{bundle}/rootfs").into(),
            created: "2026-11-23T17:46:06.297314136Z".into(),
            owner: "root".into(),
            annotations: Default::default(),
            pid: 0,
            pid_start: 0,
            status: Status::Stopped,
            sandbox_id: id.into(),
            control: "/x".into(),
            cgroup: None,
            extra: Default::default(),
        }
    }

    #[test]
    fn an_empty_table_is_the_header_as_runc_pads_it() {
        assert_eq!(
            table(&[]),
            "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
        );
    }

    #[test]
    fn columns_widen_to_their_longest_cell_plus_three() {
        let t = table(&[record("demo", "/tmp/runcplay")]);
        assert_eq!(
            t,
            "ID          PID         STATUS      BUNDLE          CREATED                          OWNER\n\
             demo        0           stopped     /tmp/runcplay   2026-11-23T17:46:06.297314136Z   root\n"
        );
    }

    #[test]
    fn no_containers_is_json_null() {
        assert_eq!(json(&[]), "null");
    }

    #[test]
    fn json_is_an_array_of_states() {
        let v: serde_json::Value = serde_json::from_str(&json(&[record("a", "/b")])).unwrap();
        assert_eq!(v[0]["id"], "a");
        assert_eq!(v[0]["status"], "stopped");
    }
}
