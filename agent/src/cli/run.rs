//! `kestrel run`: the daemon. Loads the rules, starts the sensor, the hot
//! path (decode → enrich → judge), the container registry and the output
//! writer; reports losses periodically, and stops cleanly on SIGINT or
//! SIGTERM (programs detached, final counters logged).

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use anyhow::{Context as _, bail};
use arc_swap::ArcSwap;
use tokio::{
    signal::unix::{SignalKind, signal},
    sync::watch,
};

use crate::{
    config::Config,
    container::registry::Registry,
    event::Decoder,
    output::{self, Record},
    pipeline::{
        self, HotPath, NoEvents, PipelineStats, Stages,
        enrich::{EnrichStats, Pending},
        judge::Judge,
    },
    process::{ProcessConfig, ProcessTable},
    rules::{self, Engine},
    sensor::{Sensor, syscall_table},
};

pub fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("kestrel-rt")
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(run_async(config))
}

/// Load the configured rule files; any error stops start-up with every
/// error's file:line:col.
pub fn load_rules(config: &Config) -> anyhow::Result<Engine> {
    let sources = super::rules::sources(&config.rules.files, config.rules.default_rules)?;
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
pub fn syscalls_rules_need(engine: &Engine) -> Vec<String> {
    use crate::rules::evttypes::{EVENT_TYPES, Kind};
    let mut kinds = Vec::new();
    for rule in engine.rules().filter(|r| r.enabled) {
        for k in Kind::ALL {
            if rule.kinds.contains(k) && !kinds.contains(&k) {
                kinds.push(k);
            }
        }
    }
    let mut names: Vec<String> = kestrel_common::syscalls::NAMES
        .iter()
        .filter(|(name, _)| {
            EVENT_TYPES
                .iter()
                .any(|t| t.name == *name && kinds.contains(&t.kind))
        })
        .map(|(name, _)| (*name).to_string())
        .collect();
    names.sort();
    names
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

async fn run_async(mut config: Config) -> anyhow::Result<()> {
    let engine = load_rules(&config)?;
    if config.rules.capture_what_rules_need {
        let needed = syscalls_rules_need(&engine);
        // Unknown names cannot occur: they come from the sensor's own table.
        let _ = syscall_table::resolve_names(&needed);
        tracing::info!(syscalls = %needed.join(","), "capturing the syscalls the rules need");
        config.sensor.syscalls = !needed.is_empty();
        config.sensor.capture = needed;
    }
    let engine = Arc::new(ArcSwap::from_pointee(engine));

    let mut sensor = Sensor::start(&config.sensor).context("starting the sensor")?;
    let ring = sensor.take_ring()?;
    let loss = sensor.loss_reader()?;

    let mut processes = ProcessTable::new(ProcessConfig {
        max_entries: config.process.max_entries,
        exit_grace: Duration::from_millis(config.process.exit_grace_ms),
    });
    match processes.seed_from_proc() {
        Ok(report) => tracing::info!(
            processes = report.entries,
            ms = report.elapsed.as_millis() as u64,
            "process table seeded from /proc"
        ),
        Err(err) => tracing::warn!(%err, "seeding the process table from /proc failed"),
    }
    let registry = Registry::start(&config.container);

    let (queue, rx) = output::queue(config.output.queue);
    let output_dropped = queue.dropped_counter();
    let format = config.output.format;
    let writer = std::thread::Builder::new()
        .name("kestrel-out".into())
        .spawn(move || output::write_records(rx, format, std::io::stdout().lock()))
        .context("starting the output thread")?;

    let stats = Arc::new(PipelineStats::default());
    let enrich_stats = Arc::new(EnrichStats::default());
    let alerts_out = queue.clone();
    let alert_count = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let alert_seq = alert_count.clone();
    let stages = Stages {
        processes,
        containers: registry.view(),
        pending: Pending::new(
            Duration::from_millis(config.container.metadata_wait_ms),
            config.container.max_pending_events,
        ),
        judge: Judge::new(engine.clone(), hostname()),
        alerts: Box::new(move |mut alert: crate::alert::record::Alert| {
            alert.seq = alert_seq.fetch_add(1, Ordering::Relaxed) + 1;
            alerts_out.push(Record::Alert(Box::new(alert)));
        }),
        enrich_stats: enrich_stats.clone(),
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let hot_thread = if config.output.events {
        let hot = HotPath::with_stages(Decoder::from_clocks(), queue, stats.clone(), stages);
        pipeline::spawn(ring, hot, stop_rx)
    } else {
        drop(queue);
        let hot = HotPath::with_stages(Decoder::from_clocks(), NoEvents, stats.clone(), stages);
        pipeline::spawn(ring, hot, stop_rx)
    }
    .context("starting the hot path")?;

    let names: Vec<_> = sensor
        .programs()
        .iter()
        .map(|p| p.attach.as_str())
        .collect();
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
            _ = ticker.tick(), if config.sensor.loss_report_secs > 0 => {
                let counters = loss.read();
                let lost = counters.total();
                if lost != last_lost {
                    tracing::warn!(
                        kernel_lost = lost,
                        new = lost - last_lost,
                        ring_full = ?counters.ring_full,
                        read_failed = ?counters.read_failed,
                        per_cgroup = ?counters.per_cgroup,
                        "kernel could not deliver records"
                    );
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
    let counters = loss.read();
    drop(sensor); // detaches every program
    // The hot path owned the queue's senders: the writer drains and ends.
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
        alerts = alert_count.load(Ordering::Relaxed),
        decode_errors = snap.decode_errors,
        kernel_lost = counters.total(),
        kernel_ring_full = counters.ring_full_total(),
        output_dropped = output_dropped.load(Ordering::Relaxed),
        metadata_wait_released = enrich_stats.released_deadline.load(Ordering::Relaxed),
        containers = reg.containers,
        "stopped; programs detached"
    );
    Ok(())
}
