//! Judge throughput and allocations per event.
//!
//! `cargo run --release --example bench_judge [-- SECONDS]`
//!
//! Judges a synthetic mix of ordinary workload events (no rule matches) on
//! one thread: exec/fork/exit plus syscall events, open- and connect-heavy
//! (config and library reads, log writes, failed lookups, database and API
//! connections, accepts, pipe dups, clones), with (1) Kestrel's default
//! rules, (2) Falco's stable rules, (3) both; prints events/s and heap
//! allocations per event, counted by a counting global allocator. With
//! `--syscalls-only` / `--lifecycle-only` it judges only that part.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kestrel::event::{Event, SockTuple, SyscallArgs as A};
use kestrel::rules::testing::{
    HOST_CGROUP, MapContext, connect, exec, exit, fork, inet, open, syscall, tcp, with_fd_path,
    with_tuple,
};
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

const O_WRONLY: u64 = 1;
const O_CREAT: u64 = 0o100;
const O_APPEND: u64 = 0o2000;
const O_CLOEXEC: u64 = 0o2000000;

/// Ordinary syscalls of one container: `base` nginx, `base + 2` python,
/// `base + 4` node, on cgroup `cg`.
fn syscalls(base: u32, cg: u64, i: u8, events: &mut Vec<Event>) {
    let ip = format!("10.0.{i}.5");
    let reads = [
        "/etc/nginx/nginx.conf",
        "/etc/hosts",
        "/etc/resolv.conf",
        "/usr/lib/x86_64-linux-gnu/libssl.so.3",
        "/etc/passwd",
        "/usr/share/nginx/html/index.html",
    ];
    for (n, p) in reads.iter().enumerate() {
        events.push(open(
            base + 1,
            "nginx",
            cg,
            p,
            O_CLOEXEC,
            10 + n as i64,
            Some(p),
        ));
    }
    events.push(open(
        base + 3,
        "python3",
        cg,
        "/app/settings.py",
        O_CLOEXEC,
        7,
        Some("/app/settings.py"),
    ));
    events.push(open(
        base + 3,
        "python3",
        cg,
        "locale/fr.mo",
        O_CLOEXEC,
        -2,
        None,
    ));
    events.push(open(
        base + 1,
        "nginx",
        cg,
        "/var/log/nginx/access.log",
        O_WRONLY | O_CREAT | O_APPEND,
        4,
        Some("/var/log/nginx/access.log"),
    ));
    events.push(open(
        base + 4,
        "node",
        cg,
        "/tmp/upload_1",
        O_WRONLY | O_CREAT,
        21,
        Some("/tmp/upload_1"),
    ));
    events.push(connect(
        base + 3,
        "python3",
        cg,
        inet(&ip, 41000),
        inet("10.0.200.7", 5432),
    ));
    events.push(connect(
        base + 4,
        "node",
        cg,
        inet(&ip, 41001),
        inet("93.184.216.34", 443),
    ));
    events.push(connect(
        base + 4,
        "node",
        cg,
        inet(&ip, 41002),
        inet("10.0.201.9", 6379),
    ));
    events.push(with_tuple(
        syscall(
            base + 4,
            10,
            "node",
            cg,
            "connect",
            0,
            A::Connect {
                fd: 9,
                addr: Some(inet("10.96.0.10", 53)),
            },
        ),
        SockTuple {
            proto: "udp",
            local: inet(&ip, 53000),
            remote: inet("10.96.0.10", 53),
        },
    ));
    events.push(with_tuple(
        syscall(
            base + 1,
            base,
            "nginx",
            cg,
            "accept4",
            12,
            A::Accept {
                fd: 6,
                flags: 0o4000,
            },
        ),
        tcp(inet(&ip, 80), inet("10.0.99.9", 51234)),
    ));
    events.push(with_fd_path(
        syscall(
            base + 4,
            10,
            "node",
            cg,
            "dup2",
            1,
            A::Dup {
                oldfd: 4,
                newfd: Some(1),
                flags: 0,
            },
        ),
        "pipe:[99]",
    ));
    events.push(syscall(
        base,
        10,
        "nginx",
        cg,
        "clone",
        i64::from(base + 1),
        A::Clone { flags: 0x1200011 },
    ));
}

fn workload() -> (MapContext, Vec<Event>, Vec<Event>) {
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
    let mut sys_events = Vec::new();
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
        syscalls(base, cg, i as u8, &mut sys_events);
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
    (c, events, sys_events)
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
    let (ctx, lifecycle, sys_events) = workload();
    let args: Vec<String> = std::env::args().collect();
    let events: Vec<Event> = if args.iter().any(|a| a == "--syscalls-only") {
        sys_events.clone()
    } else if args.iter().any(|a| a == "--lifecycle-only") {
        lifecycle.clone()
    } else {
        lifecycle.iter().chain(&sys_events).cloned().collect()
    };
    let falco = RuleSource::from_path(std::path::Path::new(
        "/work/shared/compat/falco-rules/falco_rules.yaml",
    ))
    .ok();
    let defaults = rules::load(&rules::default_sources())
        .expect("defaults load")
        .engine;
    let n_sys = events
        .iter()
        .filter(|e| matches!(e.body, kestrel::event::EventBody::Syscall(_)))
        .count();
    println!(
        "synthetic mix: {} events per round ({} exec/fork/exit, {} syscalls: open/connect/accept/dup/clone; 8 containers + host)",
        events.len(),
        events.len() - n_sys,
        n_sys,
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
