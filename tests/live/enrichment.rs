//! Enrichment end to end with the `kestrel` binary: container metadata from
//! a real runtime API (podman's Docker-compatible service) on the very first
//! exec of a container, process ancestry through nested shells in a
//! container, a process started before the agent resolved from /proc, and
//! user/group names from the container's own /etc/passwd and /etc/group.

use std::process::Command;

use crate::support::{
    TestCgroup,
    agent::{Agent, PodmanService, shell_quote},
    podman::PodmanContainer,
    require_root,
    runc::RuncContainer,
    wait_ok,
};

fn write_rules(name: &str, yaml: &str) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("kestrel-rules-{name}-{}.yaml", std::process::id()));
    std::fs::write(&path, yaml).expect("write rules");
    path
}

#[test]
fn first_exec_of_a_podman_container_carries_name_image_and_labels() {
    if !require_root() {
        return;
    }
    let service = PodmanService::start();
    let mut agent = Agent::start_with_config(
        &format!(
            "[container]\nsockets = [\"{}\"]\n",
            service.socket.display()
        ),
        &["--events"],
    );
    let container = PodmanContainer::start_with(
        "meta",
        &["--label", "team=blue", "--label", "tier=web"],
        &["sh", "-c", "cat /dev/null first-exec-marker; sleep 30"],
    );
    let pid = container.init_pid();
    let cgroup = crate::support::cgroup_id_of(pid);
    // The first event of the container's cgroup, whatever it is, already
    // carries the metadata: events wait for it.
    let first = agent.wait_for("the first event of the container's cgroup", |v| {
        v["cgroup_id"] == cgroup
    });
    let meta = &first["container"];
    assert_eq!(
        meta["name"],
        container.name.as_str(),
        "first event: {first:#}"
    );
    assert!(
        meta["image"]
            .as_str()
            .is_some_and(|i| i.contains("kestrel-test/meta")),
        "image: {meta:#}"
    );
    assert_eq!(meta["labels"]["team"], "blue");
    assert_eq!(meta["labels"]["tier"], "web");
    assert_eq!(meta["runtime"], "podman");
    assert_eq!(meta["id"].as_str().map(str::len), Some(64));
    let exec = agent.wait_for("the marker exec", |v| {
        v["type"] == "exec" && v["args"].to_string().contains("first-exec-marker")
    });
    assert_eq!(exec["container"]["name"], container.name.as_str());
}

#[test]
fn alert_in_a_container_resolves_a_chain_of_five_nested_shells() {
    if !require_root() {
        return;
    }
    let rules = write_rules(
        "chain",
        "- rule: chain leaf\n  desc: test\n  condition: evt.type = execve and proc.args = \"/dev/null chain-leaf-marker\"\n  output: leaf %proc.aname[5]\n  priority: WARNING\n  tags: [test]\n",
    );
    let mut agent = Agent::start(&[
        "--no-default-rules",
        "--rules",
        rules.to_str().expect("utf-8"),
    ]);
    // Five nested shells, each forking the next (the trailing `; true`
    // keeps a shell from exec'ing its last command in place).
    let mut cmd = "cat /dev/null chain-leaf-marker".to_string();
    for _ in 0..5 {
        cmd = format!("sh -c {}; true", shell_quote(&cmd));
    }
    let container =
        PodmanContainer::start_with("chain", &[], &["sh", "-c", &format!("{cmd}; sleep 30")]);
    let alert = agent.wait_for("the chain alert", |v| v["rule"] == "chain leaf");
    let ancestors = alert["process"]["ancestors"].as_array().expect("ancestors");
    // The innermost shell runs its single command in place, so the chain
    // above `cat` is: four nested shells, the fifth level's shell and the
    // entrypoint... every one carrying the marker in its command line
    // (busybox runs applets via /proc/self/exe, so their comm is `exe`);
    // the container's parent, conmon, comes next.
    let cmdlines: Vec<_> = ancestors
        .iter()
        .map(|a| a["cmdline"].as_str().unwrap_or(""))
        .collect();
    assert!(
        cmdlines.len() >= 6
            && cmdlines[..5]
                .iter()
                .all(|c| c.contains("chain-leaf-marker")),
        "expected five shell ancestors, got {cmdlines:#?}"
    );
    assert_eq!(ancestors[5]["name"], "conmon", "{ancestors:#?}");
    let pids: std::collections::BTreeSet<_> =
        ancestors[..5].iter().map(|a| a["pid"].as_u64()).collect();
    assert_eq!(pids.len(), 5, "five distinct processes");
    assert_eq!(alert["container"]["id"].as_str().map(str::len), Some(64));
    assert!(
        alert["output"].as_str().is_some_and(|o| o != "leaf <NA>"),
        "proc.aname[5] rendered: {alert:#}"
    );
    drop(container);
    let _ = std::fs::remove_file(rules);
}

#[test]
fn process_started_before_the_agent_is_resolved_from_proc() {
    if !require_root() {
        return;
    }
    let cgroup = TestCgroup::new("preagent");
    // Started before the agent: known only through /proc seeding.
    let child = cgroup
        .command("/bin/sh")
        .args(["-c", "sleep 3; /bin/true pre-agent-marker"])
        .spawn()
        .expect("sh");
    let sh_pid = child.id();
    let rules = write_rules(
        "preagent",
        "- rule: pre agent leaf\n  desc: test\n  condition: evt.type = execve and proc.args contains pre-agent-marker\n  output: leaf %proc.pname %proc.pcmdline\n  priority: NOTICE\n  tags: [test]\n",
    );
    let mut agent = Agent::start(&[
        "--no-default-rules",
        "--rules",
        rules.to_str().expect("utf-8"),
    ]);
    let alert = agent.wait_for("the pre-agent alert", |v| v["rule"] == "pre agent leaf");
    wait_ok(child, "sh");
    let parent = &alert["process"]["ancestors"][0];
    assert_eq!(parent["pid"], sh_pid);
    assert_eq!(parent["name"], "sh");
    assert!(
        parent["cmdline"]
            .as_str()
            .is_some_and(|c| c.contains("pre-agent-marker")),
        "cmdline of the seeded parent: {parent:#}"
    );
    assert_eq!(alert["process"]["ancestors"][1]["pid"], std::process::id());
    assert_eq!(alert["container"]["id"], "host");
    let _ = Command::new("true").status();
    let _ = std::fs::remove_file(rules);
}

#[test]
fn user_and_group_names_come_from_the_containers_own_files() {
    if !require_root() {
        return;
    }
    let rules = write_rules(
        "users",
        "- rule: user marker\n  desc: test\n  condition: evt.type = execve and proc.args = kestrel-user-marker\n  output: user=%user.name group=%group.name uid=%user.uid\n  priority: WARNING\n  tags: [test]\n",
    );
    let mut agent = Agent::start(&[
        "--no-default-rules",
        "--rules",
        rules.to_str().expect("utf-8"),
    ]);
    let container = RuncContainer::start("users");
    // Ids the host does not name: only the container's files know them.
    let etc = container.bundle.join("rootfs/etc");
    std::fs::write(
        etc.join("passwd"),
        "root:x:0:0::/:/bin/sh\nkuser:x:4321:4321::/tmp:/bin/sh\n",
    )
    .expect("passwd");
    std::fs::write(etc.join("group"), "root:x:0:\nkgrp:x:4321:\n").expect("group");
    // Written after the container's first exec: the agent looks at changed
    // files at most once per `RECHECK` per cgroup.
    std::thread::sleep(kestrel::process::users::RECHECK + std::time::Duration::from_millis(300));
    let out = container.exec_as("4321:4321", &["/bin/echo", "kestrel-user-marker"]);
    assert!(out.status.success(), "runc exec: {out:?}");
    let alert = agent.wait_for("the user marker alert", |v| v["rule"] == "user marker");
    assert_eq!(
        alert["output"].as_str(),
        Some("user=kuser group=kgrp uid=4321"),
        "{alert:#}"
    );
    drop(container);
    let _ = std::fs::remove_file(rules);
}
