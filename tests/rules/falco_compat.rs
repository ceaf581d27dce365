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
