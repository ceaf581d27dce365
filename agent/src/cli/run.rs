//! `kestrel run`: the daemon. Starts the sensor, the hot path and the
//! output writer, reports losses periodically, and stops cleanly on SIGINT
//! or SIGTERM (programs detached, final counters logged).

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use tokio::{
    signal::unix::{SignalKind, signal},
    sync::watch,
};

use crate::{
    config::Config,
    event::Decoder,
    output,
    pipeline::{self, HotPath, PipelineStats},
    sensor::Sensor,
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

async fn run_async(config: Config) -> anyhow::Result<()> {
    let mut sensor = Sensor::start(&config.sensor).context("starting the sensor")?;
    let ring = sensor.take_ring()?;
    let loss = sensor.loss_reader()?;

    let (queue, rx) = output::queue(config.output.queue);
    let output_dropped = queue.dropped_counter();
    let format = config.output.format;
    let writer = std::thread::Builder::new()
        .name("kestrel-out".into())
        .spawn(move || output::write_records(rx, format, std::io::stdout().lock()))
        .context("starting the output thread")?;

    let stats = Arc::new(PipelineStats::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let hot = HotPath::new(Decoder::from_clocks(), queue, stats.clone());
    let hot_thread = pipeline::spawn(ring, hot, stop_rx).context("starting the hot path")?;

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
    // The hot path owned the queue's sender: the writer drains and ends.
    match writer.join() {
        Ok(Ok(())) => {}
        Ok(Err(err)) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
        Ok(Err(err)) => tracing::warn!(%err, "writing records failed"),
        Err(_) => tracing::error!("the output thread panicked"),
    }
    let snap = stats.snapshot();
    tracing::info!(
        records = snap.records,
        exec = snap.exec,
        fork = snap.fork,
        exit = snap.exit,
        decode_errors = snap.decode_errors,
        kernel_lost = counters.total(),
        kernel_ring_full = counters.ring_full_total(),
        output_dropped = output_dropped.load(std::sync::atomic::Ordering::Relaxed),
        "stopped; programs detached"
    );
    Ok(())
}
