//! Which cgroups are the host's: the kernel's `HOST_CGROUPS` map.
//!
//! Syscalls that only container-scoped rules need are captured with the
//! `CONTAINERS_ONLY` flag; the dispatcher skips them for tasks in a cgroup
//! listed here. Userspace fills the map from the cgroup2 tree at start and
//! keeps it current from cgroup mkdir/rmdir events. A cgroup missing from
//! the map counts as a container's, so lag or a full map only costs
//! capture, never misses a container.

use std::{
    io,
    os::unix::fs::MetadataExt as _,
    path::Path,
    sync::atomic::{AtomicU64, Ordering},
};

use aya::maps::{Array, HashMap, MapData};

/// Writer of the kernel's host-cgroup set.
pub struct HostCgroups {
    map: HashMap<MapData, u64, u8>,
    /// `CACHE_GEN`, bumped after each change: the dispatcher's per-CPU
    /// caches refresh.
    generation: Array<MapData, u64>,
    /// Inserts the kernel refused (map full): those cgroups are treated as
    /// containers' and captured.
    refused: AtomicU64,
}

impl HostCgroups {
    pub(super) fn new(
        map: HashMap<MapData, u64, u8>,
        generation: Array<MapData, u64>,
    ) -> HostCgroups {
        HostCgroups {
            map,
            generation,
            refused: AtomicU64::new(0),
        }
    }

    /// Mark cgroup `id` as the host's.
    pub fn mark(&mut self, id: u64) {
        self.insert(id);
        self.publish();
    }

    fn insert(&mut self, id: u64) -> bool {
        match self.map.insert(id, 1, 0) {
            Ok(()) => true,
            Err(err) => {
                if self.refused.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!(%err, cgroup = id, "host cgroup map refused an entry; its syscalls stay captured");
                }
                false
            }
        }
    }

    /// Tell the dispatcher's per-CPU caches that the set changed.
    fn publish(&mut self) {
        // The kernel bumps it too (fork, cgroup attach); any change will do.
        let next = self.generation.get(&0, 0).unwrap_or(0).wrapping_add(1);
        if let Err(err) = self.generation.set(0, next, 0) {
            tracing::warn!(%err, "bumping the host cgroup generation failed");
        }
    }

    /// Forget a removed cgroup.
    pub fn forget(&mut self, id: u64) {
        if self.map.remove(&id).is_ok() {
            self.publish();
        }
    }

    /// Is `id` marked as the host's?
    pub fn contains(&self, id: u64) -> bool {
        self.map.get(&id, 0).is_ok()
    }

    /// Inserts the kernel refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Walk the cgroup2 tree under `mount` and mark every directory for
    /// which `is_host(path relative to the mount, e.g. "/system.slice")`
    /// holds. Returns how many were marked. Directories that vanish during
    /// the walk are skipped.
    pub fn seed(&mut self, mount: &Path, is_host: impl Fn(&str) -> bool) -> io::Result<usize> {
        let mut marked = 0;
        let mut stack = vec![mount.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Ok(meta) = std::fs::metadata(&dir) else {
                continue;
            };
            let rel = dir
                .strip_prefix(mount)
                .map(|p| format!("/{}", p.display()))
                .unwrap_or_else(|_| "/".into());
            if is_host(&rel) && self.insert(meta.ino()) {
                marked += 1;
            }
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(err) if dir == mount => return Err(err),
                Err(_) => continue,
            };
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(entry.path());
                }
            }
        }
        self.publish();
        Ok(marked)
    }
}
