//! Human-readable alert text: one compact line per alert, coloured by
//! priority on a terminal, with the process ancestry on one line
//! (`bash(12) > sshd(10) > systemd(1)`). Used by the text output and by the
//! CLI client.

use std::io::{self, IsTerminal, Write};

use super::AlertSink;
use crate::alert::record::{Alert, Priority};

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";

fn priority_colour(p: Priority) -> &'static str {
    match p {
        Priority::Emergency | Priority::Alert | Priority::Critical => "\x1b[1;31m",
        Priority::Error => "\x1b[31m",
        Priority::Warning => "\x1b[33m",
        Priority::Notice => "\x1b[36m",
        Priority::Informational => "\x1b[32m",
        Priority::Debug => "\x1b[2m",
    }
}

/// `bash(12) > sshd(10) > systemd(1)`: the process, then its ancestors.
pub fn ancestry(a: &Alert) -> String {
    let mut s = format!("{}({})", a.process.name, a.process.pid);
    for p in &a.process.ancestors {
        s.push_str(" > ");
        s.push_str(&p.name);
        s.push('(');
        s.push_str(&p.pid.to_string());
        s.push(')');
    }
    s
}

/// Removes control characters so alert data cannot drive the terminal.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// One line for an alert; `colour` adds ANSI colours.
pub fn format_alert(a: &Alert, colour: bool) -> String {
    let (pc, b, d, r) = if colour {
        (priority_colour(a.priority), BOLD, DIM, RESET)
    } else {
        ("", "", "", "")
    };
    let mut line = format!(
        "{d}{time}{r} {pc}{prio:<13}{r} {b}{rule}{r} {d}#{seq}{r}",
        time = clean(&a.time),
        prio = a.priority.falco_name(),
        rule = clean(&a.rule),
        seq = a.seq,
    );
    if a.container.id != "host" && !a.container.id.is_empty() {
        line.push_str(&format!(" ctr={}", clean(short_id(&a.container.id))));
        if let Some(img) = &a.container.image {
            line.push_str(&format!(" img={}", clean(img)));
        }
    } else {
        line.push_str(" host");
    }
    if let Some(k) = &a.k8s {
        line.push_str(&format!(" k8s={}/{}", clean(&k.namespace), clean(&k.pod)));
    }
    line.push_str(&format!(" proc={}", clean(&ancestry(a))));
    if !a.process.cmdline.is_empty() {
        line.push_str(&format!(" cmd={:?}", clean(&a.process.cmdline)));
    }
    if let Some(dd) = &a.dedup {
        line.push_str(&format!(
            " {b}x{}{r} {d}(first #{} at {}, last {}){r}",
            dd.count,
            dd.first_seq,
            clean(&dd.first_seen),
            clean(&dd.last_seen)
        ));
    }
    if !a.output.is_empty() {
        line.push_str(&format!(" {d}|{r} {}", clean(&a.output)));
    }
    line
}

/// Text sink: one line per alert; colour when writing to a terminal.
pub struct TextOutput<W: Write + Send> {
    out: W,
    colour: bool,
}

impl TextOutput<io::Stdout> {
    /// Text on stdout, coloured if stdout is a terminal.
    pub fn stdout() -> Self {
        let out = io::stdout();
        let colour = out.is_terminal();
        Self { out, colour }
    }
}

impl<W: Write + Send> TextOutput<W> {
    pub fn new(out: W, colour: bool) -> Self {
        Self { out, colour }
    }
}

impl<W: Write + Send> AlertSink for TextOutput<W> {
    fn write_alert(&mut self, alert: &Alert) -> io::Result<()> {
        writeln!(self.out, "{}", format_alert(alert, self.colour))?;
        self.out.flush()
    }

    fn gap(&mut self, from_seq: u64, to_seq: u64, dropped: u64) {
        let _ = writeln!(
            self.out,
            "-- skipped {dropped} alert(s) in #{from_seq}..#{to_seq}: output too slow --"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::record::sample_alert;

    #[test]
    fn compact_line_with_ancestry() {
        let mut a = sample_alert();
        a.seq = 5;
        a.process.cmdline = "bash -il\x1b[31m".into();
        let line = format_alert(&a, false);
        assert!(line.contains("bash(12) > sshd(10) > systemd(1)"), "{line}");
        assert!(line.contains("Notice"));
        assert!(line.contains("#5"));
        assert!(line.contains("ctr=3ad7b26ded6d "));
        assert!(!line.contains('\x1b'), "no escape from data: {line}");
        assert!(!line.contains('\n'));
        assert!(format_alert(&a, true).contains("\x1b[36m"));
    }
}
