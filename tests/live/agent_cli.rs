//! The `kestrel run` binary end to end: "ready" on stderr, JSON lines on
//! stdout (events with `--events`, alerts always), the gRPC API answering
//! `kestrel status` and `kestrel alerts`, clean stop on SIGTERM with final
//! counters.

use std::process::{Command, Stdio};

use crate::support::{TestCgroup, agent::Agent, require_root, wait_ok};

#[test]
fn kestrel_run_prints_exec_json_lines_and_stops_cleanly_on_sigterm() {
    if !require_root() {
        return;
    }
    let mut agent = Agent::start(&["--output", "json", "--events"]);
    let cgroup = TestCgroup::new("cli");
    let child = cgroup
        .command("/bin/echo")
        .arg("kestrel-cli-marker")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn echo");
    let echo_pid = child.id();
    wait_ok(child, "echo");
    let record = agent.wait_for("the echo's exec as a JSON line", |v| {
        v["type"] == "exec" && v["tgid"] == echo_pid
    });
    assert_eq!(record["filename"], "/bin/echo");
    assert_eq!(record["args"][1], "kestrel-cli-marker");
    assert_eq!(record["cgroup_id"], cgroup.id);
    assert_eq!(record["ppid"], std::process::id());
    assert_eq!(record["container"]["id"], "host");

    let (status, rest) = agent.stop();
    assert!(status.success(), "kestrel exited with {status}");
    assert!(
        rest.iter()
            .any(|l| l.contains("programs detached") && l.contains("decode_errors=0")),
        "final counters missing from stderr: {rest:#?}"
    );
}

#[test]
fn alert_goes_to_stdout_the_durable_log_and_the_grpc_stream() {
    if !require_root() {
        return;
    }
    let rules = std::env::temp_dir().join(format!("kestrel-rules-cli-{}.yaml", std::process::id()));
    std::fs::write(
        &rules,
        "- rule: cli marker\n  desc: test\n  condition: evt.type = execve and proc.args contains kestrel-alert-marker\n  output: marker seen (%proc.cmdline)\n  priority: ERROR\n  tags: [test, T0000]\n",
    )
    .expect("rules");
    let mut agent = Agent::start(&[
        "--no-default-rules",
        "--rules",
        rules.to_str().expect("utf-8"),
    ]);
    let cgroup = TestCgroup::new("alert");
    let child = cgroup
        .command("/bin/echo")
        .arg("kestrel-alert-marker")
        .stdout(Stdio::null())
        .spawn()
        .expect("echo");
    wait_ok(child, "echo");
    let alert = agent.wait_for("the alert on stdout", |v| v["rule"] == "cli marker");
    assert_eq!(alert["seq"], 1);
    assert_eq!(alert["priority"], "error");
    assert_eq!(alert["output"], "marker seen (echo kestrel-alert-marker)");
    assert_eq!(alert["event"]["kind"], "execve");
    assert_eq!(alert["fields"]["proc.cmdline"], "echo kestrel-alert-marker");

    // The same alert from the durable log through the gRPC API.
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["alerts", "--since", "1", "--output", "json", "--socket"])
        .arg(agent.socket())
        .output()
        .expect("kestrel alerts");
    assert!(out.status.success(), "kestrel alerts: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().expect("a line"))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert_eq!(first["seq"], 1);
    assert_eq!(first["rule"], "cli marker");

    let status = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["status", "--output", "json", "--socket"])
        .arg(agent.socket())
        .output()
        .expect("kestrel status");
    assert!(status.status.success(), "kestrel status: {status:?}");
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    let programs = status["programs"].as_array().expect("programs");
    assert!(
        programs.iter().all(|p| p["state"] == "attached"),
        "{status:#}"
    );
    assert!(status["counters"]["events"].as_u64() > Some(0));
    let _ = std::fs::remove_file(rules);
}
