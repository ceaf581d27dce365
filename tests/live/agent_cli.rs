//! The `kestrel run` binary end to end: "ready" on stderr, JSON lines on
//! stdout, clean stop on SIGTERM with final counters.

use std::{
    io::{BufRead as _, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use crate::support::{TestCgroup, require_root, wait_ok};

#[test]
fn kestrel_run_prints_exec_json_lines_and_stops_cleanly_on_sigterm() {
    if !require_root() {
        return;
    }
    let mut agent = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["run", "--output", "json", "--events"])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kestrel");

    // Wait for the "ready" line on stderr.
    let stderr = agent.stderr.take().expect("stderr");
    let (err_tx, err_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = err_tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut log = Vec::new();
    loop {
        let line = err_rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no ready line; stderr so far: {log:#?}"));
        let ready = line.contains("ready");
        log.push(line);
        if ready {
            break;
        }
    }

    let stdout = agent.stdout.take().expect("stdout");
    let (out_tx, out_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = out_tx.send(line);
        }
    });

    let cgroup = TestCgroup::new("cli");
    let child = cgroup
        .command("/bin/echo")
        .arg("kestrel-cli-marker")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn echo");
    let echo_pid = child.id();
    wait_ok(child, "echo");

    let deadline = Instant::now() + Duration::from_secs(10);
    let record = loop {
        let line = out_rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the echo's exec as a JSON line");
        let value: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
        if value["type"] == "exec" && value["tgid"] == echo_pid {
            break value;
        }
    };
    assert_eq!(record["filename"], "/bin/echo");
    assert_eq!(record["args"][1], "kestrel-cli-marker");
    assert_eq!(record["cgroup_id"], cgroup.id);
    assert_eq!(record["ppid"], std::process::id());

    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(agent.id() as i32, libc::SIGTERM) };
    let status = agent.wait().expect("wait kestrel");
    assert!(status.success(), "kestrel exited with {status}");
    // The reader thread ends at EOF, which follows the exit: read it all.
    let rest: Vec<String> = err_rx.iter().collect();
    assert!(
        rest.iter()
            .any(|l| l.contains("programs detached") && l.contains("decode_errors=0")),
        "final counters missing from stderr: {rest:#?}"
    );
}
