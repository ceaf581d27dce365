//! A real runc container: events inside it carry the id of its cgroup.

use std::os::unix::fs::MetadataExt as _;

use kestrel::event::EventBody;

use crate::support::{
    LiveSensor, cgroup2_mount, cgroup2_path_of, require_root, runc::RuncContainer,
};

/// The echo run inside the container (not the host's `runc exec` command,
/// whose argv names the same marker).
fn is_inner_echo(body: &EventBody) -> bool {
    matches!(body, EventBody::Exec(x) if x.filename == "/bin/echo"
        && x.args.iter().any(|a| a == "inside-container"))
}

#[test]
fn exec_inside_runc_container_carries_the_container_cgroup_id() {
    if !require_root() {
        return;
    }
    let sensor = LiveSensor::start();
    let container = RuncContainer::start("exec");
    let init = container.init_pid();
    let rel = cgroup2_path_of(init);
    assert!(
        rel.contains(&container.id),
        "runc put the container in {rel}, expected a path naming {}",
        container.id
    );
    let dir = cgroup2_mount().join(rel.trim_start_matches('/'));
    let cgroup_id = std::fs::metadata(&dir)
        .expect("stat container cgroup")
        .ino();

    let out = container.exec(&["/bin/echo", "inside-container"]);
    assert!(out.status.success(), "runc exec failed: {out:?}");

    let events = sensor.wait_for("exec of echo inside the container", |events| {
        events.iter().any(|e| is_inner_echo(&e.body))
    });
    let echo = events
        .iter()
        .find(|e| is_inner_echo(&e.body))
        .expect("echo exec");
    assert_eq!(
        echo.header.cgroup_id,
        cgroup_id,
        "exec inside the container must carry the inode of {}",
        dir.display()
    );
    assert_ne!(echo.header.cgroup_id, 1, "not the host root cgroup");
    let EventBody::Exec(exec) = &echo.body else {
        unreachable!()
    };
    assert_eq!(exec.filename, "/bin/echo");
    assert_eq!(exec.args, ["/bin/echo", "inside-container"]);
}
