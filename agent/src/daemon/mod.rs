//! The daemon (`kestrel run`): wires the rooms together and runs them.
//!
//! sensor → hot path (decode → enrich → judge, one thread) → alert queue →
//! alert hub (dedup → seq → durable log → bus) → sinks (stdout, file,
//! HTTP) and the gRPC API; the container registry resolves metadata on a
//! tokio task. Stops cleanly on SIGINT or SIGTERM: programs detached,
//! queues drained, dedup windows flushed, final counters logged.

mod conditions;
mod control;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::{Context as _, bail};
use arc_swap::ArcSwap;
use tokio::{
    signal::unix::{SignalKind, signal},
    sync::watch,
};

use crate::{
    alert::{
        AlertHub, HubConfig,
        dedup::DedupConfig,
        log::{FsyncPolicy, LogConfig},
        record::Alert,
    },
    api::{
        events::{EnrichedEvent as ApiEvent, EventHub},
        server::{ApiState, Listen, ServerConfig, StreamConfig, TlsConfig, serve},
    },
    config::Config,
    container::registry::Registry,
    event::{Decoder, Event},
    output::{
        self, QueueSink,
        file::RotatingFile,
        http::{HttpConfig, HttpOutput},
        json,
    },
    pipeline::{
        self, EventSink, HotPath, PipelineStats, Stages,
        enrich::{EnrichStats, Pending},
        judge::Judge,
    },
    process::{ProcessConfig, ProcessTable},
    rules::{self, Engine},
    sensor::Sensor,
};

pub fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("kestrel-rt")
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(run_async(config))
}

/// Load the configured rule files; any error stops start-up with every
/// error's file:line:col.
pub fn load_rules(config: &Config) -> anyhow::Result<Engine> {
    let sources = crate::cli::rules_sources(&config.rules.files, config.rules.default_rules)?;
    if sources.is_empty() {
        bail!("no rules: --no-default-rules needs at least one --rules file");
    }
    match rules::load(&sources) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                tracing::warn!("{warning}");
            }
            let mut engine = loaded.engine;
            engine.set_hostname(hostname());
            let enabled = engine.rules().filter(|r| r.enabled).count();
            tracing::info!(rules = enabled, files = sources.len(), "rules loaded");
            Ok(engine)
        }
        Err(err) => {
            for e in &err.errors {
                eprintln!("{e}");
            }
            bail!("{} error(s) in rule files", err.errors.len())
        }
    }
}

/// The syscalls the loaded rules ask for (by `evt.type`), as sensor names.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SyscallsNeeded {
    /// Every syscall some enabled rule needs.
    pub all: Vec<String>,
    /// Those that only container-scoped rules need (no capture for host
    /// tasks).
    pub containers_only: Vec<String>,
    /// Path prefixes of the files host tasks open that some rule may match
    /// (sorted, deduplicated); `None` when a rule needs host opens of any
    /// path, or no rule needs host opens at all.
    pub host_open_prefixes: Option<Vec<String>>,
}

pub fn syscalls_rules_need(engine: &Engine) -> SyscallsNeeded {
    use crate::rules::evttypes::{EVENT_TYPES, Kind};
    // Per kind: needed at all, and needed for host tasks too.
    let mut needed: Vec<(Kind, bool)> = Vec::new();
    for rule in engine.rules().filter(|r| r.enabled) {
        for k in Kind::ALL {
            if !rule.kinds.contains(k) {
                continue;
            }
            match needed.iter_mut().find(|(kind, _)| *kind == k) {
                Some((_, host)) => *host |= !rule.in_container,
                None => needed.push((k, !rule.in_container)),
            }
        }
    }
    let mut out = SyscallsNeeded::default();
    let prefixes = match engine.host_opens() {
        crate::rules::HostOpens::Below(prefixes) => Some(prefixes),
        _ => None,
    };
    out.host_open_prefixes = prefixes;
    for (name, _) in kestrel_common::syscalls::NAMES {
        let kinds = needed
            .iter()
            .filter(|(k, _)| EVENT_TYPES.iter().any(|t| t.name == *name && t.kind == *k));
        let mut any = false;
        let mut host = false;
        for (_, h) in kinds {
            any = true;
            host |= *h;
        }
        if any {
            out.all.push((*name).to_string());
            if !host {
                out.containers_only.push((*name).to_string());
            }
        }
    }
    out.all.sort();
    out.containers_only.sort();
    out
}

/// Take the kernel's host-cgroup set and mark every host cgroup that exists
/// now; cgroup events keep it current. Without it (no cgroup2 mount found)
/// container-scoped syscalls are captured for host tasks too.
fn seed_host_cgroups(sensor: &mut Sensor) -> Option<crate::sensor::HostCgroups> {
    let mut host = match sensor.host_cgroups() {
        Ok(host) => host,
        Err(err) => {
            tracing::warn!(%err, "host cgroup map unavailable; capturing for host tasks too");
            return None;
        }
    };
    let Some(mount) = crate::container::cgroup_ids::find_cgroup2_mount() else {
        tracing::warn!(
            "no cgroup2 mount found; capturing container-scoped syscalls for host tasks too"
        );
        return Some(host);
    };
    match host.seed(&mount, |path| {
        crate::container::cgroup_path::parse(path).is_none()
    }) {
        Ok(marked) => tracing::debug!(marked, mount = %mount.display(), "host cgroups marked"),
        Err(err) => {
            tracing::warn!(%err, mount = %mount.display(), "walking the cgroup tree failed")
        }
    }
    Some(host)
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// Where the hot path's enriched events go: stdout (with `--events`) and
/// the gRPC event stream (only built when someone subscribes).
struct EventsOut {
    stdout: Option<output::OutputQueue>,
    hub: EventHub,
}

impl EventSink for EventsOut {
    fn accept(&mut self, event: Event) {
        self.accept_enriched(event, None);
    }

    fn accept_enriched(
        &mut self,
        event: Event,
        container: Option<Arc<crate::context::ContainerInfo>>,
    ) {
        if self.hub.has_subscribers() {
            let c = container.as_deref();
            self.hub.publish(ApiEvent {
                event: event.clone(),
                container_id: c.map(|c| c.id.clone()),
                container_image: c.and_then(|c| c.image.clone()),
                k8s_namespace: c.and_then(|c| c.pod.as_ref()).map(|p| p.namespace.clone()),
                k8s_pod: c.and_then(|c| c.pod.as_ref()).map(|p| p.name.clone()),
            });
        }
        if let Some(stdout) = &mut self.stdout {
            stdout.accept_enriched(event, container);
        }
    }
}

fn hub_config(config: &Config) -> HubConfig {
    let a = &config.alerts;
    HubConfig {
        log_dir: a.log_dir.clone(),
        log: LogConfig {
            max_segment_bytes: a.segment_bytes,
            retain_bytes: a.retain_bytes,
            retain_age: (a.retain_hours > 0).then(|| Duration::from_secs(a.retain_hours * 3600)),
            fsync: FsyncPolicy::Never,
        },
        dedup: if a.dedup_window_secs == 0 {
            DedupConfig::off()
        } else {
            DedupConfig {
                window: Some(Duration::from_secs(a.dedup_window_secs)),
                ..DedupConfig::default()
            }
        },
    }
}

fn server_config(config: &Config) -> anyhow::Result<ServerConfig> {
    let listen = match &config.api.tcp {
        None => Listen::Unix(config.api.socket.clone()),
        Some(tcp) => {
            let read = |p: &std::path::Path| {
                std::fs::read(p).with_context(|| format!("reading {}", p.display()))
            };
            Listen::Tcp {
                addr: tcp
                    .addr
                    .parse()
                    .with_context(|| format!("api.tcp.addr {:?}", tcp.addr))?,
                tls: TlsConfig {
                    cert_pem: read(&tcp.cert)?,
                    key_pem: read(&tcp.key)?,
                    client_ca_pem: tcp.client_ca.as_deref().map(read).transpose()?,
                },
            }
        }
    };
    Ok(ServerConfig {
        listen,
        stream: StreamConfig {
            queue_capacity: config.api.subscriber_queue,
            ..StreamConfig::default()
        },
    })
}

async fn run_async(mut config: Config) -> anyhow::Result<()> {
    let engine = load_rules(&config)?;
    if config.rules.capture_what_rules_need {
        let needed = syscalls_rules_need(&engine);
        tracing::info!(
            syscalls = %needed.all.join(","),
            containers_only = %needed.containers_only.join(","),
            host_open_prefixes = %needed
                .host_open_prefixes
                .as_ref()
                .map_or_else(|| "any".to_string(), |p| p.join(",")),
            "capturing the syscalls the rules need"
        );
        config.sensor.syscalls = !needed.all.is_empty();
        config.sensor.capture = needed.all;
        config.sensor.capture_in_containers_only = needed.containers_only;
        config.sensor.host_open_prefixes = needed.host_open_prefixes;
    }
    let engine = Arc::new(ArcSwap::from_pointee(engine));

    let hub = AlertHub::open(hub_config(&config)).with_context(|| {
        format!(
            "opening the alert log in {} (set alerts.log_dir)",
            config.alerts.log_dir.display()
        )
    })?;
    let fsync =
        (config.alerts.fsync_secs > 0).then(|| Duration::from_secs(config.alerts.fsync_secs));
    let maintenance = hub.spawn_maintenance(Duration::from_millis(250), fsync);

    // Seed the process table before attaching: the ring is not read until
    // the hot path runs, and a slow seed (10k processes: ~1.5 s) would fill
    // it. Processes born in between are added by their first event.
    let mut processes = ProcessTable::new(ProcessConfig {
        max_entries: config.process.max_entries,
        exit_grace: Duration::from_millis(config.process.exit_grace_ms),
        user_names: config.process.user_names,
    });
    match processes.seed_from_proc() {
        Ok(report) => tracing::info!(
            processes = report.entries,
            ms = report.elapsed.as_millis() as u64,
            "process table seeded from /proc"
        ),
        Err(err) => tracing::warn!(%err, "seeding the process table from /proc failed"),
    }
    let mut sensor = Sensor::start(&config.sensor).context("starting the sensor")?;
    let ring = sensor.take_ring()?;
    let loss = sensor.loss_reader()?;
    let host_cgroups = seed_host_cgroups(&mut sensor);

    let registry = Registry::start(&config.container);

    // Stdout: one writer thread for alerts and (with --events) events.
    let (queue, rx) = output::queue(config.output.queue);
    let stdout_dropped = queue.dropped_counter();
    let format = config.output.format;
    let colour = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let writer = std::thread::Builder::new()
        .name("kestrel-out".into())
        .spawn(move || output::write_records(rx, format, colour, std::io::stdout()))
        .context("starting the output thread")?;
    let mut sinks = vec![output::spawn_sink(
        &hub,
        QueueSink(queue.clone()),
        config.output.queue,
        "stdout",
    )?];
    if let Some(file) = &config.output.file {
        let out = RotatingFile::open(&file.path, file.max_bytes, file.keep)
            .with_context(|| format!("opening {}", file.path.display()))?;
        sinks.push(output::spawn_sink(
            &hub,
            json::JsonLines::new(out, json::JsonStyle::Kestrel),
            config.output.queue,
            "file",
        )?);
    }
    let http = match &config.output.http {
        Some(h) => {
            let mut cfg = HttpConfig::new(h.url.clone());
            cfg.queue = h.queue;
            cfg.max_retries = h.max_retries;
            let (out, task) =
                HttpOutput::spawn(cfg).map_err(|e| anyhow::anyhow!("HTTP output: {e}"))?;
            let follow = out.follow(&hub);
            Some((out, task, follow))
        }
        None => None,
    };

    // Alerts leave the hot path through a bounded queue to a publisher
    // thread (the hub appends to disk); a full queue drops and counts.
    let (alert_tx, alert_rx) = std::sync::mpsc::sync_channel::<Alert>(config.alerts.queue);
    let alerts_dropped = Arc::new(AtomicU64::new(0));
    let publisher = {
        let hub = hub.clone();
        std::thread::Builder::new()
            .name("kestrel-alerts".into())
            .spawn(move || {
                for alert in alert_rx {
                    if let Err(err) = hub.publish(alert) {
                        tracing::error!(%err, "alert could not be stored; see alerts.log_dir");
                    }
                }
            })
            .context("starting the alert publisher")?
    };

    let events_hub = EventHub::new();
    let stats = Arc::new(PipelineStats::default());
    let enrich_stats = Arc::new(EnrichStats::default());
    let dropped = alerts_dropped.clone();
    let stages = Stages {
        processes,
        containers: registry.view(),
        pending: Pending::new(
            Duration::from_millis(config.container.metadata_wait_ms),
            config.container.max_pending_events,
        ),
        judge: Judge::new(engine.clone(), hostname()),
        alerts: Box::new(move |alert: Alert| {
            if alert_tx.try_send(alert).is_err() {
                dropped.fetch_add(1, Ordering::Relaxed);
            }
        }),
        enrich_stats: enrich_stats.clone(),
        host_cgroups,
    };
    let events_out = EventsOut {
        stdout: config.output.events.then(|| queue.clone()),
        hub: events_hub.clone(),
    };
    drop(queue);
    let (stop_tx, stop_rx) = watch::channel(false);
    let hot = HotPath::with_stages(Decoder::from_clocks(), events_out, stats.clone(), stages);
    let poll = Duration::from_millis(u64::from(config.sensor.poll_ms));
    let hot_thread = pipeline::spawn(ring, hot, stop_rx, poll).context("starting the hot path")?;

    let programs = sensor.programs().to_vec();
    let names: Vec<_> = programs.iter().map(|p| p.attach.as_str()).collect();
    let sensor = Arc::new(Mutex::new(Some(sensor)));
    let control = Arc::new(control::Control {
        started: std::time::Instant::now(),
        programs: programs.clone(),
        stats: stats.clone(),
        loss: Mutex::new(loss),
        registry: registry.clone(),
        engine: engine.clone(),
        config: config.clone(),
        sensor: sensor.clone(),
        queue_losses: vec![
            ("stdout".into(), stdout_dropped.clone()),
            ("alerts".into(), alerts_dropped.clone()),
        ],
    });

    let (api_stop_tx, api_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let api_task = if config.api.enabled {
        let state = ApiState {
            alerts: hub.clone(),
            events: events_hub.clone(),
            control: control.clone(),
            conditions: Arc::new(conditions::RuleConditions),
        };
        let server = server_config(&config)?;
        let shown = match &server.listen {
            Listen::Unix(p) => p.display().to_string(),
            Listen::Tcp { addr, tls } => format!(
                "{addr} (TLS{})",
                if tls.client_ca_pem.is_some() {
                    ", mTLS"
                } else {
                    ""
                }
            ),
        };
        tracing::info!(listen = %shown, "gRPC API serving");
        Some(tokio::spawn(async move {
            let shutdown = async move {
                let _ = api_stop_rx.await;
            };
            if let Err(err) = serve(server, state, shutdown).await {
                tracing::error!(%err, "the gRPC API stopped");
            }
        }))
    } else {
        None
    };

    tracing::info!(
        programs = names.len(),
        attached = %names.join(","),
        ring_bytes = config.sensor.ring_bytes,
        "kestrel ready: all programs attached"
    );

    let mut sigint = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let report_every = Duration::from_secs(config.sensor.loss_report_secs.max(1));
    let mut ticker = tokio::time::interval(report_every);
    ticker.tick().await;
    let mut last_lost = 0;
    let signal_name = loop {
        tokio::select! {
            _ = sigint.recv() => break "SIGINT",
            _ = sigterm.recv() => break "SIGTERM",
            _ = ticker.tick() => {
                let counters = match control.loss.lock() {
                    Ok(l) => l.read(),
                    Err(p) => p.into_inner().read(),
                };
                let lost = counters.total();
                if lost != last_lost {
                    events_hub.report_kernel_drops(lost - last_lost);
                    if config.sensor.loss_report_secs > 0 {
                        tracing::warn!(
                            kernel_lost = lost,
                            new = lost - last_lost,
                            ring_full = ?counters.ring_full,
                            read_failed = ?counters.read_failed,
                            per_cgroup = ?counters.per_cgroup,
                            "kernel could not deliver records"
                        );
                    }
                    last_lost = lost;
                }
            }
        }
    };

    tracing::info!(signal = signal_name, "stopping");
    let _ = stop_tx.send(true);
    if hot_thread.join().is_err() {
        tracing::error!("the hot path thread panicked");
    }
    // The hot path owned the alert sender: the publisher drains and ends.
    if publisher.join().is_err() {
        tracing::error!("the alert publisher panicked");
    }
    if let Err(err) = hub.flush_all_dedup() {
        tracing::warn!(%err, "flushing dedup summaries");
    }
    let _ = hub.sync();
    let counters = match control.loss.lock() {
        Ok(l) => l.read(),
        Err(p) => p.into_inner().read(),
    };
    if let Ok(mut s) = sensor.lock() {
        s.take(); // detaches every program
    }
    let _ = api_stop_tx.send(());
    if let Some(task) = api_task {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    maintenance.abort();
    let hub_stats = hub.stats();
    drop(hub);
    drop(control);
    for sink in sinks {
        let _ = sink.join();
    }
    if let Some((_, task, follow)) = http {
        follow.abort();
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    match writer.join() {
        Ok(Ok(())) => {}
        Ok(Err(err)) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
        Ok(Err(err)) => tracing::warn!(%err, "writing records failed"),
        Err(_) => tracing::error!("the output thread panicked"),
    }
    let snap = stats.snapshot();
    let reg = registry.stats.snapshot();
    tracing::info!(
        records = snap.records,
        exec = snap.exec,
        fork = snap.fork,
        exit = snap.exit,
        syscall = snap.syscall,
        alerts = hub_stats.published,
        alerts_folded = hub_stats.dedup.folded,
        last_seq = hub_stats.last_seq,
        decode_errors = snap.decode_errors,
        kernel_lost = counters.total(),
        kernel_ring_full = counters.ring_full_total(),
        output_dropped = stdout_dropped.load(Ordering::Relaxed),
        alerts_dropped = alerts_dropped.load(Ordering::Relaxed),
        metadata_wait_released = enrich_stats.released_deadline.load(Ordering::Relaxed),
        containers = reg.containers,
        "stopped; programs detached"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_capture_what_only_container_rules_need_only_in_containers() {
        let engine = load_rules(&Config::default()).expect("the default rules load");
        let needed = syscalls_rules_need(&engine);
        let has = |list: &[String], name: &str| list.iter().any(|n| n == name);
        // Every default rule on these is scoped to containers.
        for name in ["connect", "socket", "dup2", "setns", "mount", "userfaultfd"] {
            assert!(has(&needed.all, name), "{name} is captured");
            assert!(
                has(&needed.containers_only, name),
                "{name} only in containers"
            );
        }
        // Host rules need these everywhere (sensitive reads, ptrace, modules,
        // links over sensitive files, exec-based rules).
        for name in ["openat", "execve", "ptrace", "init_module", "symlink"] {
            assert!(has(&needed.all, name), "{name} is captured");
            assert!(
                !has(&needed.containers_only, name),
                "{name} on the host too"
            );
        }
        assert!(
            needed.containers_only.iter().all(|n| has(&needed.all, n)),
            "containers-only is a subset of what is captured"
        );
    }
    #[test]
    fn default_rules_keep_host_opens_only_of_the_paths_host_rules_test() {
        let engine = load_rules(&Config::default()).expect("the default rules load");
        let prefixes = syscalls_rules_need(&engine)
            .host_open_prefixes
            .expect("every default host rule on opens bounds fd.name");
        for p in [
            "/etc/shadow",
            "/etc/sudoers.d",
            "/root/.ssh",
            "/home/",
            "/var/log/",
        ] {
            assert!(prefixes.iter().any(|x| x == p), "{p} in {prefixes:?}");
        }
        // What the open/close benchmark and ordinary programs open.
        for path in [
            "/etc/hostname",
            "/etc/ld.so.cache",
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "/tmp/x",
            "/proc/self/stat",
        ] {
            assert!(
                !prefixes.iter().any(|p| path.starts_with(p.as_str())),
                "{path} is not kept; prefixes {prefixes:?}"
            );
        }
        assert!(prefixes.iter().all(|p| p.starts_with('/')));
        assert!(
            prefixes.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
    }

    fn needed_for(rules: &str) -> SyscallsNeeded {
        let macros = crate::rules::DEFAULT_RULES[0];
        let sources = [
            crate::rules::RuleSource::new(macros.0, macros.1),
            crate::rules::RuleSource::new("test.yaml", rules),
        ];
        let engine = crate::rules::load(&sources).expect("rules load").engine;
        syscalls_rules_need(&engine)
    }

    fn rule(condition: &str) -> String {
        format!(
            "- rule: r\n  desc: d\n  condition: {condition}\n  output: o\n  priority: WARNING\n"
        )
    }

    #[test]
    fn host_open_prefixes_follow_the_fd_name_tests_of_host_rules() {
        let prefixes = |condition: &str| needed_for(&rule(condition)).host_open_prefixes;
        let some = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        // Prefix, exact, pmatch, glob head and fd.directory bound the path;
        // `and` keeps the tighter side.
        assert_eq!(
            prefixes(
                "k_open_read and fd.name startswith /srv/ and fd.directory in (/srv/a, /srv/b)"
            ),
            some(&["/srv/"])
        );
        assert_eq!(
            prefixes(
                "k_open_write and (fd.name = /opt/x or fd.name pmatch (/data) or fd.name glob '/mnt/*/y')"
            ),
            some(&["/data", "/mnt/", "/opt/x"])
        );
        // A branch that cannot be an open adds nothing.
        assert_eq!(
            prefixes(
                "(k_open_read and fd.name in (/a, /b)) or (evt.type = execve and proc.name = sh)"
            ),
            some(&["/a", "/b"])
        );
        // Unbounded: contains, endswith, negation, no fd.name test at all.
        assert_eq!(prefixes("k_open_read and fd.name contains shadow"), None);
        assert_eq!(prefixes("k_open_read and fd.name endswith .pem"), None);
        assert_eq!(
            prefixes("k_open_read and not fd.name startswith /usr/"),
            None
        );
        assert_eq!(prefixes("k_open_read and proc.name = cat"), None);
        assert_eq!(
            prefixes(
                "(k_open_read and fd.name startswith /a/) or (k_open_write and proc.name = x)"
            ),
            None
        );
        // Container rules do not count: host opens are not needed for them.
        let two = format!(
            "{}{}",
            rule("k_open_read and fd.name startswith /etc/"),
            rule("k_open_read and container.id != host and fd.name contains x")
                .replace("rule: r", "rule: c")
        );
        assert_eq!(needed_for(&two).host_open_prefixes, some(&["/etc/"]));
    }

    #[test]
    fn rules_check_names_the_rules_that_make_every_host_open_captured() {
        let macros = crate::rules::DEFAULT_RULES[0];
        let text = format!(
            "{}{}",
            rule("k_open_read and fd.name startswith /etc/"),
            rule("k_open_read and fd.name endswith .pem").replace("rule: r", "rule: pem reader")
        );
        let sources = [
            crate::rules::RuleSource::new(macros.0, macros.1),
            crate::rules::RuleSource::new("test.yaml", text),
        ];
        let loaded = crate::rules::load(&sources).expect("rules load");
        assert_eq!(
            loaded.engine.host_opens(),
            crate::rules::HostOpens::Any {
                because: vec!["pem reader".to_string()]
            }
        );
        let summary = crate::rules::Summary::of(&loaded.engine, &sources).to_string();
        assert!(
            summary.contains("host opens captured: every path") && summary.contains("pem reader"),
            "{summary}"
        );
    }
}
