//! The `rules check` summary: counts, the event kinds the rules need (and
//! which the sensor does not capture yet), rules that cannot fire today, and
//! fields that evaluate to "no value" until the sensor supplies them.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::eval::{Engine, HostOpens};
use super::evttypes::{Kind, KindSet};
use super::{Diagnostic, RuleSource};

/// What `check` reports besides errors and warnings.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub files: Vec<String>,
    pub rules: usize,
    pub enabled_rules: usize,
    pub macros: usize,
    pub lists: usize,
    /// Event types the enabled rules need (Falco name of each kind), with
    /// whether the sensor captures them today.
    pub event_types: Vec<(String, bool)>,
    /// Enabled rules without an `evt.type` restriction.
    pub rules_for_every_event: Vec<String>,
    /// Enabled rules none of whose event types is captured yet.
    pub cannot_fire_yet: Vec<String>,
    /// Enabled rules whose condition can match no event at all (e.g. an
    /// empty list to be filled by the user).
    pub never_match: Vec<String>,
    /// Field → enabled rules using it, for fields not captured yet.
    pub fields_not_captured: BTreeMap<String, Vec<String>>,
    /// Which host opens the kernel keeps for these rules.
    pub host_opens: Option<HostOpens>,
    /// Notes from loading (version requirements accepted, ...).
    pub notes: Vec<String>,
}

impl Summary {
    pub fn of(engine: &Engine, sources: &[RuleSource]) -> Summary {
        let mut s = Summary {
            files: sources.iter().map(|s| s.name.clone()).collect(),
            rules: engine.rules.len(),
            macros: engine.macros,
            lists: engine.lists,
            notes: engine.notes.clone(),
            host_opens: Some(engine.host_opens()),
            ..Summary::default()
        };
        let mut needed = KindSet::EMPTY;
        for r in engine.rules() {
            if !r.enabled {
                continue;
            }
            s.enabled_rules += 1;
            if r.kinds.is_all() {
                s.rules_for_every_event.push(r.name.clone());
            } else {
                needed = needed.union(r.kinds);
            }
            if r.kinds.is_empty() {
                s.never_match.push(r.name.clone());
            } else if !r.kinds.any_captured() {
                s.cannot_fire_yet.push(r.name.clone());
            }
            for f in &r.uncaptured_fields {
                s.fields_not_captured
                    .entry(f.clone())
                    .or_default()
                    .push(r.name.clone());
            }
        }
        s.event_types = needed
            .iter()
            .map(|k: Kind| (k.primary_name().to_string(), k.is_captured()))
            .collect();
        s
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} rules ({} enabled), {} macros, {} lists from {} file(s)",
            self.rules,
            self.enabled_rules,
            self.macros,
            self.lists,
            self.files.len()
        )?;
        let now: Vec<&str> = self
            .event_types
            .iter()
            .filter(|(_, c)| *c)
            .map(|(n, _)| n.as_str())
            .collect();
        let later: Vec<&str> = self
            .event_types
            .iter()
            .filter(|(_, c)| !*c)
            .map(|(n, _)| n.as_str())
            .collect();
        writeln!(f, "event types needed, captured now: {}", now.join(", "))?;
        writeln!(
            f,
            "event types needed, not yet captured: {}",
            later.join(", ")
        )?;
        match &self.host_opens {
            Some(HostOpens::Below(prefixes)) => writeln!(
                f,
                "host opens captured: only of paths below {} prefix(es) the host rules test ({})",
                prefixes.len(),
                prefixes.join(", ")
            )?,
            Some(HostOpens::Any { because }) => writeln!(
                f,
                "host opens captured: every path (costly on busy hosts), because these rules test no fd.name prefix: {}",
                because.join(", ")
            )?,
            Some(HostOpens::None) | None => {}
        }
        if !self.rules_for_every_event.is_empty() {
            writeln!(
                f,
                "rules evaluated for every event (no evt.type): {}",
                self.rules_for_every_event.join(", ")
            )?;
        }
        if !self.cannot_fire_yet.is_empty() {
            writeln!(
                f,
                "{} rule(s) cannot fire with the current sensor (their event types are not captured yet):",
                self.cannot_fire_yet.len()
            )?;
            for r in &self.cannot_fire_yet {
                writeln!(f, "  - {r}")?;
            }
        }
        if !self.never_match.is_empty() {
            writeln!(
                f,
                "{} rule(s) can match no event as configured (e.g. an empty list or macro to fill in):",
                self.never_match.len()
            )?;
            for r in &self.never_match {
                writeln!(f, "  - {r}")?;
            }
        }
        if !self.fields_not_captured.is_empty() {
            writeln!(
                f,
                "fields not yet captured (they have no value, comparisons on them are false):"
            )?;
            for (field, rules) in &self.fields_not_captured {
                writeln!(f, "  - {field} (used by {} rule(s))", rules.len())?;
            }
        }
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        Ok(())
    }
}

/// Result of [`super::check`].
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    pub summary: Summary,
}

impl CheckReport {
    /// Whether the files are valid (CLI exit code 0).
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.errors {
            writeln!(f, "{e}")?;
        }
        for w in &self.warnings {
            writeln!(f, "{w}")?;
        }
        write!(f, "{}", self.summary)
    }
}
