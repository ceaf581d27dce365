//! Every conversion between Kestrel's Rust types and the wire (protobuf)
//! types lives here: alerts both ways, events, gaps/heartbeats, filters,
//! agent status/containers/rules.

use std::collections::BTreeMap;

use crate::alert::record::{
    self, AlertContainer, AlertEvent, AlertK8s, AlertProcess, AncestorInfo, Dedup, Priority,
};
use crate::api::control::{AgentStatus, ContainerInfo, ReloadOutcome, RuleInfo};
use crate::api::events::EnrichedEvent;
use crate::api::filter::FilterSpec;
use crate::api::proto as pb;
use crate::event::EventBody;

/// Rust priority → wire enum value.
pub fn priority_to_proto(p: Priority) -> pb::Priority {
    match p {
        Priority::Debug => pb::Priority::Debug,
        Priority::Informational => pb::Priority::Informational,
        Priority::Notice => pb::Priority::Notice,
        Priority::Warning => pb::Priority::Warning,
        Priority::Error => pb::Priority::Error,
        Priority::Critical => pb::Priority::Critical,
        Priority::Alert => pb::Priority::Alert,
        Priority::Emergency => pb::Priority::Emergency,
    }
}

/// Wire enum value → Rust priority; `Ok(None)` for UNSPECIFIED, `Err` for a
/// number that is not a priority.
pub fn priority_from_proto(v: i32) -> Result<Option<Priority>, String> {
    match pb::Priority::try_from(v) {
        Ok(pb::Priority::Unspecified) => Ok(None),
        Ok(pb::Priority::Debug) => Ok(Some(Priority::Debug)),
        Ok(pb::Priority::Informational) => Ok(Some(Priority::Informational)),
        Ok(pb::Priority::Notice) => Ok(Some(Priority::Notice)),
        Ok(pb::Priority::Warning) => Ok(Some(Priority::Warning)),
        Ok(pb::Priority::Error) => Ok(Some(Priority::Error)),
        Ok(pb::Priority::Critical) => Ok(Some(Priority::Critical)),
        Ok(pb::Priority::Alert) => Ok(Some(Priority::Alert)),
        Ok(pb::Priority::Emergency) => Ok(Some(Priority::Emergency)),
        Err(_) => Err(format!("unknown priority value {v}")),
    }
}

fn json_map_to_proto(m: &BTreeMap<String, serde_json::Value>) -> BTreeMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.to_string())).collect()
}

fn json_map_from_proto(
    m: &BTreeMap<String, String>,
    what: &str,
) -> Result<BTreeMap<String, serde_json::Value>, String> {
    m.iter()
        .map(|(k, v)| {
            serde_json::from_str(v)
                .map(|v| (k.clone(), v))
                .map_err(|e| format!("{what}[{k:?}] is not JSON: {e}"))
        })
        .collect()
}

/// Alert → wire.
pub fn alert_to_proto(a: &record::Alert) -> pb::Alert {
    pb::Alert {
        seq: a.seq,
        time: a.time.clone(),
        time_ns: a.time_ns,
        node: a.node.clone(),
        rule: a.rule.clone(),
        priority: priority_to_proto(a.priority) as i32,
        tags: a.tags.clone(),
        source: a.source.clone(),
        output: a.output.clone(),
        event: Some(pb::AlertEvent {
            kind: a.event.kind.clone(),
            args_json: json_map_to_proto(&a.event.args),
        }),
        process: Some(pb::AlertProcess {
            pid: a.process.pid,
            ppid: a.process.ppid,
            name: a.process.name.clone(),
            exe: a.process.exe.clone(),
            cmdline: a.process.cmdline.clone(),
            uid: a.process.uid,
            user: a.process.user.clone(),
            tty: a.process.tty,
            ancestors: a
                .process
                .ancestors
                .iter()
                .map(|p| pb::Ancestor {
                    pid: p.pid,
                    name: p.name.clone(),
                    exe: p.exe.clone(),
                    cmdline: p.cmdline.clone(),
                })
                .collect(),
        }),
        container: Some(pb::AlertContainer {
            id: a.container.id.clone(),
            name: a.container.name.clone(),
            image: a.container.image.clone(),
            image_digest: a.container.image_digest.clone(),
            runtime: a.container.runtime.clone(),
        }),
        k8s: a.k8s.as_ref().map(|k| pb::AlertK8s {
            namespace: k.namespace.clone(),
            pod: k.pod.clone(),
            labels: k.labels.clone(),
        }),
        fields_json: json_map_to_proto(&a.fields),
        dedup: a.dedup.as_ref().map(|d| pb::Dedup {
            count: d.count,
            first_seen: d.first_seen.clone(),
            last_seen: d.last_seen.clone(),
            first_seq: d.first_seq,
        }),
    }
}

/// Wire → alert. Missing sub-messages become empty values; an unknown
/// priority or non-JSON field value is an error.
pub fn alert_from_proto(a: pb::Alert) -> Result<record::Alert, String> {
    let priority = priority_from_proto(a.priority)?.ok_or("alert without priority")?;
    let event = a.event.unwrap_or_default();
    let p = a.process.unwrap_or_default();
    let c = a.container.unwrap_or_default();
    Ok(record::Alert {
        seq: a.seq,
        time: a.time,
        time_ns: a.time_ns,
        node: a.node,
        rule: a.rule,
        priority,
        tags: a.tags,
        source: a.source,
        output: a.output,
        event: AlertEvent {
            kind: event.kind,
            args: json_map_from_proto(&event.args_json, "event.args")?,
        },
        process: AlertProcess {
            pid: p.pid,
            ppid: p.ppid,
            name: p.name,
            exe: p.exe,
            cmdline: p.cmdline,
            uid: p.uid,
            user: p.user,
            tty: p.tty,
            ancestors: p
                .ancestors
                .into_iter()
                .map(|x| AncestorInfo {
                    pid: x.pid,
                    name: x.name,
                    exe: x.exe,
                    cmdline: x.cmdline,
                })
                .collect(),
        },
        container: AlertContainer {
            id: c.id,
            name: c.name,
            image: c.image,
            image_digest: c.image_digest,
            runtime: c.runtime,
        },
        k8s: a.k8s.map(|k| AlertK8s {
            namespace: k.namespace,
            pod: k.pod,
            labels: k.labels,
        }),
        fields: json_map_from_proto(&a.fields_json, "fields")?,
        dedup: a.dedup.map(|d| Dedup {
            count: d.count,
            first_seen: d.first_seen,
            last_seen: d.last_seen,
            first_seq: d.first_seq,
        }),
    })
}

/// Wire filter → [`FilterSpec`].
pub fn filter_from_proto(f: Option<pb::Filter>) -> Result<FilterSpec, String> {
    let f = f.unwrap_or_default();
    Ok(FilterSpec {
        min_priority: priority_from_proto(f.min_priority)?,
        rules: f.rules,
        tags: f.tags,
        container_ids: f.container_ids,
        container_images: f.container_images,
        k8s_namespaces: f.k8s_namespaces,
        k8s_pods: f.k8s_pods,
        condition: f.condition,
    })
}

/// [`FilterSpec`] → wire filter.
pub fn filter_to_proto(f: &FilterSpec) -> pb::Filter {
    pb::Filter {
        min_priority: f
            .min_priority
            .map_or(pb::Priority::Unspecified, priority_to_proto) as i32,
        rules: f.rules.clone(),
        tags: f.tags.clone(),
        container_ids: f.container_ids.clone(),
        container_images: f.container_images.clone(),
        k8s_namespaces: f.k8s_namespaces.clone(),
        k8s_pods: f.k8s_pods.clone(),
        condition: f.condition.clone(),
    }
}

/// Unix ns → protobuf timestamp.
pub fn timestamp(unix_ns: u64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: i64::try_from(unix_ns / 1_000_000_000).unwrap_or(i64::MAX),
        // < 1e9, fits.
        nanos: (unix_ns % 1_000_000_000) as i32,
    }
}

/// Protobuf timestamp → unix ns; `Err` for a pre-1970 or malformed one.
pub fn timestamp_to_ns(t: &prost_types::Timestamp) -> Result<u64, String> {
    if t.seconds < 0 || !(0..1_000_000_000).contains(&t.nanos) {
        return Err(format!(
            "timestamp {}s {}ns is before 1970 or malformed",
            t.seconds, t.nanos
        ));
    }
    (t.seconds as u64)
        .checked_mul(1_000_000_000)
        .and_then(|s| s.checked_add(t.nanos as u64))
        .ok_or_else(|| format!("timestamp {}s is too far in the future", t.seconds))
}

fn endpoint(a: &crate::event::SockAddr) -> String {
    use crate::event::SockAddr;
    match a {
        SockAddr::Inet { addr, port } => format!("{addr}:{port}"),
        SockAddr::Inet6 { addr, port } => format!("[{addr}]:{port}"),
        SockAddr::Unix { path } => path.clone(),
        SockAddr::Other { family_id } => format!("family{family_id}"),
    }
}

/// `tcp 10.0.0.2:41000->10.0.0.9:443`.
fn tuple_string(t: &crate::event::SockTuple) -> String {
    format!(
        "{} {}->{}",
        t.proto,
        endpoint(&t.local),
        endpoint(&t.remote)
    )
}

/// Enriched event → wire.
pub fn event_to_proto(seq: u64, e: &EnrichedEvent) -> pb::Event {
    let h = &e.event.header;
    let body = match &e.event.body {
        EventBody::Exec(x) => pb::event::Body::Exec(pb::ExecBody {
            filename: x.filename.to_string(),
            args: x.args.clone(),
            args_truncated: x.args_truncated,
            filename_truncated: x.filename_truncated,
            old_pid: x.old_pid,
            exe_path: x.exe_path.to_string(),
            cwd: x.cwd.to_string(),
            exe_upper_layer: x.exe_upper_layer,
            exe_from_memfd: x.exe_from_memfd,
            exe_deleted: x.exe_deleted,
            euid: x.euid,
            loginuid: x.loginuid,
            tty: x.tty,
            cap_effective: x.cap_effective,
            pid_ns_level: x.pid_ns_level,
        }),
        EventBody::Syscall(x) => pb::event::Body::Syscall(pb::SyscallBody {
            name: x.name.to_string(),
            nr: x.nr,
            ret: x.ret,
            args_json: serde_json::to_string(&x.args).unwrap_or_default(),
            fd_path: x.fd_path.clone().unwrap_or_default(),
            tuple: x.tuple.as_ref().map(tuple_string).unwrap_or_default(),
            truncated: x.truncated,
            dir: x.dir.clone().unwrap_or_default(),
        }),
        EventBody::FirstSyscall(x) => pb::event::Body::FirstSyscall(pb::FirstSyscallBody {
            nr: x.nr,
            name: x.name.clone(),
        }),
        EventBody::Cgroup(x) => pb::event::Body::Cgroup(pb::CgroupBody {
            created: x.created,
            id: x.id,
            path: x.path.clone(),
        }),
        EventBody::Fork(x) => pb::event::Body::Fork(pb::ForkBody {
            child_pid: x.child_pid,
            child_tgid: x.child_tgid,
        }),
        EventBody::Exit(x) => pb::event::Body::Exit(pb::ExitBody {
            status: x.status,
            signal: x.signal,
            group_dead: x.group_dead,
        }),
    };
    pb::Event {
        seq,
        time_ns: h.time_ns,
        ktime_ns: h.ktime_ns,
        cpu: h.cpu,
        pid: h.pid,
        tgid: h.tgid,
        ppid: h.ppid,
        uid: h.uid,
        gid: h.gid,
        cgroup_id: h.cgroup_id,
        comm: h.comm.as_str().to_string(),
        body: Some(body),
        container_id: e.container_id.clone().unwrap_or_default(),
        container_image: e.container_image.clone().unwrap_or_default(),
        k8s_namespace: e.k8s_namespace.clone().unwrap_or_default(),
        k8s_pod: e.k8s_pod.clone().unwrap_or_default(),
    }
}

/// Agent status (plus hub stats) → wire.
pub fn status_to_proto(s: AgentStatus, hub: &crate::alert::HubStats) -> pb::StatusResponse {
    pb::StatusResponse {
        version: s.version,
        kernel: s.kernel,
        hostname: s.hostname,
        uptime_secs: s.uptime_secs,
        programs: s
            .programs
            .into_iter()
            .map(|p| pb::ProgramStatus {
                name: p.name,
                state: p.state,
                attach_point: p.attach_point,
                error: p.error.unwrap_or_default(),
            })
            .collect(),
        counters: Some(pb::Counters {
            events: s.counters.events,
            decode_errors: s.counters.decode_errors,
            drops_per_cpu: s
                .counters
                .drops_per_cpu
                .into_iter()
                .map(|(cpu, drops)| pb::CpuDrops { cpu, drops })
                .collect(),
            drops_per_container: s
                .counters
                .drops_per_container
                .into_iter()
                .map(|(container_id, drops)| pb::ContainerDrops {
                    container_id,
                    drops,
                })
                .collect(),
            queue_losses: s.counters.queue_losses.into_iter().collect(),
        }),
        alerts: Some(pb::AlertStats {
            last_seq: hub.last_seq,
            published: hub.published,
            folded: hub.dedup.folded,
            summaries: hub.dedup.summaries,
            dedup_evictions: hub.dedup.evictions,
            subscribers: hub.subscribers,
            subscriber_drops: hub.subscriber_drops,
            log_bytes: hub.log_bytes,
            log_first_seq: hub.log_first_seq.unwrap_or(0),
        }),
    }
}

pub fn container_to_proto(c: ContainerInfo) -> pb::Container {
    pb::Container {
        id: c.id,
        name: c.name,
        image: c.image,
        image_digest: c.image_digest,
        runtime: c.runtime,
        k8s_namespace: c.k8s_namespace,
        k8s_pod: c.k8s_pod,
        labels: c.labels.into_iter().collect(),
    }
}

pub fn rule_to_proto(r: RuleInfo) -> pb::Rule {
    pb::Rule {
        name: r.name,
        description: r.description,
        priority: priority_to_proto(r.priority) as i32,
        tags: r.tags,
        enabled: r.enabled,
        source_file: r.source_file,
    }
}

pub fn reload_to_proto(r: ReloadOutcome) -> pb::ReloadRulesResponse {
    pb::ReloadRulesResponse {
        ok: r.ok,
        rules_loaded: r.rules_loaded,
        errors: r
            .errors
            .into_iter()
            .map(|e| pb::RuleError {
                file: e.file,
                line: e.line,
                column: e.column,
                message: e.message,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_round_trips_through_proto() {
        let mut a = crate::alert::record::sample_alert();
        a.fields.insert("big".into(), serde_json::json!(u64::MAX));
        a.dedup = Some(Dedup {
            count: 3,
            first_seen: "a".into(),
            last_seen: "b".into(),
            first_seq: 9,
        });
        let back = alert_from_proto(alert_to_proto(&a)).unwrap();
        assert_eq!(back, a);
        let mut bad = alert_to_proto(&a);
        bad.priority = 99;
        assert!(alert_from_proto(bad).is_err());
    }

    #[test]
    fn timestamps_convert() {
        assert_eq!(
            timestamp_to_ns(&timestamp(1_500_000_000_123)).unwrap(),
            1_500_000_000_123
        );
        assert!(
            timestamp_to_ns(&prost_types::Timestamp {
                seconds: -1,
                nanos: 0
            })
            .is_err()
        );
        assert!(
            timestamp_to_ns(&prost_types::Timestamp {
                seconds: 1,
                nanos: -5
            })
            .is_err()
        );
        assert!(
            timestamp_to_ns(&prost_types::Timestamp {
                seconds: i64::MAX,
                nanos: 0
            })
            .is_err()
        );
    }
}
