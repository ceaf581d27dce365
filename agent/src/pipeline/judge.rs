//! Judging: the rule engine evaluated on each enriched event, and a match
//! turned into an [`Alert`] with its full context (process and ancestors,
//! container, pod, every field the rule used).

use std::{collections::BTreeMap, sync::Arc};

use arc_swap::ArcSwap;

use crate::{
    alert::record::{
        Alert, AlertContainer, AlertEvent, AlertK8s, AlertProcess, AncestorInfo, Priority,
        format_rfc3339_ns,
    },
    context::{Context, ProcessInfo},
    event::{Event, EventBody},
    rules::{Engine, Match, Scratch},
};

/// Ancestors carried by an alert (parent first).
const ALERT_ANCESTORS: usize = 8;

/// The judge's reusable state: no allocation per event when nothing matches.
pub struct Judge {
    engine: Arc<ArcSwap<Engine>>,
    scratch: Scratch,
    matches: Vec<Match>,
    node: String,
}

impl Judge {
    pub fn new(engine: Arc<ArcSwap<Engine>>, node: String) -> Judge {
        Judge {
            engine,
            scratch: Scratch::new(),
            matches: Vec::with_capacity(8),
            node,
        }
    }

    /// Evaluate `event`; each match becomes an alert handed to `out`.
    pub fn judge(&mut self, event: &Event, ctx: &dyn Context, mut out: impl FnMut(Alert)) {
        let engine = self.engine.load();
        self.matches.clear();
        engine.evaluate_with(&mut self.scratch, event, ctx, &mut self.matches);
        for m in &self.matches {
            if let Some(rendered) = engine.render(m, event, ctx) {
                out(build_alert(rendered, event, ctx, &self.node));
            }
        }
    }
}

fn cmdline(p: &ProcessInfo) -> String {
    let mut s = p.name.to_string();
    for a in p.args.iter() {
        s.push(' ');
        s.push_str(a);
    }
    s
}

fn event_args(event: &Event) -> BTreeMap<String, serde_json::Value> {
    let value = match &event.body {
        EventBody::Syscall(s) => {
            let mut v = serde_json::to_value(&s.args).unwrap_or_default();
            if let serde_json::Value::Object(map) = &mut v {
                map.insert("res".into(), s.ret.into());
                if let Some(p) = &s.fd_path {
                    map.insert("fd_path".into(), p.clone().into());
                }
                if let Some(t) = &s.tuple {
                    map.insert("tuple".into(), serde_json::to_value(t).unwrap_or_default());
                }
            }
            v
        }
        other => serde_json::to_value(other).unwrap_or_default(),
    };
    match value {
        serde_json::Value::Object(map) => map.into_iter().filter(|(k, _)| k != "type").collect(),
        _ => BTreeMap::new(),
    }
}

fn build_alert(r: crate::rules::Alert, event: &Event, ctx: &dyn Context, node: &str) -> Alert {
    let h = &event.header;
    let me = ctx.process(h.tgid);
    let mut ancestors = Vec::new();
    let mut ppid = me.map_or(h.ppid, |p| p.ppid);
    for _ in 0..ALERT_ANCESTORS {
        let Some(p) = ctx.process(ppid) else {
            break;
        };
        ancestors.push(AncestorInfo {
            pid: p.pid,
            name: p.name.to_string(),
            exe: p.exe.to_string(),
            cmdline: cmdline(p),
        });
        if p.ppid == 0 || p.ppid == p.pid {
            break;
        }
        ppid = p.ppid;
    }
    let container = ctx.container(h.cgroup_id);
    let process = AlertProcess {
        pid: h.tgid,
        ppid: me.map_or(h.ppid, |p| p.ppid),
        name: me.map_or_else(|| h.comm.to_string(), |p| p.name.to_string()),
        exe: me.map(|p| p.exe.to_string()).unwrap_or_default(),
        cmdline: me.map(cmdline).unwrap_or_else(|| h.comm.to_string()),
        uid: h.uid,
        user: me.and_then(|p| p.user_name.as_deref().map(str::to_owned)),
        tty: me.map_or(0, |p| p.tty),
        ancestors,
    };
    let fields = r
        .fields
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                v.map_or(serde_json::Value::Null, serde_json::Value::String),
            )
        })
        .collect();
    Alert {
        seq: 0,
        time: format_rfc3339_ns(h.time_ns),
        time_ns: h.time_ns,
        node: node.to_string(),
        rule: r.rule,
        priority: r
            .priority
            .as_str()
            .parse::<Priority>()
            .unwrap_or(Priority::Warning),
        tags: r.tags,
        source: r.source,
        output: r.output.trim_end().to_string(),
        event: AlertEvent {
            kind: event.type_name().to_string(),
            args: event_args(event),
        },
        process,
        container: AlertContainer {
            id: container.map_or_else(|| "host".to_string(), |c| c.id.clone()),
            name: container.and_then(|c| c.name.clone()),
            image: container.and_then(|c| c.image.clone()),
            image_digest: container.and_then(|c| c.image_digest.clone()),
            runtime: container.map_or_else(|| "host".to_string(), |c| c.runtime.clone()),
        },
        k8s: container
            .and_then(|c| c.pod.as_ref())
            .filter(|p| !p.name.is_empty())
            .map(|p| AlertK8s {
                namespace: p.namespace.clone(),
                pod: p.name.clone(),
                labels: p.labels.clone(),
            }),
        fields,
        dedup: None,
    }
}
