//! Outputs: where alerts (and, when asked, events) leave the agent.
//!
//! * Alert sinks follow the alert hub with their own bounded subscription
//!   ([`spawn_sink`]): JSON lines (stdout or a size-rotated file), human
//!   text, HTTP POST in Falco's JSON shape (Falcosidekick-compatible). A
//!   sink that falls behind loses the oldest alerts and logs the gap; the
//!   alerts stay in the durable log.
//! * Stdout is written by one thread ([`write_records`]) fed by a bounded
//!   queue ([`OutputQueue`]) of alerts and enriched events; when the queue
//!   is full the record is dropped and counted: the hot path never waits.

pub mod event_text;
pub mod file;
pub mod http;
pub mod json;
pub mod text;

use std::{
    io::{self, Write},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use tokio::sync::mpsc;

use crate::{
    alert::{
        AlertHub,
        bus::{BusMessage, SubscriberConfig},
        record::Alert,
    },
    config::OutputFormat,
    context::ContainerInfo,
    event::Event,
};

/// What goes out on stdout: alerts, and events when asked for.
#[derive(Debug)]
pub enum Record {
    Event(Box<EnrichedEvent>),
    Alert(Box<Alert>),
}

/// An event with the container it happened in (once known).
#[derive(Debug, serde::Serialize)]
pub struct EnrichedEvent {
    #[serde(flatten)]
    pub event: Event,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<Arc<ContainerInfo>>,
}

/// The sending side, owned by the hot path.
#[derive(Clone)]
pub struct OutputQueue {
    tx: mpsc::Sender<Record>,
    dropped: Arc<AtomicU64>,
}

impl OutputQueue {
    /// Queue a record; on a full queue drop it and count.
    pub fn push(&self, record: Record) {
        if self.tx.try_send(record).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn dropped_counter(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }
}

/// An alert sink that hands alerts to the stdout writer's queue.
pub struct QueueSink(pub OutputQueue);

impl AlertSink for QueueSink {
    fn write_alert(&mut self, alert: &Alert) -> io::Result<()> {
        self.0.push(Record::Alert(Box::new(alert.clone())));
        Ok(())
    }
}

/// Create a queue and the writer task's receiving end.
pub fn queue(capacity: usize) -> (OutputQueue, mpsc::Receiver<Record>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (
        OutputQueue {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        },
        rx,
    )
}

/// Write records to `out` until the queue closes (run it on its own thread:
/// it blocks on the writer). Flushes whenever the queue runs empty, so lines
/// appear promptly at low rates and in big writes at high rates.
pub fn write_records<W: Write>(
    mut rx: mpsc::Receiver<Record>,
    format: OutputFormat,
    colour: bool,
    out: W,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    let mut line = Vec::with_capacity(2048);
    while let Some(event) = rx.blocking_recv() {
        let mut next = Some(event);
        while let Some(event) = next {
            line.clear();
            format_record(&event, format, colour, &mut line);
            out.write_all(&line)?;
            next = rx.try_recv().ok();
        }
        out.flush()?;
    }
    out.flush()
}

/// Render one record as a line (with the trailing newline).
pub fn format_record(record: &Record, format: OutputFormat, colour: bool, line: &mut Vec<u8>) {
    match format {
        OutputFormat::Json => {
            let written = match record {
                Record::Event(e) => serde_json::to_writer(&mut *line, e),
                Record::Alert(a) => serde_json::to_writer(&mut *line, a),
            };
            // Serialising our own plain types cannot fail; if it ever did,
            // the line says so instead of vanishing.
            if written.is_err() {
                line.clear();
                line.extend_from_slice(b"{\"error\":\"unserialisable record\"}");
            }
        }
        OutputFormat::Text => match record {
            Record::Event(e) => event_text::format_event(&e.event, line),
            Record::Alert(a) => line.extend_from_slice(text::format_alert(a, colour).as_bytes()),
        },
    }
    line.push(b'\n');
}

/// A blocking alert writer.
pub trait AlertSink: Send {
    fn write_alert(&mut self, alert: &Alert) -> io::Result<()>;
    /// The sink's subscriber lost `dropped` alerts with seqs in `from..=to`.
    fn gap(&mut self, from_seq: u64, to_seq: u64, dropped: u64) {
        tracing::warn!(
            from_seq,
            to_seq,
            dropped,
            "output fell behind; alerts skipped"
        );
    }
}

/// Subscribes `sink` to the hub (queue of `capacity`, drop-oldest) and
/// drives it on its own thread until the hub is gone. Write errors are
/// logged and the sink goes on.
pub fn spawn_sink(
    hub: &AlertHub,
    mut sink: impl AlertSink + 'static,
    capacity: usize,
    name: &str,
) -> io::Result<std::thread::JoinHandle<()>> {
    let mut sub = hub.subscribe(SubscriberConfig::new(capacity).with_name(name));
    let name = name.to_string();
    std::thread::Builder::new()
        .name(format!("sink-{name}"))
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().build() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, sink = %name, "cannot start sink");
                    return;
                }
            };
            rt.block_on(async {
                while let Some(m) = sub.recv().await {
                    match m {
                        BusMessage::Item(a) => {
                            if let Err(e) = sink.write_alert(&a) {
                                tracing::warn!(error = %e, sink = %name, "output write failed");
                            }
                        }
                        BusMessage::Gap {
                            from_seq,
                            to_seq,
                            dropped,
                        } => sink.gap(from_seq, to_seq, dropped),
                    }
                }
            });
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::HubConfig;
    use crate::alert::dedup::DedupConfig;
    use crate::alert::record::sample_alert;

    #[test]
    fn json_lines_sink_writes_every_published_alert_to_a_rotating_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = HubConfig::new(dir.path().join("log"));
        cfg.dedup = DedupConfig::off();
        let hub = AlertHub::open(cfg).unwrap();
        let path = dir.path().join("alerts.jsonl");
        let file = file::RotatingFile::open(&path, 1 << 20, 2).unwrap();
        let t = spawn_sink(
            &hub,
            json::JsonLines::new(file, json::JsonStyle::Falco),
            64,
            "file",
        )
        .unwrap();
        for i in 0..3 {
            let mut a = sample_alert();
            a.process.cmdline = format!("x{i}");
            hub.publish(a).unwrap();
        }
        drop(hub); // the sink drains and ends
        t.join().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2]["output_fields"]["kestrel.seq"], 3);
    }
}
