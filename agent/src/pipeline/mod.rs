//! The hot path: ring buffer → decode → enrich → judge → outputs, on one
//! thread that owns its state (process table, registry view, rule scratch).
//!
//! It runs on a dedicated OS thread that only waits on the ring buffer's fd
//! (epoll) with a short timeout; nothing on it blocks or takes a lock per
//! event. Counters are relaxed atomics so other threads can report them.
//! Slow work (runtime API calls, disk, network) happens elsewhere and
//! reaches the hot path as immutable snapshots.

pub mod enrich;
pub mod judge;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use serde::Serialize;
use tokio::sync::watch;

use crate::{
    alert::record::Alert,
    container::{cgroup_path, registry::RegistryView},
    context::ContainerInfo,
    event::{DecodeError, Decoder, Event, EventBody, EventKind},
    output::{EnrichedEvent, OutputQueue, Record},
    process::{ProcessContext, ProcessTable},
    sensor::{EventRing, HostCgroups, RingReader},
};

use enrich::{EnrichStats, Pending};
use judge::Judge;

/// Counters of the hot path, readable from any thread.
#[derive(Debug, Default)]
pub struct PipelineStats {
    pub records: AtomicU64,
    pub exec: AtomicU64,
    pub fork: AtomicU64,
    pub exit: AtomicU64,
    pub syscall: AtomicU64,
    pub first_syscall: AtomicU64,
    pub cgroup: AtomicU64,
    pub decode_short_header: AtomicU64,
    pub decode_unknown_kind: AtomicU64,
    pub decode_bad_size: AtomicU64,
    pub decode_size_mismatch: AtomicU64,
    pub decode_bad_length: AtomicU64,
}

/// A plain copy of [`PipelineStats`] for logs and status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    pub records: u64,
    pub exec: u64,
    pub fork: u64,
    pub exit: u64,
    pub syscall: u64,
    pub first_syscall: u64,
    pub decode_errors: u64,
}

impl PipelineStats {
    fn count_event(&self, kind: EventKind) {
        self.records.fetch_add(1, Ordering::Relaxed);
        let counter = match kind {
            EventKind::Exec => &self.exec,
            EventKind::Fork => &self.fork,
            EventKind::Exit => &self.exit,
            EventKind::Syscall => &self.syscall,
            EventKind::FirstSyscall => &self.first_syscall,
            EventKind::Cgroup => &self.cgroup,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn count_error(&self, err: &DecodeError) {
        self.records.fetch_add(1, Ordering::Relaxed);
        let counter = match err {
            DecodeError::ShortHeader { .. } => &self.decode_short_header,
            DecodeError::UnknownKind(_) => &self.decode_unknown_kind,
            DecodeError::BadSize { .. } => &self.decode_bad_size,
            DecodeError::SizeMismatch { .. } => &self.decode_size_mismatch,
            DecodeError::BadLength { .. } => &self.decode_bad_length,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            records: get(&self.records),
            exec: get(&self.exec),
            fork: get(&self.fork),
            exit: get(&self.exit),
            syscall: get(&self.syscall),
            first_syscall: get(&self.first_syscall),
            decode_errors: get(&self.decode_short_header)
                + get(&self.decode_unknown_kind)
                + get(&self.decode_bad_size)
                + get(&self.decode_size_mismatch)
                + get(&self.decode_bad_length),
        }
    }
}

/// Where decoded events go next.
pub trait EventSink: Send + 'static {
    fn accept(&mut self, event: Event);

    /// An event after enrichment, with its container (None: not a full
    /// pipeline, or unknown). Defaults to [`accept`](Self::accept).
    fn accept_enriched(&mut self, event: Event, container: Option<Arc<ContainerInfo>>) {
        let _ = container;
        self.accept(event);
    }
}

/// Where alerts go next (the alert hub's queue).
pub trait AlertSink: Send + 'static {
    fn alert(&mut self, alert: Alert);
}

impl<F: FnMut(Alert) + Send + 'static> AlertSink for F {
    fn alert(&mut self, alert: Alert) {
        self(alert)
    }
}

/// No raw events wanted.
pub struct NoEvents;

impl EventSink for NoEvents {
    fn accept(&mut self, _event: Event) {}
}

/// The enrich and judge stages of a full pipeline.
pub struct Stages {
    pub processes: ProcessTable,
    pub containers: RegistryView,
    pub pending: Pending,
    pub judge: Judge,
    pub alerts: Box<dyn AlertSink>,
    pub enrich_stats: Arc<EnrichStats>,
    /// The kernel's host-cgroup set, kept current from cgroup events (for
    /// syscalls captured only in containers).
    pub host_cgroups: Option<HostCgroups>,
}

impl EventSink for OutputQueue {
    fn accept(&mut self, event: Event) {
        self.push(Record::Event(Box::new(EnrichedEvent {
            event,
            container: None,
        })));
    }

    fn accept_enriched(&mut self, event: Event, container: Option<Arc<ContainerInfo>>) {
        self.push(Record::Event(Box::new(EnrichedEvent { event, container })));
    }
}

impl<F: FnMut(Event) + Send + 'static> EventSink for F {
    fn accept(&mut self, event: Event) {
        self(event)
    }
}

/// The per-record work of the hot path.
pub struct HotPath<S: EventSink> {
    decoder: Decoder,
    sink: S,
    stats: Arc<PipelineStats>,
    stages: Option<Stages>,
}

impl<S: EventSink> HotPath<S> {
    /// Decode only: every event goes to `sink` (tests, benchmarks, `record`).
    pub fn new(decoder: Decoder, sink: S, stats: Arc<PipelineStats>) -> Self {
        HotPath {
            decoder,
            sink,
            stats,
            stages: None,
        }
    }

    /// The full pipeline: decode → enrich → judge; events (enriched, after
    /// any wait for metadata) to `sink`, alerts to the stages' alert sink.
    pub fn with_stages(
        decoder: Decoder,
        sink: S,
        stats: Arc<PipelineStats>,
        stages: Stages,
    ) -> Self {
        HotPath {
            decoder,
            sink,
            stats,
            stages: Some(stages),
        }
    }

    pub fn handle(&mut self, bytes: &[u8]) {
        match self.decoder.decode(bytes) {
            Ok(event) => {
                self.stats.count_event(event.kind());
                self.process(event);
            }
            Err(err) => {
                self.stats.count_error(&err);
                tracing::debug!(%err, "undecodable record");
            }
        }
    }

    /// One decoded event (from the ring or a replayed trace).
    pub fn process(&mut self, event: Event) {
        let Some(st) = &mut self.stages else {
            self.sink.accept(event);
            return;
        };
        if let EventBody::Cgroup(c) = &event.body {
            if c.created {
                st.containers.cgroup_created(c.id, &c.path);
                if let Some(host) = st.host_cgroups.as_mut()
                    && cgroup_path::parse(&c.path).is_none()
                {
                    host.mark(c.id);
                }
            } else {
                st.containers.cgroup_removed(c.id);
                if let Some(host) = st.host_cgroups.as_mut() {
                    host.forget(c.id);
                }
            }
        }
        let cgroup = event.header.cgroup_id;
        let wait = st.pending.has(cgroup) || st.containers.lookup(cgroup).is_none();
        if wait {
            if let Some(event) = st.pending.hold(event, &st.enrich_stats) {
                Self::finish(st, &mut self.sink, event);
            }
        } else {
            Self::finish(st, &mut self.sink, event);
        }
    }

    /// Update the process table, judge the enriched event, pass it on.
    ///
    /// The table is updated here, not on arrival, so a held event is judged
    /// against the process state of its own moment: events of one cgroup
    /// keep their order, and a process's events come from its cgroup.
    fn finish(st: &mut Stages, sink: &mut S, mut event: Event) {
        st.processes.fill_ppid(&mut event.header);
        st.processes.apply(&event);
        let containers = &st.containers;
        let ctx = ProcessContext::new(&st.processes, |cg| containers.get(cg).map(|c| c.as_ref()));
        let alerts = &mut st.alerts;
        st.judge.judge(&event, &ctx, |alert| alerts.alert(alert));
        let container = st.containers.get(event.header.cgroup_id).cloned();
        sink.accept_enriched(event, container);
    }

    /// Periodic work: newer registry snapshot, held events whose container
    /// became known or whose deadline passed, process-table expiry.
    pub fn tick(&mut self, now_unix_ns: u64) {
        let Some(st) = &mut self.stages else {
            return;
        };
        st.containers.refresh();
        st.processes.tick(now_unix_ns);
        if st.pending.is_empty() {
            return;
        }
        let mut ready = Vec::new();
        let containers = &st.containers;
        st.pending.release(
            std::time::Instant::now(),
            |cg| containers.get(cg).is_some(),
            &st.enrich_stats,
            |e| ready.push(e),
        );
        for event in ready {
            Self::finish(st, &mut self.sink, event);
        }
    }

    /// Let everything held go (shutdown).
    pub fn drain(&mut self) {
        let Some(st) = &mut self.stages else {
            return;
        };
        let mut ready = Vec::new();
        st.pending.drain(|e| ready.push(e));
        for event in ready {
            Self::finish(st, &mut self.sink, event);
        }
    }
}

/// Unix time now, ns.
fn now_unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// How often the hot path does its periodic work (registry snapshot, held
/// events, process-table expiry); also how soon it notices `shutdown`.
const TICK: Duration = Duration::from_millis(20);

/// Run the hot path on its own thread until `shutdown` turns true; then
/// drain what the kernel already wrote and return.
///
/// The thread is a plain loop, no async runtime: it sleeps in
/// [`RingReader::wait`] until the kernel wakes it (the waiting data crossed
/// `sensor.wakeup_bytes`) or the next deadline, drains the ring, and does
/// the periodic work when it is due. Deadlines are the read every `poll`
/// (`sensor.poll_ms`: the kernel submits quietly below the wake-up mark, so
/// this bounds the delay of a trickle of records) and the [`TICK`]; both are
/// served by the same wake-up, so a busy node costs one wake-up per poll
/// period and nothing more.
pub fn spawn<S: EventSink>(
    ring: EventRing,
    mut hot: HotPath<S>,
    shutdown: watch::Receiver<bool>,
    poll: Duration,
) -> std::io::Result<JoinHandle<()>> {
    let mut reader = RingReader::new(ring)?;
    // Config validation keeps it ≥ 1 ms; never spin on a zero period.
    let poll = poll.max(Duration::from_millis(1));
    std::thread::Builder::new()
        .name("kestrel-hot".into())
        .spawn(move || {
            let mut next_read = Instant::now() + poll;
            let mut next_tick = Instant::now() + TICK;
            loop {
                let now = Instant::now();
                let timeout = next_read.min(next_tick).saturating_duration_since(now);
                let woken = match reader.wait(timeout) {
                    Ok(woken) => woken,
                    Err(err) => {
                        tracing::error!(%err, "waiting on the ring buffer failed; stopping");
                        break;
                    }
                };
                let now = Instant::now();
                if woken || now >= next_read {
                    reader.drain(|bytes| hot.handle(bytes));
                    next_read = now + poll;
                }
                if now >= next_tick {
                    hot.tick(now_unix_ns());
                    next_tick = now + TICK;
                    if *shutdown.borrow() || shutdown.has_changed().is_err() {
                        break;
                    }
                }
            }
            reader.drain(|bytes| hot.handle(bytes));
            hot.drain();
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_counted_and_not_forwarded() {
        let stats = Arc::new(PipelineStats::default());
        let seen = Arc::new(AtomicU64::new(0));
        let seen2 = seen.clone();
        let mut hot = HotPath::new(
            Decoder::default(),
            move |_e: Event| {
                seen2.fetch_add(1, Ordering::Relaxed);
            },
            stats.clone(),
        );
        hot.handle(&[0u8; 3]);
        hot.handle(&[0xffu8; 128]);
        let snap = stats.snapshot();
        assert_eq!(snap.records, 2);
        assert_eq!(snap.decode_errors, 2);
        assert_eq!(seen.load(Ordering::Relaxed), 0);
    }
}
