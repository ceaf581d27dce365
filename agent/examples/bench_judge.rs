//! Judge throughput and allocations per event.
//!
//! `cargo run --release --example bench_judge [-- SECONDS]`
//!
//! Judges a synthetic exec/fork/exit mix of ordinary workload events (no
//! rule matches) on one thread, with (1) Kestrel's default rules, (2)
//! Falco's stable rules, (3) both; prints events/s and heap allocations per
//! event, counted by a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kestrel::event::Event;
use kestrel::rules::testing::{HOST_CGROUP, MapContext, exec, exit, fork};
use kestrel::rules::{self, Engine, RuleSource, Scratch};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call unchanged to the system allocator; only adds
// a relaxed counter increment.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn workload() -> (MapContext, Vec<Event>) {
    let mut c = MapContext::new();
    c.add_proc(
        10,
        1,
        "containerd-shim",
        "/usr/bin/containerd-shim-runc-v2",
        &["-namespace", "k8s.io"],
        HOST_CGROUP,
    );
    c.add_proc(11, 1, "cron", "/usr/sbin/cron", &["-f"], HOST_CGROUP);
    let mut events = Vec::new();
    for i in 0..8u64 {
        let cg = 100 + i;
        let base = 1000 + (i as u32) * 100;
        c.add_container(cg, &format!("app{i}"), "registry.example.com/shop/api:2.3");
        c.add_proc(
            base,
            10,
            "nginx",
            "/usr/sbin/nginx",
            &["-g", "daemon off;"],
            cg,
        );
        c.add_proc(
            base + 1,
            base,
            "nginx",
            "/usr/sbin/nginx",
            &["-g", "daemon off;"],
            cg,
        );
        c.add_proc(
            base + 2,
            10,
            "python3",
            "/usr/bin/python3",
            &["-m", "gunicorn", "app:app", "--workers", "4"],
            cg,
        );
        c.add_proc(
            base + 3,
            base + 2,
            "python3",
            "/usr/bin/python3",
            &["-m", "gunicorn", "app:app"],
            cg,
        );
        c.add_proc(
            base + 4,
            10,
            "node",
            "/usr/local/bin/node",
            &["server.js"],
            cg,
        );
        events.push(exec(
            base + 1,
            base,
            "/usr/sbin/nginx",
            &["nginx", "-g", "daemon off;"],
            cg,
        ));
        events.push(fork(base, 10, "nginx", base + 1, cg));
        events.push(exec(
            base + 3,
            base + 2,
            "/usr/bin/python3",
            &["python3", "-m", "gunicorn", "app:app"],
            cg,
        ));
        events.push(fork(base + 2, 10, "python3", base + 3, cg));
        events.push(exit(base + 3, base + 2, "python3", 0, cg));
        events.push(exec(
            base + 4,
            10,
            "/usr/local/bin/node",
            &["node", "server.js"],
            cg,
        ));
        events.push(fork(base + 4, 10, "node", base + 5, cg));
        events.push(exit(base + 1, base, "nginx", 0, cg));
    }
    // Host activity.
    c.add_proc(
        50,
        11,
        "sh",
        "/bin/sh",
        &["-c", "run-parts /etc/cron.hourly"],
        HOST_CGROUP,
    );
    c.add_proc(
        51,
        50,
        "run-parts",
        "/usr/bin/run-parts",
        &["/etc/cron.hourly"],
        HOST_CGROUP,
    );
    events.push(exec(
        50,
        11,
        "/bin/sh",
        &["sh", "-c", "run-parts /etc/cron.hourly"],
        HOST_CGROUP,
    ));
    events.push(fork(11, 1, "cron", 50, HOST_CGROUP));
    events.push(exec(
        51,
        50,
        "/usr/bin/run-parts",
        &["run-parts", "/etc/cron.hourly"],
        HOST_CGROUP,
    ));
    events.push(exit(51, 50, "run-parts", 0, HOST_CGROUP));
    events.push(exit(50, 11, "sh", 0, HOST_CGROUP));
    (c, events)
}

fn measure(name: &str, engine: &Engine, ctx: &MapContext, events: &[Event], secs: f64) {
    let mut scratch = Scratch::new();
    let mut out = Vec::with_capacity(16);
    // Warm up: buffers grow to their steady-state size.
    for ev in events.iter().cycle().take(events.len() * 4) {
        out.clear();
        engine.evaluate_with(&mut scratch, ev, ctx, &mut out);
    }
    let mut matches = 0usize;
    let mut n = 0u64;
    let allocs0 = ALLOCS.load(Ordering::Relaxed);
    let start = Instant::now();
    let budget = Duration::from_secs_f64(secs);
    while start.elapsed() < budget {
        for _ in 0..64 {
            for ev in events {
                out.clear();
                engine.evaluate_with(&mut scratch, ev, ctx, &mut out);
                matches += out.len();
            }
        }
        n += 64 * events.len() as u64;
    }
    let dt = start.elapsed().as_secs_f64();
    let allocs = ALLOCS.load(Ordering::Relaxed) - allocs0;
    // Also the thread-local convenience API (warmed first).
    for ev in events.iter().cycle().take(events.len() * 4) {
        out.clear();
        engine.evaluate(ev, ctx, &mut out);
    }
    let allocs1 = ALLOCS.load(Ordering::Relaxed);
    for ev in events {
        out.clear();
        engine.evaluate(ev, ctx, &mut out);
    }
    let tl_allocs = ALLOCS.load(Ordering::Relaxed) - allocs1;
    println!(
        "{name:<34} rules={:<4} slots={:<4} {:>10.0} events/s/core  {:>6.1} ns/event  allocs/event={:.4}  matches={matches}  evaluate() allocs/round={tl_allocs}",
        engine.rules().len(),
        engine.slot_count(),
        n as f64 / dt,
        dt * 1e9 / n as f64,
        allocs as f64 / n as f64,
    );
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let (ctx, events) = workload();
    let falco = RuleSource::from_path(std::path::Path::new(
        "/work/shared/compat/falco-rules/falco_rules.yaml",
    ))
    .ok();
    let defaults = rules::load(&rules::default_sources())
        .expect("defaults load")
        .engine;
    println!(
        "synthetic mix: {} events per round (exec/fork/exit, 8 containers + host)",
        events.len()
    );
    measure("kestrel defaults", &defaults, &ctx, &events, secs);
    if let Some(f) = falco {
        let stable = rules::load(std::slice::from_ref(&f))
            .expect("falco stable loads")
            .engine;
        measure("falco_rules.yaml", &stable, &ctx, &events, secs);
        let mut both = rules::default_sources();
        both.push(f);
        let both = rules::load(&both).expect("both load").engine;
        measure(
            "kestrel defaults + falco_rules.yaml",
            &both,
            &ctx,
            &events,
            secs,
        );
    } else {
        println!("falco_rules.yaml not found: skipped");
    }
    if std::env::args().any(|a| a == "--per-rule") {
        let names: Vec<String> = defaults.rules().map(|r| r.name.clone()).collect();
        for n in &names {
            let mut e = rules::load(&rules::default_sources())
                .expect("defaults load")
                .engine;
            for m in &names {
                e.set_enabled(m, m == n);
            }
            measure(n, &e, &ctx, &events, secs / 4.0);
        }
    }
}
