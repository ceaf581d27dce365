//! Server-side filters of the API in the rule language. Event filters are
//! compiled by the real rule engine (with the default macros and lists, so
//! `spawned_process and container` works) and evaluated on each enriched
//! event with its container; alert filters use the API's built-in
//! evaluator over the alert's own fields (rule, priority, container, and
//! every field the rule used).

use std::sync::Arc;

use crate::{
    alert::record::Alert,
    api::{
        events::EnrichedEvent,
        filter::{BuiltinConditions, ConditionCompiler, Predicate},
    },
    context::{ContainerInfo, Context, PodMeta, ProcessInfo},
    rules::{self, RuleSource},
};

/// The agent's [`ConditionCompiler`].
pub struct RuleConditions;

const FILTER_RULE: &str = "__kestrel_api_filter";

/// The container an enriched event carries, as the engine's context.
struct EventContext(Option<ContainerInfo>);

impl Context for EventContext {
    fn process(&self, _tgid: u32) -> Option<&ProcessInfo> {
        None
    }

    fn container(&self, _cgroup_id: u64) -> Option<&ContainerInfo> {
        self.0.as_ref()
    }
}

fn context_of(e: &EnrichedEvent) -> EventContext {
    EventContext(e.container_id.as_ref().map(|id| ContainerInfo {
        id: id.clone(),
        image: e.container_image.clone(),
        pod: e.k8s_pod.as_ref().map(|pod| PodMeta {
            name: pod.clone(),
            namespace: e.k8s_namespace.clone().unwrap_or_default(),
            ..PodMeta::default()
        }),
        ..ContainerInfo::default()
    }))
}

impl ConditionCompiler for RuleConditions {
    fn compile_alert_filter(&self, expr: &str) -> Result<Predicate<Alert>, String> {
        BuiltinConditions.compile_alert_filter(expr)
    }

    fn compile_event_filter(&self, expr: &str) -> Result<Predicate<EnrichedEvent>, String> {
        let condition = expr.replace(['\n', '\r'], " ");
        let yaml = format!(
            "- rule: {FILTER_RULE}\n  desc: API event filter\n  condition: >-\n    {condition}\n  output: filter\n  priority: DEBUG\n"
        );
        let mut sources = rules::default_sources();
        sources.push(RuleSource::new("filter", yaml));
        let loaded = rules::load(&sources).map_err(|err| {
            let first = err
                .errors
                .iter()
                .find(|d| d.file == "filter")
                .or(err.errors.first())
                .map(|d| d.message.clone())
                .unwrap_or_default();
            format!("bad filter expression `{expr}`: {first}")
        })?;
        let engine = Arc::new(loaded.engine);
        let index = engine
            .rules()
            .position(|r| r.name == FILTER_RULE)
            .ok_or_else(|| format!("bad filter expression `{expr}`"))? as u32;
        Ok(Box::new(move |e: &EnrichedEvent| {
            let ctx = context_of(e);
            let mut matches = Vec::new();
            engine.evaluate(&e.event, &ctx, &mut matches);
            matches.iter().any(|m| m.rule == index)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Comm, Event, EventBody, Exec, Header};

    fn exec(name: &str, container: Option<&str>) -> EnrichedEvent {
        EnrichedEvent {
            event: Event {
                header: Header {
                    time_ns: 1,
                    ktime_ns: 1,
                    cpu: 0,
                    pid: 7,
                    tgid: 7,
                    ppid: 1,
                    uid: 0,
                    gid: 0,
                    cgroup_id: 9,
                    comm: Comm::new(name),
                },
                body: EventBody::Exec(Exec {
                    filename: compact_str::format_compact!("/usr/bin/{name}"),
                    args: vec![name.to_string()],
                    exe_path: compact_str::format_compact!("/usr/bin/{name}"),
                    ..Exec::default()
                }),
            },
            container_id: container.map(str::to_string),
            container_image: container.map(|_| "nginx:1".to_string()),
            k8s_namespace: None,
            k8s_pod: None,
        }
    }

    #[test]
    fn event_filter_uses_the_rule_language_with_the_default_macros() {
        let f = RuleConditions
            .compile_event_filter("k_exec and proc.name = curl")
            .expect("compiles");
        assert!(f(&exec("curl", None)));
        assert!(!f(&exec("wget", None)));
    }

    #[test]
    fn event_filter_sees_the_container() {
        let f = RuleConditions
            .compile_event_filter("container.image startswith nginx")
            .expect("compiles");
        assert!(f(&exec("curl", Some(&"a".repeat(64)))));
        assert!(!f(&exec("curl", None)));
    }

    #[test]
    fn bad_event_filter_is_a_clear_error() {
        let err = match RuleConditions.compile_event_filter("proc.nope = 1") {
            Err(e) => e,
            Ok(_) => panic!("a bad field must not compile"),
        };
        assert!(err.contains("proc.nope"), "{err}");
    }
}
