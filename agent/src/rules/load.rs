//! Reading rule files: YAML text → located items (`rule`, `macro`, `list`,
//! version requirements), each key with its file:line:col. Knows nothing of
//! the condition language; it only keeps enough position information
//! ([`Text`]) to map an offset inside a condition back to the file.

use std::collections::HashMap;
use std::sync::Arc;

use yaml_rust2::parser::{Event as YEvent, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::{Diagnostic, Pos};

/// A YAML node with the position where it starts.
#[derive(Clone, Debug)]
pub struct Node {
    pub pos: Pos,
    pub kind: NodeKind,
}

#[derive(Clone, Debug)]
pub enum NodeKind {
    Scalar { text: String, style: TScalarStyle },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    fn scalar(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { text, style: TScalarStyle::Plain } if text.is_empty() || text == "~" || text == "null")
    }

    fn what(&self) -> &'static str {
        match self.kind {
            NodeKind::Scalar { .. } => "a scalar",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }
}

fn pos_of(m: &Marker) -> Pos {
    Pos {
        line: m.line() as u32,
        col: m.col() as u32 + 1,
    }
}

#[derive(Default)]
struct Builder {
    stack: Vec<(Pos, Frame)>,
    docs: Vec<Node>,
    anchors: HashMap<usize, Node>,
    bad_alias: Option<Pos>,
}

enum Frame {
    Seq(Vec<Node>, usize),
    Map(Vec<(Node, Node)>, Option<Node>, usize),
}

impl Builder {
    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some((_, Frame::Seq(items, _))) => items.push(node),
            Some((_, Frame::Map(pairs, key, _))) => match key.take() {
                None => *key = Some(node),
                Some(k) => pairs.push((k, node)),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: YEvent, mark: Marker) {
        let pos = pos_of(&mark);
        match ev {
            YEvent::Scalar(text, style, anchor, _) => self.push_node(
                Node {
                    pos,
                    kind: NodeKind::Scalar { text, style },
                },
                anchor,
            ),
            YEvent::SequenceStart(anchor, _) => {
                self.stack.push((pos, Frame::Seq(Vec::new(), anchor)))
            }
            YEvent::MappingStart(anchor, _) => {
                self.stack.push((pos, Frame::Map(Vec::new(), None, anchor)))
            }
            YEvent::SequenceEnd | YEvent::MappingEnd => {
                if let Some((pos, frame)) = self.stack.pop() {
                    let (kind, anchor) = match frame {
                        Frame::Seq(items, a) => (NodeKind::Seq(items), a),
                        Frame::Map(pairs, _, a) => (NodeKind::Map(pairs), a),
                    };
                    self.push_node(Node { pos, kind }, anchor);
                }
            }
            YEvent::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => self.push_node(node, 0),
                None => self.bad_alias = Some(pos),
            },
            _ => {}
        }
    }
}

/// Parses YAML text into its documents.
pub fn parse_yaml(file: &Arc<str>, text: &str) -> Result<Vec<Node>, Diagnostic> {
    let mut text = std::borrow::Cow::Borrowed(text);
    let mut b;
    let mut retries = 0;
    loop {
        b = Builder::default();
        let mut p = Parser::new_from_str(&text);
        let Err(e) = p.load(&mut b, true) else { break };
        // libyaml (and so Falco) accepts a flow collection's closing `]` or
        // `}` on a line indented less than strict YAML wants (Falco's own
        // files do this). Indent such a line further and retry: only
        // whitespace changes, and only on that line.
        let line = e.marker().line();
        if e.info() == "invalid indentation"
            && retries < 1000
            && let Some(fixed) = indent_closing_line(&text, line)
        {
            text = std::borrow::Cow::Owned(fixed);
            retries += 1;
            continue;
        }
        return Err(Diagnostic::error(
            file,
            Some(pos_of(e.marker())),
            format!("invalid YAML: {}; fix the YAML syntax", e.info()),
        ));
    }
    if let Some(pos) = b.bad_alias {
        return Err(Diagnostic::error(
            file,
            Some(pos),
            "YAML alias to an unknown anchor".to_string(),
        ));
    }
    Ok(b.docs)
}

/// Adds indentation to line `line` (1-based) if it starts with a flow
/// closing bracket.
fn indent_closing_line(text: &str, line: usize) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut changed = false;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line && (l.trim_start().starts_with(']') || l.trim_start().starts_with('}')) {
            out.push_str("        ");
            changed = true;
        }
        out.push_str(l);
    }
    changed.then_some(out)
}

/// A string value from a rule file, with what is needed to map an offset in
/// it back to a file position.
#[derive(Clone, Debug)]
pub struct Text {
    pub text: String,
    pub file: Arc<str>,
    pub pos: Pos,
    /// (offset in `text`, file, position in the file) for the start of each
    /// source line's content; sorted by offset.
    pub segments: Vec<(usize, Arc<str>, Pos)>,
}

impl Text {
    /// A text not from a file (built by the engine, e.g. for exceptions).
    pub fn synthetic(text: String, file: &Arc<str>, pos: Pos) -> Text {
        Text {
            text,
            file: file.clone(),
            pos,
            segments: vec![(0, file.clone(), pos)],
        }
    }

    /// `self + " " + other` (Falco's `append` for conditions and outputs),
    /// keeping both parts' positions.
    pub fn concat(&self, other: &Text) -> Text {
        let shift = self.text.len() + 1;
        let mut segments = self.segments.clone();
        segments.extend(
            other
                .segments
                .iter()
                .map(|(o, f, p)| (o + shift, f.clone(), *p)),
        );
        Text {
            text: format!("{} {}", self.text, other.text),
            file: self.file.clone(),
            pos: self.pos,
            segments,
        }
    }

    fn from_node(node: &Node, file: &Arc<str>, source: &str) -> Option<Text> {
        let NodeKind::Scalar { text, style } = &node.kind else {
            return None;
        };
        let segments = map_segments(text, *style, node.pos, source)
            .into_iter()
            .map(|(o, p)| (o, file.clone(), p))
            .collect();
        Some(Text {
            text: text.clone(),
            file: file.clone(),
            pos: node.pos,
            segments,
        })
    }

    /// The file position of a byte offset in the text (best effort for
    /// folded and quoted scalars).
    pub fn pos_at(&self, offset: usize) -> Pos {
        self.locate(offset).1
    }

    /// The file and position of a byte offset in the text.
    pub fn locate(&self, offset: usize) -> (Arc<str>, Pos) {
        let mut best = (0usize, &self.file, self.pos);
        for (o, f, p) in &self.segments {
            if *o <= offset {
                best = (*o, f, *p);
            } else {
                break;
            }
        }
        let delta = self
            .text
            .get(best.0..offset.min(self.text.len()))
            .map_or(0, |s| s.chars().count());
        (
            best.1.clone(),
            Pos {
                line: best.2.line,
                col: best.2.col + delta as u32,
            },
        )
    }
}

/// Finds, for each source line spanned by a scalar, where its content lands
/// in the scalar's value.
fn map_segments(value: &str, style: TScalarStyle, start: Pos, source: &str) -> Vec<(usize, Pos)> {
    let mut segs = Vec::new();
    let lines: Vec<&str> = source.lines().collect();
    let first = start.line as usize; // 1-based
    let mut cursor = 0usize;
    let block = matches!(style, TScalarStyle::Literal | TScalarStyle::Folded);
    let quoted = matches!(
        style,
        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted
    );
    let mut line_no = first;
    let mut budget = value.len() + 2;
    while line_no <= lines.len() && cursor < value.len() && budget > 0 {
        budget -= 1;
        let raw = lines[line_no - 1];
        let (content, col0) = if line_no == first {
            // The scalar starts at `start.col` on its first line.
            let skip = (start.col as usize).saturating_sub(1);
            let rest: String = raw.chars().skip(skip).collect();
            if block {
                line_no += 1;
                continue;
            }
            let rest = if quoted {
                rest.chars().skip(1).collect()
            } else {
                rest
            };
            (rest, skip + usize::from(quoted))
        } else {
            let trimmed = raw.trim_start();
            (
                trimmed.to_string(),
                raw.chars().count() - trimmed.chars().count(),
            )
        };
        let content = content.trim_end();
        let probe: String = content.chars().take(12).collect();
        if !probe.is_empty()
            && let Some(found) = value.get(cursor..).and_then(|v| v.find(probe.as_str()))
        {
            let off = cursor + found;
            segs.push((
                off,
                Pos {
                    line: line_no as u32,
                    col: col0 as u32 + 1,
                },
            ));
            cursor = off + probe.len();
        }
        line_no += 1;
    }
    if segs.is_empty() || segs[0].0 != 0 {
        segs.insert(0, (0, start));
    }
    segs
}

/// How an `override:` key is merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    Append,
    Replace,
}

/// One exception of a rule.
#[derive(Clone, Debug)]
pub struct ExceptionDef {
    pub name: String,
    pub pos: Pos,
    /// `fields: a.b` (single) or `fields: [a.b, c.d]`.
    pub fields: Vec<String>,
    pub fields_is_list: bool,
    pub comps: Vec<String>,
    /// Each value: for list-shaped exceptions a tuple (one entry per field),
    /// each entry a string or a list of strings.
    pub values: Vec<(Pos, Vec<ExcValue>)>,
}

#[derive(Clone, Debug)]
pub enum ExcValue {
    One(String),
    Many(Vec<String>),
}

#[derive(Clone, Debug, Default)]
pub struct RuleDef {
    pub name: String,
    pub pos: Pos,
    pub file: Arc<str>,
    pub desc: Option<String>,
    pub condition: Option<Text>,
    pub output: Option<Text>,
    pub priority: Option<(String, Pos)>,
    pub tags: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub source: Option<String>,
    pub exceptions: Option<Vec<ExceptionDef>>,
    pub warn_evttypes: Option<bool>,
    pub skip_if_unknown_filter: Option<bool>,
    pub append: bool,
    pub overrides: Vec<(String, Merge)>,
    pub keys: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct MacroDef {
    pub name: String,
    pub pos: Pos,
    pub file: Arc<str>,
    pub condition: Option<Text>,
    pub append: bool,
    pub overrides: Vec<(String, Merge)>,
}

#[derive(Clone, Debug)]
pub struct ListDef {
    pub name: String,
    pub pos: Pos,
    pub file: Arc<str>,
    pub items: Vec<String>,
    pub append: bool,
    pub overrides: Vec<(String, Merge)>,
}

#[derive(Clone, Debug)]
pub enum Item {
    Rule(Box<RuleDef>),
    Macro(MacroDef),
    List(ListDef),
    EngineVersion(String, Pos),
    PluginVersions(Vec<(String, String)>, Pos),
}

/// Parses one rule file into items; errors and warnings go to `diags`.
pub fn parse_file(file: &Arc<str>, source: &str, diags: &mut Vec<Diagnostic>) -> Vec<Item> {
    let docs = match parse_yaml(file, source) {
        Ok(d) => d,
        Err(e) => {
            diags.push(e);
            return Vec::new();
        }
    };
    let mut items = Vec::new();
    for doc in &docs {
        if doc.is_null() {
            continue;
        }
        let NodeKind::Seq(entries) = &doc.kind else {
            diags.push(Diagnostic::error(
                file,
                Some(doc.pos),
                format!(
                    "a rules file must be a list of items (`- rule: ...`), found {}",
                    doc.what()
                ),
            ));
            continue;
        };
        for entry in entries {
            let mut r = ItemReader {
                file,
                source,
                diags,
            };
            if let Some(item) = r.item(entry) {
                items.push(item);
            }
        }
    }
    items
}

struct ItemReader<'a> {
    file: &'a Arc<str>,
    source: &'a str,
    diags: &'a mut Vec<Diagnostic>,
}

impl ItemReader<'_> {
    fn err(&mut self, pos: Pos, msg: String) {
        self.diags
            .push(Diagnostic::error(self.file, Some(pos), msg));
    }

    fn warn(&mut self, pos: Pos, msg: String) {
        self.diags
            .push(Diagnostic::warning(self.file, Some(pos), msg));
    }

    fn string(&mut self, key: &str, node: &Node) -> Option<String> {
        match node.scalar() {
            Some(s) => Some(s.to_string()),
            None => {
                self.err(
                    node.pos,
                    format!("`{key}` must be a string, found {}", node.what()),
                );
                None
            }
        }
    }

    fn boolean(&mut self, key: &str, node: &Node) -> Option<bool> {
        match node.scalar().map(str::to_ascii_lowercase).as_deref() {
            Some("true" | "yes" | "on") => Some(true),
            Some("false" | "no" | "off") => Some(false),
            _ => {
                self.err(node.pos, format!("`{key}` must be true or false"));
                None
            }
        }
    }

    fn strings(&mut self, key: &str, node: &Node) -> Option<Vec<String>> {
        if node.is_null() {
            return Some(Vec::new());
        }
        match &node.kind {
            NodeKind::Seq(items) => {
                let mut out = Vec::new();
                for it in items {
                    match it.scalar() {
                        Some(s) => out.push(s.to_string()),
                        None => {
                            self.err(
                                it.pos,
                                format!("entries of `{key}` must be strings, found {}", it.what()),
                            );
                            return None;
                        }
                    }
                }
                Some(out)
            }
            _ => {
                self.err(
                    node.pos,
                    format!("`{key}` must be a list, found {}", node.what()),
                );
                None
            }
        }
    }

    fn overrides(&mut self, node: &Node, allowed: &[&str]) -> Vec<(String, Merge)> {
        let NodeKind::Map(pairs) = &node.kind else {
            self.err(
                node.pos,
                "`override` must be a mapping like `{condition: append}`".into(),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in pairs {
            let key = k.scalar().unwrap_or("").to_string();
            if !allowed.contains(&key.as_str()) {
                self.err(
                    k.pos,
                    format!(
                        "`{key}` cannot be overridden here; overridable keys: {}",
                        allowed.join(", ")
                    ),
                );
                continue;
            }
            match v.scalar() {
                Some("append") => out.push((key, Merge::Append)),
                Some("replace") => out.push((key, Merge::Replace)),
                _ => self.err(
                    v.pos,
                    format!("override of `{key}` must be `append` or `replace`"),
                ),
            }
        }
        out
    }

    fn item(&mut self, entry: &Node) -> Option<Item> {
        let NodeKind::Map(pairs) = &entry.kind else {
            self.err(
                entry.pos,
                format!(
                    "each item must be a mapping (`- rule: ...`), found {}",
                    entry.what()
                ),
            );
            return None;
        };
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key.scalar() == Some(k))
                .map(|(_, v)| v)
        };
        if let Some(v) = get("rule") {
            self.rule(entry, pairs, v).map(|r| Item::Rule(Box::new(r)))
        } else if let Some(v) = get("macro") {
            let name = self.string("macro", v)?;
            let mut m = MacroDef {
                name,
                pos: v.pos,
                file: self.file.clone(),
                condition: None,
                append: false,
                overrides: Vec::new(),
            };
            for (k, val) in pairs {
                match k.scalar().unwrap_or("") {
                    "macro" => {}
                    "condition" => m.condition = self.text("condition", val),
                    "append" => m.append = self.boolean("append", val).unwrap_or(false),
                    "override" => m.overrides = self.overrides(val, &["condition"]),
                    other => self.warn(
                        k.pos,
                        format!("unknown key `{other}` in macro `{}` ignored", m.name),
                    ),
                }
            }
            if m.condition.is_none() {
                self.err(entry.pos, format!("macro `{}` has no `condition`", m.name));
                return None;
            }
            Some(Item::Macro(m))
        } else if let Some(v) = get("list") {
            let name = self.string("list", v)?;
            let mut l = ListDef {
                name,
                pos: v.pos,
                file: self.file.clone(),
                items: Vec::new(),
                append: false,
                overrides: Vec::new(),
            };
            let mut has_items = false;
            for (k, val) in pairs {
                match k.scalar().unwrap_or("") {
                    "list" => {}
                    "items" => {
                        has_items = true;
                        l.items = self.strings("items", val)?;
                    }
                    "append" => l.append = self.boolean("append", val).unwrap_or(false),
                    "override" => l.overrides = self.overrides(val, &["items"]),
                    other => self.warn(
                        k.pos,
                        format!("unknown key `{other}` in list `{}` ignored", l.name),
                    ),
                }
            }
            if !has_items {
                self.err(entry.pos, format!("list `{}` has no `items`", l.name));
                return None;
            }
            Some(Item::List(l))
        } else if let Some(v) = get("required_engine_version") {
            Some(Item::EngineVersion(
                v.scalar().unwrap_or("").to_string(),
                v.pos,
            ))
        } else if let Some(v) = get("required_plugin_versions") {
            let mut out = Vec::new();
            if let NodeKind::Seq(ps) = &v.kind {
                for p in ps {
                    if let NodeKind::Map(kv) = &p.kind {
                        let f = |k: &str| {
                            kv.iter()
                                .find(|(key, _)| key.scalar() == Some(k))
                                .and_then(|(_, v)| v.scalar())
                                .unwrap_or("")
                                .to_string()
                        };
                        out.push((f("name"), f("version")));
                    }
                }
            }
            Some(Item::PluginVersions(out, v.pos))
        } else {
            let keys: Vec<&str> = pairs.iter().filter_map(|(k, _)| k.scalar()).collect();
            self.err(
                entry.pos,
                format!(
                    "unknown item with keys [{}]; expected one of `rule`, `macro`, `list`, `required_engine_version`, `required_plugin_versions`",
                    keys.join(", ")
                ),
            );
            None
        }
    }

    fn text(&mut self, key: &str, node: &Node) -> Option<Text> {
        match Text::from_node(node, self.file, self.source) {
            Some(t) => Some(t),
            None => {
                self.err(
                    node.pos,
                    format!("`{key}` must be a string, found {}", node.what()),
                );
                None
            }
        }
    }

    fn rule(&mut self, entry: &Node, pairs: &[(Node, Node)], name_node: &Node) -> Option<RuleDef> {
        let name = self.string("rule", name_node)?;
        let mut r = RuleDef {
            name,
            pos: name_node.pos,
            file: self.file.clone(),
            ..RuleDef::default()
        };
        let _ = entry;
        for (k, v) in pairs {
            let key = k.scalar().unwrap_or("");
            r.keys.push(key.to_string());
            match key {
                "rule" => {}
                "desc" => r.desc = self.string("desc", v),
                "condition" => r.condition = self.text("condition", v),
                "output" => r.output = self.text("output", v),
                "priority" => r.priority = self.string("priority", v).map(|p| (p, v.pos)),
                "tags" => r.tags = self.strings("tags", v),
                "enabled" => r.enabled = self.boolean("enabled", v),
                "source" => r.source = self.string("source", v),
                "exceptions" => r.exceptions = self.exceptions(v),
                "warn_evttypes" => r.warn_evttypes = self.boolean("warn_evttypes", v),
                "skip-if-unknown-filter" => r.skip_if_unknown_filter = self.boolean(key, v),
                "append" => r.append = self.boolean("append", v).unwrap_or(false),
                "override" => {
                    r.overrides = self.overrides(
                        v,
                        &[
                            "condition",
                            "output",
                            "desc",
                            "priority",
                            "tags",
                            "exceptions",
                            "enabled",
                            "warn_evttypes",
                            "skip-if-unknown-filter",
                        ],
                    )
                }
                "capture" | "capture_duration" => {}
                other => self.warn(
                    k.pos,
                    format!("unknown key `{other}` in rule `{}` ignored", r.name),
                ),
            }
        }
        Some(r)
    }

    fn exceptions(&mut self, node: &Node) -> Option<Vec<ExceptionDef>> {
        if node.is_null() {
            return Some(Vec::new());
        }
        let NodeKind::Seq(items) = &node.kind else {
            self.err(node.pos, "`exceptions` must be a list".into());
            return None;
        };
        let mut out = Vec::new();
        for it in items {
            let NodeKind::Map(kv) = &it.kind else {
                self.err(
                    it.pos,
                    "each exception must be a mapping with `name`, `fields`, `comps`, `values`"
                        .into(),
                );
                return None;
            };
            let mut e = ExceptionDef {
                name: String::new(),
                pos: it.pos,
                fields: Vec::new(),
                fields_is_list: false,
                comps: Vec::new(),
                values: Vec::new(),
            };
            let mut values_node = None;
            for (k, v) in kv {
                match k.scalar().unwrap_or("") {
                    "name" => e.name = self.string("name", v)?,
                    "fields" => {
                        e.pos = v.pos;
                        match &v.kind {
                            NodeKind::Scalar { text, .. } => e.fields = vec![text.clone()],
                            _ => {
                                e.fields = self.strings("fields", v)?;
                                e.fields_is_list = true;
                            }
                        }
                    }
                    "comps" => match &v.kind {
                        NodeKind::Scalar { text, .. } => e.comps = vec![text.clone()],
                        _ => e.comps = self.strings("comps", v)?,
                    },
                    "values" => values_node = Some(v),
                    other => {
                        self.warn(k.pos, format!("unknown key `{other}` in exception ignored"))
                    }
                }
            }
            if e.name.is_empty() {
                self.err(it.pos, "exception has no `name`".into());
                return None;
            }
            if let Some(v) = values_node {
                e.values = self.exc_values(v, e.fields_is_list || e.fields.is_empty())?;
            }
            out.push(e);
        }
        Some(out)
    }

    fn exc_values(&mut self, node: &Node, tuples: bool) -> Option<Vec<(Pos, Vec<ExcValue>)>> {
        if node.is_null() {
            return Some(Vec::new());
        }
        let NodeKind::Seq(items) = &node.kind else {
            self.err(node.pos, "exception `values` must be a list".into());
            return None;
        };
        let mut out = Vec::new();
        for it in items {
            let NodeKind::Seq(tuple) = &it.kind else {
                match it.scalar() {
                    Some(s) => out.push((it.pos, vec![ExcValue::One(s.to_string())])),
                    None => {
                        self.err(it.pos, "exception values must be strings or lists".into());
                        return None;
                    }
                }
                continue;
            };
            if !tuples {
                // `fields: one.field` with nested lists: take the strings.
                for t in tuple {
                    match t.scalar() {
                        Some(s) => out.push((t.pos, vec![ExcValue::One(s.to_string())])),
                        None => {
                            self.err(
                                t.pos,
                                "values of a single-field exception must be strings".into(),
                            );
                            return None;
                        }
                    }
                }
                continue;
            }
            let mut vals = Vec::new();
            for t in tuple {
                match &t.kind {
                    NodeKind::Scalar { text, .. } => vals.push(ExcValue::One(text.clone())),
                    NodeKind::Seq(_) => vals.push(ExcValue::Many(self.strings("values", t)?)),
                    NodeKind::Map(_) => {
                        self.err(
                            t.pos,
                            "exception value entries must be strings or lists".into(),
                        );
                        return None;
                    }
                }
            }
            out.push((it.pos, vals));
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_columns() {
        let file: Arc<str> = Arc::from("t.yaml");
        let src = "- macro: m\n  condition: proc.name = x\n";
        let mut d = Vec::new();
        let items = parse_file(&file, src, &mut d);
        assert!(d.is_empty(), "{d:?}");
        let Item::Macro(m) = &items[0] else { panic!() };
        let c = m.condition.as_ref().unwrap();
        assert_eq!(c.pos, Pos { line: 2, col: 14 });
        assert_eq!(c.pos_at(12), Pos { line: 2, col: 26 });
    }

    #[test]
    fn folded_condition_offsets_map_to_their_source_line() {
        let file: Arc<str> = Arc::from("t.yaml");
        let src = "- macro: m\n  condition: >\n    proc.name = x\n    and proc.foo = y\n";
        let mut d = Vec::new();
        let items = parse_file(&file, src, &mut d);
        let Item::Macro(m) = &items[0] else { panic!() };
        let c = m.condition.as_ref().unwrap();
        let off = c.text.find("proc.foo").unwrap();
        assert_eq!(c.pos_at(off), Pos { line: 4, col: 9 });
    }

    #[test]
    fn invalid_yaml_is_an_error_with_a_position() {
        let file: Arc<str> = Arc::from("bad.yaml");
        let mut d = Vec::new();
        parse_file(&file, "- rule: [unclosed\n", &mut d);
        assert_eq!(d.len(), 1);
        assert!(d[0].to_string().starts_with("bad.yaml:"), "{}", d[0]);
    }
}
