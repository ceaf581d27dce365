//! The process table: every process (thread group) the agent knows of, keyed
//! by tgid, kept current from fork/exec/exit events and seeded from `/proc`
//! at start. Owned by the single hot-path thread: a plain `HashMap`, no locks.
//!
//! Lifetimes: a fork or exec makes an entry live; an exit of the whole thread
//! group marks it exited, and it stays resolvable for `exit_grace` so events
//! that arrive late still find it, then [`ProcessTable::tick`] (or the next
//! [`ProcessTable::apply`]) removes it. The table never holds more than
//! `max_entries`: when full it evicts exited entries first (past, then
//! nearest expiry), then the least recently seen live one.
//!
//! Bookkeeping is amortised O(1) per event: exits queue in a `VecDeque` in
//! (roughly) expiry order, recency in a second `VecDeque` with lazily dropped
//! stale items; no full scans on the hot path.

mod adapter;
mod ancestry;
mod memory;
mod seed;
mod update;
pub mod users;

#[cfg(test)]
mod live_tests;
#[cfg(test)]
mod tests;

pub use adapter::ProcessContext;
pub use ancestry::Ancestors;
pub use memory::MemoryReport;
pub use seed::{SeedReport, boot_time_unix_ns};

use std::cell::Cell;
use std::collections::VecDeque;
use std::time::Duration;

use foldhash::HashMap;

use crate::context::ProcessInfo;
use crate::event::{Event, EventBody, Exec, Exit, Fork, Header};

/// Most parent links [`ProcessTable::ancestors`] and
/// [`ProcessTable::ancestor`] follow, whatever they are asked: a ppid cycle
/// (garbage or lost events) cannot make a walk run away.
pub const MAX_ANCESTRY_STEPS: usize = 64;

/// Sizing and timing of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessConfig {
    /// Hard cap on entries (live and exited). At least 1 is used.
    pub max_entries: usize,
    /// How long an exited process stays resolvable.
    pub exit_grace: Duration,
    /// Resolve `user.name` / `group.name` from each process's own
    /// `/etc/passwd` and `/etc/group` (through `/proc/<pid>/root`).
    pub user_names: bool,
}

impl Default for ProcessConfig {
    fn default() -> Self {
        ProcessConfig {
            max_entries: 65_536,
            exit_grace: Duration::from_secs(5),
            user_names: false,
        }
    }
}

/// Errors of the process table (only seeding can fail as a whole).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot list processes in /proc: {0}")]
    ListProc(#[source] procfs::ProcError),
}

/// Why an entry was evicted to keep the table within `max_entries`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EvictReason {
    /// An exited entry whose grace had already run out (not yet ticked).
    ExitedExpired,
    /// An exited entry still in its grace period (the one nearest expiry).
    ExitedInGrace,
    /// A live entry, the least recently seen one.
    LiveLru,
}

/// Evictions, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evictions {
    pub exited_expired: u64,
    pub exited_in_grace: u64,
    pub live_lru: u64,
}

impl Evictions {
    pub fn total(&self) -> u64 {
        self.exited_expired + self.exited_in_grace + self.live_lru
    }

    fn count(&mut self, reason: EvictReason) {
        match reason {
            EvictReason::ExitedExpired => self.exited_expired += 1,
            EvictReason::ExitedInGrace => self.exited_in_grace += 1,
            EvictReason::LiveLru => self.live_lru += 1,
        }
    }
}

/// Counters of the table, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessStats {
    /// Entries now (live + exited).
    pub entries: usize,
    /// Exited entries waiting out their grace.
    pub exited_pending: usize,
    /// Exited entries removed after their grace (normal expiry).
    pub expired: u64,
    /// Entries removed to stay within the cap.
    pub evictions: Evictions,
    /// Entries added by seeding from `/proc` (all seedings).
    pub seeded: u64,
    /// Processes seeding skipped (vanished or unreadable).
    pub seed_errors: u64,
    /// A parent looked up (fork parent, ancestor walk) that the table lacks.
    pub unknown_parent: u64,
    /// Entries made from an event header alone: exec or fork by a process
    /// the table did not know (started before seeding, or events lost).
    pub late_inserts: u64,
    /// A fork/exec for a pid whose old entry was exited: pid reuse.
    pub pid_reused: u64,
    /// A fork for a pid whose old entry was still live (its exit was lost).
    pub replaced_live: u64,
}

/// One table slot: the record the rules read plus bookkeeping.
#[derive(Debug)]
struct Entry {
    /// Boxed so empty hash buckets and rehashing cost a pointer, not the
    /// whole record.
    info: Box<ProcessInfo>,
    /// Unix ns of the exit; `None` while live.
    exited_at: Option<u64>,
    /// Table clock when last seen; matches exactly one item of `lru`.
    seen: u64,
    /// Unique per insertion: tells a reused pid's stale queue items apart.
    id: u64,
}

/// An exited entry waiting for expiry.
#[derive(Clone, Copy, Debug)]
struct ExitItem {
    expires_ns: u64,
    pid: u32,
    id: u64,
}

/// The process table. See the module docs.
#[derive(Debug)]
pub struct ProcessTable {
    max_entries: usize,
    grace_ns: u64,
    map: HashMap<u32, Entry>,
    /// Exited entries, in the order they exited (≈ expiry order).
    exits: VecDeque<ExitItem>,
    /// (seen, pid): recency; items whose `seen` no longer matches the entry
    /// are stale and dropped when met or on compaction.
    lru: VecDeque<(u64, u32)>,
    /// Logical clock: bumped per insertion and per recorded sighting.
    clock: u64,
    exited_pending: usize,
    stats: ProcessStats,
    /// Counted from `&self` lookups; the table is single-threaded.
    unknown_parent: Cell<u64>,
    names: users::UserNames,
}

impl ProcessTable {
    pub fn new(config: ProcessConfig) -> ProcessTable {
        let max_entries = config.max_entries.max(1);
        ProcessTable {
            max_entries,
            grace_ns: u64::try_from(config.exit_grace.as_nanos()).unwrap_or(u64::MAX),
            map: HashMap::with_capacity_and_hasher(max_entries.min(4096), Default::default()),
            exits: VecDeque::new(),
            lru: VecDeque::new(),
            clock: 0,
            exited_pending: 0,
            stats: ProcessStats::default(),
            unknown_parent: Cell::new(0),
            names: users::UserNames::new(config.user_names.then(|| "/proc".into())),
        }
    }

    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The process with this tgid, live or exited within its grace.
    pub fn get(&self, tgid: u32) -> Option<&ProcessInfo> {
        self.map.get(&tgid).map(|e| &*e.info)
    }

    /// When the process exited (unix ns), if it did and is still kept.
    pub fn exited_at(&self, tgid: u32) -> Option<u64> {
        self.map.get(&tgid).and_then(|e| e.exited_at)
    }

    /// The `n`-th ancestor (`n = 0`: the process itself, `1`: its parent, …,
    /// like Falco's `proc.aname[n]`). O(n), at most
    /// [`MAX_ANCESTRY_STEPS`] links.
    pub fn ancestor(&self, tgid: u32, n: usize) -> Option<&ProcessInfo> {
        match n {
            0 => self.get(tgid),
            n => self.ancestors(tgid, n).nth(n - 1),
        }
    }

    /// Parent, grandparent, … of `tgid`, at most `max` (and at most
    /// [`MAX_ANCESTRY_STEPS`]) of them; ends at pid 0, a self-parent, or a
    /// parent the table does not know.
    pub fn ancestors(&self, tgid: u32, max: usize) -> Ancestors<'_> {
        Ancestors::new(self, tgid, max.min(MAX_ANCESTRY_STEPS))
    }

    /// Fill a header's missing ppid (0) from the table. Returns whether it
    /// was filled.
    pub fn fill_ppid(&self, header: &mut Header) -> bool {
        if header.ppid != 0 {
            return false;
        }
        match self.get(header.tgid) {
            Some(info) if info.ppid != 0 => {
                header.ppid = info.ppid;
                true
            }
            _ => false,
        }
    }

    pub fn stats(&self) -> ProcessStats {
        ProcessStats {
            entries: self.map.len(),
            exited_pending: self.exited_pending,
            unknown_parent: self.stats.unknown_parent + self.unknown_parent.get(),
            ..self.stats
        }
    }

    /// Apply one event. Also expires exited entries whose grace ended
    /// before the event's time.
    pub fn apply(&mut self, event: &Event) {
        let h = &event.header;
        self.expire(h.time_ns);
        // New event kinds: decide whether they only mark their process seen
        // (`self.touch(h.tgid)`) or also carry process facts (`update.rs`).
        match &event.body {
            EventBody::Fork(f) => self.on_fork(h, f),
            EventBody::Exec(e) => self.on_exec(h, e),
            EventBody::Exit(x) => self.on_exit(h, x),
            EventBody::Cgroup(c) if !c.created => {
                self.names.forget(c.id);
                self.touch(h.tgid)
            }
            EventBody::Syscall(_) | EventBody::FirstSyscall(_) | EventBody::Cgroup(_) => {
                self.touch(h.tgid)
            }
        }
    }

    /// Remove exited entries whose grace ended at or before `now_ns` (unix
    /// ns, the clock of `Header::time_ns`). Cheap when nothing is due: call
    /// it from the hot loop's idle path so quiet periods expire too.
    pub fn tick(&mut self, now_ns: u64) {
        self.expire(now_ns);
    }

    fn on_fork(&mut self, h: &Header, f: &Fork) {
        if f.child_pid != f.child_tgid || f.child_tgid == 0 {
            // A new thread, not a new process.
            self.touch(h.tgid);
            return;
        }
        let Some(parent) = self.subject(h, false) else {
            return;
        };
        let child = update::fork_child(&parent.info, h, f);
        self.touch(h.tgid);
        self.insert(f.child_tgid, child, h.time_ns);
    }

    fn on_exec(&mut self, h: &Header, e: &Exec) {
        // The parent's root only when it is in the same cgroup (`runc exec`
        // and `docker exec` parents are on the host).
        let parent_here = self
            .map
            .get(&h.ppid)
            .is_some_and(|p| p.info.cgroup_id == h.cgroup_id);
        let pids = [h.tgid, if parent_here { h.ppid } else { 0 }];
        let (user, group) = self.names.lookup(h.cgroup_id, &pids, h.uid, h.gid);
        if let Some(entry) = self.subject(h, true) {
            update::apply_exec(&mut entry.info, h, e);
            entry.info.user_name = user;
            entry.info.group_name = group;
        }
        self.touch(h.tgid);
    }

    fn on_exit(&mut self, h: &Header, x: &Exit) {
        // Only the whole group's end is the process's end: a leader that
        // exits while other threads run leaves a live process behind.
        if !x.group_dead {
            self.touch(h.tgid);
            return;
        }
        let grace = self.grace_ns;
        let Some(entry) = self.map.get_mut(&h.tgid) else {
            return;
        };
        if entry.exited_at.is_some() {
            return;
        }
        entry.exited_at = Some(h.time_ns);
        self.exited_pending += 1;
        self.exits.push_back(ExitItem {
            expires_ns: h.time_ns.saturating_add(grace),
            pid: h.tgid,
            id: entry.id,
        });
    }

    /// The live entry of the process an event ran in (`h.tgid`). When the
    /// table does not know it, or only knows an exited process of that pid
    /// (reuse whose fork was lost), one is made from the header.
    /// `is_exec`: the subject is the exec'ing process (else a fork parent).
    fn subject(&mut self, h: &Header, is_exec: bool) -> Option<&mut Entry> {
        let pid = h.tgid;
        if pid == 0 {
            return None;
        }
        let known_live = self.map.get(&pid).is_some_and(|e| e.exited_at.is_none());
        if !known_live {
            if !is_exec {
                self.stats.unknown_parent += 1;
            }
            self.stats.late_inserts += 1;
            self.insert(pid, update::from_header(h), h.time_ns);
        }
        self.map.get_mut(&pid)
    }

    /// Insert or replace the entry for `pid`, evicting first if the table
    /// is full.
    fn insert(&mut self, pid: u32, info: ProcessInfo, now_ns: u64) {
        if let Some(old) = self.remove(pid) {
            if old.exited_at.is_some() {
                self.stats.pid_reused += 1;
            } else {
                self.stats.replaced_live += 1;
            }
        } else {
            self.make_room(now_ns);
        }
        self.clock += 1;
        let id = self.clock;
        self.map.insert(
            pid,
            Entry {
                info: Box::new(info),
                exited_at: None,
                seen: id,
                id,
            },
        );
        self.lru.push_back((id, pid));
        self.compact_lru();
    }

    /// Insert an exited entry (seeding a zombie).
    fn insert_exited(&mut self, pid: u32, info: ProcessInfo, now_ns: u64) {
        self.insert(pid, info, now_ns);
        if let Some(entry) = self.map.get_mut(&pid) {
            entry.exited_at = Some(now_ns);
            self.exited_pending += 1;
            self.exits.push_back(ExitItem {
                expires_ns: now_ns.saturating_add(self.grace_ns),
                pid,
                id: entry.id,
            });
        }
    }

    fn remove(&mut self, pid: u32) -> Option<Entry> {
        let old = self.map.remove(&pid)?;
        if old.exited_at.is_some() {
            self.exited_pending = self.exited_pending.saturating_sub(1);
        }
        Some(old)
    }

    /// Record that `pid` was seen now. A process seen within the newest
    /// eighth of the clock is left where it is in the recency queue, so a
    /// busy process does not push one queue item per event.
    fn touch(&mut self, pid: u32) {
        let clock = self.clock;
        let slack = (self.map.len() / 8) as u64;
        let Some(entry) = self.map.get_mut(&pid) else {
            return;
        };
        if clock - entry.seen <= slack {
            return;
        }
        self.clock += 1;
        entry.seen = self.clock;
        self.lru.push_back((self.clock, pid));
        self.compact_lru();
    }

    /// Drop stale recency items once they outnumber live ones: amortised
    /// O(1) per push, and the queue stays within 2× entries (+ slack).
    fn compact_lru(&mut self) {
        if self.lru.len() <= 2 * self.map.len() + 64 {
            return;
        }
        let map = &self.map;
        self.lru
            .retain(|&(seen, pid)| map.get(&pid).is_some_and(|e| e.seen == seen));
    }

    fn expire(&mut self, now_ns: u64) {
        while let Some(item) = self.exits.front().copied() {
            if item.expires_ns > now_ns {
                break;
            }
            self.exits.pop_front();
            if self.is_current_exit(&item) {
                self.remove(item.pid);
                self.stats.expired += 1;
            }
        }
    }

    fn is_current_exit(&self, item: &ExitItem) -> bool {
        self.map
            .get(&item.pid)
            .is_some_and(|e| e.id == item.id && e.exited_at.is_some())
    }

    fn make_room(&mut self, now_ns: u64) {
        while self.map.len() >= self.max_entries {
            let reason = self.evict_one(now_ns);
            self.stats.evictions.count(reason);
        }
    }

    fn evict_one(&mut self, now_ns: u64) -> EvictReason {
        while let Some(item) = self.exits.pop_front() {
            if self.is_current_exit(&item) {
                self.remove(item.pid);
                return if item.expires_ns <= now_ns {
                    EvictReason::ExitedExpired
                } else {
                    EvictReason::ExitedInGrace
                };
            }
        }
        while let Some((seen, pid)) = self.lru.pop_front() {
            if self.map.get(&pid).is_some_and(|e| e.seen == seen) {
                self.remove(pid);
                return EvictReason::LiveLru;
            }
        }
        // Unreachable while every entry has one current recency item; kept
        // so the cap holds even if that invariant were broken.
        if let Some(&pid) = self.map.keys().next() {
            self.remove(pid);
        }
        EvictReason::LiveLru
    }
}
