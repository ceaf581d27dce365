//! The hot path: the compiled [`Engine`], the per-thread [`Scratch`] that
//! caches each field's value once per event (reset, never reallocated), and
//! rendering a [`Match`] into an [`Alert`].

use std::cell::RefCell;
use std::sync::Arc;

use serde::Serialize;

use crate::context::{Context, HOST_ID};
use crate::event::Event;

use super::evttypes::{Kind, KindSet};
use super::fields::{FieldArg, FieldDef, Out, Src, State, Val};
use super::output::OutputFormat;
use super::parser::Transform;
use super::{Alert, Priority};

/// A compiled condition.
pub type Pred = Arc<dyn Fn(&mut Eval<'_, '_>) -> bool + Send + Sync>;

/// Where a cached value comes from.
#[derive(Clone, Debug)]
pub enum SlotDef {
    Field {
        def: &'static FieldDef,
        arg: FieldArg,
    },
    Transform {
        t: Transform,
        inner: usize,
    },
}

/// Per-thread evaluation state: one cached value per slot, stamped with the
/// event it belongs to.
#[derive(Default)]
pub struct Scratch {
    epoch: u32,
    stamps: Vec<u32>,
    vals: Vec<Val>,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch::default()
    }

    fn begin(&mut self, slots: usize) {
        if self.vals.len() < slots {
            self.vals.resize_with(slots, Val::default);
            self.stamps.resize(slots, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.epoch = 1;
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::new());
}

/// One event being judged.
pub struct Eval<'a, 's> {
    pub src: Src<'a>,
    slots: &'a [SlotDef],
    scratch: &'s mut Scratch,
}

impl Eval<'_, '_> {
    /// Makes sure slot `i` holds this event's value.
    #[inline]
    pub fn ensure(&mut self, i: usize) {
        if self.scratch.stamps[i] != self.scratch.epoch {
            self.compute(i);
        }
    }

    fn compute(&mut self, i: usize) {
        match &self.slots[i] {
            SlotDef::Field { def, arg } => {
                let v = &mut self.scratch.vals[i];
                v.reset();
                (def.get)(&self.src, arg, &mut Out { v });
            }
            SlotDef::Transform { t, inner } => {
                let (t, inner) = (*t, *inner);
                self.ensure(inner);
                let mut out = std::mem::take(&mut self.scratch.vals[i]);
                out.reset();
                apply_transform(t, &self.scratch.vals[inner], &mut out);
                self.scratch.vals[i] = out;
            }
        }
        self.scratch.stamps[i] = self.scratch.epoch;
    }

    /// Slot `i`'s value (computed on first use in this event).
    #[inline]
    pub fn get(&mut self, i: usize) -> &Val {
        self.ensure(i);
        &self.scratch.vals[i]
    }

    /// Slot `i`'s value; `ensure(i)` must have been called for this event.
    #[inline]
    pub fn peek(&self, i: usize) -> &Val {
        &self.scratch.vals[i]
    }
}

fn transform_str(t: Transform, s: &str, out: &mut String) -> bool {
    match t {
        Transform::ToLower => out.extend(s.chars().flat_map(char::to_lowercase)),
        Transform::ToUpper => out.extend(s.chars().flat_map(char::to_uppercase)),
        Transform::Basename => out.push_str(s.rsplit('/').next().unwrap_or(s)),
        Transform::Trim => out.push_str(s.trim()),
        Transform::B64 => return b64_decode(s, out),
        Transform::Len => {}
    }
    true
}

fn apply_transform(t: Transform, v: &Val, out: &mut Val) {
    let mut o = Out { v: out };
    match v.state {
        State::Str if t == Transform::Len => o.int(v.s.len() as i64),
        State::Str if !transform_str(t, &v.s, o.buf()) => {
            o.v.state = State::Absent;
        }
        State::Ip => {
            for ip in v.ips.iter().flatten() {
                super::fields::with_ip_text(*ip, |s| {
                    if t == Transform::Len {
                        o.push_int(s.len() as i64);
                    } else {
                        o.push_with(|b| {
                            transform_str(t, s, b);
                        });
                    }
                });
            }
        }
        State::List => {
            for s in &v.list[..v.list_len] {
                if t == Transform::Len {
                    o.push_int(s.len() as i64);
                } else {
                    o.push_with(|b| {
                        transform_str(t, s, b);
                    });
                }
            }
        }
        _ => {}
    }
}

fn b64_decode(s: &str, out: &mut String) -> bool {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        })
    }
    let mut bytes = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut n) = (0u32, 0u32);
    for &c in s.trim_end_matches('=').as_bytes() {
        let Some(v) = val(c) else { return false };
        acc = (acc << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            bytes.push((acc >> n) as u8);
            acc &= (1 << n) - 1;
        }
    }
    match String::from_utf8(bytes) {
        Ok(t) => {
            out.push_str(&t);
            true
        }
        Err(e) => {
            out.push_str(&String::from_utf8_lossy(e.as_bytes()));
            true
        }
    }
}

/// A rule as compiled; what `check` and the CLI can inspect.
#[derive(Clone, Debug, Serialize)]
pub struct RuleInfo {
    pub name: String,
    pub desc: String,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub source: String,
    pub enabled: bool,
    pub file: String,
    /// Kinds the rule can match (Falco names of their primary type).
    #[serde(skip)]
    pub kinds: KindSet,
    /// The condition holds only in containers (implies `container.id !=
    /// host`): its syscalls need no capture for host tasks.
    #[serde(skip)]
    pub in_container: bool,
    /// For open events: path prefixes `fd.name` starts with whenever the
    /// condition holds (`None`: any path). The sensor skips host opens of
    /// other paths when no host rule needs them all.
    #[serde(skip)]
    pub open_paths: Option<Vec<String>>,
    /// Fields the rule uses that the sensor cannot supply yet.
    pub uncaptured_fields: Vec<String>,
}

/// What the enabled rules need of host tasks' opens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostOpens {
    /// No rule needs them.
    None,
    /// Only of files whose path starts with one of these (sorted).
    Below(Vec<String>),
    /// Every one: these rules test no path prefix.
    Any { because: Vec<String> },
}

pub(crate) struct CompiledRule {
    pub info: RuleInfo,
    pub pred: Pred,
    pub output: OutputFormat,
    /// Every field used by condition and output: (as written, slot).
    pub fields: Vec<(String, usize)>,
}

/// A rule that matched an event: the rule's index in [`Engine::rules`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Match {
    pub rule: u32,
    pub priority: Priority,
}

/// The compiled rule set. `Send + Sync`: share it across threads; each
/// thread evaluates with its own scratch.
pub struct Engine {
    pub(crate) rules: Vec<CompiledRule>,
    pub(crate) slots: Vec<SlotDef>,
    /// Rule indices per rule [`Kind`] (by `Kind as usize`).
    pub(crate) by_kind: Vec<Vec<u32>>,
    /// The same without the rules that hold only in containers: what a
    /// host task's event is judged against.
    pub(crate) host_by_kind: Vec<Vec<u32>>,
    pub(crate) hostname: String,
    pub(crate) macros: usize,
    pub(crate) lists: usize,
    /// Notes from loading (version requirements accepted, ...).
    pub(crate) notes: Vec<String>,
}

impl Engine {
    pub(crate) fn index(&mut self) {
        self.by_kind = vec![Vec::new(); Kind::ALL.len()];
        self.host_by_kind = vec![Vec::new(); Kind::ALL.len()];
        for (i, r) in self.rules.iter().enumerate() {
            if !r.info.enabled {
                continue;
            }
            for k in Kind::ALL {
                if r.info.kinds.contains(k) {
                    self.by_kind[k as usize].push(i as u32);
                    if !r.info.in_container {
                        self.host_by_kind[k as usize].push(i as u32);
                    }
                }
            }
        }
    }

    /// Every rule, enabled or not, in load order.
    pub fn rules(&self) -> impl ExactSizeIterator<Item = &RuleInfo> {
        self.rules.iter().map(|r| &r.info)
    }

    /// Which opens of host tasks the enabled rules need: the union of the
    /// `fd.name` prefixes of the rules that need them, unless one of them
    /// tests no prefix.
    pub fn host_opens(&self) -> HostOpens {
        let mut prefixes = Vec::new();
        let mut any_path = Vec::new();
        let mut needed = false;
        for rule in self.rules().filter(|r| r.enabled) {
            if !rule.kinds.contains(Kind::Open) || rule.in_container {
                continue;
            }
            needed = true;
            match &rule.open_paths {
                Some(paths) => prefixes.extend(paths.iter().cloned()),
                None => any_path.push(rule.name.clone()),
            }
        }
        prefixes.sort();
        prefixes.dedup();
        if !any_path.is_empty() {
            HostOpens::Any { because: any_path }
        } else if !needed || prefixes.is_empty() {
            HostOpens::None
        } else {
            HostOpens::Below(prefixes)
        }
    }

    pub fn rule(&self, i: u32) -> Option<&RuleInfo> {
        self.rules.get(i as usize).map(|r| &r.info)
    }

    /// Indices of the enabled rules evaluated for events of `kind`.
    pub fn rules_for(&self, kind: Kind) -> &[u32] {
        self.by_kind.get(kind as usize).map_or(&[], Vec::as_slice)
    }

    /// Of those, the ones a host task's event can match (rules whose
    /// condition implies `container.id != host` left out).
    pub fn host_rules_for(&self, kind: Kind) -> &[u32] {
        self.host_by_kind
            .get(kind as usize)
            .map_or(&[], Vec::as_slice)
    }

    /// The host name `evt.hostname` reports (read at load time).
    pub fn set_hostname(&mut self, name: impl Into<String>) {
        self.hostname = name.into();
    }

    /// Enables or disables a rule by name; returns whether it exists.
    pub fn set_enabled(&mut self, name: &str, enabled: bool) -> bool {
        let mut found = false;
        for r in &mut self.rules {
            if r.info.name == name {
                r.info.enabled = enabled;
                found = true;
            }
        }
        self.index();
        found
    }

    /// Judges one event: appends a [`Match`] to `out` for each enabled rule
    /// whose condition holds. Uses a per-thread scratch.
    pub fn evaluate(&self, event: &Event, ctx: &dyn Context, out: &mut Vec<Match>) {
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => self.evaluate_with(&mut s, event, ctx, out),
            Err(_) => self.evaluate_with(&mut Scratch::new(), event, ctx, out),
        })
    }

    /// [`Engine::evaluate`] with a caller-owned scratch.
    pub fn evaluate_with(
        &self,
        scratch: &mut Scratch,
        event: &Event,
        ctx: &dyn Context,
        out: &mut Vec<Match>,
    ) {
        let src = Src::new(event, ctx, &self.hostname);
        // A host task's event cannot match a rule that holds only in
        // containers: skip those without evaluating them.
        let rules = if src.container().is_some_and(|c| c.id == HOST_ID) {
            self.host_rules_for(src.kind)
        } else {
            self.rules_for(src.kind)
        };
        if rules.is_empty() {
            return;
        }
        scratch.begin(self.slots.len());
        let mut e = Eval {
            src,
            slots: &self.slots,
            scratch,
        };
        for &i in rules {
            let r = &self.rules[i as usize];
            if (r.pred)(&mut e) {
                out.push(Match {
                    rule: i,
                    priority: r.info.priority,
                });
            }
        }
    }

    /// Builds the alert for a match of `event` (allocates; call only for
    /// matches).
    pub fn render(&self, m: &Match, event: &Event, ctx: &dyn Context) -> Option<Alert> {
        let r = self.rules.get(m.rule as usize)?;
        let mut scratch = Scratch::new();
        scratch.begin(self.slots.len());
        let mut e = Eval {
            src: Src::new(event, ctx, &self.hostname),
            slots: &self.slots,
            scratch: &mut scratch,
        };
        let output = r.output.render(&mut e);
        let fields = r
            .fields
            .iter()
            .map(|(name, slot)| (name.clone(), e.get(*slot).render()))
            .collect();
        Some(Alert {
            rule: r.info.name.clone(),
            priority: r.info.priority,
            tags: r.info.tags.clone(),
            source: r.info.source.clone(),
            output,
            fields,
        })
    }

    /// Number of distinct field extractions the rules use.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }
}
