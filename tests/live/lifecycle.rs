//! Process lifecycle: exec, fork and exit of processes in a child cgroup.

use kestrel::event::{EventBody, EventKind};

use crate::support::{LiveSensor, TestCgroup, require_root, wait_ok};

#[test]
fn exec_in_child_cgroup_carries_pid_ppid_filename_argv_and_cgroup_id() {
    if !require_root() {
        return;
    }
    let sensor = LiveSensor::start();
    let cgroup = TestCgroup::new("exec");
    let child = cgroup
        .command("/bin/sh")
        .args(["-c", "/bin/echo kestrel-marker one two >/dev/null; exit 3"])
        .spawn()
        .expect("spawn sh");
    let sh_pid = child.id();
    let status = {
        let mut child = child;
        child.wait().expect("wait")
    };
    assert_eq!(status.code(), Some(3));

    let events = sensor.wait_for("exec of /bin/echo and exit of sh", |events| {
        let mine = LiveSensor::in_cgroup(events, cgroup.id);
        let echo = mine
            .iter()
            .any(|e| matches!(&e.body, EventBody::Exec(x) if x.filename == "/bin/echo"));
        let sh_exit = mine
            .iter()
            .any(|e| e.kind() == EventKind::Exit && e.header.tgid == sh_pid);
        echo && sh_exit
    });
    let mine = LiveSensor::in_cgroup(&events, cgroup.id);

    // The shell's own exec: pid is the child we spawned, its parent is us.
    let sh_exec = mine
        .iter()
        .find(|e| e.header.tgid == sh_pid && e.kind() == EventKind::Exec)
        .expect("exec of /bin/sh");
    let EventBody::Exec(exec) = &sh_exec.body else {
        unreachable!()
    };
    assert_eq!(exec.filename, "/bin/sh");
    assert_eq!(exec.args[0], "/bin/sh");
    assert_eq!(exec.args[1], "-c");
    assert_eq!(sh_exec.header.ppid, std::process::id());
    assert_eq!(sh_exec.header.cgroup_id, cgroup.id);

    // The echo: forked by sh, so its parent is sh; argv complete.
    let echo = mine
        .iter()
        .find(|e| matches!(&e.body, EventBody::Exec(x) if x.filename == "/bin/echo"))
        .expect("exec of /bin/echo");
    let EventBody::Exec(exec) = &echo.body else {
        unreachable!()
    };
    assert_eq!(exec.args, ["/bin/echo", "kestrel-marker", "one", "two"]);
    assert!(!exec.args_truncated);
    assert_eq!(echo.header.ppid, sh_pid);
    assert_eq!(echo.header.comm.as_str(), "echo");

    // sh forked the echo: the fork event names sh as parent and the echo as child.
    let fork = mine
        .iter()
        .find(|e| matches!(&e.body, EventBody::Fork(f) if f.child_tgid == echo.header.tgid))
        .expect("fork of the echo");
    assert_eq!(fork.header.tgid, sh_pid);

    // The shell's exit carries its status.
    let exit = mine
        .iter()
        .find(|e| e.kind() == EventKind::Exit && e.header.tgid == sh_pid)
        .expect("exit of sh");
    let EventBody::Exit(x) = &exit.body else {
        unreachable!()
    };
    assert_eq!((x.status, x.signal), (3, 0));
    assert!(x.group_dead);
    assert_eq!(sensor.stats.snapshot().decode_errors, 0);
}

#[test]
fn long_argv_is_cut_and_flagged() {
    if !require_root() {
        return;
    }
    let sensor = LiveSensor::start();
    let cgroup = TestCgroup::new("argv");
    let many: Vec<String> = (0..40).map(|i| format!("argument-number-{i:02}")).collect();
    let child = cgroup
        .command("/bin/true")
        .args(&many)
        .spawn()
        .expect("spawn true");
    wait_ok(child, "/bin/true");
    let events = sensor.wait_for("exec of /bin/true", |events| {
        LiveSensor::in_cgroup(events, cgroup.id)
            .iter()
            .any(|e| e.kind() == EventKind::Exec)
    });
    let mine = LiveSensor::in_cgroup(&events, cgroup.id);
    let exec = mine
        .iter()
        .find_map(|e| match &e.body {
            EventBody::Exec(exec) => Some(exec),
            _ => None,
        })
        .expect("an exec in the cgroup");
    assert_eq!(exec.args.len(), kestrel_common::MAX_ARGS);
    assert_eq!(exec.args[1], "argument-number-00");
    assert!(exec.args_truncated);
}

#[test]
fn killed_process_exit_carries_the_signal() {
    if !require_root() {
        return;
    }
    let sensor = LiveSensor::start();
    let cgroup = TestCgroup::new("kill");
    let mut child = cgroup
        .command("/bin/sleep")
        .arg("30")
        .spawn()
        .expect("spawn sleep");
    let pid = child.id();
    sensor.wait_for("exec of sleep", |events| {
        events
            .iter()
            .any(|e| e.header.tgid == pid && e.kind() == EventKind::Exec)
    });
    child.kill().expect("kill");
    let _ = child.wait();
    let events = sensor.wait_for("exit of sleep", |events| {
        events
            .iter()
            .any(|e| e.header.tgid == pid && e.kind() == EventKind::Exit)
    });
    let exit = events
        .iter()
        .find(|e| e.header.tgid == pid && e.kind() == EventKind::Exit)
        .expect("exit");
    let EventBody::Exit(x) = &exit.body else {
        unreachable!()
    };
    assert_eq!(x.signal, libc::SIGKILL);
}

/// The exec event's exe path and cwd are the kernel's, however they are
/// resolved: a short path on the root mount (typed loads), a deep one and
/// one with a name too long for the dentry's inline storage (the walk).
#[test]
fn exec_reports_exe_path_and_cwd_short_deep_and_long_named() {
    if !require_root() {
        return;
    }
    let tmp = tempfile::Builder::new()
        .prefix("kestrel-paths")
        .tempdir()
        .expect("temp dir");
    let base = std::fs::canonicalize(tmp.path()).expect("canonical temp dir");
    let base = base.to_str().expect("utf-8 temp dir");
    let dirs = [
        format!("{base}/s"),
        format!("{base}/d/1/2/3/4/5/6/7/8/9/10"),
        format!(
            "{base}/{}",
            "a-component-name-longer-than-the-inline-forty-bytes"
        ),
    ];
    let sensor = LiveSensor::start();
    let cgroup = TestCgroup::new("paths");
    for dir in &dirs {
        std::fs::create_dir_all(dir).expect("create dir");
        let exe = format!("{dir}/kestrel-true");
        std::fs::copy("/bin/true", &exe).expect("copy /bin/true");
        let status = cgroup
            .command(&exe)
            .current_dir(dir)
            .status()
            .expect("run the copy");
        assert!(status.success());
    }
    let exe_of = |dir: &str| format!("{dir}/kestrel-true");
    let events = sensor.wait_for("exec of the three copies", |events| {
        let mine = LiveSensor::in_cgroup(events, cgroup.id);
        dirs.iter().all(|dir| {
            mine.iter()
                .any(|e| matches!(&e.body, EventBody::Exec(x) if x.filename == exe_of(dir)))
        })
    });
    let mine = LiveSensor::in_cgroup(&events, cgroup.id);
    for dir in &dirs {
        let exec = mine
            .iter()
            .find_map(|e| match &e.body {
                EventBody::Exec(x) if x.filename == exe_of(dir) => Some(x),
                _ => None,
            })
            .expect("exec of the copy");
        assert_eq!(exec.exe_path, exe_of(dir), "exe path from {dir}");
        assert_eq!(exec.cwd, dir.as_str(), "cwd");
        assert!(!exec.exe_deleted && !exec.exe_from_memfd);
    }
}
