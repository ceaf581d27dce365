//! Seeding against this host's real `/proc` (the box runs as root).

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::{ProcessConfig, ProcessTable};

/// Kills and reaps a child when dropped, also when a test panics.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A cgroup2 directory made for a test, removed when dropped (after the
/// processes in it, dropped earlier, are gone).
struct CgroupDir(PathBuf);

impl Drop for CgroupDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// The cgroup2 mount point, found independently of the table's code (from
/// /proc/self/mountinfo; assumed to mount the whole tree).
fn cgroup2_mount() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mountinfo.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        post.starts_with("cgroup2 ")
            .then(|| pre.split(' ').nth(4).map(PathBuf::from))?
    })
}

/// Inode of this process's cgroup2 directory: the `0::` line of
/// /proc/self/cgroup under the cgroup2 mount.
fn own_cgroup2_inode() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = cgroup2_mount()?.join(path.trim_start_matches('/'));
    std::fs::metadata(dir).ok().map(|m| m.ino())
}

fn spawn_sleeper() -> KillOnDrop {
    let child = Command::new("sleep")
        .arg("30")
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn sleep");
    KillOnDrop(child)
}

fn seeded_table() -> ProcessTable {
    let mut table = ProcessTable::new(ProcessConfig::default());
    let report = table.seed_from_proc().expect("/proc lists");
    assert!(report.seeded > 0, "{report:?}");
    assert_eq!(report.entries, table.len());
    assert_eq!(table.stats().seeded, report.seeded as u64);
    table
}

#[test]
fn seeding_finds_own_process_with_exe_args_ppid_and_cgroup() {
    let table = seeded_table();
    let me = table.get(std::process::id()).expect("own process seeded");

    let exe = std::env::current_exe().expect("current exe");
    assert_eq!(me.exe, exe.to_string_lossy());
    let argv: Vec<String> = std::env::args().take(kestrel_common::MAX_ARGS).collect();
    assert_eq!(me.argv0, argv[0]);
    assert_eq!(*me.args, argv[1..]);
    assert_eq!(me.ppid, std::os::unix::process::parent_id());
    assert!(!me.name.is_empty());
    assert!(me.start_time_ns > 0 && me.exe_ino != 0);
    assert_eq!(
        me.cwd.as_deref(),
        std::env::current_dir()
            .ok()
            .as_deref()
            .and_then(|d| d.to_str())
    );
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(me.euid, euid);

    match own_cgroup2_inode() {
        Some(ino) => assert_eq!(me.cgroup_id, ino, "cgroup id = inode of our cgroup2 dir"),
        None => eprintln!("no cgroup2 mount on this host: cgroup id not checked"),
    }
}

#[test]
fn process_started_before_seeding_resolves_with_parent_chain_to_root() {
    let sleeper = spawn_sleeper();
    let table = seeded_table();

    let pid = sleeper.0.id();
    let p = table.get(pid).expect("sleeper seeded");
    assert!(p.exe.ends_with("/sleep"), "exe {}", p.exe);
    assert_eq!(p.name, "sleep");
    assert_eq!(*p.args, ["30"]);
    assert_eq!(p.ppid, std::process::id());

    let chain: Vec<_> = table.ancestors(pid, usize::MAX).collect();
    assert_eq!(chain.first().map(|a| a.pid), Some(std::process::id()));
    let top = chain.last().expect("at least our own process");
    assert!(
        top.pid == 1 || top.ppid == 0,
        "chain ends at pid 1 or a root, got {:?}",
        chain.iter().map(|a| (a.pid, a.ppid)).collect::<Vec<_>>()
    );
}

#[test]
fn seeding_gives_a_process_in_a_nested_cgroup_that_cgroups_inode() {
    let Some(mount) = cgroup2_mount() else {
        eprintln!("no cgroup2 mount on this host: skipped");
        return;
    };
    let dir = mount.join(format!("kestrel-process-test-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir(&dir) {
        eprintln!("cannot make a cgroup ({e}): skipped");
        return;
    }
    let dir = CgroupDir(dir);
    let sleeper = spawn_sleeper();
    let pid = sleeper.0.id();
    std::fs::write(dir.0.join("cgroup.procs"), pid.to_string()).expect("move into cgroup");
    let ino = std::fs::metadata(&dir.0).expect("cgroup dir").ino();

    let table = seeded_table();
    assert_eq!(table.get(pid).map(|p| p.cgroup_id), Some(ino));
    drop(sleeper);
}
