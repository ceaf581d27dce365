//! From loaded items to an [`Engine`]: merging definitions across files
//! (`append`, `override`, redefinition, enable-only items), expanding macros
//! and lists, compiling exceptions into the condition, resolving fields
//! against the catalog, and turning each comparison into a closure with its
//! matcher prebuilt (hash sets, prefix sets, Aho-Corasick, globset, regex).
//! Also works out which event kinds each rule can match, for the index.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use aho_corasick::AhoCorasick;
use globset::{GlobBuilder, GlobMatcher};
use regex::Regex;

use super::eval::{CompiledRule, Engine, Eval, Pred, RuleInfo, SlotDef};
use super::evttypes::{Kind, KindSet, NameSet, type_index};
use super::fdinfo::Net;
use super::fields::{self, FieldArg, ResolveError, Ty};
use super::lexer::{Lexer, Op};
use super::load::{self, ExcValue, ExceptionDef, Item, ListDef, MacroDef, Merge, RuleDef, Text};
use super::output::{self, OutputFormat, Part, Piece};
use super::parser::{self, Expr, FieldExpr, Rhs, Transform, Value};
use super::sysargs;
use super::{Diagnostic, Priority, RuleSource};

/// Where to point users for the list of fields.
const FIELDS_HINT: &str = "supported fields: `kestrel rules fields`";

// ------------------------------------------------------------------------
// Merging definitions

#[derive(Default)]
pub(crate) struct Defs {
    lists: Vec<ListDef>,
    list_idx: HashMap<String, usize>,
    macros: Vec<MacroDef>,
    macro_idx: HashMap<String, usize>,
    rules: Vec<RuleDef>,
    rule_idx: HashMap<String, usize>,
    pub notes: Vec<String>,
}

fn merge_mode(overrides: &[(String, Merge)], key: &str) -> Option<Merge> {
    overrides.iter().find(|(k, _)| k == key).map(|(_, m)| *m)
}

impl Defs {
    fn add(&mut self, item: Item, diags: &mut Vec<Diagnostic>) {
        match item {
            Item::List(l) => self.add_list(l, diags),
            Item::Macro(m) => self.add_macro(m, diags),
            Item::Rule(r) => self.add_rule(*r, diags),
            Item::EngineVersion(v, _) => self.notes.push(format!(
                "required_engine_version {v}: accepted (Kestrel implements the rule language itself; see docs/falco-compat.md)"
            )),
            Item::PluginVersions(ps, _) => {
                for (n, v) in ps {
                    self.notes.push(format!(
                        "required plugin `{n}` {v}: accepted; {}",
                        if n == "container" || n == "k8smeta" {
                            "its fields are built into Kestrel"
                        } else {
                            "plugins are not supported, rules using its fields will fail to load"
                        }
                    ));
                }
            }
        }
    }

    fn add_list(&mut self, l: ListDef, diags: &mut Vec<Diagnostic>) {
        let mode =
            merge_mode(&l.overrides, "items").or(if l.append { Some(Merge::Append) } else { None });
        match (self.list_idx.get(&l.name), mode) {
            (Some(&i), Some(Merge::Append)) => self.lists[i].items.extend(l.items),
            (Some(&i), _) => self.lists[i] = l,
            (None, Some(_)) => diags.push(Diagnostic::error(
                &l.file,
                Some(l.pos),
                format!(
                    "list `{}` uses append/override but no list of that name was defined before; define it first or load the file that defines it first",
                    l.name
                ),
            )),
            (None, None) => {
                self.list_idx.insert(l.name.clone(), self.lists.len());
                self.lists.push(l);
            }
        }
    }

    fn add_macro(&mut self, m: MacroDef, diags: &mut Vec<Diagnostic>) {
        let mode = merge_mode(&m.overrides, "condition").or(if m.append {
            Some(Merge::Append)
        } else {
            None
        });
        match (self.macro_idx.get(&m.name), mode) {
            (Some(&i), Some(Merge::Append)) => {
                let old = &mut self.macros[i];
                if let (Some(a), Some(b)) = (&old.condition, &m.condition) {
                    old.condition = Some(a.concat(b));
                }
            }
            (Some(&i), _) => self.macros[i] = m,
            (None, Some(_)) => diags.push(Diagnostic::error(
                &m.file,
                Some(m.pos),
                format!(
                    "macro `{}` uses append/override but no macro of that name was defined before; define it first or load the file that defines it first",
                    m.name
                ),
            )),
            (None, None) => {
                self.macro_idx.insert(m.name.clone(), self.macros.len());
                self.macros.push(m);
            }
        }
    }

    fn add_rule(&mut self, r: RuleDef, diags: &mut Vec<Diagnostic>) {
        let existing = self.rule_idx.get(&r.name).copied();
        let err = |diags: &mut Vec<Diagnostic>, msg: String| {
            diags.push(Diagnostic::error(&r.file, Some(r.pos), msg))
        };
        if r.append || !r.overrides.is_empty() {
            let Some(i) = existing else {
                err(
                    diags,
                    format!(
                        "rule `{}` uses append/override but no rule of that name was defined before; define it first or load the file that defines it first",
                        r.name
                    ),
                );
                return;
            };
            for key in &r.keys {
                if matches!(key.as_str(), "rule" | "append" | "override") {
                    continue;
                }
                let mode = if r.overrides.is_empty() {
                    Merge::Append
                } else {
                    match merge_mode(&r.overrides, key) {
                        Some(m) => m,
                        None => {
                            err(
                                diags,
                                format!(
                                    "rule `{}` sets `{key}` but `override` does not say how to merge it; add `{key}: append` or `{key}: replace` under `override`",
                                    r.name
                                ),
                            );
                            continue;
                        }
                    }
                };
                if let Err(msg) = merge_rule_key(&mut self.rules[i], &r, key, mode) {
                    err(diags, msg);
                }
            }
            return;
        }
        let only_enabled = r.keys.iter().all(|k| k == "rule" || k == "enabled");
        if only_enabled {
            match existing {
                Some(i) => self.rules[i].enabled = r.enabled,
                None => err(
                    diags,
                    format!(
                        "rule `{}` is not defined, so it cannot be enabled or disabled here; check the name or the file order",
                        r.name
                    ),
                ),
            }
            return;
        }
        let mut missing = Vec::new();
        if r.condition.is_none() {
            missing.push("condition");
        }
        if r.output.is_none() {
            missing.push("output");
        }
        if r.priority.is_none() {
            missing.push("priority");
        }
        if !missing.is_empty() {
            err(
                diags,
                format!(
                    "rule `{}` is missing {}",
                    r.name,
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            return;
        }
        match existing {
            Some(i) => self.rules[i] = r,
            None => {
                self.rule_idx.insert(r.name.clone(), self.rules.len());
                self.rules.push(r);
            }
        }
    }
}

fn merge_rule_key(base: &mut RuleDef, new: &RuleDef, key: &str, mode: Merge) -> Result<(), String> {
    let append = mode == Merge::Append;
    let only_replace = |k: &str| {
        format!(
            "`{k}` of rule `{}` can only be replaced, not appended",
            new.name
        )
    };
    match key {
        "condition" => match (&base.condition, &new.condition, append) {
            (Some(a), Some(b), true) => base.condition = Some(a.concat(b)),
            (_, c, _) => base.condition = c.clone(),
        },
        "output" => match (&base.output, &new.output, append) {
            (Some(a), Some(b), true) => base.output = Some(a.concat(b)),
            (_, o, _) => base.output = o.clone(),
        },
        "desc" => match (&base.desc, &new.desc, append) {
            (Some(a), Some(b), true) => base.desc = Some(format!("{a} {b}")),
            (_, d, _) => base.desc = d.clone(),
        },
        "tags" => match (&mut base.tags, &new.tags, append) {
            (Some(a), Some(b), true) => a.extend(b.iter().cloned()),
            (_, t, _) => base.tags = t.clone(),
        },
        "exceptions" => {
            let new_exc = new.exceptions.clone().unwrap_or_default();
            if append {
                let list = base.exceptions.get_or_insert_with(Vec::new);
                for e in new_exc {
                    match list.iter_mut().find(|x| x.name == e.name) {
                        Some(x) => x.values.extend(e.values),
                        None => list.push(e),
                    }
                }
            } else {
                base.exceptions = Some(new_exc);
            }
        }
        "priority" if !append => base.priority = new.priority.clone(),
        "enabled" if !append => base.enabled = new.enabled,
        "warn_evttypes" if !append => base.warn_evttypes = new.warn_evttypes,
        "skip-if-unknown-filter" if !append => {
            base.skip_if_unknown_filter = new.skip_if_unknown_filter
        }
        "source" | "priority" | "enabled" | "warn_evttypes" | "skip-if-unknown-filter" => {
            return Err(only_replace(key));
        }
        _ => {}
    }
    Ok(())
}

// ------------------------------------------------------------------------
// Compiling

/// A compile error; `unknown_field` marks errors `skip-if-unknown-filter`
/// may turn into a skipped rule.
#[derive(Clone, Debug)]
struct CErr {
    diag: Diagnostic,
    unknown_field: bool,
}

/// A compiled sub-condition.
#[derive(Clone)]
struct Piece2 {
    pred: Pred,
    /// Kinds for which it may be true / is certainly true.
    may: KindSet,
    must: KindSet,
    fields: Vec<(String, usize)>,
    uncaptured: Vec<String>,
    /// Known result, whatever the event.
    konst: Option<bool>,
    /// For a conjunction: its flattened conjuncts with their `must` sets.
    conj: Option<Vec<(Pred, KindSet)>>,
    /// True only for events in containers (it implies `container.id !=
    /// host`), so the sensor may skip host tasks for the rule's syscalls.
    in_container: bool,
    /// For open events: path prefixes `fd.name` starts with whenever the
    /// piece holds (`None`: any path). See [`open_paths`].
    open_paths: Option<Vec<String>>,
}

impl Piece2 {
    fn constant(b: bool) -> Piece2 {
        Piece2 {
            pred: Arc::new(move |_| b),
            may: if b { KindSet::all() } else { KindSet::EMPTY },
            must: if b { KindSet::all() } else { KindSet::EMPTY },
            fields: Vec::new(),
            uncaptured: Vec::new(),
            konst: Some(b),
            conj: None,
            in_container: !b,
            open_paths: None,
        }
    }
}

struct Compiler<'d> {
    defs: &'d Defs,
    slots: Vec<SlotDef>,
    slot_keys: HashMap<String, usize>,
    macro_done: HashMap<String, Result<Piece2, CErr>>,
    stack: Vec<String>,
    warned_evttypes: HashSet<String>,
    diags: Vec<Diagnostic>,
    exc_pieces: Vec<Piece2>,
}

fn err_at(text: &Text, at: usize, msg: String) -> CErr {
    let (file, pos) = text.locate(at);
    CErr {
        diag: Diagnostic::error(&file, Some(pos), msg),
        unknown_field: false,
    }
}

/// Strips one layer of matching quotes from a list item (Falco lists often
/// hold items like `'"sh -c foo"'`).
fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Fx-style hasher for short strings: fast, not DoS-resistant (the keys are
/// the rule author's values, not attacker input).
#[derive(Default)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
        self.0 = h;
    }
}

type FastSet = HashSet<String, BuildHasherDefault<FastHasher>>;

/// A cheap pre-check for set membership: the lengths and first / last
/// bytes the set's values have. Most values miss most sets on these alone.
struct Prefilter {
    lens: u64,
    first: [u64; 4],
    last: [u64; 4],
}

impl Prefilter {
    fn new<'a>(values: impl Iterator<Item = &'a str>) -> Prefilter {
        let mut p = Prefilter {
            lens: 0,
            first: [0; 4],
            last: [0; 4],
        };
        for v in values {
            let b = v.as_bytes();
            p.lens |= 1u64 << b.len().min(63);
            let (f, l) = (
                b.first().copied().unwrap_or(0),
                b.last().copied().unwrap_or(0),
            );
            p.first[usize::from(f >> 6)] |= 1u64 << (f & 63);
            p.last[usize::from(l >> 6)] |= 1u64 << (l & 63);
        }
        p
    }

    #[inline]
    fn may_contain(&self, s: &str) -> bool {
        let b = s.as_bytes();
        let (f, l) = (
            b.first().copied().unwrap_or(0),
            b.last().copied().unwrap_or(0),
        );
        self.lens & (1u64 << b.len().min(63)) != 0
            && self.first[usize::from(f >> 6)] & (1u64 << (f & 63)) != 0
            && self.last[usize::from(l >> 6)] & (1u64 << (l & 63)) != 0
    }
}

/// Exact-membership matcher: a prefilter, then a linear scan for a few
/// values or a hash set otherwise.
struct SetM {
    pre: Prefilter,
    few: Vec<String>,
    many: FastSet,
}

impl SetM {
    fn new(values: Vec<String>) -> SetM {
        let pre = Prefilter::new(values.iter().map(String::as_str));
        if values.len() <= 6 {
            SetM {
                pre,
                few: values,
                many: FastSet::default(),
            }
        } else {
            SetM {
                pre,
                few: Vec::new(),
                many: values.into_iter().collect(),
            }
        }
    }

    #[inline]
    fn contains(&self, s: &str) -> bool {
        if !self.pre.may_contain(s) {
            return false;
        }
        if self.many.is_empty() {
            self.few.iter().any(|x| x == s)
        } else {
            self.many.contains(s)
        }
    }
}

/// Path-prefix matcher for `pmatch`: a value matches if it equals one of
/// the paths or lies below it. Plain paths go to a hash set probed at each
/// `/` of the value (a trie walk, one probe per path component); paths with
/// wildcards go to globs.
struct PrefixM {
    exact: FastSet,
    /// First components of the plain paths (`/etc` of `/etc/ssh`): a value
    /// whose first component is not here matches none of them.
    firsts: FastSet,
    /// Length of the longest plain path: longer prefixes need no probe.
    max_len: usize,
    /// `/` is one of the paths: every absolute path matches.
    root: bool,
    globs: Vec<GlobMatcher>,
}

impl PrefixM {
    fn new() -> PrefixM {
        PrefixM {
            exact: FastSet::default(),
            firsts: FastSet::default(),
            max_len: 0,
            root: false,
            globs: Vec::new(),
        }
    }

    fn add_plain(&mut self, path: &str) {
        let t = path.trim_end_matches('/');
        if t.is_empty() {
            self.root = true;
            return;
        }
        let first_end = t[1..].find('/').map_or(t.len(), |i| i + 1);
        self.firsts.insert(t[..first_end].to_string());
        self.max_len = self.max_len.max(t.len());
        self.exact.insert(t.to_string());
    }

    fn matches(&self, v: &str) -> bool {
        if self.root && v.starts_with('/') {
            return true;
        }
        if !self.exact.is_empty() && v.len() > 1 {
            let first_end = v[1..].find('/').map_or(v.len(), |i| i + 1);
            if self.firsts.contains(&v[..first_end]) {
                if v.len() <= self.max_len && self.exact.contains(v) {
                    return true;
                }
                for (i, _) in v.match_indices('/').skip(1) {
                    if i > self.max_len {
                        break;
                    }
                    if self.exact.contains(&v[..i]) {
                        return true;
                    }
                }
            }
        }
        self.globs.iter().any(|g| g.is_match(v))
    }
}

fn glob(pat: &str, case_insensitive: bool) -> Result<GlobMatcher, String> {
    GlobBuilder::new(pat)
        .literal_separator(false)
        .case_insensitive(case_insensitive)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("invalid glob `{pat}`: {e}"))
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) || s.is_empty() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok();
    }
    t.parse::<i64>()
        .ok()
        .or_else(|| t.parse::<u64>().ok().map(|u| u as i64))
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

fn pred_and(preds: Vec<Pred>) -> Pred {
    match preds.len() {
        0 => Arc::new(|_| true),
        1 => preds
            .into_iter()
            .next()
            .unwrap_or_else(|| Arc::new(|_| true)),
        2 => {
            let (a, b) = (preds[0].clone(), preds[1].clone());
            Arc::new(move |e| a(e) && b(e))
        }
        _ => {
            let v: Box<[Pred]> = preds.into_boxed_slice();
            Arc::new(move |e| v.iter().all(|p| p(e)))
        }
    }
}

fn pred_or(preds: Vec<Pred>) -> Pred {
    match preds.len() {
        0 => Arc::new(|_| false),
        1 => preds
            .into_iter()
            .next()
            .unwrap_or_else(|| Arc::new(|_| false)),
        2 => {
            let (a, b) = (preds[0].clone(), preds[1].clone());
            Arc::new(move |e| a(e) || b(e))
        }
        _ => {
            let v: Box<[Pred]> = preds.into_boxed_slice();
            Arc::new(move |e| v.iter().any(|p| p(e)))
        }
    }
}

/// `a and b and ...`, flattening nested conjunctions and folding constants.
fn and_pieces(pieces: Vec<Piece2>) -> Piece2 {
    let mut may = KindSet::all();
    let mut must = KindSet::all();
    let mut fields = Vec::new();
    let mut uncaptured = Vec::new();
    let mut conj = Vec::new();
    let mut konst = Some(true);
    let mut in_container = false;
    let mut open_paths: Option<Vec<String>> = None;
    for p in pieces {
        in_container |= p.in_container;
        // Every side holds: any side's prefixes bound the paths; keep the
        // smallest set.
        if let Some(paths) = open_paths_of(&p)
            && open_paths.as_ref().is_none_or(|o| paths.len() < o.len())
        {
            open_paths = Some(paths);
        }
        may = may.intersect(p.may);
        must = must.intersect(p.must);
        fields.extend(p.fields);
        uncaptured.extend(p.uncaptured);
        match (p.konst, p.conj) {
            (Some(true), _) => {}
            (Some(false), _) => konst = Some(false),
            (None, Some(c)) => conj.extend(c),
            (None, None) => conj.push((p.pred, p.must)),
        }
    }
    if konst == Some(true) && !conj.is_empty() {
        konst = None;
    }
    let pred: Pred = match konst {
        Some(b) => Arc::new(move |_| b),
        None => pred_and(conj.iter().map(|(p, _)| p.clone()).collect()),
    };
    Piece2 {
        pred,
        may,
        must,
        fields,
        uncaptured,
        conj: if konst.is_none() { Some(conj) } else { None },
        konst,
        in_container,
        open_paths,
    }
}

/// `a or b or ...`, folding constants.
fn or_pieces(pieces: Vec<Piece2>) -> Piece2 {
    let mut may = KindSet::EMPTY;
    let mut must = KindSet::EMPTY;
    let mut fields = Vec::new();
    let mut uncaptured = Vec::new();
    let mut preds = Vec::new();
    let mut konst = Some(false);
    let mut in_container = true;
    // One side holds: the union of every side's prefixes, if all have some.
    let mut open_paths = Some(Vec::new());
    for p in pieces {
        in_container &= p.in_container;
        open_paths = match (open_paths, open_paths_of(&p)) {
            (Some(mut all), Some(paths)) => {
                all.extend(paths);
                Some(all)
            }
            _ => None,
        };
        may = may.union(p.may);
        must = must.union(p.must);
        fields.extend(p.fields);
        uncaptured.extend(p.uncaptured);
        match p.konst {
            Some(false) => {}
            Some(true) => konst = Some(true),
            None => preds.push(p.pred),
        }
    }
    if konst == Some(false) && !preds.is_empty() {
        konst = None;
    }
    let pred: Pred = match konst {
        Some(b) => Arc::new(move |_| b),
        None => pred_or(preds),
    };
    Piece2 {
        pred,
        may,
        must,
        fields,
        uncaptured,
        konst,
        conj: None,
        in_container,
        open_paths,
    }
}

fn not_piece(p: Piece2) -> Piece2 {
    let konst = p.konst.map(|b| !b);
    let q = p.pred;
    Piece2 {
        pred: match konst {
            Some(b) => Arc::new(move |_| b),
            None => Arc::new(move |e| !q(e)),
        },
        may: p.must.complement(),
        must: p.may.complement(),
        fields: p.fields,
        uncaptured: p.uncaptured,
        in_container: konst == Some(false),
        open_paths: None,
        konst,
        conj: None,
    }
}

/// The path prefixes of a piece for open events: none at all when it can
/// never hold for an open.
fn open_paths_of(p: &Piece2) -> Option<Vec<String>> {
    if !p.may.contains(Kind::Open) {
        return Some(Vec::new());
    }
    p.open_paths.clone()
}

/// For open events: the prefixes `fd.name` (the kernel's path of the opened
/// file) starts with whenever `lhs op rhs` holds, so the sensor can skip
/// opens of other paths. Only exact, prefix and glob tests of `fd.name`
/// and `fd.directory` bound it; a byte prefix over-approximates each (a
/// `pmatch` directory, a glob's literal head, a directory's files).
fn open_paths(
    lhs: &FieldExpr,
    op: Op,
    rhs: &Rhs,
    values: impl FnOnce() -> Vec<String>,
) -> Option<Vec<String>> {
    if lhs.arg.is_some() || !lhs.transforms.is_empty() || matches!(rhs, Rhs::Field(_)) {
        return None;
    }
    let bounded = match lhs.name.as_str() {
        "fd.name" => matches!(
            op,
            Op::Eq | Op::In | Op::StartsWith | Op::BStartsWith | Op::PMatch | Op::Glob
        ),
        "fd.directory" => matches!(op, Op::Eq | Op::In),
        _ => false,
    };
    if !bounded {
        return None;
    }
    let mut out = Vec::new();
    for v in values() {
        let prefix = if op == Op::Glob {
            let head = v.find(['*', '?', '[', '\\']).unwrap_or(v.len());
            v[..head].to_string()
        } else {
            v
        };
        if prefix.is_empty() {
            return None; // matches every path
        }
        out.push(prefix);
    }
    Some(out)
}

/// Does `lhs op rhs` hold only for events in containers? True for
/// `container.id != host` (Falco's `container` macro), and for
/// `container.id = x` / `container.id in (...)` without `host` among the
/// values.
fn implies_container(
    lhs: &FieldExpr,
    op: Op,
    rhs: &Rhs,
    values: impl FnOnce() -> Vec<String>,
) -> bool {
    if lhs.name != "container.id" || !lhs.transforms.is_empty() {
        return false;
    }
    match (op, rhs) {
        (Op::Ne, Rhs::Value(v)) => v.text == "host",
        (Op::Eq | Op::In, Rhs::Value(_) | Rhs::List(_)) => {
            let values = values();
            !values.is_empty() && values.iter().all(|v| v != "host" && !v.is_empty())
        }
        _ => false,
    }
}

/// Drops the conjuncts of a rule's top-level `and` that hold for every
/// event kind the rule is evaluated for (e.g. `evt.type in (execve,
/// execveat)` in a rule indexed only under exec).
fn prune_for_kinds(p: Piece2, kinds: KindSet) -> Piece2 {
    let Some(conj) = &p.conj else { return p };
    let kept: Vec<Pred> = conj
        .iter()
        .filter(|(_, must)| kinds.0 & !must.0 != 0)
        .map(|(q, _)| q.clone())
        .collect();
    Piece2 {
        pred: pred_and(kept),
        ..p
    }
}

impl<'d> Compiler<'d> {
    /// The slot for a field expression: (slot, type, captured?).
    fn slot(&mut self, f: &FieldExpr, text: &Text) -> Result<(usize, Ty, bool), CErr> {
        let (def, arg) = match fields::resolve(&f.name, f.arg.as_deref()) {
            Ok(x) => x,
            Err(ResolveError::Unknown) => {
                let mut e = err_at(
                    text,
                    f.at,
                    format!("field `{}` is not supported ({}); {FIELDS_HINT}", f.name, {
                        let (file, p) = text.locate(f.at);
                        format!("{file}:{}:{}", p.line, p.col)
                    }),
                );
                e.unknown_field = true;
                return Err(e);
            }
            Err(ResolveError::BadArg(m)) => {
                return Err(err_at(text, f.at, format!("{m}; {FIELDS_HINT}")));
            }
        };
        let captured = def.captured(&arg);
        let mut key = match &arg {
            FieldArg::None => def.name.to_string(),
            FieldArg::Index(i) => format!("{}[{i}]", def.name),
            FieldArg::Key(k) => format!("{}[{k}]", def.name),
        };
        let mut ty = def.ty;
        let mut slot = self.intern(key.clone(), || SlotDef::Field { def, arg });
        for t in f.transforms.iter().rev() {
            if ty != Ty::Str {
                return Err(err_at(
                    text,
                    f.at,
                    format!(
                        "transformer `{}` needs a string field, but `{}` is a {}",
                        t.name(),
                        f.name,
                        ty.name()
                    ),
                ));
            }
            key = format!("{}({key})", t.name());
            let inner = slot;
            slot = self.intern(key.clone(), || SlotDef::Transform { t: *t, inner });
            if *t == Transform::Len {
                ty = Ty::Int;
            }
        }
        Ok((slot, ty, captured))
    }

    fn intern(&mut self, key: String, make: impl FnOnce() -> SlotDef) -> usize {
        if let Some(&i) = self.slot_keys.get(&key) {
            return i;
        }
        self.slots.push(make());
        self.slot_keys.insert(key, self.slots.len() - 1);
        self.slots.len() - 1
    }

    /// Values of a right-hand side, with list names expanded.
    fn values(&mut self, rhs: &Rhs) -> Vec<String> {
        let mut out = Vec::new();
        let vals: &[Value] = match rhs {
            Rhs::Value(v) => std::slice::from_ref(v),
            Rhs::List(v) => v,
            _ => &[],
        };
        for v in vals {
            if !v.quoted && rhs_is_list(rhs) && self.defs.list_idx.contains_key(&v.text) {
                self.expand_list(&v.text, &mut out, 0);
            } else {
                out.push(v.text.clone());
            }
        }
        out
    }

    fn expand_list(&mut self, name: &str, out: &mut Vec<String>, depth: usize) {
        let Some(&i) = self.defs.list_idx.get(name) else {
            return;
        };
        for item in &self.defs.lists[i].items {
            let item = unquote(item);
            if depth < 16 && self.defs.list_idx.contains_key(item) && item != name {
                self.expand_list(item, out, depth + 1);
            } else {
                out.push(item.to_string());
            }
        }
    }

    fn expr(&mut self, e: &Expr, text: &Text) -> Result<Piece2, CErr> {
        match e {
            Expr::Const(b) => Ok(Piece2::constant(*b)),
            Expr::And(items) | Expr::Or(items) => {
                let is_and = matches!(e, Expr::And(_));
                let mut pieces = Vec::new();
                let rest = if is_and {
                    items.iter().collect()
                } else {
                    self.group_contains(items, text, &mut pieces)?
                };
                for it in rest {
                    pieces.push(self.expr(it, text)?);
                }
                Ok(if is_and {
                    and_pieces(pieces)
                } else {
                    or_pieces(pieces)
                })
            }
            Expr::Not(inner) => Ok(not_piece(self.expr(inner, text)?)),
            Expr::Macro { name, at } => self.macro_ref(name, *at, text),
            Expr::Cmp { lhs, op, rhs, at } => self.cmp(lhs, *op, rhs, *at, text),
        }
    }

    /// In an `or`, compiles every group of two or more `F contains X` (or
    /// `F icontains X`) on the same string field into one Aho-Corasick
    /// matcher; returns the items left to compile one by one.
    fn group_contains<'e>(
        &mut self,
        items: &'e [Expr],
        text: &Text,
        out: &mut Vec<Piece2>,
    ) -> Result<Vec<&'e Expr>, CErr> {
        let eligible = |e: &Expr| match e {
            Expr::Cmp {
                lhs,
                op: op @ (Op::Contains | Op::IContains),
                rhs: Rhs::Value(v),
                ..
            } if lhs.transforms.is_empty() && !v.text.is_empty() => Some((lhs.display(), *op)),
            _ => None,
        };
        let mut groups: Vec<((String, Op), Vec<&'e Expr>)> = Vec::new();
        for it in items {
            if let Some(key) = eligible(it) {
                match groups.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, v)) => v.push(it),
                    None => groups.push((key, vec![it])),
                }
            }
        }
        let mut grouped: Vec<&'e Expr> = Vec::new();
        for ((_, op), members) in &groups {
            if members.len() < 2 {
                continue;
            }
            let Expr::Cmp { lhs, .. } = members[0] else {
                continue;
            };
            let (slot, ty, captured) = self.slot(lhs, text)?;
            if ty != Ty::Str {
                continue;
            }
            let pats: Vec<&str> = members
                .iter()
                .filter_map(|m| match m {
                    Expr::Cmp {
                        rhs: Rhs::Value(v), ..
                    } => Some(v.text.as_str()),
                    _ => None,
                })
                .collect();
            let ac = AhoCorasick::builder()
                .ascii_case_insensitive(*op == Op::IContains)
                .build(&pats)
                .map_err(|x| err_at(text, 0, format!("cannot build matcher: {x}")))?;
            let display = lhs.display();
            out.push(Piece2 {
                konst: None,
                conj: None,
                in_container: false,
                open_paths: None,
                pred: Arc::new(move |e| e.get(slot).any_str(|s| ac.is_match(s))),
                may: KindSet::all(),
                must: KindSet::EMPTY,
                fields: vec![(display.clone(), slot)],
                uncaptured: if captured { Vec::new() } else { vec![display] },
            });
            grouped.extend(members.iter().copied());
        }
        Ok(items
            .iter()
            .filter(|it| !grouped.iter().any(|g| std::ptr::eq(*g, *it)))
            .collect())
    }

    fn macro_ref(&mut self, name: &str, at: usize, text: &Text) -> Result<Piece2, CErr> {
        if let Some(r) = self.macro_done.get(name) {
            return r.clone();
        }
        let Some(&mi) = self.defs.macro_idx.get(name) else {
            let msg = if self.defs.list_idx.contains_key(name) {
                format!(
                    "`{name}` is a list, not a macro; use it as the right side of `in`, e.g. `proc.name in ({name})`"
                )
            } else {
                format!(
                    "unknown macro `{name}`; define it with `- macro: {name}` before use, or check the spelling (fields need a dot, e.g. `proc.name`)"
                )
            };
            return Err(err_at(text, at, msg));
        };
        if self.stack.iter().any(|s| s == name) {
            let cycle = format!("{} -> {name}", self.stack.join(" -> "));
            return Err(err_at(
                text,
                at,
                format!("macro `{name}` refers to itself ({cycle}); break the cycle"),
            ));
        }
        let m = &self.defs.macros[mi];
        let Some(mtext) = m.condition.clone() else {
            return Ok(Piece2::constant(false));
        };
        self.stack.push(name.to_string());
        let res = match parser::parse(&mtext.text) {
            Ok(ast) => self.expr(&ast, &mtext),
            Err(pe) => Err(err_at(
                &mtext,
                pe.at,
                format!("syntax error in macro `{name}`: {}", pe.msg),
            )),
        };
        self.stack.pop();
        self.macro_done.insert(name.to_string(), res.clone());
        res
    }

    fn evttype_names(&mut self, values: &[String], text: &Text, at: usize) -> NameSet {
        let mut set = NameSet::default();
        for v in values {
            match type_index(v) {
                Some(i) => set.insert(i),
                None => {
                    if self.warned_evttypes.insert(v.clone()) {
                        let (file, pos) = text.locate(at);
                        self.diags.push(Diagnostic::warning(
                            &file,
                            Some(pos),
                            format!("unknown event type `{v}`; it matches no event"),
                        ));
                    }
                }
            }
        }
        set
    }

    fn cmp(
        &mut self,
        lhs: &FieldExpr,
        op: Op,
        rhs: &Rhs,
        at: usize,
        text: &Text,
    ) -> Result<Piece2, CErr> {
        let (slot, ty, captured) = self.slot(lhs, text)?;
        let display = lhs.display();
        let mut fields = vec![(display.clone(), slot)];
        let mut uncaptured = if captured {
            Vec::new()
        } else {
            vec![display.clone()]
        };
        let any = (KindSet::all(), KindSet::EMPTY);
        // evt.type: the event's exact name when it has one, else its kind
        // (see `evttypes::TypeOf`); the kinds it can match index the rule.
        if matches!(lhs.name.as_str(), "evt.type" | "syscall.type")
            && lhs.transforms.is_empty()
            && matches!(op, Op::Eq | Op::Ne | Op::In)
            && !matches!(rhs, Rhs::Field(_))
        {
            let vals = self.values(rhs);
            let names = self.evttype_names(&vals, text, at);
            let (any, all) = names.kinds();
            let syscall_only = lhs.name == "syscall.type";
            // Events that match by kind (scheduler exec/fork, container
            // events): the kinds with at least one of the names.
            let kind_level = any;
            let eq = move |e: &Eval<'_, '_>| {
                let t = &e.src.ty;
                if t.exact {
                    t.idx.is_some_and(|i| names.contains(i))
                } else {
                    kind_level.contains(t.kind)
                }
            };
            // Never certain for `Other` (unknown syscall names land there).
            let other = KindSet::one(Kind::Other).complement();
            let non_syscall = KindSet::one(Kind::Exit)
                .union(KindSet::one(Kind::Container))
                .complement();
            let (pred, may, must): (Pred, KindSet, KindSet) = if op == Op::Ne {
                (
                    Arc::new(move |e| (e.src.ty.syscall || !syscall_only) && !eq(e)),
                    all.complement(),
                    any.complement().intersect(other),
                )
            } else {
                (
                    Arc::new(move |e| (e.src.ty.syscall || !syscall_only) && eq(e)),
                    any,
                    all.intersect(other),
                )
            };
            let (may, must) = if syscall_only {
                (may.intersect(non_syscall), KindSet::EMPTY)
            } else {
                (may, must)
            };
            return Ok(Piece2 {
                konst: None,
                conj: None,
                in_container: false,
                open_paths: None,
                pred,
                may,
                must,
                fields,
                uncaptured,
            });
        }
        // Addresses and networks: compared as IPs / CIDR, not as text.
        if lhs.transforms.is_empty()
            && matches!(op, Op::Eq | Op::Ne | Op::In | Op::Intersects)
            && !matches!(rhs, Rhs::Field(_))
            && (fields::NET_FIELDS.contains(&lhs.name.as_str())
                || fields::IP_FIELDS.contains(&lhs.name.as_str()))
        {
            let vals = self.values(rhs);
            let is_net = fields::NET_FIELDS.contains(&lhs.name.as_str());
            let nets: Option<Vec<Net>> = vals
                .iter()
                .map(|v| {
                    if is_net {
                        Net::parse(v)
                    } else {
                        v.trim().parse::<std::net::IpAddr>().ok().map(Net::single)
                    }
                })
                .collect();
            match nets {
                Some(nets) if !nets.is_empty() => {
                    let hit = move |ip: std::net::IpAddr| nets.iter().any(|n| n.contains(ip));
                    let pred: Pred = if op == Op::Ne {
                        Arc::new(move |e| {
                            let x = e.get(slot);
                            x.is_present() && !x.any_ip(&hit)
                        })
                    } else {
                        Arc::new(move |e| e.get(slot).any_ip(&hit))
                    };
                    return Ok(Piece2 {
                        pred,
                        may: any.0,
                        must: any.1,
                        fields,
                        uncaptured,
                        konst: None,
                        conj: None,
                        in_container: false,
                        open_paths: None,
                    });
                }
                _ if is_net => {
                    let bad = vals
                        .iter()
                        .find(|v| Net::parse(v).is_none())
                        .cloned()
                        .unwrap_or_default();
                    return Err(err_at(
                        text,
                        at,
                        format!(
                            "`{bad}` is not an IP network, as `{}` needs; write a CIDR such as \"10.0.0.0/8\" or an address",
                            lhs.name
                        ),
                    ));
                }
                // Not all addresses: compare as text.
                _ => {}
            }
        }
        // evt.dir: a property of the kind too.
        if lhs.name == "evt.dir"
            && lhs.transforms.is_empty()
            && matches!(op, Op::Eq | Op::Ne)
            && let Rhs::Value(v) = rhs
        {
            let mut set = KindSet::EMPTY;
            for k in super::evttypes::Kind::ALL {
                if k.dir() == v.text {
                    set = set.union(KindSet::one(k));
                }
            }
            let set = if op == Op::Ne { set.complement() } else { set };
            return Ok(Piece2 {
                konst: None,
                conj: None,
                in_container: false,
                open_paths: None,
                pred: Arc::new(move |e| set.0 & e.src.kind.bit() != 0),
                may: set,
                must: set,
                fields,
                uncaptured,
            });
        }
        if matches!(rhs, Rhs::List(_))
            && matches!(op, Op::In | Op::Intersects | Op::PMatch)
            && self.values(rhs).is_empty()
        {
            let mut p = Piece2::constant(false);
            p.fields = fields;
            p.uncaptured = uncaptured;
            return Ok(p);
        }
        let pred: Pred = match rhs {
            Rhs::Field(other) => {
                let (oslot, oty, ocap) = self.slot(other, text)?;
                fields.push((other.display(), oslot));
                if !ocap {
                    uncaptured.push(other.display());
                }
                self.field_vs_field(
                    slot,
                    ty,
                    op,
                    oslot,
                    oty,
                    text,
                    at,
                    &display,
                    &other.display(),
                )?
            }
            _ => {
                let values = self.values(rhs);
                match ty {
                    Ty::Str => self.str_pred(slot, op, values, text, at, &display)?,
                    Ty::Int => self.int_pred(slot, op, values, text, at, &display, false)?,
                    Ty::Bool => self.int_pred(slot, op, values, text, at, &display, true)?,
                }
            }
        };
        let in_container = implies_container(lhs, op, rhs, || self.values(rhs));
        let open_paths = open_paths(lhs, op, rhs, || self.values(rhs));
        Ok(Piece2 {
            pred,
            may: any.0,
            must: any.1,
            fields,
            uncaptured,
            konst: None,
            conj: None,
            in_container,
            open_paths,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn field_vs_field(
        &mut self,
        a: usize,
        aty: Ty,
        op: Op,
        b: usize,
        bty: Ty,
        text: &Text,
        at: usize,
        an: &str,
        bn: &str,
    ) -> Result<Pred, CErr> {
        if (aty == Ty::Str) != (bty == Ty::Str) {
            return Err(err_at(
                text,
                at,
                format!(
                    "cannot compare `{an}` ({}) with `{bn}` ({})",
                    aty.name(),
                    bty.name()
                ),
            ));
        }
        if aty == Ty::Str {
            let f: fn(&str, &str) -> bool = match op {
                Op::Eq | Op::In | Op::Intersects => |x, y| x == y,
                Op::Ne => |x, y| x != y,
                Op::Contains => |x, y| x.contains(y),
                Op::IContains => |x, y| x.to_ascii_lowercase().contains(&y.to_ascii_lowercase()),
                Op::StartsWith => |x, y| x.starts_with(y),
                Op::EndsWith => |x, y| x.ends_with(y),
                Op::PMatch => |x, y| x == y || (x.starts_with(y) && x[y.len()..].starts_with('/')),
                _ => {
                    return Err(err_at(
                        text,
                        at,
                        format!("operator `{}` cannot compare two fields", op.as_str()),
                    ));
                }
            };
            Ok(Arc::new(move |e: &mut Eval<'_, '_>| {
                e.ensure(a);
                e.ensure(b);
                let (va, vb) = (e.peek(a), e.peek(b));
                va.any_str(|x| vb.any_str(|y| f(x, y)))
            }))
        } else {
            let f: fn(i64, i64) -> bool = match op {
                Op::Eq | Op::In | Op::Intersects => |x, y| x == y,
                Op::Ne => |x, y| x != y,
                Op::Lt => |x, y| x < y,
                Op::Le => |x, y| x <= y,
                Op::Gt => |x, y| x > y,
                Op::Ge => |x, y| x >= y,
                _ => {
                    return Err(err_at(
                        text,
                        at,
                        format!("operator `{}` cannot compare two numbers", op.as_str()),
                    ));
                }
            };
            Ok(Arc::new(move |e: &mut Eval<'_, '_>| {
                e.ensure(a);
                e.ensure(b);
                let (va, vb) = (e.peek(a), e.peek(b));
                va.any_int(|x| vb.any_int(|y| f(x, y)))
            }))
        }
    }

    fn str_pred(
        &mut self,
        slot: usize,
        op: Op,
        values: Vec<String>,
        text: &Text,
        at: usize,
        name: &str,
    ) -> Result<Pred, CErr> {
        let one = || values.first().cloned().unwrap_or_default();
        Ok(match op {
            Op::Exists => Arc::new(move |e| e.get(slot).is_present()),
            Op::Eq => {
                let v = one();
                Arc::new(move |e| e.get(slot).any_str(|s| s == v))
            }
            Op::Ne => {
                let v = one();
                Arc::new(move |e| {
                    let x = e.get(slot);
                    x.is_present() && !x.any_str(|s| s == v)
                })
            }
            Op::In | Op::Intersects => {
                if values.is_empty() {
                    return Ok(Arc::new(|_| false));
                }
                let set = SetM::new(values);
                Arc::new(move |e| e.get(slot).any_str(|s| set.contains(s)))
            }
            Op::Contains => {
                let v = one();
                Arc::new(move |e| e.get(slot).any_str(|s| s.contains(v.as_str())))
            }
            Op::IContains => {
                let ac = AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build([one()])
                    .map_err(|x| err_at(text, at, format!("cannot build matcher: {x}")))?;
                Arc::new(move |e| e.get(slot).any_str(|s| ac.is_match(s)))
            }
            Op::StartsWith => {
                let v = one();
                Arc::new(move |e| e.get(slot).any_str(|s| s.starts_with(v.as_str())))
            }
            Op::EndsWith => {
                let v = one();
                Arc::new(move |e| e.get(slot).any_str(|s| s.ends_with(v.as_str())))
            }
            Op::BContains | Op::BStartsWith => {
                let v = one();
                let Some(bytes) = hex_bytes(&v) else {
                    return Err(err_at(
                        text,
                        at,
                        format!(
                            "`{v}` is not a hex byte string (e.g. `7f454c46`), as `{}` needs",
                            op.as_str()
                        ),
                    ));
                };
                if op == Op::BStartsWith {
                    Arc::new(move |e| e.get(slot).any_str(|s| s.as_bytes().starts_with(&bytes)))
                } else {
                    Arc::new(move |e| {
                        e.get(slot).any_str(|s| {
                            s.as_bytes()
                                .windows(bytes.len().max(1))
                                .any(|w| w == bytes.as_slice())
                        })
                    })
                }
            }
            Op::Glob | Op::IGlob => {
                let g = glob(&one(), op == Op::IGlob).map_err(|m| err_at(text, at, m))?;
                Arc::new(move |e| e.get(slot).any_str(|s| g.is_match(s)))
            }
            Op::PMatch => {
                let mut m = PrefixM::new();
                for v in values {
                    if v.contains(['*', '?', '[']) || !v.starts_with('/') {
                        let base = v.trim_end_matches('/');
                        m.globs
                            .push(glob(base, false).map_err(|x| err_at(text, at, x))?);
                        m.globs.push(
                            glob(&format!("{base}/*"), false).map_err(|x| err_at(text, at, x))?,
                        );
                    } else {
                        m.add_plain(&v);
                    }
                }
                Arc::new(move |e| e.get(slot).any_str(|s| m.matches(s)))
            }
            Op::Regex => {
                let v = one();
                let re = Regex::new(&format!("^(?:{v})$"))
                    .map_err(|x| err_at(text, at, format!("invalid regex `{v}`: {x}")))?;
                Arc::new(move |e| e.get(slot).any_str(|s| re.is_match(s)))
            }
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                return Err(err_at(
                    text,
                    at,
                    format!(
                        "operator `{}` needs a numeric field, but `{name}` is a string",
                        op.as_str()
                    ),
                ));
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn int_pred(
        &mut self,
        slot: usize,
        op: Op,
        values: Vec<String>,
        text: &Text,
        at: usize,
        name: &str,
        boolean: bool,
    ) -> Result<Pred, CErr> {
        if op == Op::Exists {
            return Ok(Arc::new(move |e| e.get(slot).is_present()));
        }
        let mut nums = Vec::with_capacity(values.len());
        for v in &values {
            let n = if boolean {
                parse_bool(v).map(i64::from)
            } else {
                parse_int(v)
            };
            match n {
                Some(n) => nums.push(n),
                None => {
                    let want = if boolean { "true or false" } else { "a number" };
                    return Err(err_at(
                        text,
                        at,
                        format!("`{v}` is not {want}, as field `{name}` needs"),
                    ));
                }
            }
        }
        let v = nums.first().copied().unwrap_or(0);
        let kind = if boolean { "bool" } else { "numeric" };
        Ok(match op {
            Op::Eq => Arc::new(move |e| e.get(slot).any_int(|n| n == v)),
            Op::Ne => Arc::new(move |e| {
                let x = e.get(slot);
                x.is_present() && !x.any_int(|n| n == v)
            }),
            Op::Lt if !boolean => Arc::new(move |e| e.get(slot).any_int(|n| n < v)),
            Op::Le if !boolean => Arc::new(move |e| e.get(slot).any_int(|n| n <= v)),
            Op::Gt if !boolean => Arc::new(move |e| e.get(slot).any_int(|n| n > v)),
            Op::Ge if !boolean => Arc::new(move |e| e.get(slot).any_int(|n| n >= v)),
            Op::In | Op::Intersects => {
                Arc::new(move |e| e.get(slot).any_int(|n| nums.contains(&n)))
            }
            _ => {
                return Err(err_at(
                    text,
                    at,
                    format!(
                        "operator `{}` does not apply to {kind} field `{name}`",
                        op.as_str()
                    ),
                ));
            }
        })
    }

    /// Builds the expression for a rule's exceptions (true when an
    /// exception applies).
    fn exceptions(&mut self, r: &RuleDef, excs: &[ExceptionDef]) -> Result<Option<Piece2>, CErr> {
        let mut alts = Vec::new();
        for ex in excs {
            let text = Text::synthetic(ex.name.clone(), &r.file, ex.pos);
            let bad = |m: String| {
                err_at(
                    &text,
                    0,
                    format!("exception `{}` of rule `{}`: {m}", ex.name, r.name),
                )
            };
            let mut fields = Vec::new();
            for f in &ex.fields {
                let mut lx = Lexer::new(f);
                match lx.field_name() {
                    Ok((name, arg, _)) if lx.at_end() => fields.push(FieldExpr {
                        transforms: Vec::new(),
                        name: name.to_string(),
                        arg: arg.map(str::to_string),
                        at: 0,
                    }),
                    _ => return Err(bad(format!("`{f}` is not a field name"))),
                }
            }
            if fields.is_empty() {
                return Err(bad("no `fields`".into()));
            }
            let default_op = if ex.fields_is_list { "=" } else { "in" };
            let comps: Vec<Op> = if ex.comps.is_empty() {
                vec![Op::from_word(default_op).unwrap_or(Op::Eq); fields.len()]
            } else {
                ex.comps
                    .iter()
                    .map(|c| {
                        Op::from_word(c.trim())
                            .ok_or_else(|| bad(format!("unknown comparison `{c}`")))
                    })
                    .collect::<Result<_, _>>()?
            };
            if comps.len() != fields.len() {
                return Err(bad(format!(
                    "{} fields but {} comps; give one comp per field",
                    fields.len(),
                    comps.len()
                )));
            }
            let val = |text: String| Value {
                text,
                quoted: false,
                at: 0,
            };
            if !ex.fields_is_list {
                let op = comps[0];
                let vals: Vec<String> = ex
                    .values
                    .iter()
                    .flat_map(|(_, v)| v.iter())
                    .flat_map(|v| match v {
                        ExcValue::One(s) => vec![s.clone()],
                        ExcValue::Many(m) => m.clone(),
                    })
                    .collect();
                if vals.is_empty() {
                    // nothing to exclude yet
                } else if op.takes_list() {
                    alts.push(Expr::Cmp {
                        lhs: fields[0].clone(),
                        op,
                        rhs: Rhs::List(vals.into_iter().map(val).collect()),
                        at: 0,
                    });
                } else {
                    for v in vals {
                        alts.push(Expr::Cmp {
                            lhs: fields[0].clone(),
                            op,
                            rhs: Rhs::Value(val(v)),
                            at: 0,
                        });
                    }
                }
            }
            for (_, tuple) in ex.values.iter().filter(|_| ex.fields_is_list) {
                if tuple.len() != fields.len() {
                    return Err(bad(format!(
                        "a value has {} entries but there are {} fields",
                        tuple.len(),
                        fields.len()
                    )));
                }
                let mut conj = Vec::new();
                for ((f, op), v) in fields.iter().zip(&comps).zip(tuple) {
                    let rhs = match (v, op.takes_list()) {
                        (ExcValue::One(s), true) => Rhs::List(vec![val(s.clone())]),
                        (ExcValue::Many(m), true) => {
                            Rhs::List(m.iter().cloned().map(val).collect())
                        }
                        (ExcValue::One(s), false) => Rhs::Value(val(s.clone())),
                        (ExcValue::Many(_), false) => {
                            return Err(bad(format!(
                                "a list value needs a list comparison (in, intersects, pmatch), not `{}`",
                                op.as_str()
                            )));
                        }
                    };
                    conj.push(Expr::Cmp {
                        lhs: f.clone(),
                        op: *op,
                        rhs,
                        at: 0,
                    });
                }
                alts.push(Expr::And(conj));
            }
            if alts.is_empty() {
                continue;
            }
            // Compile per exception so errors point at it.
            let e = Expr::Or(std::mem::take(&mut alts));
            let p = self.expr(&e, &text)?;
            self.exc_pieces.push(p);
        }
        let pieces = std::mem::take(&mut self.exc_pieces);
        if pieces.is_empty() {
            return Ok(None);
        }
        Ok(Some(or_pieces(pieces)))
    }
}

fn rhs_is_list(rhs: &Rhs) -> bool {
    matches!(rhs, Rhs::List(_))
}

// ------------------------------------------------------------------------
// Building the engine

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Loads and compiles `sources` in order. Rules that fail to compile are
/// left out; their errors are in the returned diagnostics.
pub(crate) fn build(sources: &[RuleSource]) -> (Engine, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut defs = Defs::default();
    for src in sources {
        let file: Arc<str> = Arc::from(src.name.as_str());
        for item in load::parse_file(&file, &src.text, &mut diags) {
            defs.add(item, &mut diags);
        }
    }
    let mut c = Compiler {
        defs: &defs,
        slots: Vec::new(),
        slot_keys: HashMap::new(),
        macro_done: HashMap::new(),
        stack: Vec::new(),
        warned_evttypes: HashSet::new(),
        diags: Vec::new(),
        exc_pieces: Vec::new(),
    };
    let mut rules = Vec::new();
    let mut seen_errors = HashSet::new();
    for r in &defs.rules {
        match c.rule(r) {
            Ok(Some(cr)) => rules.push(cr),
            Ok(None) => {}
            Err(e) => {
                if r.skip_if_unknown_filter == Some(true) && e.unknown_field {
                    c.diags.push(Diagnostic::warning(
                        &r.file,
                        Some(r.pos),
                        format!(
                            "rule `{}` skipped (skip-if-unknown-filter): {}",
                            r.name, e.diag.message
                        ),
                    ));
                } else if seen_errors.insert(e.diag.to_string()) {
                    c.diags.push(e.diag);
                }
            }
        }
    }
    // Syntax errors in macros no rule uses are still errors.
    for m in &defs.macros {
        if let Some(t) = &m.condition
            && !c.macro_done.contains_key(&m.name)
            && let Err(pe) = parser::parse(&t.text)
        {
            let e = err_at(
                t,
                pe.at,
                format!("syntax error in macro `{}`: {}", m.name, pe.msg),
            );
            if seen_errors.insert(e.diag.to_string()) {
                c.diags.push(e.diag);
            }
        }
    }
    diags.append(&mut c.diags);
    let mut engine = Engine {
        rules,
        slots: c.slots,
        by_kind: Vec::new(),
        host_by_kind: Vec::new(),
        hostname: hostname(),
        macros: defs.macros.len(),
        lists: defs.lists.len(),
        notes: defs.notes.clone(),
    };
    engine.index();
    (engine, diags)
}

impl Compiler<'_> {
    fn rule(&mut self, r: &RuleDef) -> Result<Option<CompiledRule>, CErr> {
        let source = r.source.clone().unwrap_or_else(|| "syscall".to_string());
        if source != "syscall" {
            self.diags.push(Diagnostic::warning(
                &r.file,
                Some(r.pos),
                format!("rule `{}` is for source `{source}`; only `syscall` rules are evaluated, so it is skipped", r.name),
            ));
            return Ok(None);
        }
        let (ptext, ppos) = r.priority.clone().unwrap_or_default();
        let Some(priority) = Priority::parse(&ptext) else {
            return Err(CErr {
                diag: Diagnostic::error(
                    &r.file,
                    Some(ppos),
                    format!(
                        "unknown priority `{ptext}` in rule `{}`; use one of emergency, alert, critical, error, warning, notice, informational (info), debug",
                        r.name
                    ),
                ),
                unknown_field: false,
            });
        };
        let Some(cond) = &r.condition else {
            return Ok(None);
        };
        let ast = parser::parse(&cond.text).map_err(|pe| {
            err_at(
                cond,
                pe.at,
                format!("syntax error in rule `{}`: {}", r.name, pe.msg),
            )
        })?;
        let mut piece = self.expr(&ast, cond)?;
        if let Some(excs) = &r.exceptions
            && let Some(ex) = self.exceptions(r, excs)?
        {
            piece = and_pieces(vec![piece, not_piece(ex)]);
        }
        let kinds = piece.may;
        let mut piece = prune_for_kinds(piece, kinds);
        // Output.
        let mut parts = Vec::new();
        if let Some(out) = &r.output {
            for p in output::split(&out.text) {
                match p {
                    Piece::Lit(l) => parts.push(Part::Lit(l)),
                    Piece::Field(f) => {
                        let fe = FieldExpr {
                            transforms: Vec::new(),
                            name: f.name.clone(),
                            arg: f.arg.clone(),
                            at: f.at,
                        };
                        let (slot, _, cap) = self.slot(&fe, out).map_err(|mut e| {
                            e.diag.message =
                                format!("in the output of rule `{}`: {}", r.name, e.diag.message);
                            e
                        })?;
                        let disp = fe.display();
                        if !cap {
                            piece.uncaptured.push(disp.clone());
                        }
                        piece.fields.push((disp.clone(), slot));
                        parts.push(Part::Field(disp, slot));
                    }
                }
            }
        }
        // An argument name other event types have may be missing on the
        // rule's own (e.g. `evt.arg.flags` of an exec).
        for (disp, slot) in &piece.fields {
            if let SlotDef::Field { def, arg } = &self.slots[*slot]
                && def.avail == fields::Avail::ByArg
            {
                let ok = match arg {
                    FieldArg::Key(k) => sysargs::arg_captured_for(kinds, Some(k), None),
                    FieldArg::Index(i) => sysargs::arg_captured_for(kinds, None, Some(*i)),
                    FieldArg::None => true,
                };
                if !ok {
                    piece.uncaptured.push(disp.clone());
                }
            }
        }
        if kinds.is_all() && r.warn_evttypes != Some(false) {
            self.diags.push(Diagnostic::warning(
                &r.file,
                Some(r.pos),
                format!(
                    "rule `{}` does not restrict `evt.type`, so it is evaluated for every event; add e.g. `evt.type in (execve, execveat)`",
                    r.name
                ),
            ));
        } else if kinds.is_empty() && piece.konst != Some(false) {
            self.diags.push(Diagnostic::warning(
                &r.file,
                Some(r.pos),
                format!(
                    "rule `{}` can match no event type; check its `evt.type` conditions",
                    r.name
                ),
            ));
        }
        let mut seen = HashSet::new();
        piece.fields.retain(|(n, _)| seen.insert(n.clone()));
        let mut seen = HashSet::new();
        piece.uncaptured.retain(|n| seen.insert(n.clone()));
        Ok(Some(CompiledRule {
            info: RuleInfo {
                name: r.name.clone(),
                desc: r.desc.clone().unwrap_or_default(),
                priority,
                tags: r.tags.clone().unwrap_or_default(),
                source,
                enabled: r.enabled.unwrap_or(true),
                file: r.file.to_string(),
                kinds,
                in_container: piece.in_container,
                open_paths: if kinds.contains(Kind::Open) {
                    open_paths_of(&piece)
                } else {
                    Some(Vec::new())
                },
                uncaptured_fields: piece.uncaptured,
            },
            pred: piece.pred,
            output: OutputFormat { parts },
            fields: piece.fields,
        }))
    }
}
