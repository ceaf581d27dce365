//! User and group names (`user.name`, `group.name`) as each process's own
//! root filesystem names them: `/etc/passwd` and `/etc/group` read through
//! `/proc/<pid>/root`, so a container's users resolve against the
//! container's files, not the host's.
//!
//! Parsed once per cgroup (a container's processes share its root), on the
//! first exec seen there, through the root of the process itself or, when
//! it is already gone (a short-lived process), of another process of the
//! same cgroup: its parent when that is in the cgroup too, or the last one
//! whose root was read. Never through a process of another cgroup (`runc
//! exec`'s parent is on the host). A cgroup whose files cannot be read is
//! tried again on its next exec. An id the tables do not
//! name costs a `stat` of the two files at most once per [`RECHECK`] per
//! cgroup (so an unnamed uid, common in Kubernetes, costs no I/O per
//! exec): when either changed (a user added after start), they are read
//! again. Entries go when their cgroup is
//! removed; at most [`MAX_CGROUPS`] are kept.

use std::{
    io::Read as _,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use compact_str::CompactString;
use foldhash::HashMap;

/// Cgroups whose name tables are kept (beyond: the table is cleared and
/// refilled on demand).
pub const MAX_CGROUPS: usize = 4096;

/// How often a cgroup's files may be checked for changes when an id is
/// not named.
pub const RECHECK: Duration = Duration::from_secs(1);

/// Files larger than this are read only up to it.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// id → name from one passwd or group file.
type Names = HashMap<u32, Arc<str>>;

#[derive(Debug, Default)]
struct Tables {
    users: Names,
    groups: Names,
    /// Modification times of passwd and group when read.
    mtimes: (Option<SystemTime>, Option<SystemTime>),
}

/// Name tables per cgroup.
#[derive(Debug)]
pub struct UserNames {
    /// Where `<pid>/root` lives (`/proc`; tests point it elsewhere).
    proc_root: Option<PathBuf>,
    by_cgroup: HashMap<u64, Arc<Tables>>,
    /// Per cgroup, the last process whose root was read (likely alive:
    /// the container's long-running processes).
    known_pid: HashMap<u64, u32>,
    /// Per cgroup, when its files were last read or checked.
    checked: HashMap<u64, Instant>,
    recheck: Duration,
}

impl UserNames {
    /// Names read under `proc_root` (normally `/proc`); `None` turns name
    /// resolution off.
    pub fn new(proc_root: Option<PathBuf>) -> UserNames {
        UserNames {
            proc_root,
            by_cgroup: HashMap::default(),
            known_pid: HashMap::default(),
            checked: HashMap::default(),
            recheck: RECHECK,
        }
    }

    /// Check for changed files at most this often per cgroup.
    pub fn with_recheck(mut self, recheck: Duration) -> UserNames {
        self.recheck = recheck;
        self
    }

    /// (user name, group name) of `uid`/`gid` in `cgroup`, reading the
    /// files through the root of the first of `pids` (processes of that
    /// cgroup) that is still there, else of the cgroup's last known one.
    pub fn lookup(
        &mut self,
        cgroup: u64,
        pids: &[u32],
        uid: u32,
        gid: u32,
    ) -> (Option<CompactString>, Option<CompactString>) {
        let Some(mut tables) = self.tables(cgroup, pids) else {
            return (None, None);
        };
        if (!tables.users.contains_key(&uid) || !tables.groups.contains_key(&gid))
            && self.due(cgroup)
            && let Some(root) = self.root_of(cgroup, pids)
            && mtimes(&root) != tables.mtimes
        {
            tables = self.load(cgroup, &root);
        }
        (
            tables.users.get(&uid).map(|n| CompactString::new(n)),
            tables.groups.get(&gid).map(|n| CompactString::new(n)),
        )
    }

    /// Drop a removed cgroup's tables.
    pub fn forget(&mut self, cgroup: u64) {
        self.by_cgroup.remove(&cgroup);
        self.known_pid.remove(&cgroup);
        self.checked.remove(&cgroup);
    }

    /// May `cgroup`'s files be checked again now? Records the check.
    fn due(&mut self, cgroup: u64) -> bool {
        let now = Instant::now();
        if self
            .checked
            .get(&cgroup)
            .is_some_and(|&at| now.duration_since(at) < self.recheck)
        {
            return false;
        }
        if self.checked.len() >= MAX_CGROUPS {
            self.checked.clear();
        }
        self.checked.insert(cgroup, now);
        true
    }

    fn tables(&mut self, cgroup: u64, pids: &[u32]) -> Option<Arc<Tables>> {
        if let Some(t) = self.by_cgroup.get(&cgroup) {
            return Some(t.clone());
        }
        let root = self.root_of(cgroup, pids)?;
        Some(self.load(cgroup, &root))
    }

    /// The root directory of the first of `pids`, then of the cgroup's last
    /// known process, that is still running; remembers the one used.
    fn root_of(&mut self, cgroup: u64, pids: &[u32]) -> Option<PathBuf> {
        let proc_root = self.proc_root.as_deref()?;
        let known = self.known_pid.get(&cgroup).copied();
        let (pid, root) = pids
            .iter()
            .copied()
            .chain(known)
            .filter(|&pid| pid != 0)
            .map(|pid| (pid, proc_root.join(pid.to_string()).join("root")))
            .find(|(_, root)| root.join("etc").is_dir())?;
        if self.known_pid.len() >= MAX_CGROUPS {
            self.known_pid.clear();
        }
        self.known_pid.insert(cgroup, pid);
        Some(root)
    }

    fn load(&mut self, cgroup: u64, root: &Path) -> Arc<Tables> {
        let tables = Arc::new(Tables {
            mtimes: mtimes(root),
            users: read_names(&root.join("etc/passwd")),
            groups: read_names(&root.join("etc/group")),
        });
        if self.by_cgroup.len() >= MAX_CGROUPS {
            self.by_cgroup.clear();
        }
        self.by_cgroup.insert(cgroup, tables.clone());
        if self.checked.len() >= MAX_CGROUPS {
            self.checked.clear();
        }
        self.checked.insert(cgroup, Instant::now());
        tables
    }
}

fn mtimes(root: &Path) -> (Option<SystemTime>, Option<SystemTime>) {
    let mtime = |file: &str| {
        std::fs::metadata(root.join(file))
            .and_then(|m| m.modified())
            .ok()
    };
    (mtime("etc/passwd"), mtime("etc/group"))
}

/// id → name of a passwd or group file (`name:x:id:...`); unreadable or
/// malformed lines are skipped, the first name of an id wins.
fn read_names(path: &Path) -> Names {
    let mut text = String::new();
    let read =
        std::fs::File::open(path).and_then(|f| f.take(MAX_FILE_BYTES).read_to_string(&mut text));
    if read.is_err() {
        return Names::default();
    }
    parse_names(&text)
}

fn parse_names(text: &str) -> Names {
    let mut names = Names::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        if let Ok(id) = id.parse::<u32>() {
            names.entry(id).or_insert_with(|| Arc::from(name));
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_and_group_lines_map_ids_to_the_first_name() {
        let names = parse_names(
            "root:x:0:0:root:/root:/bin/bash\n# comment\n\nbroken\n:x:5:\n\
             www-data:x:33:33::/var/www:/usr/sbin/nologin\nalias:x:33:33::/:/bin/sh\nbad:x:nan:0::/:\n",
        );
        assert_eq!(names.get(&0).map(|n| &**n), Some("root"));
        assert_eq!(names.get(&33).map(|n| &**n), Some("www-data"));
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn names_come_from_the_processes_own_root_per_cgroup() {
        let dir = tempfile::tempdir().expect("tempdir");
        // pid 7: a "container" whose uid 1000 is `app`; pid 8 is gone.
        let etc = dir.path().join("7/root/etc");
        std::fs::create_dir_all(&etc).expect("mkdir");
        std::fs::write(etc.join("passwd"), "app:x:1000:1000::/app:/bin/sh\n").expect("passwd");
        std::fs::write(etc.join("group"), "appgrp:x:1000:\n").expect("group");
        let mut names = UserNames::new(Some(dir.path().to_path_buf())).with_recheck(Duration::ZERO);
        assert_eq!(
            names.lookup(42, &[8, 7], 1000, 1000),
            (Some("app".into()), Some("appgrp".into()))
        );
        // Cached for the cgroup: found even when the process is gone.
        assert_eq!(names.lookup(42, &[8], 1000, 0).0.as_deref(), Some("app"));
        assert_eq!(names.lookup(42, &[8], 0, 0), (None, None));
        // A user added later: the changed file is read again.
        std::fs::write(
            etc.join("passwd"),
            "app:x:1000:1000::/app:/bin/sh\nlate:x:1001:1001::/:/bin/sh\n",
        )
        .expect("passwd");
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(etc.join("passwd"))
            .and_then(|f| f.set_modified(later))
            .expect("touch");
        assert_eq!(
            names.lookup(42, &[7], 1001, 1000).0.as_deref(),
            Some("late")
        );
        // ...also when the exec'ing process is gone: through pid 7, the
        // cgroup's last known process.
        std::fs::write(
            etc.join("passwd"),
            "app:x:1000:1000::/app:/bin/sh\nlater:x:1002:1002::/:/bin/sh\n",
        )
        .expect("passwd");
        std::fs::File::options()
            .write(true)
            .open(etc.join("passwd"))
            .and_then(|f| f.set_modified(later + std::time::Duration::from_secs(5)))
            .expect("touch");
        assert_eq!(
            names.lookup(42, &[8], 1002, 1000).0.as_deref(),
            Some("later")
        );
        // Another cgroup with no readable root: nothing, and nothing cached.
        assert_eq!(names.lookup(43, &[8], 1000, 1000), (None, None));
        names.forget(42);
        assert_eq!(names.lookup(42, &[8], 1000, 1000), (None, None));
        // Off: never reads.
        let mut off = UserNames::new(None);
        assert_eq!(off.lookup(42, &[7], 1000, 1000), (None, None));
    }

    #[test]
    fn unnamed_ids_check_the_files_at_most_once_per_interval() {
        let dir = tempfile::tempdir().expect("tempdir");
        let etc = dir.path().join("7/root/etc");
        std::fs::create_dir_all(&etc).expect("mkdir");
        std::fs::write(etc.join("passwd"), "app:x:1000:1000::/:/bin/sh\n").expect("passwd");
        let mut names =
            UserNames::new(Some(dir.path().to_path_buf())).with_recheck(Duration::from_secs(3600));
        assert_eq!(names.lookup(1, &[7], 1000, 0).0.as_deref(), Some("app"));
        // A user added now is not seen until the interval has passed: no
        // stat per exec for ids the files do not name.
        std::fs::write(
            etc.join("passwd"),
            "app:x:1000:1000::/:/bin/sh\nnew:x:1001:1001::/:/bin/sh\n",
        )
        .expect("passwd");
        assert_eq!(names.lookup(1, &[7], 1001, 0).0, None);
    }
}
