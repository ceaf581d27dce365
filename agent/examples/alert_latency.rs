//! End-to-end alert latency under load: the real agent (`kestrel run`,
//! embedded default rules) while this process makes ~N captured events per
//! second (`open` of a file of its own below `/var/log/`, a path the
//! default host file rules test, so the kernel keeps those opens; opens of
//! most other host paths never leave it) and, every 10 ms, one alerting event (an `open` of
//! `/etc/shadow`: "Sensitive file opened for reading"). A gRPC subscriber
//! on the unix socket times each alert from the syscall (the event's own
//! kernel timestamp) to its receipt: kernel → ring → decode → enrich →
//! judge → alert log → stream → client. Prints p50/p99/max per load level.
//! Figures, never assertions. Needs root.
//!
//! Run: `cargo build --release --package kestrel && cargo run --release
//! --example alert_latency [-- --kestrel PATH --secs S --rates 10000,50000,100000 --poll-ms MS]`
//! (`--poll-ms`: the agent's `sensor.poll_ms`, default its own 4).

mod support;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use kestrel::{
    alert::record::now_unix_ns,
    api::{
        client::{self, Target},
        proto as pb,
    },
};

/// One alerting open every this often.
const TRIGGER_EVERY: Duration = Duration::from_millis(10);

struct Args {
    kestrel: PathBuf,
    secs: u64,
    rates: Vec<u64>,
    /// `sensor.poll_ms` for the agent (None: its default).
    poll_ms: Option<u32>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut kestrel = None;
    let mut secs = 5;
    let mut rates = vec![10_000, 50_000, 100_000];
    let mut poll_ms = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--kestrel" => kestrel = Some(PathBuf::from(value()?)),
            "--secs" => secs = value()?.parse().context("--secs")?,
            "--poll-ms" => poll_ms = Some(value()?.parse().context("--poll-ms")?),
            "--rates" => {
                rates = value()?
                    .split(',')
                    .map(|r| r.trim().parse().context("--rates"))
                    .collect::<anyhow::Result<_>>()?
            }
            other => bail!(
                "unknown argument `{other}`; usage: alert_latency [--kestrel PATH] [--secs S] [--rates R1,R2] [--poll-ms MS]"
            ),
        }
    }
    let kestrel = support::kestrel_binary(kestrel)?;
    Ok(Args {
        kestrel,
        secs,
        rates,
        poll_ms,
    })
}

/// The agent, killed on drop.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGINT) };
        let _ = self.0.wait();
    }
}

fn start_agent(
    kestrel: &Path,
    dir: &Path,
    poll_ms: Option<u32>,
) -> anyhow::Result<(Agent, PathBuf)> {
    let socket = dir.join("api.sock");
    let config = dir.join("kestrel.toml");
    let sensor = poll_ms.map_or(String::new(), |ms| format!("\n[sensor]\npoll_ms = {ms}\n"));
    std::fs::write(
        &config,
        format!(
            "[alerts]\nlog_dir = {:?}\ndedup_window_secs = 0\n\n[api]\nsocket = {:?}\n{sensor}",
            dir.join("alerts"),
            socket
        ),
    )?;
    let mut child = Command::new(kestrel)
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", kestrel.display()))?;
    // Wait for the `ready` line.
    let stderr = child.stderr.take().context("agent stderr")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        let mut ready = Some(tx);
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("kestrel ready")
                && let Some(tx) = ready.take()
            {
                let _ = tx.send(());
            }
        }
    });
    let agent = Agent(child);
    rx.recv_timeout(Duration::from_secs(60))
        .context("the agent did not log `ready` within 60 s")?;
    Ok((agent, socket))
}

/// Open+close `path` once.
fn open_close(path: &std::ffi::CStr) {
    // SAFETY: a valid NUL-terminated path; the fd is closed at once.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_RDONLY);
        if fd >= 0 {
            libc::close(fd);
        }
    }
}

/// The file the load opens: below `/var/log/` (the "Log file truncated"
/// rule's prefix), read-only, so every open is captured and none alerts.
fn load_file() -> std::ffi::CString {
    let path = format!("/var/log/kestrel-alert-latency-{}", std::process::id());
    std::ffi::CString::new(path).expect("no NUL")
}

/// Make `rate` captured events per second until `stop`; count them.
fn load(rate: u64, stop: Arc<AtomicBool>, done: Arc<AtomicU64>) {
    let path = load_file();
    let path = path.as_c_str();
    let per_ms = (rate / 1000).max(1);
    let start = Instant::now();
    let mut made = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let due = start.elapsed().as_millis() as u64 * per_ms;
        if made >= due {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        for _ in 0..(due - made).min(per_ms * 4) {
            open_close(path);
            made += 1;
        }
        done.store(made, Ordering::Relaxed);
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1e6
}

async fn measure(target: &Target, rate: u64, secs: u64) -> anyhow::Result<()> {
    let channel = client::connect(target).await?;
    let mut alerts = pb::alert_service_client::AlertServiceClient::new(channel)
        .subscribe(pb::SubscribeRequest {
            filter: None,
            start: Some(pb::subscribe_request::Start::Tail(pb::Tail {})),
            heartbeat_secs: 3600,
        })
        .await?
        .into_inner();
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    let loader = {
        let (stop, made) = (stop.clone(), made.clone());
        std::thread::spawn(move || load(rate, stop, made))
    };
    let triggers = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                open_close(c"/etc/shadow");
                n += 1;
                std::thread::sleep(TRIGGER_EVERY);
            }
            n
        })
    };
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut lost = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let message = tokio::select! {
            m = alerts.message() => m?,
            _ = tokio::time::sleep_until(deadline) => break,
        };
        use pb::alert_stream_message::Message;
        match message.and_then(|m| m.message) {
            Some(Message::Alert(a)) if a.rule == "Sensitive file opened for reading" => {
                latencies.push(now_unix_ns().saturating_sub(a.time_ns));
            }
            Some(Message::Gap(g)) => lost += g.dropped,
            Some(_) => {}
            None => bail!("the alert stream ended"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = loader.join();
    let sent = triggers.join().unwrap_or(0);
    let achieved = made.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    println!(
        "| {rate} | {achieved:.0} | {} / {sent} | {:.2} | {:.2} | {:.2} | {lost} |",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let dir = tempfile::tempdir()?;
    let (_agent, socket) = start_agent(&args.kestrel, dir.path(), args.poll_ms)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let target = Target::Unix(socket);
    let load_path = std::path::PathBuf::from(load_file().to_string_lossy().into_owned());
    std::fs::write(&load_path, b"kestrel alert latency benchmark\n")
        .with_context(|| format!("creating {}", load_path.display()))?;
    let result = run_levels(&runtime, &target, &args);
    let _ = std::fs::remove_file(&load_path);
    result
}

fn run_levels(
    runtime: &tokio::runtime::Runtime,
    target: &Target,
    args: &Args,
) -> anyhow::Result<()> {
    println!(
        "alert latency, syscall → gRPC client, {} s per load level, one alert every {} ms\n",
        args.secs,
        TRIGGER_EVERY.as_millis()
    );
    println!(
        "| target events/s | achieved events/s | alerts received / sent | p50 ms | p99 ms | max ms | lost |"
    );
    println!("|--:|--:|--:|--:|--:|--:|--:|");
    for &rate in &args.rates {
        runtime.block_on(measure(target, rate, args.secs))?;
    }
    Ok(())
}
