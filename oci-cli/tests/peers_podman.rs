//! podman running containers on the runtime under test (ward; or the
//! binary `WARD_PEER_RUNTIME` names), through conmon, with the busybox
//! image loaded from a local OCI archive.

mod common;

use common::peers::bounded;
use common::peers::podman::Podman;
use common::peers::runtime;
use common::{describe, shell_code, unique_name};

#[test]
fn podman_run_prints_what_the_container_prints() {
    let podman = Podman::new(&runtime());

    let out = bounded::run(&mut podman.run(&unique_name("echo"), &["echo", "hi"]));

    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hi\n",
        "{}",
        describe(&out)
    );
}

#[test]
fn podman_run_exits_with_the_containers_exit_code() {
    let podman = Podman::new(&runtime());

    let out = bounded::run(&mut podman.run(&unique_name("exit3"), &["sh", "-c", "exit 3"]));

    assert_eq!(shell_code(&out), 3, "{}", describe(&out));
}
