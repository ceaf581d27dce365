//! JSON-lines output: one alert per line, as Kestrel's record or in
//! Falco's alert shape, to any writer (stdout, a rotating file).

use std::io::{self, Write};

use super::AlertSink;
use crate::alert::record::Alert;

/// Which JSON shape to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonStyle {
    /// Kestrel's own record (`Alert` as serialized in the log).
    #[default]
    Kestrel,
    /// Falco's alert JSON (see [`super::http::falco_json`]).
    Falco,
}

/// Writes one JSON document per line, flushing after each.
pub struct JsonLines<W: Write + Send> {
    out: W,
    style: JsonStyle,
    buf: Vec<u8>,
}

impl<W: Write + Send> JsonLines<W> {
    pub fn new(out: W, style: JsonStyle) -> Self {
        Self {
            out,
            style,
            buf: Vec::with_capacity(1024),
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl JsonLines<io::Stdout> {
    /// JSON lines on stdout.
    pub fn stdout(style: JsonStyle) -> Self {
        Self::new(io::stdout(), style)
    }
}

impl<W: Write + Send> AlertSink for JsonLines<W> {
    fn write_alert(&mut self, alert: &Alert) -> io::Result<()> {
        self.buf.clear();
        match self.style {
            JsonStyle::Kestrel => serde_json::to_writer(&mut self.buf, alert)?,
            JsonStyle::Falco => {
                serde_json::to_writer(&mut self.buf, &super::http::falco_json(alert))?
            }
        }
        self.buf.push(b'\n');
        self.out.write_all(&self.buf)?;
        self.out.flush()
    }
}
