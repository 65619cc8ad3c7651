//! The state directory on a real temporary root: creating, locking,
//! saving, listing and removing containers, and the races the locks exist for.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use super::*;

fn scratch(name: &str) -> StateRoot {
    let dir = std::env::temp_dir().join(format!("ward-state-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    StateRoot::new(dir)
}

fn record(id: &str) -> ContainerRecord {
    ContainerRecord {
        id: id.into(),
        bundle: "/b".into(),
        rootfs: "/b/rootfs".into(),
        created: now_rfc3339(),
        owner: current_owner(),
        annotations: BTreeMap::new(),
        pid: 0,
        pid_start: 0,
        status: Status::Creating,
        sandbox_id: id.into(),
        control: PathBuf::from("/nowhere"),
        cgroup: None,
        extra: BTreeMap::new(),
    }
}

/// Creates container `id` with a saved record.
fn made(root: &StateRoot, id: &str) {
    let locked = root.create(id).unwrap();
    locked.save(&record(id)).unwrap();
}

#[test]
fn ids_follow_runc_rules() {
    for good in ["a", "web-1", "A_b+c.d", ".hidden", "..."] {
        assert!(valid_id(good), "{good}");
    }
    for bad in ["", ".", "..", "a/b", "a b", "~x", "é"] {
        assert!(!valid_id(bad), "{bad}");
    }
}

#[test]
fn a_created_container_saves_and_reads_back_its_record() {
    let root = scratch("roundtrip");
    let locked = root.create("c1").unwrap();
    assert_eq!(locked.dir(), root.path().join("c1"));
    let mut r = record("c1");
    r.status = Status::Created;
    locked.save(&r).unwrap();
    assert_eq!(locked.record().unwrap().status, Status::Created);
    drop(locked);
    assert_eq!(root.read("c1").unwrap().id, "c1");
    fs::remove_dir_all(root.path()).unwrap();
}

#[test]
fn a_duplicate_id_is_refused() {
    let root = scratch("dup");
    made(&root, "c1");
    assert!(matches!(root.create("c1"), Err(StateError::Exists(id)) if id == "c1"));
    fs::remove_dir_all(root.path()).unwrap();
}

#[test]
fn a_bad_id_is_refused_before_touching_the_root() {
    let root = scratch("badid");
    assert!(matches!(
        root.create("../escape"),
        Err(StateError::BadId(_))
    ));
    assert!(!root.path().exists());
}

#[test]
fn locking_a_missing_container_is_not_found() {
    let root = scratch("missing");
    assert!(matches!(root.lock("nope"), Err(StateError::NotFound(_))));
    assert!(matches!(root.read("nope"), Err(StateError::NotFound(_))));
}

#[test]
fn removing_a_container_leaves_nothing_and_frees_its_id() {
    let root = scratch("remove");
    made(&root, "c1");
    root.lock("c1").unwrap().remove().unwrap();
    assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
    assert!(matches!(root.lock("c1"), Err(StateError::NotFound(_))));
    made(&root, "c1");
    fs::remove_dir_all(root.path()).unwrap();
}

#[test]
fn an_undone_create_leaves_nothing() {
    let root = scratch("undo");
    root.create("c1").unwrap().remove().unwrap();
    assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
    fs::remove_dir_all(root.path()).unwrap();
}

#[test]
fn a_create_that_died_before_saving_does_not_block_its_id() {
    let root = scratch("abandoned");
    drop(root.create("c1").unwrap());
    assert!(matches!(root.lock("c1"), Err(StateError::NotFound(_))));
    made(&root, "c1");
    assert_eq!(root.read("c1").unwrap().id, "c1");
    fs::remove_dir_all(root.path()).unwrap();
}

#[test]
fn list_skips_half_made_and_unreadable_entries() {
    let root = scratch("list");
    made(&root, "b");
    made(&root, "a");
    let _creating = root.create("half").unwrap();
    fs::create_dir(root.path().join("junk")).unwrap();
    fs::write(root.path().join("junk").join(RECORD), "{not json").unwrap();
    fs::create_dir(root.path().join("~new~x~1~2")).unwrap();
    let ids: Vec<_> = root.list().unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["a", "b"]);
    fs::remove_dir_all(root.path()).unwrap();
}

#[test]
fn list_of_a_missing_root_is_empty() {
    assert!(scratch("noroot").list().unwrap().is_empty());
}

/// Waits until thread `tid` of this process sleeps in a file-lock wait.
fn wait_until_blocked_on_a_lock(tid: &str) {
    let wchan = format!("/proc/self/task/{tid}/wchan");
    while !fs::read_to_string(&wchan)
        .unwrap_or_default()
        .contains("lock")
    {
        std::thread::yield_now();
    }
}

/// Runs `f` on a thread that first reports its tid.
fn on_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> (String, std::thread::JoinHandle<T>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let link = fs::read_link("/proc/thread-self").unwrap();
        tx.send(link.file_name().unwrap().to_string_lossy().into_owned())
            .unwrap();
        f()
    });
    (rx.recv().unwrap(), handle)
}

#[test]
fn a_waiter_finds_the_container_gone_when_the_holder_deletes_it() {
    let root = scratch("race-delete");
    made(&root, "c1");
    let held = root.lock("c1").unwrap();
    let waiter_root = root.clone();
    let (tid, waiter) = on_thread(move || waiter_root.lock("c1").map(|_| ()));
    wait_until_blocked_on_a_lock(&tid);
    held.remove().unwrap();
    assert!(matches!(
        waiter.join().unwrap(),
        Err(StateError::NotFound(_))
    ));
    fs::remove_dir_all(root.path()).unwrap();
}

#[test]
fn a_waiter_gets_the_new_container_when_the_id_is_made_again() {
    let root = scratch("race-recreate");
    made(&root, "c1");
    let held = root.lock("c1").unwrap();
    let waiter_root = root.clone();
    let (tid, waiter) = on_thread(move || waiter_root.lock("c1").map(|l| l.record()));
    wait_until_blocked_on_a_lock(&tid);
    // The first container leaves its place, and a second of the same id
    // is made, all before the waiter gets the first one's lock.
    fs::rename(root.path().join("c1"), root.path().join("~old")).unwrap();
    let again = root.create("c1").unwrap();
    let mut r = record("c1");
    r.owner = "second".into();
    again.save(&r).unwrap();
    drop(again);
    drop(held);
    let seen = waiter.join().unwrap().unwrap().unwrap();
    assert_eq!(seen.owner, "second");
    fs::remove_dir_all(root.path()).unwrap();
}

#[test]
fn a_second_create_of_one_id_waits_and_is_refused() {
    let root = scratch("race-create");
    let first = root.create("c1").unwrap();
    let other = root.clone();
    let (tid, second) = on_thread(move || other.create("c1").map(|_| ()));
    wait_until_blocked_on_a_lock(&tid);
    first.save(&record("c1")).unwrap();
    drop(first);
    assert!(matches!(second.join().unwrap(), Err(StateError::Exists(_))));
    fs::remove_dir_all(root.path()).unwrap();
}
