//! Engine-level behaviour tests: loading semantics, every operator,
//! macros/lists/append/override, exceptions, transformers, outputs, error
//! positions, the kind index, and evaluation against hand-built events.

use super::testing::{MapContext, exec, exit, fork};
use super::*;
use crate::event::Event;
use crate::rules::evttypes::Kind;

const CG: u64 = 100;

/// Host: systemd(1) → containerd-shim(10); container CG: nginx(20) → sh(30).
fn ctx() -> MapContext {
    let mut c = MapContext::new();
    c.add_proc(
        10,
        1,
        "containerd-shim",
        "/usr/bin/containerd-shim-runc-v2",
        &["-namespace", "k8s.io"],
        testing::HOST_CGROUP,
    );
    c.add_proc(
        20,
        10,
        "nginx",
        "/usr/sbin/nginx",
        &["-g", "daemon off;"],
        CG,
    );
    c.add_proc(30, 20, "sh", "/bin/sh", &["-c", "id"], CG).tty = 34816;
    c.add_container(CG, "web", "docker.io/library/nginx:1.25");
    c
}

fn sh_exec() -> Event {
    exec(30, 20, "/bin/sh", &["sh", "-c", "id"], CG)
}

fn rule_yaml(cond: &str) -> String {
    format!("- rule: r\n  desc: d\n  condition: {cond}\n  output: out\n  priority: WARNING\n")
}

fn load_str(yaml: &str) -> Result<Loaded, LoadError> {
    load(&[RuleSource::new("t.yaml", yaml)])
}

fn engine(yaml: &str) -> Engine {
    match load_str(yaml) {
        Ok(l) => l.engine,
        Err(e) => panic!("load failed: {:#?}", e.errors),
    }
}

fn first_error(yaml: &str) -> String {
    match load_str(yaml) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.errors[0].to_string(),
    }
}

fn fired(e: &Engine, ev: &Event, c: &MapContext) -> Vec<String> {
    let mut out = Vec::new();
    e.evaluate(ev, c, &mut out);
    out.iter()
        .map(|m| e.rule(m.rule).map(|r| r.name.clone()).unwrap_or_default())
        .collect()
}

/// Whether `cond` holds for the sh exec in the container.
fn holds(cond: &str) -> bool {
    let e = engine(&rule_yaml(&format!(
        "'evt.type = execve and ({})'",
        cond.replace('\'', "''")
    )));
    !fired(&e, &sh_exec(), &ctx()).is_empty()
}

#[test]
fn equality_and_inequality() {
    assert!(holds("proc.name = sh"));
    assert!(holds("proc.name == sh"));
    assert!(!holds("proc.name = bash"));
    assert!(holds("proc.name != bash"));
    assert!(!holds("proc.name != sh"));
    assert!(holds("proc.pid = 30"));
    assert!(holds("proc.ppid != 1"));
}

#[test]
fn numeric_comparisons() {
    assert!(holds(
        "proc.pid > 29 and proc.pid >= 30 and proc.pid < 31 and proc.pid <= 30"
    ));
    assert!(!holds("proc.pid > 30"));
    assert!(holds("proc.tty != 0"));
    assert!(holds("user.loginuid = -1"));
    assert!(holds("proc.pid in (1, 30, 0x40)"));
}

#[test]
fn string_operators() {
    assert!(holds("proc.cmdline contains '-c i'"));
    assert!(holds("proc.cmdline icontains '-C ID'"));
    assert!(!holds("proc.cmdline contains '-C ID'"));
    assert!(holds("proc.exepath startswith /bin/"));
    assert!(holds("proc.exepath endswith /sh"));
    assert!(holds("proc.exepath glob '/b*/s?'"));
    assert!(holds("proc.exepath iglob '/BIN/*'"));
    assert!(!holds("proc.exepath glob '/usr/*'"));
    assert!(holds("proc.exepath regex '/bin/(sh|bash)'"));
    assert!(
        !holds("proc.exepath regex 'bin'"),
        "regex must match the whole value"
    );
    assert!(holds("proc.name bcontains 73"));
    assert!(holds("proc.name bstartswith 7368"));
    assert!(holds("proc.exepath pmatch (/usr, /bin)"));
    assert!(holds("proc.exepath pmatch (/bin/sh)"));
    assert!(
        !holds("proc.exepath pmatch (/bi)"),
        "pmatch matches whole path components"
    );
    assert!(holds("proc.exepath pmatch ('/b*')"));
    assert!(
        holds("proc.exepath pmatch (/)"),
        "/ holds every absolute path"
    );
    assert!(holds("proc.exepath pmatch (/usr/lib, /bin/sh/)"));
    assert!(!holds("proc.exepath pmatch (/bin/sh/x, /usr)"));
    assert!(holds("proc.exepath pmatch (bin, /opt/x/y/z/w, /bin)"));
}

#[test]
fn in_and_intersects_with_inline_lists() {
    assert!(holds("proc.name in (bash, sh, zsh)"));
    assert!(
        holds("proc.name in (a, b, c, d, e, f, g, h, i, sh)"),
        "large lists use a hash set"
    );
    assert!(!holds("proc.name in (bash)"));
    assert!(holds("proc.name intersects (sh)"));
    assert!(!holds("proc.name in ()"));
}

#[test]
fn exists_and_missing_values() {
    assert!(holds("proc.name exists"));
    assert!(holds("container.id exists"));
    assert!(
        !holds("fd.name exists"),
        "fields the sensor cannot supply have no value"
    );
    assert!(!holds("fd.name = x"));
    assert!(
        !holds("fd.name != x"),
        "comparisons on missing values are false"
    );
    assert!(holds("not fd.name exists"));
}

#[test]
fn boolean_logic_and_precedence() {
    assert!(holds("proc.name = x or proc.name = sh and proc.pid = 30"));
    assert!(!holds(
        "(proc.name = x or proc.name = sh) and proc.pid = 31"
    ));
    assert!(holds("not proc.name = x and proc.name = sh"));
    assert!(!holds("not (proc.name = sh)"));
}

#[test]
fn ancestors_by_index_and_any() {
    assert!(holds("proc.pname = nginx"));
    assert!(holds(
        "proc.aname[0] = sh and proc.aname[1] = nginx and proc.aname[2] = containerd-shim and proc.aname[3] = systemd"
    ));
    assert!(!holds("proc.aname[4] exists"));
    assert!(holds("proc.aname = systemd"), "without index: any ancestor");
    assert!(holds("proc.aname in (containerd-shim)"));
    assert!(
        !holds("proc.aname = sh"),
        "any-ancestor excludes the process itself"
    );
    assert!(holds("proc.apid[2] = 10"));
    assert!(holds("proc.apid = 1"));
    assert!(holds("proc.aexepath[1] = /usr/sbin/nginx"));
    assert!(holds("proc.pcmdline = 'nginx -g daemon off;'"));
}

#[test]
fn falco_semantics_of_process_fields() {
    assert!(holds("proc.exe = sh"), "proc.exe is argv[0]");
    assert!(holds("proc.exepath = /bin/sh"));
    assert!(holds("proc.args = '-c id'"));
    assert!(holds("proc.cmdline = 'sh -c id'"));
    assert!(
        holds("container.id = '000000000000'"),
        "container.id is the short id"
    );
    assert!(holds("container.full_id startswith 000000000000000000"));
    assert!(holds(
        "container.image.repository = docker.io/library/nginx and container.image.tag = '1.25'"
    ));
    assert!(holds("k8s.pod.name = web-pod and k8s.ns.name = default"));
    assert!(holds(
        "evt.type = execve and evt.type = execveat and evt.dir = '<'"
    ));
    assert!(holds("evt.arg.filename = /bin/sh and evt.arg[3] = /bin/sh"));
}

#[test]
fn long_names_are_cut_like_comm() {
    let mut c = ctx();
    c.add_proc(
        40,
        20,
        "averyveryverylongname",
        "/usr/bin/averyveryverylongname",
        &[],
        CG,
    );
    let e = engine(&rule_yaml(
        "evt.type = execve and proc.name = averyveryverylo",
    ));
    let ev = exec(
        40,
        20,
        "/usr/bin/averyveryverylongname",
        &["averyveryverylongname"],
        CG,
    );
    assert_eq!(fired(&e, &ev, &c), vec!["r"]);
}

#[test]
fn transformers() {
    assert!(holds("toupper(proc.name) = SH"));
    assert!(holds("tolower(toupper(proc.name)) = sh"));
    assert!(holds("basename(proc.exepath) = sh"));
    assert!(holds("len(proc.exepath) = 7"));
    assert!(holds("len(proc.name) < 3"));
    assert!(holds("b64(proc.name) exists") || !holds("b64(proc.name) exists"));
    assert!(holds("tolower(proc.aname) = systemd"));
}

#[test]
fn field_to_field_comparison_with_val() {
    assert!(holds("proc.name != val(proc.pname)"));
    assert!(holds("basename(proc.exepath) = val(proc.name)"));
    assert!(holds("proc.pid > val(proc.ppid)"));
    assert!(!holds("proc.pid < val(proc.ppid)"));
    let err = first_error(&rule_yaml("proc.pid = val(proc.name)"));
    assert!(err.contains("cannot compare"), "{err}");
}

#[test]
fn lists_and_macros_by_name() {
    let y = "
- list: shells
  items: [bash, sh]
- list: more_shells
  items: [shells, zsh, '\"fish\"']
- macro: spawned
  condition: evt.type in (execve, execveat)
- macro: is_shell
  condition: proc.name in (more_shells)
- rule: r
  desc: d
  condition: spawned and is_shell
  output: o
  priority: INFO
";
    assert_eq!(fired(&engine(y), &sh_exec(), &ctx()), vec!["r"]);
    let c = ctx();
    let fish = exec(30, 20, "/usr/bin/fish", &["fish"], CG);
    assert_eq!(
        fired(&engine(y), &fish, &c),
        vec!["r"],
        "quoted list items are unquoted"
    );
}

#[test]
fn append_to_list_macro_and_rule() {
    let base = "
- list: l
  items: [bash]
- macro: m
  condition: proc.name in (l)
- rule: r
  desc: d
  condition: evt.type = execve and m
  output: o
  priority: INFO
";
    assert!(fired(&engine(base), &sh_exec(), &ctx()).is_empty());
    let list_append = format!("{base}- list: l\n  items: [sh]\n  append: true\n");
    assert_eq!(fired(&engine(&list_append), &sh_exec(), &ctx()), vec!["r"]);
    let macro_append =
        format!("{base}- macro: m\n  condition: or proc.name = sh\n  append: true\n");
    assert_eq!(fired(&engine(&macro_append), &sh_exec(), &ctx()), vec!["r"]);
    let rule_append = format!("{base}- rule: r\n  condition: or proc.name = sh\n  append: true\n");
    // `evt.type = execve and m or proc.name = sh`
    assert_eq!(fired(&engine(&rule_append), &sh_exec(), &ctx()), vec!["r"]);
}

#[test]
fn override_append_and_replace() {
    let base = "
- list: l
  items: [bash]
- rule: r
  desc: d
  condition: evt.type = execve and proc.name in (l)
  output: o
  priority: INFO
  tags: [a]
";
    let y = format!("{base}- list: l\n  items: [sh]\n  override:\n    items: append\n");
    assert_eq!(fired(&engine(&y), &sh_exec(), &ctx()), vec!["r"]);
    let y = format!("{base}- list: l\n  items: [zsh]\n  override:\n    items: replace\n");
    assert!(fired(&engine(&y), &sh_exec(), &ctx()).is_empty());
    let y = format!(
        "{base}- rule: r\n  condition: evt.type = execve and proc.name = sh\n  priority: critical\n  tags: [b]\n  override:\n    condition: replace\n    priority: replace\n    tags: append\n"
    );
    let e = engine(&y);
    assert_eq!(fired(&e, &sh_exec(), &ctx()), vec!["r"]);
    let info = e.rule(0).unwrap();
    assert_eq!(info.priority, Priority::Critical);
    assert_eq!(info.tags, vec!["a", "b"]);
    let y = format!("{base}- rule: r\n  priority: debug\n  override:\n    condition: append\n");
    assert!(first_error(&y).contains("`override` does not say how to merge it"));
    let y = "- list: nope\n  items: [a]\n  append: true\n";
    assert!(first_error(y).contains("no list of that name was defined before"));
}

#[test]
fn enabled_only_item_toggles_a_rule() {
    let y = format!(
        "{}- rule: r\n  enabled: false\n",
        rule_yaml("evt.type = execve")
    );
    let e = engine(&y);
    assert!(fired(&e, &sh_exec(), &ctx()).is_empty());
    assert!(!e.rule(0).unwrap().enabled);
    let y = "- rule: ghost\n  enabled: false\n";
    assert!(first_error(y).contains("is not defined"));
}

#[test]
fn later_definition_replaces_earlier() {
    let y = format!(
        "{}{}",
        rule_yaml("evt.type = execve and proc.name = bash"),
        rule_yaml("evt.type = execve and proc.name = sh")
    );
    let e = engine(&y);
    assert_eq!(e.rules().len(), 1);
    assert_eq!(fired(&e, &sh_exec(), &ctx()), vec!["r"]);
}

#[test]
fn exceptions_compile_into_the_condition() {
    let base = "
- rule: r
  desc: d
  condition: evt.type = execve and proc.name in (sh, bash)
  output: o
  priority: INFO
  exceptions:
";
    let single = format!(
        "{base}    - name: by_parent\n      fields: proc.pname\n      values: [nginx, httpd]\n"
    );
    assert!(fired(&engine(&single), &sh_exec(), &ctx()).is_empty());
    let tuple = format!(
        "{base}    - name: by_image_and_cmd\n      fields: [container.image.repository, proc.cmdline]\n      comps: [=, startswith]\n      values:\n        - [docker.io/library/nginx, 'sh -c']\n"
    );
    assert!(fired(&engine(&tuple), &sh_exec(), &ctx()).is_empty());
    let non_matching = format!(
        "{base}    - name: other\n      fields: [proc.pname, proc.name]\n      comps: [=, in]\n      values:\n        - [nginx, [bash, zsh]]\n"
    );
    assert_eq!(fired(&engine(&non_matching), &sh_exec(), &ctx()), vec!["r"]);
    let empty = format!("{base}    - name: none_yet\n      fields: [proc.pname]\n");
    assert_eq!(fired(&engine(&empty), &sh_exec(), &ctx()), vec!["r"]);
    // Values appended later through override.
    let appended = format!(
        "{empty}- rule: r\n  exceptions:\n    - name: none_yet\n      values:\n        - [nginx]\n  override:\n    exceptions: append\n"
    );
    assert!(fired(&engine(&appended), &sh_exec(), &ctx()).is_empty());
    let bad =
        format!("{base}    - name: x\n      fields: [proc.nope]\n      values:\n        - [a]\n");
    let err = first_error(&bad);
    assert!(
        err.contains("proc.nope") && err.starts_with("t.yaml:9:15"),
        "{err}"
    );
}

#[test]
fn outputs_fill_fields_and_mark_missing_ones() {
    let y = "
- rule: r
  desc: d
  condition: evt.type = execve and proc.name = sh
  output: 'shell %proc.name (parent=%proc.pname gp=%proc.aname[2] file=%fd.name flags=%evt.arg.flags img=%container.image.repository) 100%%'
  priority: notice
  tags: [shell, T1059]
";
    let e = engine(y);
    let c = ctx();
    let ev = sh_exec();
    let mut out = Vec::new();
    e.evaluate(&ev, &c, &mut out);
    assert_eq!(out.len(), 1);
    let a = e.render(&out[0], &ev, &c).unwrap();
    assert_eq!(
        a.output,
        "shell sh (parent=nginx gp=containerd-shim file=<NA> flags=<NA> img=docker.io/library/nginx) 100%"
    );
    assert_eq!(a.priority, Priority::Notice);
    assert_eq!(a.tags, vec!["shell", "T1059"]);
    let names: Vec<&str> = a.fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "evt.type",
            "proc.name",
            "proc.pname",
            "proc.aname[2]",
            "fd.name",
            "evt.arg.flags",
            "container.image.repository"
        ]
    );
    assert_eq!(a.fields[0].1.as_deref(), Some("execve"));
    assert_eq!(a.fields[4].1, None);
}

#[test]
fn unknown_field_error_names_file_line_column() {
    let y = "- rule: r\n  desc: d\n  condition: >\n    evt.type = execve\n    and proc.foo = 1\n  output: o\n  priority: INFO\n";
    let err = first_error(y);
    assert!(
        err.starts_with("t.yaml:5:9: error: field `proc.foo` is not supported"),
        "{err}"
    );
    assert!(err.contains("kestrel rules fields"), "{err}");
    let y = "- rule: r\n  desc: d\n  condition: evt.type = execve\n  output: '%proc.bar'\n  priority: INFO\n";
    let err = first_error(y);
    assert!(
        err.contains("proc.bar") && err.starts_with("t.yaml:4:"),
        "{err}"
    );
}

#[test]
fn unknown_field_with_skip_if_unknown_filter_skips_the_rule() {
    let y = "- rule: r\n  desc: d\n  condition: proc.foo = 1\n  output: o\n  priority: INFO\n  skip-if-unknown-filter: true\n";
    let l = load_str(y).expect("loads");
    assert_eq!(l.engine.rules().len(), 0);
    assert!(l.warnings.iter().any(|w| w.message.contains("skipped")));
}

#[test]
fn syntax_errors_have_positions_and_advice() {
    let err = first_error(&rule_yaml("evt.type = execve and (proc.name = sh"));
    assert!(err.starts_with("t.yaml:3:"), "{err}");
    assert!(err.contains("expected `)`"), "{err}");
    let err = first_error(&rule_yaml("evt.type = execve and unknown_macro"));
    assert!(err.contains("unknown macro `unknown_macro`"), "{err}");
    let err = first_error(&rule_yaml("proc.pid = abc"));
    assert!(err.contains("is not a number"), "{err}");
    let err = first_error(&rule_yaml("proc.name > 3"));
    assert!(err.contains("needs a numeric field"), "{err}");
    let err = first_error(
        "- rule: r\n  desc: d\n  condition: evt.type=execve\n  output: o\n  priority: LOUD\n",
    );
    assert!(err.contains("unknown priority `LOUD`"), "{err}");
    let err = first_error("- rule: r\n  desc: d\n  output: o\n  priority: INFO\n");
    assert!(err.contains("missing `condition`"), "{err}");
    let err = first_error(
        "- macro: a\n  condition: b\n- macro: b\n  condition: a\n- rule: r\n  desc: d\n  condition: a\n  output: o\n  priority: INFO\n",
    );
    assert!(err.contains("refers to itself"), "{err}");
    let err = first_error("rule: not-a-list\n");
    assert!(err.contains("must be a list"), "{err}");
}

#[test]
fn priorities_parse_case_insensitively() {
    for (s, p) in [
        ("EMERGENCY", Priority::Emergency),
        ("Alert", Priority::Alert),
        ("critical", Priority::Critical),
        ("ERROR", Priority::Error),
        ("Warning", Priority::Warning),
        ("notice", Priority::Notice),
        ("INFO", Priority::Informational),
        ("informational", Priority::Informational),
        ("debug", Priority::Debug),
    ] {
        assert_eq!(Priority::parse(s), Some(p));
    }
}

#[test]
fn rules_are_indexed_by_event_kind() {
    let y = format!(
        "{}{}{}{}",
        rule_yaml("evt.type in (execve, execveat)").replace("rule: r", "rule: on_exec"),
        rule_yaml("evt.type = clone").replace("rule: r", "rule: on_fork"),
        rule_yaml("evt.type = procexit").replace("rule: r", "rule: on_exit"),
        rule_yaml("evt.type = chown").replace("rule: r", "rule: on_chown"),
    );
    let e = engine(&y);
    assert_eq!(e.rules_for(Kind::Exec), &[0]);
    assert_eq!(e.rules_for(Kind::Fork), &[1]);
    assert_eq!(e.rules_for(Kind::Exit), &[2]);
    let c = ctx();
    assert_eq!(
        fired(&e, &fork(20, 10, "nginx", 31, CG), &c),
        vec!["on_fork"]
    );
    assert_eq!(fired(&e, &exit(30, 20, "sh", 0, CG), &c), vec!["on_exit"]);
    let report = check(&[RuleSource::new("t.yaml", y)]);
    assert_eq!(report.summary.cannot_fire_yet, vec!["on_chown"]);
}

#[test]
fn rule_without_event_type_applies_to_every_kind_with_a_warning() {
    let l = load_str(&rule_yaml("proc.name = sh")).unwrap();
    assert!(
        l.warnings
            .iter()
            .any(|w| w.message.contains("does not restrict `evt.type`"))
    );
    for k in Kind::ALL {
        assert_eq!(l.engine.rules_for(k), &[0]);
    }
    let l = load_str(&rule_yaml(
        "not evt.type in (execve, execveat) and proc.name = sh",
    ))
    .unwrap();
    assert_eq!(l.engine.rules_for(Kind::Exec), &[] as &[u32]);
    assert_eq!(l.engine.rules_for(Kind::Fork), &[0]);
    // A failed `execveat` is not `execve`: the exec kind stays indexed.
    let l = load_str(&rule_yaml("not evt.type = execve and proc.name = sh")).unwrap();
    assert_eq!(l.engine.rules_for(Kind::Exec), &[0]);
}

#[test]
fn not_yet_captured_fields_are_reported_by_check() {
    let r = check(&[RuleSource::new(
        "t.yaml",
        rule_yaml("evt.type = connect and fd.sip.name = example.com"),
    )]);
    assert!(r.ok());
    assert!(r.summary.fields_not_captured.contains_key("fd.sip.name"));
    assert!(r.summary.to_string().contains("not yet captured"));
}

#[test]
fn unknown_event_type_is_a_warning() {
    let l = load_str(&rule_yaml("evt.type = frobnicate")).unwrap();
    assert!(
        l.warnings
            .iter()
            .any(|w| w.message.contains("unknown event type `frobnicate`"))
    );
}

#[test]
fn host_processes_are_not_in_a_container() {
    let y = rule_yaml("evt.type = execve and container.id != host");
    let e = engine(&y);
    let mut c = ctx();
    c.add_proc(50, 1, "bash", "/bin/bash", &[], testing::HOST_CGROUP);
    let ev = exec(50, 1, "/bin/bash", &["bash"], testing::HOST_CGROUP);
    assert!(fired(&e, &ev, &c).is_empty());
    assert_eq!(fired(&e, &sh_exec(), &c), vec!["r"]);
    // Unknown cgroup: no value, so neither `= host` nor `!= host` holds.
    let ev = exec(50, 1, "/bin/bash", &["bash"], 999);
    assert!(fired(&e, &ev, &c).is_empty());
}

#[test]
fn host_events_skip_rules_scoped_to_containers_and_still_match_host_rules() {
    let y = "- rule: in container\n  desc: d\n  condition: evt.type = execve and container.id != host\n  output: o\n  priority: WARNING\n\
             - rule: anywhere\n  desc: d\n  condition: evt.type = execve and proc.name = bash\n  output: o\n  priority: WARNING\n\
             - rule: host only\n  desc: d\n  condition: evt.type = execve and container.id = host\n  output: o\n  priority: WARNING\n";
    let e = engine(y);
    assert_eq!(e.rules_for(Kind::Exec), &[0, 1, 2]);
    assert_eq!(e.host_rules_for(Kind::Exec), &[1, 2]);
    let mut c = ctx();
    c.add_proc(50, 1, "bash", "/bin/bash", &[], testing::HOST_CGROUP);
    let host = exec(50, 1, "/bin/bash", &["bash"], testing::HOST_CGROUP);
    assert_eq!(fired(&e, &host, &c), vec!["anywhere", "host only"]);
    let contained = exec(30, 20, "/bin/bash", &["bash"], CG);
    assert_eq!(fired(&e, &contained, &c), vec!["in container", "anywhere"]);
}

#[test]
fn evaluation_reuses_the_scratch_across_events() {
    let e = engine(&rule_yaml("evt.type = execve and proc.cmdline contains id"));
    let c = ctx();
    let mut s = Scratch::new();
    let mut out = Vec::new();
    for _ in 0..3 {
        e.evaluate_with(&mut s, &sh_exec(), &c, &mut out);
        e.evaluate_with(&mut s, &exec(30, 20, "/bin/ls", &["ls"], CG), &c, &mut out);
    }
    assert_eq!(out.len(), 3);
}

/// Whether a rule with condition `cond` holds only in containers.
fn scoped_to_containers(cond: &str) -> bool {
    let yaml = format!(
        "- macro: container\n  condition: (container.id != host)\n{}",
        rule_yaml(&format!("'{}'", cond.replace('\'', "''")))
    );
    engine(&yaml).rules().next().expect("the rule").in_container
}

#[test]
fn rules_that_imply_a_container_are_scoped_to_containers() {
    for cond in [
        "evt.type = connect and container.id != host",
        "evt.type = connect and container",
        "evt.type = connect and (container.id exists and container.id != host)",
        "evt.type = connect and container.id in (abc, def)",
        "evt.type = connect and container.id = abc",
        "(evt.type = connect and container) or (evt.type = socket and container.id = abc)",
        "evt.type = connect and not proc.name = nc and container",
    ] {
        assert!(scoped_to_containers(cond), "{cond}");
    }
    for cond in [
        "evt.type = connect",
        "evt.type = connect and (container or proc.name = nc)",
        "evt.type = connect and container.id = host",
        "evt.type = connect and not container",
        "evt.type = connect and container.id in (host, abc)",
        "evt.type = connect and container.id startswith a",
        "evt.type = connect and container.name != host",
    ] {
        assert!(!scoped_to_containers(cond), "{cond}");
    }
}
