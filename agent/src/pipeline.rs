//! The hot path: ring buffer → decode → (enrich → judge, as they land) →
//! outputs, on one thread that owns its state.
//!
//! It runs on a dedicated OS thread with a single-threaded tokio runtime that
//! only waits on the ring buffer's fd; nothing on it blocks or takes a lock
//! per event. Counters are relaxed atomics so other threads can report them.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
};

use serde::Serialize;
use tokio::sync::watch;

use crate::{
    event::{DecodeError, Decoder, Event, EventKind},
    output::OutputQueue,
    sensor::{EventRing, RingReader},
};

/// Counters of the hot path, readable from any thread.
#[derive(Debug, Default)]
pub struct PipelineStats {
    pub records: AtomicU64,
    pub exec: AtomicU64,
    pub fork: AtomicU64,
    pub exit: AtomicU64,
    pub syscall: AtomicU64,
    pub first_syscall: AtomicU64,
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
}

impl EventSink for OutputQueue {
    fn accept(&mut self, event: Event) {
        self.push(event);
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
}

impl<S: EventSink> HotPath<S> {
    pub fn new(decoder: Decoder, sink: S, stats: Arc<PipelineStats>) -> Self {
        HotPath {
            decoder,
            sink,
            stats,
        }
    }

    pub fn handle(&mut self, bytes: &[u8]) {
        match self.decoder.decode(bytes) {
            Ok(event) => {
                self.stats.count_event(event.kind());
                self.sink.accept(event);
            }
            Err(err) => {
                self.stats.count_error(&err);
                tracing::debug!(%err, "undecodable record");
            }
        }
    }
}

/// Run the hot path on its own thread until `shutdown` turns true; then
/// drain what the kernel already wrote and return.
pub fn spawn<S: EventSink>(
    ring: EventRing,
    mut hot: HotPath<S>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    std::thread::Builder::new()
        .name("kestrel-hot".into())
        .spawn(move || {
            runtime.block_on(async {
                let mut reader = match RingReader::new(ring) {
                    Ok(reader) => reader,
                    Err(err) => {
                        tracing::error!(%err, "registering the ring buffer failed");
                        return;
                    }
                };
                loop {
                    tokio::select! {
                        read = reader.read_batch(|bytes| hot.handle(bytes)) => {
                            if let Err(err) = read {
                                tracing::error!(%err, "reading the ring buffer failed; stopping");
                                break;
                            }
                        }
                        _ = shutdown.changed() => break,
                    }
                }
                reader.drain(|bytes| hot.handle(bytes));
            });
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
