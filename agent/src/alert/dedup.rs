//! Alert deduplication with counts: folds repeats of the same
//! (rule, container id, exe, cmdline) within a window.
//!
//! The first alert of a window goes out at once; repeats inside the window
//! are counted, not sent. When the window closes (or its key is evicted
//! because the key cap was reached) with more than one occurrence, a summary
//! alert is produced: the last occurrence, carrying
//! [`Dedup`]`{count, first_seen, last_seen, first_seq}`. Nothing is dropped
//! without being counted, and memory is bounded by [`DedupConfig::max_keys`].
//!
//! Windows are fixed (they start at the first occurrence and last
//! `window`), so insertion order equals expiry order and one queue serves
//! both expiry and eviction in O(1).

use std::collections::VecDeque;
use std::collections::hash_map::RandomState;

use foldhash::HashMap;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use super::record::{Alert, Dedup};

/// Dedup settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupConfig {
    /// Folding window; `None` turns dedup off (every alert goes out).
    pub window: Option<Duration>,
    /// Most keys tracked at once; inserting beyond evicts the oldest window
    /// early (its summary is emitted, the eviction counted).
    pub max_keys: usize,
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            window: Some(Duration::from_secs(10)),
            max_keys: 10_000,
        }
    }
}

impl DedupConfig {
    /// Dedup switched off.
    pub fn off() -> Self {
        Self {
            window: None,
            max_keys: 0,
        }
    }
}

/// Counters of the deduper.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DedupStats {
    /// Alerts offered.
    pub offered: u64,
    /// Alerts passed through at once (first of a window, or dedup off).
    pub emitted: u64,
    /// Repeats folded into a window's count.
    pub folded: u64,
    /// Summary alerts produced.
    pub summaries: u64,
    /// Windows closed early because of the key cap.
    pub evictions: u64,
    /// Keys tracked now.
    pub keys: u64,
}

/// What [`Deduper::offer`] decided.
// Boxing would cost an allocation per alert on the hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Offer {
    /// Send this alert now. `key` identifies its window (pass it to
    /// [`Deduper::set_first_seq`] once the alert has its seq).
    Emit { alert: Alert, key: Option<u64> },
    /// A repeat, counted in its window.
    Folded,
}

struct Entry {
    rule: String,
    container_id: String,
    exe: String,
    cmdline: String,
    count: u64,
    first_seq: u64,
    first_seen: String,
    last_seen: String,
    /// Last occurrence: the summary's template.
    last: Option<Alert>,
}

impl Entry {
    fn same_key(&self, a: &Alert) -> bool {
        self.rule == a.rule
            && self.container_id == a.container.id
            && self.exe == a.process.exe
            && self.cmdline == a.process.cmdline
    }

    /// The summary of this window if it folded anything.
    fn into_summary(self) -> Option<Alert> {
        if self.count <= 1 {
            return None;
        }
        let mut alert = self.last?;
        alert.seq = 0;
        alert.dedup = Some(Dedup {
            count: self.count,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            first_seq: self.first_seq,
        });
        Some(alert)
    }
}

/// The dedup state machine. Not thread-safe on its own: the alert hub calls
/// it under its publish lock.
pub struct Deduper {
    config: DedupConfig,
    hasher: RandomState,
    entries: HashMap<u64, Entry>,
    /// (deadline, key), oldest first.
    order: VecDeque<(Instant, u64)>,
    stats: DedupStats,
}

impl std::fmt::Debug for Deduper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deduper")
            .field("config", &self.config)
            .field("stats", &self.stats)
            .finish()
    }
}

impl Deduper {
    pub fn new(config: DedupConfig) -> Self {
        Self {
            config,
            hasher: RandomState::new(),
            entries: HashMap::default(),
            order: VecDeque::new(),
            stats: DedupStats::default(),
        }
    }

    pub fn config(&self) -> &DedupConfig {
        &self.config
    }

    pub fn stats(&self) -> DedupStats {
        DedupStats {
            keys: self.entries.len() as u64,
            ..self.stats
        }
    }

    fn key_of(&self, a: &Alert) -> u64 {
        self.hasher.hash_one((
            a.rule.as_str(),
            a.container.id.as_str(),
            a.process.exe.as_str(),
            a.process.cmdline.as_str(),
        ))
    }

    /// Closes every window whose deadline is at or before `now`, pushing
    /// their summaries (windows that folded nothing produce none) to `out`.
    pub fn expire(&mut self, now: Instant, out: &mut Vec<Alert>) {
        while let Some(&(deadline, key)) = self.order.front() {
            if deadline > now {
                break;
            }
            self.order.pop_front();
            self.close(key, out);
        }
    }

    /// Closes every window (e.g. at shutdown).
    pub fn flush_all(&mut self, out: &mut Vec<Alert>) {
        while let Some((_, key)) = self.order.pop_front() {
            self.close(key, out);
        }
    }

    fn close(&mut self, key: u64, out: &mut Vec<Alert>) {
        if let Some(summary) = self.entries.remove(&key).and_then(Entry::into_summary) {
            self.stats.summaries += 1;
            out.push(summary);
        }
    }

    /// Offers one alert at `now`. Expired windows are closed first and an
    /// eviction may close the oldest one; their summaries are pushed to
    /// `out` and must be published *before* an alert returned in
    /// [`Offer::Emit`].
    pub fn offer(&mut self, alert: Alert, now: Instant, out: &mut Vec<Alert>) -> Offer {
        self.stats.offered += 1;
        let Some(window) = self.config.window else {
            self.stats.emitted += 1;
            return Offer::Emit { alert, key: None };
        };
        self.expire(now, out);
        let key = self.key_of(&alert);
        if let Some(entry) = self.entries.get_mut(&key) {
            if entry.same_key(&alert) {
                entry.count += 1;
                entry.last_seen.clone_from(&alert.time);
                entry.last = Some(alert);
                self.stats.folded += 1;
                return Offer::Folded;
            }
            // A hash collision between different keys: never fold those.
            self.stats.emitted += 1;
            return Offer::Emit { alert, key: None };
        }
        if self.config.max_keys == 0 {
            self.stats.emitted += 1;
            return Offer::Emit { alert, key: None };
        }
        while self.entries.len() >= self.config.max_keys {
            let Some((_, oldest)) = self.order.pop_front() else {
                break;
            };
            self.stats.evictions += 1;
            self.close(oldest, out);
        }
        self.entries.insert(
            key,
            Entry {
                rule: alert.rule.clone(),
                container_id: alert.container.id.clone(),
                exe: alert.process.exe.clone(),
                cmdline: alert.process.cmdline.clone(),
                count: 1,
                first_seq: alert.seq,
                first_seen: alert.time.clone(),
                last_seen: alert.time.clone(),
                last: None,
            },
        );
        self.order.push_back((now + window, key));
        self.stats.emitted += 1;
        Offer::Emit {
            alert,
            key: Some(key),
        }
    }

    /// Records the seq the first alert of window `key` was published with.
    pub fn set_first_seq(&mut self, key: u64, seq: u64) {
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.first_seq = seq;
        }
    }

    /// When the next window closes, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.order.front().map(|&(d, _)| d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::record::*;
    use std::collections::BTreeMap;

    pub(crate) fn alert(rule: &str, cmd: &str, t: u64) -> Alert {
        Alert {
            seq: 0,
            time: format_rfc3339_ns(t),
            time_ns: t,
            node: "n".into(),
            rule: rule.into(),
            priority: Priority::Warning,
            tags: vec![],
            source: "syscall".into(),
            output: "x".into(),
            event: AlertEvent {
                kind: "exec".into(),
                args: BTreeMap::new(),
            },
            process: AlertProcess {
                pid: 1,
                ppid: 0,
                name: "sh".into(),
                exe: "/bin/sh".into(),
                cmdline: cmd.into(),
                uid: 0,
                user: None,
                tty: 0,
                ancestors: vec![],
            },
            container: AlertContainer {
                id: "c1".into(),
                name: None,
                image: None,
                image_digest: None,
                runtime: "containerd".into(),
            },
            k8s: None,
            fields: BTreeMap::new(),
            dedup: None,
        }
    }

    fn emit(d: &mut Deduper, a: Alert, now: Instant, out: &mut Vec<Alert>) -> bool {
        match d.offer(a, now, out) {
            Offer::Emit { key, .. } => {
                if let Some(k) = key {
                    d.set_first_seq(k, 42);
                }
                true
            }
            Offer::Folded => false,
        }
    }

    #[test]
    fn repeats_are_folded_and_summarised_when_the_window_closes() {
        let t0 = Instant::now();
        let mut d = Deduper::new(DedupConfig {
            window: Some(Duration::from_secs(10)),
            max_keys: 100,
        });
        let mut out = vec![];
        assert!(emit(&mut d, alert("r", "sh -c x", 1), t0, &mut out));
        for i in 2..=5 {
            assert!(!emit(
                &mut d,
                alert("r", "sh -c x", i),
                t0 + Duration::from_secs(1),
                &mut out
            ));
        }
        // Another key is independent.
        assert!(emit(&mut d, alert("r", "sh -c y", 6), t0, &mut out));
        d.expire(t0 + Duration::from_secs(9), &mut out);
        assert!(out.is_empty());
        d.expire(t0 + Duration::from_secs(10), &mut out);
        assert_eq!(out.len(), 1, "only the folded window summarises");
        let dd = out[0].dedup.clone().unwrap();
        assert_eq!(dd.count, 5);
        assert_eq!(dd.first_seq, 42);
        assert_eq!(dd.first_seen, format_rfc3339_ns(1));
        assert_eq!(dd.last_seen, format_rfc3339_ns(5));
        let s = d.stats();
        assert_eq!((s.offered, s.emitted, s.folded, s.summaries), (6, 2, 4, 1));
        assert_eq!(s.offered, s.emitted + s.folded);
        // After the window, the same key goes out at once again.
        assert!(emit(
            &mut d,
            alert("r", "sh -c x", 7),
            t0 + Duration::from_secs(11),
            &mut out
        ));
    }

    #[test]
    fn key_cap_evicts_oldest_and_flushes_its_summary() {
        let t0 = Instant::now();
        let mut d = Deduper::new(DedupConfig {
            window: Some(Duration::from_secs(10)),
            max_keys: 2,
        });
        let mut out = vec![];
        emit(&mut d, alert("a", "1", 1), t0, &mut out);
        emit(&mut d, alert("a", "1", 2), t0, &mut out);
        emit(&mut d, alert("b", "1", 3), t0, &mut out);
        emit(&mut d, alert("c", "1", 4), t0, &mut out); // evicts "a" (count 2)
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].rule, "a");
        assert_eq!(out[0].dedup.as_ref().unwrap().count, 2);
        assert_eq!(d.stats().evictions, 1);
        assert_eq!(d.stats().keys, 2);
        out.clear();
        d.flush_all(&mut out);
        assert!(out.is_empty(), "b and c folded nothing");
    }

    #[test]
    fn off_passes_everything() {
        let mut d = Deduper::new(DedupConfig::off());
        let mut out = vec![];
        for i in 0..5 {
            assert!(emit(&mut d, alert("r", "x", i), Instant::now(), &mut out));
        }
        assert_eq!(d.stats().folded, 0);
    }
}
