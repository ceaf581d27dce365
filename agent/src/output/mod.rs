//! Outputs: where records leave the agent for people and machines.
//!
//! The hot path hands records to a bounded queue ([`OutputQueue`]); a tokio
//! task writes them as JSON lines or compact text. When the queue is full
//! the record is dropped and counted: the hot path never waits for stdout.

mod text;

use std::{
    io::Write,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use tokio::sync::mpsc;

use crate::{alert::record::Alert, config::OutputFormat, context::ContainerInfo, event::Event};

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
    out: W,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    let mut line = Vec::with_capacity(2048);
    while let Some(event) = rx.blocking_recv() {
        let mut next = Some(event);
        while let Some(event) = next {
            line.clear();
            format_record(&event, format, &mut line);
            out.write_all(&line)?;
            next = rx.try_recv().ok();
        }
        out.flush()?;
    }
    out.flush()
}

/// Render one record as a line (with the trailing newline).
pub fn format_record(record: &Record, format: OutputFormat, line: &mut Vec<u8>) {
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
            Record::Event(e) => text::format_event(&e.event, line),
            Record::Alert(a) => text::format_alert(a, line),
        },
    }
    line.push(b'\n');
}
