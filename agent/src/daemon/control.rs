//! The agent's side of the API's [`AgentControl`]: status counters from
//! every room, the container list, the loaded rules, and rule reloads that
//! validate first and keep the old rules on any error.

use std::{
    sync::{Arc, Mutex, atomic::Ordering},
    time::Instant,
};

use arc_swap::ArcSwap;

use crate::{
    alert::record::Priority,
    api::control::{
        AgentControl, AgentCounters, AgentStatus, ContainerInfo, ProgramInfo, ReloadOutcome,
        RuleErrorInfo, RuleInfo,
    },
    config::Config,
    container::registry::Registry,
    pipeline::PipelineStats,
    rules::{self, Engine},
    sensor::{LossReader, ProgramStatus, Sensor, syscall_table},
};

/// Everything `Status`, `ListContainers`, `ListRules` and `ReloadRules`
/// read or change.
pub struct Control {
    pub started: Instant,
    pub programs: Vec<ProgramStatus>,
    pub stats: Arc<PipelineStats>,
    pub loss: Mutex<LossReader>,
    pub registry: Registry,
    pub engine: Arc<ArcSwap<Engine>>,
    pub config: Config,
    pub sensor: Arc<Mutex<Option<Sensor>>>,
    /// (queue name, items lost) counters.
    pub queue_losses: Vec<(String, Arc<std::sync::atomic::AtomicU64>)>,
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

impl AgentControl for Control {
    fn status(&self) -> AgentStatus {
        let snap = self.stats.snapshot();
        let loss = match self.loss.lock() {
            Ok(l) => l.read(),
            Err(poisoned) => poisoned.into_inner().read(),
        };
        let containers = self.registry.containers();
        let drops_per_container = loss
            .per_cgroup
            .iter()
            .map(|(cgroup, n)| {
                let id = containers
                    .iter()
                    .find(|(c, _)| c == cgroup)
                    .map_or_else(|| format!("cgroup:{cgroup}"), |(_, c)| c.id.clone());
                (id, *n)
            })
            .collect();
        AgentStatus {
            version: env!("CARGO_PKG_VERSION").to_string(),
            kernel: kernel_release(),
            hostname: super::hostname(),
            uptime_secs: self.started.elapsed().as_secs(),
            programs: self
                .programs
                .iter()
                .map(|p| ProgramInfo {
                    name: p.name.to_string(),
                    state: if p.attached { "attached" } else { "loaded" }.to_string(),
                    attach_point: p.attach.clone(),
                    error: None,
                })
                .collect(),
            counters: AgentCounters {
                events: snap.records,
                decode_errors: snap.decode_errors,
                drops_per_cpu: loss
                    .per_cpu
                    .iter()
                    .enumerate()
                    .map(|(cpu, n)| (cpu as u32, *n))
                    .collect(),
                drops_per_container,
                queue_losses: self
                    .queue_losses
                    .iter()
                    .map(|(name, n)| (name.clone(), n.load(Ordering::Relaxed)))
                    .collect(),
            },
        }
    }

    fn list_containers(&self) -> Vec<ContainerInfo> {
        let mut out: Vec<ContainerInfo> = Vec::new();
        for (_, c) in self.registry.containers() {
            if out.iter().any(|o| o.id == c.id) {
                continue; // one container, several cgroups (e.g. systemd inside)
            }
            out.push(ContainerInfo {
                id: c.id.clone(),
                name: c.name.clone().unwrap_or_default(),
                image: c.image.clone().unwrap_or_default(),
                image_digest: c.image_digest.clone().unwrap_or_default(),
                runtime: c.runtime.clone(),
                k8s_namespace: c
                    .pod
                    .as_ref()
                    .map(|p| p.namespace.clone())
                    .unwrap_or_default(),
                k8s_pod: c.pod.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
                labels: c
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            });
        }
        out
    }

    fn list_rules(&self) -> Vec<RuleInfo> {
        let engine = self.engine.load();
        engine
            .rules()
            .map(|r| RuleInfo {
                name: r.name.clone(),
                description: r.desc.clone(),
                priority: r.priority.as_str().parse().unwrap_or(Priority::Warning),
                tags: r.tags.clone(),
                enabled: r.enabled,
                source_file: r.file.clone(),
            })
            .collect()
    }

    fn reload_rules(&self, paths: &[String]) -> ReloadOutcome {
        let mut config = self.config.clone();
        if !paths.is_empty() {
            config.rules.files = paths.iter().map(Into::into).collect();
        }
        let sources =
            match crate::cli::rules_sources(&config.rules.files, config.rules.default_rules) {
                Ok(s) => s,
                Err(err) => {
                    return ReloadOutcome {
                        ok: false,
                        rules_loaded: self.loaded(),
                        errors: vec![RuleErrorInfo {
                            message: format!("{err:#}"),
                            ..RuleErrorInfo::default()
                        }],
                    };
                }
            };
        match rules::load(&sources) {
            Ok(loaded) => {
                let mut engine = loaded.engine;
                engine.set_hostname(super::hostname());
                if config.rules.capture_what_rules_need
                    && let Ok(mut sensor) = self.sensor.lock()
                    && let Some(sensor) = sensor.as_mut()
                {
                    let needed = super::syscalls_rules_need(&engine);
                    let scoped = if config.sensor.containers_only {
                        &needed.all
                    } else {
                        &needed.containers_only
                    };
                    match syscall_table::resolve_names(&needed.all)
                        .and_then(|all| Ok((all, syscall_table::resolve_names(scoped)?)))
                    {
                        Ok((handlers, scoped)) => {
                            if let Err(err) = sensor.set_captured(&handlers, &scoped) {
                                tracing::warn!(%err, "updating the captured syscalls failed");
                            }
                            let prefixes = needed.host_open_prefixes.as_deref();
                            if let Err(err) = sensor.set_host_open_prefixes(prefixes) {
                                tracing::warn!(%err, "updating the host-open path filter failed");
                            }
                        }
                        Err(err) => tracing::warn!(%err, "syscalls the rules need"),
                    }
                }
                self.engine.store(Arc::new(engine));
                tracing::info!(rules = self.loaded(), "rules reloaded");
                ReloadOutcome {
                    ok: true,
                    rules_loaded: self.loaded(),
                    errors: Vec::new(),
                }
            }
            Err(err) => ReloadOutcome {
                ok: false,
                rules_loaded: self.loaded(),
                errors: err
                    .errors
                    .iter()
                    .map(|d| RuleErrorInfo {
                        file: d.file.clone(),
                        line: d.pos.map_or(0, |p| p.line),
                        column: d.pos.map_or(0, |p| p.col),
                        message: d.message.clone(),
                    })
                    .collect(),
            },
        }
    }
}

impl Control {
    fn loaded(&self) -> u32 {
        self.engine.load().rules().filter(|r| r.enabled).count() as u32
    }
}
