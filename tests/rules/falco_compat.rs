//! Loads Falco's own rule files (kept unmodified in the shared compat
//! corpus) and checks that Kestrel accepts them with zero errors.

use std::path::Path;

use kestrel::rules::{self, RuleSource};

const DIR: &str = "/work/shared/compat/falco-rules";

fn sources(names: &[&str]) -> Option<Vec<RuleSource>> {
    let mut out = Vec::new();
    for n in names {
        let p = Path::new(DIR).join(n);
        match RuleSource::from_path(&p) {
            Ok(s) => out.push(s),
            Err(_) => {
                eprintln!(
                    "note: {} not found; skipping the Falco compatibility test",
                    p.display()
                );
                return None;
            }
        }
    }
    Some(out)
}

fn assert_loads(names: &[&str]) {
    let Some(srcs) = sources(names) else { return };
    let report = rules::check(&srcs);
    println!("{report}");
    assert!(
        report.errors.is_empty(),
        "errors:\n{}",
        report
            .errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        report.warnings.is_empty(),
        "warnings: {:#?}",
        report.warnings
    );
    assert!(report.summary.rules > 0);
    rules::load(&srcs).expect("loads");
}

#[test]
fn falco_stable_rules_load_with_zero_errors() {
    assert_loads(&["falco_rules.yaml"]);
}

#[test]
fn falco_stable_incubating_and_sandbox_rules_load_together_with_zero_errors() {
    assert_loads(&[
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]);
}

#[test]
fn falco_terminal_shell_rule_fires_on_a_shell_with_a_tty_in_a_container() {
    use kestrel::rules::testing::{HOST_CGROUP, MapContext, exec};
    let Some(srcs) = sources(&["falco_rules.yaml"]) else {
        return;
    };
    let engine = rules::load(&srcs).expect("loads").engine;
    let mut c = MapContext::new();
    c.add_proc(
        10,
        1,
        "containerd-shim",
        "/usr/bin/containerd-shim",
        &[],
        HOST_CGROUP,
    );
    c.add_proc(30, 10, "bash", "/bin/bash", &[], 100).tty = 34816;
    c.add_container(100, "web", "nginx:1.25");
    let ev = exec(30, 10, "/bin/bash", &["bash"], 100);
    let mut out = Vec::new();
    engine.evaluate(&ev, &c, &mut out);
    let alerts: Vec<_> = out
        .iter()
        .filter_map(|m| engine.render(m, &ev, &c))
        .collect();
    let a = alerts
        .iter()
        .find(|a| a.rule == "Terminal shell in container")
        .expect("Falco's rule fires");
    assert!(a.output.contains("process=bash"), "{}", a.output);
    assert!(a.output.contains("exe_flags=<NA>"), "{}", a.output);
    // Without a terminal it stays quiet.
    if let Some(p) = c.procs.get_mut(&30) {
        p.tty = 0;
    }
    out.clear();
    engine.evaluate(&ev, &c, &mut out);
    assert!(out.iter().all(
        |m| engine.rule(m.rule).map(|r| r.name.as_str()) != Some("Terminal shell in container")
    ));
}

/// Falco's stable rules fire on syscall events shaped like Kestrel's sensor
/// emits them (one exit event carrying the enter arguments, as Falco's
/// modern rules expect).
#[test]
fn falco_syscall_rules_fire_on_kestrel_syscall_events() {
    use kestrel::event::{SockAddr, SyscallArgs as A};
    use kestrel::rules::testing::{
        HOST_CGROUP, MapContext, connect, inet, open, syscall, tcp, with_fd_path, with_tuple,
    };
    let Some(srcs) = sources(&["falco_rules.yaml"]) else {
        return;
    };
    let engine = rules::load(&srcs).expect("loads").engine;
    let mut c = MapContext::new();
    c.add_proc(
        10,
        1,
        "containerd-shim",
        "/usr/bin/containerd-shim",
        &[],
        HOST_CGROUP,
    );
    c.add_proc(20, 10, "python3", "/usr/bin/python3", &["app.py"], 100)
        .cap_effective = 1 << 16;
    c.add_container(100, "web", "registry.example.com/app:1");
    let sys =
        |name: &'static str, ret: i64, args: A| syscall(20, 10, "python3", 100, name, ret, args);
    let cases = [
        (
            "Redirect STDOUT/STDIN to Network Connection in Container",
            with_tuple(
                sys(
                    "dup2",
                    0,
                    A::Dup {
                        oldfd: 3,
                        newfd: Some(0),
                        flags: 0,
                    },
                ),
                tcp(inet("10.0.0.5", 45678), inet("203.0.113.9", 4444)),
            ),
        ),
        (
            "Packet socket created in container",
            sys(
                "socket",
                5,
                A::Socket {
                    domain: 17,
                    sock_type: 3,
                    protocol: 768,
                },
            ),
        ),
        (
            "Create Symlink Over Sensitive Files",
            sys(
                "symlinkat",
                0,
                A::Link {
                    target: "/etc/shadow".into(),
                    linkpath: "/tmp/s".into(),
                    flags: 0,
                    symbolic: true,
                },
            ),
        ),
        (
            "Create Hardlink Over Sensitive Files",
            sys(
                "linkat",
                0,
                A::Link {
                    target: "/etc/shadow".into(),
                    linkpath: "/tmp/h".into(),
                    flags: 0,
                    symbolic: false,
                },
            ),
        ),
        (
            "Read sensitive file untrusted",
            open(20, "python3", 100, "/etc/shadow", 0, 3, Some("/etc/shadow")),
        ),
        (
            "PTRACE attached to process",
            sys(
                "ptrace",
                0,
                A::Ptrace {
                    request: 16,
                    target_pid: 1,
                },
            ),
        ),
        (
            "Linux Kernel Module Injection Detected",
            with_fd_path(
                sys(
                    "finit_module",
                    0,
                    A::Module {
                        params: String::new(),
                        fd: Some(3),
                        flags: 0,
                    },
                ),
                "/tmp/rk.ko",
            ),
        ),
    ];
    for (rule, ev) in &cases {
        let mut out = Vec::new();
        engine.evaluate(ev, &c, &mut out);
        let names: Vec<&str> = out
            .iter()
            .filter_map(|m| engine.rule(m.rule).map(|r| r.name.as_str()))
            .collect();
        assert!(
            names.contains(rule),
            "`{rule}` did not fire; fired: {names:?}"
        );
    }
    // An app talking to its database and reading its config: nothing.
    let quiet = [
        connect(
            20,
            "python3",
            100,
            inet("10.0.0.5", 40000),
            inet("10.0.3.7", 5432),
        ),
        open(
            20,
            "python3",
            100,
            "/app/config.yaml",
            0,
            3,
            Some("/app/config.yaml"),
        ),
        sys(
            "connect",
            0,
            A::Connect {
                fd: 4,
                addr: Some(SockAddr::Unix {
                    path: "/run/app.sock".into(),
                }),
            },
        ),
    ];
    for ev in &quiet {
        let mut out = Vec::new();
        engine.evaluate(ev, &c, &mut out);
        let names: Vec<&str> = out
            .iter()
            .filter_map(|m| engine.rule(m.rule).map(|r| r.name.as_str()))
            .collect();
        assert!(names.is_empty(), "unexpected: {names:?} on {ev:?}");
    }
}
