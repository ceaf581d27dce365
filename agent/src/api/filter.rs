//! Subscription filters: the structured part of a request filter (priority,
//! rules, tags, containers, k8s) and the condition-string language.
//!
//! The condition language belongs to the rule engine, which is written
//! elsewhere; the API only needs [`ConditionCompiler`]. This module ships a
//! small replaceable implementation, [`BuiltinConditions`], supporting
//! `field = value`, `field != value`, `field in (a, b)`, `field contains v`,
//! `field startswith v`, `and`, `or`, `not` and parentheses. Values are bare
//! words or quoted strings (`"..."` / `'...'`).

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use crate::alert::record::{Alert, Priority};
use crate::api::events::{EnrichedEvent, EventItem, EventItemKind};

/// A compiled predicate over `T`.
pub type Predicate<T> = Box<dyn Fn(&T) -> bool + Send + Sync>;

/// A compiled predicate shared between the publisher-side bus filter and
/// the history replay.
pub type SharedPredicate<T> = Arc<dyn Fn(&T) -> bool + Send + Sync>;

/// Compiles condition strings into predicates. Implemented by the rule
/// engine in the agent; [`BuiltinConditions`] is the stand-in used until
/// then and in tests. Errors are shown to the API client as is (make them
/// say what and where).
pub trait ConditionCompiler: Send + Sync {
    fn compile_alert_filter(&self, expr: &str) -> Result<Predicate<Alert>, String>;
    fn compile_event_filter(&self, expr: &str) -> Result<Predicate<EnrichedEvent>, String>;
}

/// The structured part of a filter (everything but the condition). Every
/// non-empty list must match (AND across fields), any entry of a list may
/// match (OR within).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterSpec {
    pub min_priority: Option<Priority>,
    pub rules: Vec<String>,
    pub tags: Vec<String>,
    /// Exact or prefix match.
    pub container_ids: Vec<String>,
    /// Exact or prefix match.
    pub container_images: Vec<String>,
    pub k8s_namespaces: Vec<String>,
    pub k8s_pods: Vec<String>,
    /// Condition string; empty = none.
    pub condition: String,
}

fn prefix_any(list: &[String], value: Option<&str>) -> bool {
    list.is_empty()
        || value.is_some_and(|v| {
            list.iter()
                .any(|p| !p.is_empty() && v.starts_with(p.as_str()))
        })
}

fn exact_any(list: &[String], value: Option<&str>) -> bool {
    list.is_empty() || value.is_some_and(|v| list.iter().any(|p| p == v))
}

/// Compiles a filter for alerts. Empty filter → accepts everything.
pub fn compile_alert_filter(
    spec: &FilterSpec,
    conditions: &dyn ConditionCompiler,
) -> Result<SharedPredicate<Alert>, String> {
    let cond = match spec.condition.trim() {
        "" => None,
        expr => Some(conditions.compile_alert_filter(expr)?),
    };
    let min = spec.min_priority;
    let rules: HashSet<String> = spec.rules.iter().cloned().collect();
    let spec = spec.clone();
    Ok(Arc::new(move |a: &Alert| {
        min.is_none_or(|m| a.priority >= m)
            && (rules.is_empty() || rules.contains(&a.rule))
            && (spec.tags.is_empty() || a.tags.iter().any(|t| spec.tags.contains(t)))
            && prefix_any(&spec.container_ids, Some(&a.container.id))
            && prefix_any(&spec.container_images, a.container.image.as_deref())
            && exact_any(
                &spec.k8s_namespaces,
                a.k8s.as_ref().map(|k| k.namespace.as_str()),
            )
            && exact_any(&spec.k8s_pods, a.k8s.as_ref().map(|k| k.pod.as_str()))
            && cond.as_ref().is_none_or(|c| c(a))
    }))
}

/// Compiles a filter for the event stream. Alert-only fields (priority,
/// rules, tags) are an error. Kernel-drop notices always pass.
pub fn compile_event_filter(
    spec: &FilterSpec,
    conditions: &dyn ConditionCompiler,
) -> Result<SharedPredicate<EventItem>, String> {
    if spec.min_priority.is_some() || !spec.rules.is_empty() || !spec.tags.is_empty() {
        return Err("min_priority, rules and tags apply to alerts only, not to events".into());
    }
    let cond = match spec.condition.trim() {
        "" => None,
        expr => Some(conditions.compile_event_filter(expr)?),
    };
    let spec = spec.clone();
    Ok(Arc::new(move |item: &EventItem| match &item.kind {
        EventItemKind::KernelDrops { .. } => true,
        EventItemKind::Event(e) => {
            prefix_any(&spec.container_ids, e.container_id.as_deref())
                && prefix_any(&spec.container_images, e.container_image.as_deref())
                && exact_any(&spec.k8s_namespaces, e.k8s_namespace.as_deref())
                && exact_any(&spec.k8s_pods, e.k8s_pod.as_deref())
                && cond.as_ref().is_none_or(|c| c(e))
        }
    }))
}

// ---------------------------------------------------------------------------
// The built-in condition language.

/// The built-in condition language (see the module docs). Alert fields:
/// `rule`, `priority`, `source`, `node`, `tags`, `seq`, `evt.type`,
/// `proc.name`, `proc.exe`, `proc.cmdline`, `proc.pid`, `proc.ppid`,
/// `user.uid`, `user.name`, `container.id`, `container.name`,
/// `container.image`, `k8s.ns.name`, `k8s.pod.name`, and any other dotted
/// name is looked up in the alert's rule `fields`. Event fields: `evt.type`,
/// `evt.cpu`, `proc.name`, `proc.pid`, `thread.tid`, `proc.ppid`,
/// `user.uid`, `proc.exe`, `proc.cmdline`, `container.id`,
/// `container.image`, `k8s.ns.name`, `k8s.pod.name`, `cgroup.id`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinConditions;

impl ConditionCompiler for BuiltinConditions {
    fn compile_alert_filter(&self, expr: &str) -> Result<Predicate<Alert>, String> {
        let ast = Parser::parse(expr, &alert_field)?;
        Ok(Box::new(move |a: &Alert| ast.eval(a)))
    }

    fn compile_event_filter(&self, expr: &str) -> Result<Predicate<EnrichedEvent>, String> {
        let ast = Parser::parse(expr, &event_field)?;
        Ok(Box::new(move |e: &EnrichedEvent| ast.eval(e)))
    }
}

type Getter<T> = Box<dyn for<'a> Fn(&'a T) -> Vec<Cow<'a, str>> + Send + Sync>;

fn one<'a>(s: impl Into<Cow<'a, str>>) -> Vec<Cow<'a, str>> {
    vec![s.into()]
}

fn opt<'a>(s: Option<&'a str>) -> Vec<Cow<'a, str>> {
    s.map(|s| vec![Cow::Borrowed(s)]).unwrap_or_default()
}

fn alert_field(name: &str) -> Option<Getter<Alert>> {
    let g: Getter<Alert> = match name {
        "rule" => Box::new(|a| one(a.rule.as_str())),
        "priority" => Box::new(|a| one(a.priority.as_str())),
        "source" => Box::new(|a| one(a.source.as_str())),
        "node" | "hostname" => Box::new(|a| one(a.node.as_str())),
        "tags" => Box::new(|a| a.tags.iter().map(|t| Cow::Borrowed(t.as_str())).collect()),
        "seq" => Box::new(|a| one(a.seq.to_string())),
        "evt.type" => Box::new(|a| one(a.event.kind.as_str())),
        "proc.name" => Box::new(|a| one(a.process.name.as_str())),
        "proc.exe" | "proc.exepath" => Box::new(|a| one(a.process.exe.as_str())),
        "proc.cmdline" => Box::new(|a| one(a.process.cmdline.as_str())),
        "proc.pid" => Box::new(|a| one(a.process.pid.to_string())),
        "proc.ppid" => Box::new(|a| one(a.process.ppid.to_string())),
        "proc.pname" => Box::new(|a| opt(a.process.ancestors.first().map(|p| p.name.as_str()))),
        "user.uid" => Box::new(|a| one(a.process.uid.to_string())),
        "user.name" => Box::new(|a| opt(a.process.user.as_deref())),
        "container.id" => Box::new(|a| one(a.container.id.as_str())),
        "container.name" => Box::new(|a| opt(a.container.name.as_deref())),
        "container.image" | "container.image.repository" => {
            Box::new(|a| opt(a.container.image.as_deref()))
        }
        "k8s.ns.name" => Box::new(|a| opt(a.k8s.as_ref().map(|k| k.namespace.as_str()))),
        "k8s.pod.name" => Box::new(|a| opt(a.k8s.as_ref().map(|k| k.pod.as_str()))),
        other if other.contains('.') && !other.starts_with('.') && !other.ends_with('.') => {
            let key = other.to_string();
            Box::new(move |a: &Alert| match a.fields.get(&key) {
                None | Some(serde_json::Value::Null) => vec![],
                Some(serde_json::Value::String(s)) => one(s.as_str()),
                Some(v) => one(v.to_string()),
            })
        }
        _ => return None,
    };
    Some(g)
}

fn event_field(name: &str) -> Option<Getter<EnrichedEvent>> {
    use crate::event::EventBody;
    let g: Getter<EnrichedEvent> = match name {
        "evt.type" => Box::new(|e| one(e.event.kind().as_str())),
        "evt.cpu" => Box::new(|e| one(e.event.header.cpu.to_string())),
        "proc.name" => Box::new(|e| one(e.event.header.comm.as_str())),
        "proc.pid" => Box::new(|e| one(e.event.header.tgid.to_string())),
        "thread.tid" => Box::new(|e| one(e.event.header.pid.to_string())),
        "proc.ppid" => Box::new(|e| one(e.event.header.ppid.to_string())),
        "user.uid" => Box::new(|e| one(e.event.header.uid.to_string())),
        "cgroup.id" => Box::new(|e| one(e.event.header.cgroup_id.to_string())),
        "proc.exe" => Box::new(|e| match &e.event.body {
            EventBody::Exec(x) => one(x.filename.as_str()),
            _ => vec![],
        }),
        "proc.cmdline" => Box::new(|e| match &e.event.body {
            EventBody::Exec(x) => one(x.args.join(" ")),
            _ => vec![],
        }),
        "container.id" => Box::new(|e| opt(e.container_id.as_deref())),
        "container.image" => Box::new(|e| opt(e.container_image.as_deref())),
        "k8s.ns.name" => Box::new(|e| opt(e.k8s_namespace.as_deref())),
        "k8s.pod.name" => Box::new(|e| opt(e.k8s_pod.as_deref())),
        _ => return None,
    };
    Some(g)
}

enum Op {
    Eq,
    Ne,
    In,
    Contains,
    StartsWith,
}

enum Expr<T> {
    And(Box<Expr<T>>, Box<Expr<T>>),
    Or(Box<Expr<T>>, Box<Expr<T>>),
    Not(Box<Expr<T>>),
    Cmp {
        get: Getter<T>,
        op: Op,
        values: Vec<String>,
    },
}

impl<T> Expr<T> {
    fn eval(&self, item: &T) -> bool {
        match self {
            Expr::And(a, b) => a.eval(item) && b.eval(item),
            Expr::Or(a, b) => a.eval(item) || b.eval(item),
            Expr::Not(a) => !a.eval(item),
            Expr::Cmp { get, op, values } => {
                let got = get(item);
                let any = |f: &dyn Fn(&str, &str) -> bool| {
                    got.iter().any(|g| values.iter().any(|v| f(g, v)))
                };
                match op {
                    Op::Eq | Op::In => any(&|g, v| g == v),
                    Op::Ne => !any(&|g, v| g == v),
                    Op::Contains => any(&|g, v| g.contains(v)),
                    Op::StartsWith => any(&|g, v| g.starts_with(v)),
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    LParen,
    RParen,
    Comma,
    Eq,
    Ne,
}

/// Most tokens accepted in one expression (bounds work per request).
const MAX_TOKENS: usize = 4096;
/// Deepest nesting of parentheses/`not`.
const MAX_DEPTH: usize = 64;

fn tokenize(s: &str) -> Result<Vec<(usize, Tok)>, String> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if out.len() > MAX_TOKENS {
            return Err(format!(
                "expression too long (more than {MAX_TOKENS} tokens)"
            ));
        }
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push((i, Tok::LParen));
            }
            ')' => {
                chars.next();
                out.push((i, Tok::RParen));
            }
            ',' => {
                chars.next();
                out.push((i, Tok::Comma));
            }
            '=' => {
                chars.next();
                if chars.peek().is_some_and(|&(_, c)| c == '=') {
                    chars.next();
                }
                out.push((i, Tok::Eq));
            }
            '!' => {
                chars.next();
                match chars.next() {
                    Some((_, '=')) => out.push((i, Tok::Ne)),
                    _ => return Err(format!("at {i}: expected '!='")),
                }
            }
            '"' | '\'' => {
                let quote = c;
                chars.next();
                let mut v = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    if c == '\\' {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    } else if c == quote {
                        closed = true;
                        break;
                    } else {
                        v.push(c);
                    }
                }
                if !closed {
                    return Err(format!("at {i}: unterminated string"));
                }
                out.push((i, Tok::Quoted(v)));
            }
            _ => {
                let mut v = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || "(),=!\"'".contains(c) {
                        break;
                    }
                    v.push(c);
                    chars.next();
                }
                out.push((i, Tok::Word(v)));
            }
        }
    }
    Ok(out)
}

struct Parser<'r, T> {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    resolve: &'r dyn Fn(&str) -> Option<Getter<T>>,
}

impl<'r, T> Parser<'r, T> {
    fn parse(
        expr: &str,
        resolve: &'r dyn Fn(&str) -> Option<Getter<T>>,
    ) -> Result<Expr<T>, String> {
        let toks = tokenize(expr)?;
        if toks.is_empty() {
            return Err("empty condition".into());
        }
        let mut p = Parser {
            toks,
            pos: 0,
            end: expr.len(),
            resolve,
        };
        let e = p.or(0)?;
        if let Some((at, t)) = p.toks.get(p.pos) {
            return Err(format!("at {at}: unexpected {}", describe(t)));
        }
        Ok(e)
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(i, _)| *i)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        t
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn or(&mut self, depth: usize) -> Result<Expr<T>, String> {
        let mut left = self.and(depth)?;
        while self.is_kw("or") {
            self.pos += 1;
            let right = self.and(depth)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Expr<T>, String> {
        let mut left = self.unary(depth)?;
        while self.is_kw("and") {
            self.pos += 1;
            let right = self.unary(depth)?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Expr<T>, String> {
        if depth > MAX_DEPTH {
            return Err(format!("at {}: expression nested too deeply", self.at()));
        }
        if self.is_kw("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary(depth + 1)?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or(depth + 1)?;
            let at = self.at();
            return match self.next() {
                Some(Tok::RParen) => Ok(e),
                _ => Err(format!("at {at}: expected ')'")),
            };
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr<T>, String> {
        let at = self.at();
        let field = match self.next() {
            Some(Tok::Word(w)) => w,
            Some(t) => {
                return Err(format!(
                    "at {at}: expected a field name, found {}",
                    describe(&t)
                ));
            }
            None => return Err(format!("at {at}: expected a field name, found the end")),
        };
        let get =
            (self.resolve)(&field).ok_or_else(|| format!("at {at}: unknown field {field:?}"))?;
        let op_at = self.at();
        let op = match self.next() {
            Some(Tok::Eq) => Op::Eq,
            Some(Tok::Ne) => Op::Ne,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("in") => Op::In,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("contains") => Op::Contains,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("startswith") => Op::StartsWith,
            Some(t) => {
                return Err(format!(
                    "at {op_at}: expected an operator (=, !=, in, contains, startswith) after {field}, found {}",
                    describe(&t)
                ));
            }
            None => return Err(format!("at {op_at}: expected an operator after {field}")),
        };
        let mut values = Vec::new();
        if matches!(op, Op::In) {
            let lp = self.at();
            if self.next() != Some(Tok::LParen) {
                return Err(format!("at {lp}: expected '(' after in"));
            }
            loop {
                values.push(self.value()?);
                let at = self.at();
                match self.next() {
                    Some(Tok::Comma) => {}
                    Some(Tok::RParen) => break,
                    _ => return Err(format!("at {at}: expected ',' or ')' in list")),
                }
            }
        } else {
            values.push(self.value()?);
        }
        if field == "priority" {
            for v in &mut values {
                let p: Priority = v.parse().map_err(|e| format!("at {op_at}: {e}"))?;
                *v = p.as_str().to_string();
            }
        }
        Ok(Expr::Cmp { get, op, values })
    }

    fn value(&mut self) -> Result<String, String> {
        let at = self.at();
        match self.next() {
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => Ok(w),
            Some(t) => Err(format!("at {at}: expected a value, found {}", describe(&t))),
            None => Err(format!("at {at}: expected a value, found the end")),
        }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("{w:?}"),
        Tok::Quoted(w) => format!("\"{w}\""),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Comma => "','".into(),
        Tok::Eq => "'='".into(),
        Tok::Ne => "'!='".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::record::*;
    use std::collections::BTreeMap;

    fn alert() -> Alert {
        Alert {
            seq: 7,
            time: String::new(),
            time_ns: 0,
            node: "n1".into(),
            rule: "Shell in container".into(),
            priority: Priority::Warning,
            tags: vec!["shell".into(), "mitre_execution".into()],
            source: "syscall".into(),
            output: String::new(),
            event: AlertEvent {
                kind: "exec".into(),
                args: BTreeMap::new(),
            },
            process: AlertProcess {
                pid: 12,
                ppid: 10,
                name: "bash".into(),
                exe: "/bin/bash".into(),
                cmdline: "bash -i".into(),
                uid: 0,
                user: Some("root".into()),
                tty: 1,
                ancestors: vec![],
            },
            container: AlertContainer {
                id: "abcdef0123456789".into(),
                name: Some("web".into()),
                image: Some("nginx:1.25".into()),
                image_digest: None,
                runtime: "containerd".into(),
            },
            k8s: Some(AlertK8s {
                namespace: "prod".into(),
                pod: "web-1".into(),
                labels: BTreeMap::new(),
            }),
            fields: [("fd.name".to_string(), serde_json::json!("/etc/shadow"))].into(),
            dedup: None,
        }
    }

    fn check(expr: &str) -> Result<bool, String> {
        BuiltinConditions
            .compile_alert_filter(expr)
            .map(|f| f(&alert()))
    }

    #[test]
    fn conditions_evaluate() {
        assert_eq!(check("proc.name = bash"), Ok(true));
        assert_eq!(check("proc.name != bash"), Ok(false));
        assert_eq!(check("proc.name in (sh, bash)"), Ok(true));
        assert_eq!(check("proc.name in (sh,zsh)"), Ok(false));
        assert_eq!(
            check("rule = \"Shell in container\" and k8s.ns.name = prod"),
            Ok(true)
        );
        assert_eq!(check("not container.id = host"), Ok(true));
        assert_eq!(check("priority = WARNING"), Ok(true));
        assert_eq!(check("tags = shell"), Ok(true));
        assert_eq!(check("fd.name startswith /etc"), Ok(true));
        assert_eq!(
            check("(proc.name = sh or proc.name = bash) and not user.name = nobody"),
            Ok(true)
        );
        assert_eq!(
            check("container.image contains nginx and proc.pid = 12"),
            Ok(true)
        );
    }

    #[test]
    fn bad_conditions_get_clear_errors() {
        for bad in [
            "",
            "proc.name",
            "proc.name =",
            "proc.name = (",
            "nosuchfield = 1",
            "(proc.name = a",
            "proc.name in (a b)",
            "proc.name = 'unterminated",
            "priority = loud",
            "a ! b",
            "proc.name = a extra",
        ] {
            let e = check(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        let deep = "not ".repeat(1000) + "proc.name = a";
        assert!(check(&deep).unwrap_err().contains("deeply"));
    }

    #[test]
    fn structured_filter_fields() {
        let a = alert();
        let f = |spec: FilterSpec| compile_alert_filter(&spec, &BuiltinConditions).unwrap()(&a);
        assert!(f(FilterSpec::default()));
        assert!(f(FilterSpec {
            min_priority: Some(Priority::Notice),
            ..Default::default()
        }));
        assert!(!f(FilterSpec {
            min_priority: Some(Priority::Error),
            ..Default::default()
        }));
        assert!(f(FilterSpec {
            container_ids: vec!["abcdef012345".into()],
            ..Default::default()
        }));
        assert!(!f(FilterSpec {
            container_ids: vec!["ffff".into()],
            ..Default::default()
        }));
        assert!(f(FilterSpec {
            container_images: vec!["nginx".into()],
            ..Default::default()
        }));
        assert!(f(FilterSpec {
            k8s_pods: vec!["web-1".into()],
            ..Default::default()
        }));
        assert!(!f(FilterSpec {
            k8s_namespaces: vec!["dev".into()],
            ..Default::default()
        }));
        assert!(f(FilterSpec {
            tags: vec!["shell".into(), "x".into()],
            ..Default::default()
        }));
        assert!(!f(FilterSpec {
            rules: vec!["other".into()],
            ..Default::default()
        }));
    }
}
