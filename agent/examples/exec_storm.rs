//! Exec storm benchmark: load the sensor, run N fork+exec of /bin/true from
//! two threads, and print the event rate the sensor sustained, the kernel's
//! losses and decode errors. Run with `cargo xtask bench exec-storm`.

use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use kestrel::{
    config::SensorConfig,
    event::{Decoder, Event, EventBody},
    pipeline::{self, HotPath, PipelineStats},
    sensor::Sensor,
};

fn main() -> anyhow::Result<()> {
    let count: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let config = SensorConfig::default();
    let mut sensor = Sensor::start(&config)?;
    let ring = sensor.take_ring()?;
    let loss = sensor.loss_reader()?;
    let trues = Arc::new(AtomicU64::new(0));
    let sink = {
        let trues = trues.clone();
        move |event: Event| {
            if let EventBody::Exec(exec) = &event.body
                && exec.filename == "/bin/true"
            {
                trues.fetch_add(1, Ordering::Relaxed);
            }
        }
    };
    let stats = Arc::new(PipelineStats::default());
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let hot = pipeline::spawn(
        ring,
        HotPath::new(Decoder::from_clocks(), sink, stats.clone()),
        stop_rx,
        Duration::from_millis(u64::from(config.poll_ms)),
    )?;

    let cpu_before = agent_cpu_secs();
    let start = Instant::now();
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let n = count / 2 + if t == 0 { count % 2 } else { 0 };
            std::thread::spawn(move || {
                for _ in 0..n {
                    let _ = Command::new("/bin/true").status();
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let spawn_secs = start.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(10);
    while trues.load(Ordering::Relaxed) < count && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let total_secs = start.elapsed().as_secs_f64();
    let _ = stop.send(true);
    let _ = hot.join();
    let snap = stats.snapshot();
    let lost = loss.read();
    let seen = trues.load(Ordering::Relaxed);
    println!("exec storm: {count} fork+exec of /bin/true from 2 threads");
    println!(
        "  spawn time            {spawn_secs:.2} s ({:.0} exec/s)",
        count as f64 / spawn_secs
    );
    println!("  /bin/true execs seen  {seen} of {count}");
    println!(
        "  records decoded       {} (exec {}, fork {}, exit {}) = {:.0} records/s",
        snap.records,
        snap.exec,
        snap.fork,
        snap.exit,
        snap.records as f64 / total_secs
    );
    println!(
        "  kernel losses         {} (ring full {})",
        lost.total(),
        lost.ring_full_total()
    );
    println!("  decode errors         {}", snap.decode_errors);
    println!(
        "  agent CPU             {:.2} s (this process, includes spawning)",
        agent_cpu_secs() - cpu_before
    );
    Ok(())
}

/// User+system CPU seconds of this process so far.
fn agent_cpu_secs() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is a valid out-pointer for getrusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    // SAFETY: getrusage filled the struct (zeroed on failure).
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
