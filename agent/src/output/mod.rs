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

use crate::{config::OutputFormat, event::Event};

/// The sending side, owned by the hot path.
pub struct OutputQueue {
    tx: mpsc::Sender<Event>,
    dropped: Arc<AtomicU64>,
}

impl OutputQueue {
    /// Queue a record; on a full queue drop it and count.
    pub fn push(&self, event: Event) {
        if self.tx.try_send(event).is_err() {
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
pub fn queue(capacity: usize) -> (OutputQueue, mpsc::Receiver<Event>) {
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
    mut rx: mpsc::Receiver<Event>,
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
pub fn format_record(event: &Event, format: OutputFormat, line: &mut Vec<u8>) {
    match format {
        OutputFormat::Json => {
            // Serialising our own plain types cannot fail; if it ever did,
            // the line says so instead of vanishing.
            if serde_json::to_writer(&mut *line, event).is_err() {
                line.clear();
                line.extend_from_slice(b"{\"error\":\"unserialisable record\"}");
            }
        }
        OutputFormat::Text => text::format_event(event, line),
    }
    line.push(b'\n');
}
