//! Cgroup id → cgroup path resolution.
//!
//! Owns the mapping from a cgroup2 id (the inode number of the cgroup's
//! directory, which is what `bpf_get_current_cgroup_id()` returns) to the
//! cgroup's path relative to the cgroup2 mount (e.g.
//! `/system.slice/docker-<id>.scope`), plus locating that mount.
//!
//! [`CgroupIndex`] keeps a cache filled by full rescans of the cgroup2 tree
//! (rate-limited) and by [`CgroupIndex::learn`] when the sensor reports a
//! cgroup mkdir. Rescans are blocking filesystem walks: call from a blocking
//! context (e.g. `tokio::task::spawn_blocking` or a dedicated thread).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Id of the root cgroup on cgroup2.
pub const ROOT_CGROUP_ID: u64 = 1;

/// Default minimum interval between two full rescans.
pub const DEFAULT_RESCAN_INTERVAL: Duration = Duration::from_millis(100);

/// Counters describing how the index has been used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexStats {
    /// `resolve` answered from the cache.
    pub hits: u64,
    /// `resolve` did not find the id in the cache.
    pub misses: u64,
    /// Full rescans performed.
    pub rescans: u64,
    /// Misses that did not rescan because the last rescan was too recent.
    pub throttled: u64,
    /// Misses still unresolved after a rescan (unknown or already removed cgroup).
    pub unresolved: u64,
}

/// Cache of cgroup id → path relative to the cgroup2 mount.
#[derive(Debug)]
pub struct CgroupIndex {
    mount: PathBuf,
    cache: HashMap<u64, PathBuf>,
    last_rescan: Option<Instant>,
    min_rescan_interval: Duration,
    stats: IndexStats,
}

impl CgroupIndex {
    /// Creates an empty index over the cgroup2 hierarchy mounted at `mount`.
    pub fn new(mount: PathBuf) -> Self {
        Self {
            mount,
            cache: HashMap::new(),
            last_rescan: None,
            min_rescan_interval: DEFAULT_RESCAN_INTERVAL,
            stats: IndexStats::default(),
        }
    }

    /// Sets the minimum interval between full rescans triggered by misses.
    pub fn with_rescan_interval(mut self, interval: Duration) -> Self {
        self.min_rescan_interval = interval;
        self
    }

    /// The cgroup2 mount point this index walks.
    pub fn mount(&self) -> &Path {
        &self.mount
    }

    /// Usage counters.
    pub fn stats(&self) -> IndexStats {
        self.stats
    }

    /// Number of cached ids.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// `true` if nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// Resolves a cgroup id to its path relative to the mount (`/` for the root).
    ///
    /// On a cache miss, rescans the whole tree unless a rescan happened less
    /// than the rescan interval ago.
    pub fn resolve(&mut self, id: u64) -> Option<PathBuf> {
        if id == ROOT_CGROUP_ID {
            self.stats.hits += 1;
            return Some(PathBuf::from("/"));
        }
        if let Some(p) = self.cache.get(&id) {
            self.stats.hits += 1;
            return Some(p.clone());
        }
        self.stats.misses += 1;
        let due = self
            .last_rescan
            .is_none_or(|t| t.elapsed() >= self.min_rescan_interval);
        if !due {
            self.stats.throttled += 1;
            return None;
        }
        self.rescan();
        let found = self.cache.get(&id).cloned();
        if found.is_none() {
            self.stats.unresolved += 1;
        }
        found
    }

    /// Records a cgroup reported by the sensor (e.g. on `cgroup_mkdir`).
    /// `path` is relative to the cgroup2 mount.
    pub fn learn(&mut self, id: u64, path: PathBuf) {
        self.cache.insert(id, path);
    }

    /// Drops a cgroup (e.g. on `cgroup_rmdir`). Returns its former path.
    pub fn forget(&mut self, id: u64) -> Option<PathBuf> {
        self.cache.remove(&id)
    }

    /// Walks the whole cgroup2 tree and replaces the cache with what exists
    /// now (stale entries of removed cgroups go away). Unreadable entries,
    /// e.g. cgroups removed during the walk, are skipped.
    pub fn rescan(&mut self) {
        self.last_rescan = Some(Instant::now());
        self.stats.rescans += 1;
        let mut fresh = HashMap::with_capacity(self.cache.len().max(64));
        let walk = walkdir::WalkDir::new(&self.mount)
            .follow_links(false)
            .same_file_system(true);
        for entry in walk.into_iter().filter_map(Result::ok) {
            if !entry.file_type().is_dir() {
                continue;
            }
            let Ok(md) = entry.metadata() else { continue };
            let Ok(rel) = entry.path().strip_prefix(&self.mount) else {
                continue;
            };
            fresh.insert(md.ino(), Path::new("/").join(rel));
        }
        tracing::debug!(
            mount = %self.mount.display(),
            cgroups = fresh.len(),
            "cgroup2 tree rescanned"
        );
        self.cache = fresh;
    }
}

/// Finds the cgroup2 mount point from `/proc/self/mountinfo`.
///
/// Pure cgroup2 systems mount it at `/sys/fs/cgroup`; hybrid systems at
/// `/sys/fs/cgroup/unified`.
pub fn find_cgroup2_mount() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    parse_mountinfo(&text)
}

/// Picks the cgroup2 mount point from mountinfo text, preferring a mount of
/// the hierarchy root (`/`) over a bind mount of a sub-cgroup.
pub fn parse_mountinfo(text: &str) -> Option<PathBuf> {
    let mut fallback = None;
    for line in text.lines() {
        // fields: id parent major:minor root mountpoint opts [optional...] - fstype source superopts
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        if post.split_whitespace().next() != Some("cgroup2") {
            continue;
        }
        let mut f = pre.split_whitespace();
        let (Some(root), Some(mnt)) = (f.nth(3), f.next()) else {
            continue;
        };
        let mnt = PathBuf::from(unescape_mountinfo(mnt));
        if root == "/" {
            return Some(mnt);
        }
        fallback.get_or_insert(mnt);
    }
    fallback
}

/// Undoes mountinfo's octal escaping of space, tab, newline and backslash.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && let Some(oct) = b.get(i + 1..i + 4)
            && oct.iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = oct.iter().fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
            if let Ok(byte) = u8::try_from(v) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const PURE_V2: &str = "\
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    #[test]
    fn mountinfo_hybrid_yields_unified_mount() {
        assert_eq!(
            parse_mountinfo(HYBRID),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
    }

    #[test]
    fn mountinfo_pure_v2_yields_sys_fs_cgroup() {
        assert_eq!(
            parse_mountinfo(PURE_V2),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
    }

    #[test]
    fn mountinfo_prefers_root_mount_and_unescapes() {
        let text = "\
50 30 0:26 /docker/abc /mnt/sub rw - cgroup2 cgroup2 rw
51 30 0:26 / /mnt/cg\\040two rw shared:1 - cgroup2 cgroup2 rw
";
        assert_eq!(parse_mountinfo(text), Some(PathBuf::from("/mnt/cg two")));
        assert_eq!(
            parse_mountinfo("50 30 0:26 /x /mnt/sub rw - cgroup2 none rw\n"),
            Some(PathBuf::from("/mnt/sub"))
        );
    }

    #[test]
    fn mountinfo_without_cgroup2_or_garbage_yields_none() {
        assert_eq!(parse_mountinfo(""), None);
        assert_eq!(parse_mountinfo("garbage\n - cgroup2\n1 2 - cgroup2"), None);
        assert_eq!(parse_mountinfo(&HYBRID.replace("cgroup2", "cgroup")), None);
        assert_eq!(unescape_mountinfo("a\\9"), "a\\9");
        assert_eq!(unescape_mountinfo("\\777x"), "\\777x");
    }

    #[test]
    fn root_id_resolves_to_slash_without_scanning() {
        let mut idx = CgroupIndex::new(PathBuf::from("/nonexistent-kestrel"));
        assert_eq!(idx.resolve(ROOT_CGROUP_ID), Some(PathBuf::from("/")));
        assert_eq!(idx.stats().rescans, 0);
    }

    #[test]
    fn learn_and_forget_bypass_the_filesystem() {
        let mut idx = CgroupIndex::new(PathBuf::from("/nonexistent-kestrel"));
        idx.learn(4242, PathBuf::from("/system.slice/x.scope"));
        assert_eq!(
            idx.resolve(4242),
            Some(PathBuf::from("/system.slice/x.scope"))
        );
        assert_eq!(
            idx.forget(4242),
            Some(PathBuf::from("/system.slice/x.scope"))
        );
        assert_eq!(idx.stats().hits, 1);
    }

    /// A plain directory tree stands in for cgroupfs: the index only needs
    /// directory inodes, so this exercises scanning and rate limiting anywhere.
    #[test]
    fn rescan_maps_directory_inodes_and_is_rate_limited() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let child = dir.path().join("system.slice").join("docker-x.scope");
        std::fs::create_dir_all(&child)?;
        std::fs::write(dir.path().join("cgroup.procs"), "")?;
        let ino = std::fs::metadata(&child)?.ino();
        let file_ino = std::fs::metadata(dir.path().join("cgroup.procs"))?.ino();

        let mut idx = CgroupIndex::new(dir.path().to_path_buf())
            .with_rescan_interval(Duration::from_secs(3600));
        assert_eq!(
            idx.resolve(ino),
            Some(PathBuf::from("/system.slice/docker-x.scope"))
        );
        assert_eq!(idx.stats().rescans, 1);
        // files are not cgroups
        assert_eq!(idx.resolve(file_ino), None);
        assert_eq!(idx.stats().rescans, 1);
        assert_eq!(idx.stats().throttled, 1);

        // A new directory is not seen until the interval passes.
        let late = dir.path().join("late");
        std::fs::create_dir(&late)?;
        let late_ino = std::fs::metadata(&late)?.ino();
        assert_eq!(idx.resolve(late_ino), None);
        let mut idx = idx.with_rescan_interval(Duration::ZERO);
        assert_eq!(idx.resolve(late_ino), Some(PathBuf::from("/late")));

        // Rescans drop entries of removed directories.
        std::fs::remove_dir(&late)?;
        idx.rescan();
        assert_eq!(idx.resolve(late_ino), None);
        let s = idx.stats();
        assert_eq!((s.hits, s.misses, s.rescans, s.throttled), (0, 5, 4, 2));
        Ok(())
    }

    /// Removes the test cgroup even if the test fails.
    struct CgroupDirGuard(PathBuf);
    impl Drop for CgroupDirGuard {
        fn drop(&mut self) {
            // Children first (remove_dir_all would try to unlink cgroup files).
            let _ = std::fs::remove_dir(self.0.join("child"));
            let _ = std::fs::remove_dir(&self.0);
        }
    }

    /// Live: creates a cgroup under the real cgroup2 mount (needs root).
    #[test]
    fn real_cgroup_inode_resolves_to_its_path() -> std::io::Result<()> {
        let Some(mount) = find_cgroup2_mount() else {
            eprintln!("SKIP real_cgroup_inode_resolves_to_its_path: no cgroup2 mount");
            return Ok(());
        };
        let name = format!("kestrel-test-{}", std::process::id());
        let dir = mount.join(&name);
        if let Err(e) = std::fs::create_dir(&dir) {
            eprintln!(
                "SKIP real_cgroup_inode_resolves_to_its_path: mkdir {}: {e}",
                dir.display()
            );
            return Ok(());
        }
        let _guard = CgroupDirGuard(dir.clone());
        std::fs::create_dir(dir.join("child"))?;
        let ino = std::fs::metadata(&dir)?.ino();
        let child_ino = std::fs::metadata(dir.join("child"))?.ino();

        let mut idx = CgroupIndex::new(mount.clone());
        assert_eq!(idx.resolve(ino), Some(Path::new("/").join(&name)));
        assert_eq!(
            idx.resolve(child_ino),
            Some(Path::new("/").join(&name).join("child"))
        );
        assert_eq!(idx.stats().rescans, 1);
        assert_eq!(std::fs::metadata(&mount)?.ino(), ROOT_CGROUP_ID);
        assert!(idx.len() > 2);
        Ok(())
    }
}
