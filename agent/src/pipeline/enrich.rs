//! Enrichment: the process table and the container registry joined to each
//! event, and the small buffer that holds events of a container whose
//! metadata is still being fetched.
//!
//! Events of a cgroup the registry does not know yet wait here, in arrival
//! order, until the registry publishes it or their deadline passes
//! (`container.metadata_wait_ms`, default 500 ms); then they go on with
//! what is known, and the release is counted. The buffer is bounded: past
//! `container.max_pending_events` an event goes on at once (counted).

use std::{
    collections::VecDeque,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use foldhash::HashMap;

use crate::event::Event;

/// Counters of the pending buffer.
#[derive(Debug, Default)]
pub struct EnrichStats {
    /// Events that waited for their container's metadata.
    pub held: AtomicU64,
    /// Held events released because their container became known.
    pub released_enriched: AtomicU64,
    /// Held events released at the deadline with what was known.
    pub released_deadline: AtomicU64,
    /// Events not held because the buffer was full.
    pub overflow: AtomicU64,
}

/// Events waiting for their cgroup's metadata.
pub struct Pending {
    wait: Duration,
    cap: usize,
    len: usize,
    by_cgroup: HashMap<u64, VecDeque<(Instant, Event)>>,
}

impl Pending {
    pub fn new(wait: Duration, cap: usize) -> Pending {
        Pending {
            wait,
            cap,
            len: 0,
            by_cgroup: HashMap::default(),
        }
    }

    /// Is anything of this cgroup already waiting (later events must queue
    /// behind it to keep order)?
    pub fn has(&self, cgroup: u64) -> bool {
        self.by_cgroup.contains_key(&cgroup)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Hold `event`; gives it back (`Some`) when the buffer is full.
    pub fn hold(&mut self, event: Event, stats: &EnrichStats) -> Option<Event> {
        if self.len >= self.cap {
            stats.overflow.fetch_add(1, Ordering::Relaxed);
            return Some(event);
        }
        stats.held.fetch_add(1, Ordering::Relaxed);
        self.len += 1;
        self.by_cgroup
            .entry(event.header.cgroup_id)
            .or_default()
            .push_back((Instant::now() + self.wait, event));
        None
    }

    /// Release, in order, the events of cgroups that became `known`, and
    /// those whose deadline passed.
    pub fn release(
        &mut self,
        now: Instant,
        known: impl Fn(u64) -> bool,
        stats: &EnrichStats,
        mut out: impl FnMut(Event),
    ) {
        if self.len == 0 {
            return;
        }
        let mut done = Vec::new();
        for (cgroup, queue) in &mut self.by_cgroup {
            if known(*cgroup) {
                stats
                    .released_enriched
                    .fetch_add(queue.len() as u64, Ordering::Relaxed);
                self.len -= queue.len();
                for (_, event) in queue.drain(..) {
                    out(event);
                }
            } else {
                while queue.front().is_some_and(|(deadline, _)| *deadline <= now) {
                    if let Some((_, event)) = queue.pop_front() {
                        stats.released_deadline.fetch_add(1, Ordering::Relaxed);
                        self.len -= 1;
                        out(event);
                    }
                }
            }
            if queue.is_empty() {
                done.push(*cgroup);
            }
        }
        for cgroup in done {
            self.by_cgroup.remove(&cgroup);
        }
    }

    /// Release everything (shutdown).
    pub fn drain(&mut self, mut out: impl FnMut(Event)) {
        for (_, queue) in self.by_cgroup.drain() {
            for (_, event) in queue {
                out(event);
            }
        }
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Comm, EventBody, Fork, Header};

    fn event(cgroup: u64, pid: u32) -> Event {
        Event {
            header: Header {
                time_ns: 0,
                ktime_ns: 0,
                cpu: 0,
                pid,
                tgid: pid,
                ppid: 1,
                uid: 0,
                gid: 0,
                cgroup_id: cgroup,
                comm: Comm::new("x"),
            },
            body: EventBody::Fork(Fork {
                child_pid: 0,
                child_tgid: 0,
            }),
        }
    }

    #[test]
    fn held_events_go_out_in_order_once_their_cgroup_is_known() {
        let stats = EnrichStats::default();
        let mut p = Pending::new(Duration::from_secs(10), 10);
        for pid in 1..=3 {
            assert!(p.hold(event(7, pid), &stats).is_none());
        }
        let mut out = Vec::new();
        p.release(
            Instant::now(),
            |_| false,
            &stats,
            |e| out.push(e.header.pid),
        );
        assert!(out.is_empty());
        p.release(
            Instant::now(),
            |c| c == 7,
            &stats,
            |e| out.push(e.header.pid),
        );
        assert_eq!(out, [1, 2, 3]);
        assert!(p.is_empty());
        assert_eq!(stats.released_enriched.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn deadline_releases_with_what_is_known_and_counts() {
        let stats = EnrichStats::default();
        let mut p = Pending::new(Duration::from_millis(0), 10);
        assert!(p.hold(event(7, 1), &stats).is_none());
        let mut out = Vec::new();
        p.release(
            Instant::now() + Duration::from_millis(1),
            |_| false,
            &stats,
            |e| out.push(e),
        );
        assert_eq!(out.len(), 1);
        assert_eq!(stats.released_deadline.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn full_buffer_gives_the_event_back_and_counts() {
        let stats = EnrichStats::default();
        let mut p = Pending::new(Duration::from_secs(1), 1);
        assert!(p.hold(event(7, 1), &stats).is_none());
        assert!(p.hold(event(7, 2), &stats).is_some());
        assert_eq!(stats.overflow.load(Ordering::Relaxed), 1);
    }
}
