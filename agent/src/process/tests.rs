//! Behaviour of the process table on crafted events (no `/proc` needed).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::seed::{cgroup_dir, parse_exe_link, parse_status_fallback, split_argv};
use super::*;
use crate::context::{ContainerInfo, Context};
use crate::event::{Comm, Event, EventBody, Exec, Exit, Fork, Header};

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SEC;

fn header(time_ns: u64, tgid: u32, ppid: u32, comm: &str) -> Header {
    Header {
        time_ns,
        ktime_ns: time_ns - T0 + 1,
        cpu: 0,
        pid: tgid,
        tgid,
        ppid,
        uid: 1000,
        gid: 1000,
        cgroup_id: 42,
        comm: Comm::new(comm),
    }
}

fn fork(time_ns: u64, parent: u32, parent_ppid: u32, child: u32) -> Event {
    Event {
        header: header(time_ns, parent, parent_ppid, "parent"),
        body: EventBody::Fork(Fork {
            child_pid: child,
            child_tgid: child,
        }),
    }
}

fn exec(time_ns: u64, tgid: u32, ppid: u32, filename: &str, argv: &[&str]) -> Event {
    let comm = filename.rsplit('/').next().unwrap_or(filename);
    Event {
        header: header(time_ns, tgid, ppid, comm),
        body: EventBody::Exec(Exec {
            filename: filename.into(),
            args: argv.iter().map(|s| s.to_string()).collect(),
            args_truncated: false,
            filename_truncated: false,
            old_pid: tgid,
            ..Exec::default()
        }),
    }
}

fn exit(time_ns: u64, tgid: u32, group_dead: bool) -> Event {
    Event {
        header: header(time_ns, tgid, 0, "x"),
        body: EventBody::Exit(Exit {
            status: 0,
            signal: 0,
            group_dead,
        }),
    }
}

fn table(max_entries: usize) -> ProcessTable {
    ProcessTable::new(ProcessConfig {
        max_entries,
        exit_grace: Duration::from_secs(5),
        user_names: false,
    })
}

#[test]
fn fork_exec_exit_flow_tracks_the_child() {
    let mut t = table(100);
    t.apply(&exec(T0, 100, 1, "/bin/bash", &["bash", "-l"]));
    t.apply(&fork(T0 + 1, 100, 1, 200));

    let child = t.get(200).expect("child after fork");
    assert_eq!(child.pid, 200);
    assert_eq!(child.ppid, 100);
    assert_eq!(child.exe, "/bin/bash", "child inherits the parent's image");
    assert_eq!(*child.args, ["-l"]);
    assert_eq!(child.start_time_ns, T0 + 1);
    assert_eq!(child.cgroup_id, 42);

    t.apply(&exec(
        T0 + 2,
        200,
        100,
        "/usr/bin/curl",
        &["curl", "-s", "http://x"],
    ));
    let child = t.get(200).expect("child after exec");
    assert_eq!(child.exe, "/usr/bin/curl");
    assert_eq!(child.name, "curl");
    assert_eq!(child.argv0, "curl");
    assert_eq!(*child.args, ["-s", "http://x"]);
    assert_eq!(child.start_time_ns, T0 + 1, "exec keeps the start time");
    assert_eq!(t.get(100).map(|p| p.exe.as_str()), Some("/bin/bash"));

    t.apply(&exit(T0 + 3, 200, true));
    assert_eq!(t.exited_at(200), Some(T0 + 3));
    assert!(t.get(200).is_some(), "exited process still resolvable");
    let s = t.stats();
    assert_eq!((s.entries, s.exited_pending), (2, 1));
}

#[test]
fn exec_of_unknown_process_inserts_it_late() {
    let mut t = table(100);
    t.apply(&exec(
        T0,
        300,
        299,
        "/usr/bin/python3",
        &["python3", "x.py"],
    ));
    let p = t.get(300).expect("late start inserted");
    assert_eq!((p.ppid, p.uid, p.cgroup_id), (299, 1000, 42));
    assert_eq!(*p.args, ["x.py"]);
    assert_eq!(p.start_time_ns, 0, "start time unknown");
    assert_eq!(t.stats().late_inserts, 1);
}

#[test]
fn fork_by_unknown_parent_inserts_parent_and_counts_it() {
    let mut t = table(100);
    t.apply(&fork(T0, 50, 1, 51));
    assert_eq!(t.get(50).map(|p| p.ppid), Some(1));
    assert_eq!(t.get(51).map(|p| p.ppid), Some(50));
    assert_eq!(t.stats().unknown_parent, 1);
}

#[test]
fn thread_fork_and_leader_only_exit_do_not_change_processes() {
    let mut t = table(100);
    t.apply(&exec(T0, 100, 1, "/bin/app", &["app"]));
    let mut thread = fork(T0 + 1, 100, 1, 101);
    if let EventBody::Fork(f) = &mut thread.body {
        f.child_tgid = 100;
    }
    t.apply(&thread);
    assert!(t.get(101).is_none(), "a thread is not a process");
    t.apply(&exit(T0 + 2, 100, false));
    assert_eq!(t.exited_at(100), None, "other threads still run");
}

#[test]
fn ancestry_chain_of_five_execs_resolves_all_ancestors() {
    let mut t = table(100);
    let chain = [
        (1, 0, "/sbin/init"),
        (10, 1, "/usr/sbin/sshd"),
        (20, 10, "/bin/bash"),
        (30, 20, "/usr/bin/sudo"),
        (40, 30, "/bin/sh"),
        (50, 40, "/usr/bin/nc"),
    ];
    let mut time = T0;
    for &(pid, ppid, exe) in &chain {
        if ppid != 0 {
            t.apply(&fork(time, ppid, 0, pid));
            time += 1;
        }
        t.apply(&exec(time, pid, ppid, exe, &[exe]));
        time += 1;
    }
    for n in 1..=5 {
        let want = chain[5 - n].2;
        assert_eq!(
            t.ancestor(50, n).map(|p| p.exe.as_str()),
            Some(want),
            "aname[{n}]"
        );
    }
    assert_eq!(t.ancestor(50, 0).map(|p| p.pid), Some(50));
    assert!(t.ancestor(50, 6).is_none(), "init has no parent");
    let pids: Vec<u32> = t.ancestors(50, 10).map(|p| p.pid).collect();
    assert_eq!(pids, [40, 30, 20, 10, 1]);
    assert_eq!(t.ancestors(50, 2).count(), 2);
}

#[test]
fn exited_process_stays_resolvable_during_grace_then_goes() {
    let mut t = table(100);
    t.apply(&exec(T0, 100, 1, "/bin/true", &["true"]));
    t.apply(&exit(T0 + SEC, 100, true));
    t.tick(T0 + SEC + 5 * SEC - 1);
    assert!(t.get(100).is_some(), "within grace");
    assert_eq!(t.stats().exited_pending, 1);
    t.tick(T0 + SEC + 5 * SEC);
    assert!(t.get(100).is_none(), "gone after grace");
    let s = t.stats();
    assert_eq!((s.entries, s.exited_pending, s.expired), (0, 0, 1));
}

#[test]
fn applying_a_later_event_expires_exited_entries() {
    let mut t = table(100);
    t.apply(&exec(T0, 100, 1, "/bin/true", &["true"]));
    t.apply(&exit(T0, 100, true));
    t.apply(&exec(T0 + 6 * SEC, 200, 1, "/bin/ls", &["ls"]));
    assert!(t.get(100).is_none());
}

#[test]
fn duplicate_and_unknown_exits_are_ignored() {
    let mut t = table(100);
    t.apply(&exit(T0, 999, true));
    assert!(t.is_empty());
    t.apply(&exec(T0, 100, 1, "/bin/true", &["true"]));
    t.apply(&exit(T0 + 1, 100, true));
    t.apply(&exit(T0 + 2, 100, true));
    assert_eq!(t.exited_at(100), Some(T0 + 1));
    assert_eq!(t.stats().exited_pending, 1);
}

#[test]
fn pid_reuse_replaces_exited_entry() {
    let mut t = table(100);
    t.apply(&exec(T0, 100, 1, "/bin/old", &["old"]));
    t.apply(&exit(T0 + 1, 100, true));
    t.apply(&exec(T0 + 2, 10, 1, "/bin/sh", &["sh"]));
    t.apply(&fork(T0 + 3, 10, 1, 100));
    let p = t.get(100).expect("new process");
    assert_eq!((p.ppid, p.exe.as_str()), (10, "/bin/sh"));
    assert_eq!(t.exited_at(100), None);
    assert_eq!(t.stats().pid_reused, 1);
    assert_eq!(t.stats().exited_pending, 0);

    // The old exit's expiry must not remove the new process.
    t.tick(T0 + 60 * SEC);
    assert!(t.get(100).is_some());

    // Exec for an exited pid (its fork was lost) replaces too.
    t.apply(&exit(T0 + 61 * SEC, 100, true));
    t.apply(&exec(T0 + 62 * SEC, 100, 77, "/bin/new", &["new"]));
    let p = t.get(100).expect("replaced by exec");
    assert_eq!((p.ppid, p.exe.as_str()), (77, "/bin/new"));
    assert_eq!(t.exited_at(100), None);
    assert_eq!(t.stats().pid_reused, 2);
}

#[test]
fn fork_over_a_live_entry_replaces_it_when_exit_was_lost() {
    let mut t = table(100);
    t.apply(&exec(T0, 100, 1, "/bin/old", &["old"]));
    t.apply(&exec(T0, 10, 1, "/bin/sh", &["sh"]));
    t.apply(&fork(T0 + 1, 10, 1, 100));
    assert_eq!(t.get(100).map(|p| p.exe.as_str()), Some("/bin/sh"));
    assert_eq!(t.stats().replaced_live, 1);
}

#[test]
fn cap_evicts_exited_first_then_least_recently_seen_and_never_exceeds() {
    let cap = 4;
    let mut t = table(cap);
    for pid in 1..=4 {
        t.apply(&exec(T0 + u64::from(pid), pid, 0, "/bin/p", &["p"]));
    }
    // 3 exits; 1 is then seen again so 2 is the least recently seen.
    t.apply(&exit(T0 + 10, 3, true));
    t.apply(&exec(T0 + 11, 1, 0, "/bin/p1", &["p1"]));

    t.apply(&exec(T0 + 12, 5, 0, "/bin/p", &["p"]));
    assert!(t.get(3).is_none(), "exited entry evicted first");
    assert_eq!(t.stats().evictions.exited_in_grace, 1);

    t.apply(&exec(T0 + 13, 6, 0, "/bin/p", &["p"]));
    assert!(t.get(2).is_none(), "least recently seen live entry evicted");
    assert!(t.get(1).is_some());
    assert_eq!(t.stats().evictions.live_lru, 1);

    for pid in 7..200 {
        t.apply(&fork(T0 + 20 + u64::from(pid), 6, 0, pid));
        if pid % 3 == 0 {
            t.apply(&exit(T0 + 20 + u64::from(pid), pid, true));
        }
        assert!(t.len() <= cap, "size {} above cap", t.len());
    }
    let s = t.stats();
    assert!(s.entries <= cap);
    assert!(s.evictions.total() > 100, "{s:?}");
    assert!(t.get(6).is_some(), "the busy forking parent stays");
}

#[test]
fn cap_eviction_counts_exits_past_expiry_and_in_grace_apart() {
    let mut t = table(2);
    t.apply(&exec(T0, 1, 0, "/bin/a", &["a"]));
    t.apply(&exec(T0, 2, 0, "/bin/b", &["b"]));
    t.apply(&exit(T0 + 1, 2, true));
    // An insertion at the cap, past 2's expiry but before any tick (as
    // seeding does), evicts it as expired.
    t.insert(3, ProcessInfo::default(), T0 + 10 * SEC);
    assert!(t.get(2).is_none());
    assert_eq!(t.stats().evictions.exited_expired, 1);
    t.apply(&exit(T0 + 10 * SEC, 3, true));
    // An exec of an unknown process, before 3's expiry, at the cap.
    t.apply(&exec(T0 + 10 * SEC + 1, 4, 0, "/bin/d", &["d"]));
    assert!(t.get(3).is_none());
    assert_eq!(t.stats().evictions.exited_in_grace, 1);
    assert_eq!(t.stats().evictions.live_lru, 0);
    assert_eq!(t.len(), 2);
}

#[test]
fn recency_queue_stays_bounded_under_a_busy_process() {
    let mut t = table(1000);
    for pid in 1..=100 {
        t.apply(&exec(T0, pid, 0, "/bin/p", &["p"]));
    }
    for i in 0..100_000u64 {
        let pid = (i % 100) as u32 + 1;
        t.apply(&exit(T0, pid, false));
    }
    assert!(t.lru.len() <= 2 * t.len() + 64 + 1, "lru {}", t.lru.len());
}

#[test]
fn ppid_cycle_does_not_hang() {
    let mut t = table(100);
    t.apply(&exec(T0, 7, 8, "/bin/a", &["a"]));
    t.apply(&exec(T0, 8, 7, "/bin/b", &["b"]));
    t.apply(&exec(T0, 9, 9, "/bin/self", &["self"]));
    assert_eq!(t.ancestors(7, usize::MAX).count(), MAX_ANCESTRY_STEPS);
    assert!(t.ancestor(7, 1_000_000).is_none());
    assert_eq!(t.ancestor(7, 3).map(|p| p.pid), Some(8));
    assert_eq!(t.ancestors(9, usize::MAX).count(), 0, "self-parent stops");
}

#[test]
fn walk_to_unknown_parent_stops_and_counts() {
    let mut t = table(100);
    t.apply(&exec(T0, 7, 6, "/bin/a", &["a"]));
    assert_eq!(t.ancestors(7, 5).count(), 0);
    assert!(t.ancestor(7, 1).is_none());
    assert_eq!(t.stats().unknown_parent, 2);
}

#[test]
fn fill_ppid_takes_the_tables_parent_when_header_has_none() {
    let mut t = table(100);
    t.apply(&exec(T0, 100, 42, "/bin/a", &["a"]));
    let mut h = header(T0, 100, 0, "a");
    assert!(t.fill_ppid(&mut h));
    assert_eq!(h.ppid, 42);
    let mut h = header(T0, 100, 5, "a");
    assert!(!t.fill_ppid(&mut h), "a known ppid is kept");
    assert_eq!(h.ppid, 5);
    let mut h = header(T0, 555, 0, "a");
    assert!(!t.fill_ppid(&mut h));
}

#[test]
fn exec_without_argv_uses_filename_as_argv0() {
    let mut t = table(100);
    t.apply(&exec(T0, 100, 1, "/bin/x", &[]));
    let p = t.get(100).expect("entry");
    assert_eq!(p.argv0, "/bin/x");
    assert!(p.args.is_empty());
}

#[test]
fn context_adapter_answers_processes_and_containers() {
    let mut t = table(100);
    t.apply(&exec(T0, 100, 1, "/bin/a", &["a"]));
    let containers = [ContainerInfo {
        id: "c1".into(),
        ..ContainerInfo::default()
    }];
    let ctx = ProcessContext::new(&t, |cg| containers.iter().find(|_| cg == 42));
    assert_eq!(ctx.process(100).map(|p| p.exe.as_str()), Some("/bin/a"));
    assert_eq!(ctx.container(42).map(|c| c.id.as_str()), Some("c1"));
    assert!(ctx.container(7).is_none());
    let bare = ProcessContext::without_containers(&t);
    assert!(bare.process(100).is_some());
    assert!(bare.container(42).is_none());
}

#[test]
fn memory_estimate_grows_with_entries() {
    let mut t = table(1000);
    assert_eq!(t.memory().per_entry(), 0);
    for pid in 1..=500 {
        t.apply(&exec(
            T0,
            pid,
            1,
            "/usr/bin/something",
            &["something", "--flag"],
        ));
    }
    let m = t.memory();
    assert_eq!(m.entries, 500);
    assert!(m.per_entry() > std::mem::size_of::<ProcessInfo>());
    assert_eq!(t.approx_bytes(), m.total());
}

#[test]
fn argv_split_matches_the_sensor_shape() {
    assert!(split_argv(b"").is_empty());
    assert_eq!(split_argv(b"a\0\0b\0"), ["a", "", "b"]);
    assert_eq!(split_argv(b"a\0trunc"), ["a", "trunc"]);
    assert_eq!(split_argv(b"\xff\xfe\0"), ["\u{fffd}\u{fffd}"]);
    let many: Vec<u8> = (0..40).flat_map(|_| *b"x\0").collect();
    assert_eq!(split_argv(&many).len(), kestrel_common::MAX_ARGS);
}

#[test]
fn exe_link_flags_deleted_and_memfd() {
    assert_eq!(parse_exe_link("/bin/ls"), ("/bin/ls".into(), false, false));
    assert_eq!(
        parse_exe_link("/tmp/x (deleted)"),
        ("/tmp/x".into(), true, false)
    );
    assert_eq!(
        parse_exe_link("/memfd:payload (deleted)"),
        ("/memfd:payload".into(), true, true)
    );
}

#[test]
fn status_fallback_reads_ids_and_caps_from_garbage() {
    let mut info = ProcessInfo::default();
    let text = "Name:\t\u{fffd}x\nUid:\t1000\t0\t0\t0\nGid:\t50\t50\t50\t50\nCapEff:\t000001ffffffffff\nbad line\nUid: zz\n";
    parse_status_fallback(text, &mut info);
    assert_eq!((info.uid, info.euid, info.gid), (1000, 0, 50));
    assert_eq!(info.cap_effective, 0x1ff_ffff_ffff);
}

#[test]
fn cgroup_paths_resolve_under_the_mount_and_never_escape_it() {
    let mnt = Path::new("/sys/fs/cgroup/unified");
    assert_eq!(cgroup_dir(mnt, "/", "/"), Some(PathBuf::from(mnt)));
    assert_eq!(
        cgroup_dir(mnt, "/", "/system.slice/x.service"),
        Some(mnt.join("system.slice/x.service"))
    );
    assert_eq!(
        cgroup_dir(mnt, "/kubepods", "/kubepods/pod1"),
        Some(mnt.join("pod1"))
    );
    assert_eq!(cgroup_dir(mnt, "/kubepods", "/kubepodsX"), None);
    assert_eq!(cgroup_dir(mnt, "/", "/../../etc"), None);
    assert_eq!(cgroup_dir(mnt, "/", "relative"), None);
}
