//! Sensor overhead benchmark: syscall-heavy workloads measured, in one run,
//! without anything attached, with an empty probe (one no-op program on
//! `sys_enter`: the floor any syscall hook pays) and with the real agent
//! (`kestrel run --output json`, stdout to /dev/null). Prints throughput
//! ratios (medians over several rounds), the agent's drops, decode errors,
//! CPU and peak memory as a markdown table. Figures, never assertions.
//!
//! Run with `cargo xtask bench sensor [--secs S] [--pairs N] [--only LIST]`
//! (builds the release agent next to this example first). Needs root.
//! `--agent-config FILE` runs the agent with another configuration (to find
//! what costs what), `--kestrel PATH` another agent binary.
//!
//! Workloads (each for `--secs` seconds, one thread unless said):
//! * `getppid`: `syscall(SYS_getppid)` in a tight loop;
//! * `getppid-after-detach`: the same in a process started before another
//!   empty probe is attached and detached (what every task that outlives an
//!   agent restart, or another tool's detach, pays; see below);
//! * `open-close`: `open("/etc/hostname", O_RDONLY)` + `close`;
//! * `open-close-no-openat`: the same, the agent configured to capture only
//!   `execve` and `connect` instead of what the rules need (the in-kernel
//!   filter drops the opens before they reach the ring);
//! * `tcp`: loopback connect + close (SO_LINGER 0, so no TIME_WAIT piles
//!   up) to a listener thread that accepts and closes;
//! * `exec`: `/bin/true` spawned (std `Command`) from two threads;
//! * `redis`: `redis-benchmark -t get,set -P 1 -c 50` against a
//!   `redis-server` on 127.0.0.1 (skipped when redis is not installed).
//!
//! Every measurement runs in a fresh process (this binary again, with the
//! hidden `--measure KEY`), started a settling pause after the last detach.
//! The process that attaches and detaches programs must not measure: a task
//! that exists when a syscall-tracepoint program is detached anywhere on the
//! machine pays more per syscall afterwards while a program sits on
//! `sys_exit` (getppid −6 %, with the agent or an empty `sys_exit` program;
//! not with one on `sys_enter`; see docs/benchmarks.md). Measuring in this
//! long-lived process charged that to whichever mode ran after a detach.

mod support;

use std::{
    collections::HashMap,
    ffi::CString,
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::{TcpListener, TcpStream},
    os::fd::AsRawFd as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use kestrel::sensor::{EmptyHook, EmptyProbe};

/// Time the agent may take to attach everything and log `ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Time the agent may take to stop after SIGINT.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after a workload before the agent's CPU is read, so the records
/// still in the ring are read and written (their cost is the workload's).
const DRAIN: Duration = Duration::from_millis(300);
/// Pause after a program is detached (empty probe dropped, agent stopped)
/// before the next measuring process starts, so that it starts after
/// whatever the detach leaves behind in the kernel (see the module comment).
const SETTLE: Duration = Duration::from_millis(1000);
/// Agent configuration of the `open-close-no-openat` variant: capture only
/// `execve` and `connect`, not the syscalls the loaded rules need (which
/// include `openat`).
const NO_OPENAT_CONFIG: &str = "[sensor]\ncapture = [\"execve\", \"connect\"]\n\n\
                                [rules]\ncapture_what_rules_need = false\n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Workload {
    Getppid,
    GetppidAfterDetach,
    OpenClose,
    OpenCloseNoOpenat,
    Tcp,
    Exec,
    Redis,
}

const WORKLOADS: &[Workload] = &[
    Workload::Getppid,
    Workload::GetppidAfterDetach,
    Workload::OpenClose,
    Workload::OpenCloseNoOpenat,
    Workload::Tcp,
    Workload::Exec,
    Workload::Redis,
];

/// What "good enough" is for a workload's kestrel ratio.
#[derive(Clone, Copy)]
enum Goal {
    /// At least this fraction of the empty probe's ratio.
    OfEmpty(f64),
    /// At least this ratio.
    Ratio(f64),
    /// At least this ratio, with no kernel drop and no decode error.
    RatioNoLoss(f64),
}

impl Workload {
    fn key(self) -> &'static str {
        match self {
            Workload::Getppid => "getppid",
            Workload::GetppidAfterDetach => "getppid-after-detach",
            Workload::OpenClose => "open-close",
            Workload::OpenCloseNoOpenat => "open-close-no-openat",
            Workload::Tcp => "tcp",
            Workload::Exec => "exec",
            Workload::Redis => "redis",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Workload::Getppid => "getppid loop",
            Workload::GetppidAfterDetach => {
                "getppid loop in a task that lived through a detach elsewhere"
            }
            Workload::OpenClose => "open/close loop",
            Workload::OpenCloseNoOpenat => {
                "open/close loop, agent capture = [execve, connect] (openat filtered in kernel)"
            }
            Workload::Tcp => "loopback TCP connect/accept",
            Workload::Exec => "fork+exec /bin/true (2 threads)",
            Workload::Redis => "redis-benchmark get,set -c 50 -P 1",
        }
    }

    fn goal(self) -> Goal {
        match self {
            Workload::Getppid | Workload::GetppidAfterDetach => Goal::OfEmpty(0.95),
            Workload::OpenClose | Workload::OpenCloseNoOpenat => Goal::Ratio(0.80),
            Workload::Tcp | Workload::Redis => Goal::Ratio(0.95),
            Workload::Exec => Goal::RatioNoLoss(0.95),
        }
    }

    /// The agent's configuration file contents, when not the defaults.
    fn agent_config(self) -> Option<&'static str> {
        (self == Workload::OpenCloseNoOpenat).then_some(NO_OPENAT_CONFIG)
    }
}

struct Args {
    secs: f64,
    pairs: u32,
    workloads: Vec<Workload>,
    kestrel: PathBuf,
    /// Agent configuration for the workloads that do not bring their own.
    agent_config: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut secs: f64 = 2.0;
    let mut pairs: u32 = 9;
    let mut workloads = WORKLOADS.to_vec();
    let mut kestrel = None;
    let mut agent_config = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--secs" => secs = value()?.parse().context("--secs")?,
            "--pairs" => pairs = value()?.parse().context("--pairs")?,
            "--kestrel" => kestrel = Some(PathBuf::from(value()?)),
            "--agent-config" => agent_config = Some(PathBuf::from(value()?)),
            "--only" => {
                let list = value()?;
                workloads = list
                    .split(',')
                    .map(|key| {
                        WORKLOADS
                            .iter()
                            .copied()
                            .find(|w| w.key() == key.trim())
                            .with_context(|| {
                                let keys: Vec<_> = WORKLOADS.iter().map(|w| w.key()).collect();
                                format!("unknown workload `{key}`; known: {}", keys.join(", "))
                            })
                    })
                    .collect::<anyhow::Result<_>>()?;
            }
            "-h" | "--help" => {
                println!(
                    "sensor_bench [--secs S] [--pairs N] [--only getppid,open-close,...] \
                     [--kestrel PATH] [--agent-config TOML]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}` (try --help)"),
        }
    }
    if secs.is_nan() || secs <= 0.0 || pairs == 0 {
        bail!("--secs must be > 0 and --pairs >= 1");
    }
    let kestrel = support::kestrel_binary(kestrel)?;
    Ok(Args {
        secs,
        pairs,
        workloads,
        kestrel,
        agent_config,
    })
}

fn main() -> anyhow::Result<()> {
    if let Some(measured) = measure_mode()? {
        println!("ops={measured}");
        return Ok(());
    }
    let args = parse_args()?;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the sensor benchmark loads eBPF programs: run it as root");
    }
    print_machine(&args);

    let redis = if args.workloads.contains(&Workload::Redis) {
        match Redis::start() {
            Ok(redis) => Some(redis),
            Err(err) => {
                println!("redis workload skipped: {err:#}");
                None
            }
        }
    } else {
        None
    };
    let mut ctx = Ctx {
        secs: args.secs,
        redis,
    };

    let mut rows = Vec::new();
    for &workload in &args.workloads {
        if workload == Workload::Redis && ctx.redis.is_none() {
            continue;
        }
        println!(
            "\n== {} ({} rounds of {} s)",
            workload.label(),
            args.pairs,
            args.secs
        );
        rows.push(bench_workload(workload, &args, &mut ctx)?);
    }

    println!();
    println!("load average at the end: {}", load_average());
    print_table(&rows);
    let met = rows.iter().filter(|r| r.verdict.is_met()).count();
    println!("\ngoals met: {met} of {}", rows.len());
    Ok(())
}

/// `--measure KEY --secs S` (the child the benchmark starts for each
/// measurement): run the workload once in this fresh process; ops/s.
fn measure_mode() -> anyhow::Result<Option<f64>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [flag, key, secs_flag, secs] = args.as_slice() else {
        return Ok(None);
    };
    if flag != "--measure" || secs_flag != "--secs" {
        return Ok(None);
    }
    let workload = WORKLOADS
        .iter()
        .copied()
        .find(|w| w.key() == key && *w != Workload::Redis)
        .with_context(|| format!("--measure: no in-process workload `{key}`"))?;
    let secs: f64 = secs.parse().context("--secs")?;
    if workload == Workload::GetppidAfterDetach {
        // Exist first, measure when told (after the parent's detach).
        println!("ready");
        std::io::stdout().flush()?;
        let mut go = String::new();
        std::io::stdin().read_line(&mut go)?;
    }
    let mut ctx = Ctx { secs, redis: None };
    run_workload(workload, &mut ctx).map(Some)
}

/// Run `workload` once in a fresh process (redis-benchmark is one already);
/// ops/s.
fn measure(workload: Workload, ctx: &mut Ctx) -> anyhow::Result<f64> {
    if workload == Workload::Redis {
        return run_workload(workload, ctx);
    }
    let exe = std::env::current_exe().context("this benchmark's path")?;
    let mut cmd = command(&exe);
    cmd.args(["--measure", workload.key(), "--secs", &ctx.secs.to_string()])
        .stderr(Stdio::inherit());
    let out = if workload == Workload::GetppidAfterDetach {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("running {} --measure", exe.display()))?;
        let mut stdout = BufReader::new(child.stdout.take().context("child stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        if line.trim() != "ready" {
            bail!("the measuring process said {line:?} instead of `ready`");
        }
        // Another program comes and goes while the measuring task exists.
        drop(EmptyProbe::attach(EmptyHook::SysEnter).context("attaching the second probe")?);
        std::thread::sleep(SETTLE);
        child
            .stdin
            .take()
            .context("child stdin")?
            .write_all(b"go\n")?;
        let mut rest = String::new();
        stdout.read_to_string(&mut rest)?;
        let status = child.wait()?;
        std::process::Output {
            status,
            stdout: rest.into_bytes(),
            stderr: Vec::new(),
        }
    } else {
        cmd.output()
            .with_context(|| format!("running {} --measure", exe.display()))?
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "measuring {} failed ({}): {stdout}",
            workload.key(),
            out.status
        );
    }
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("ops="))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no `ops=` in the measuring process's output: {stdout}"))
}

/// Say what is measured on what.
fn print_machine(args: &Args) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!("sensor overhead benchmark");
    println!("  machine: {cpu}, {cores} CPUs, Linux {}", kernel.trim());
    println!("  load average at the start: {}", load_average());
    if std::env::var_os("LD_LIBRARY_PATH").is_some() {
        println!("  LD_LIBRARY_PATH (set by `cargo run`) is removed for the programs started");
    }
    println!(
        "  agent:   {} run --output json > /dev/null",
        args.kestrel.display()
    );
    if let Some(config) = &args.agent_config {
        println!(
            "  agent config (unless a workload has its own): {}",
            config.display()
        );
    }
    println!(
        "  {} s per measurement; {} rounds of without / empty probe / kestrel per workload \
         (order reversed every other round), each in a fresh process; medians reported",
        args.secs, args.pairs
    );
}

/// The 1, 5 and 15 minute load averages (other work skews the figures).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// State shared by the workloads.
struct Ctx {
    secs: f64,
    redis: Option<Redis>,
}

/// One measured workload, summarised.
struct Row {
    workload: Workload,
    without: f64,
    empty_ratio: f64,
    kestrel_ratio: f64,
    ratio_range: (f64, f64),
    events_per_sec: f64,
    kernel_lost: u64,
    kernel_ring_full: u64,
    output_dropped: u64,
    decode_errors: u64,
    agent_cpu: f64,
    agent_peak_kib: u64,
    /// Distribution-free 95 % interval of the median kestrel ratio (None:
    /// too few rounds for one).
    ratio_ci: Option<(f64, f64)>,
    /// Round-to-round coefficient of variation of the unprobed rate: how
    /// noisy the machine was while this row was measured.
    without_cv: f64,
    verdict: Verdict,
}

/// A goal judged against the median and its confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// The whole interval is at or above the goal.
    Met,
    /// The median is at or above the goal, the interval reaches below it.
    MetWithinNoise,
    /// The median is below the goal, the interval reaches above it.
    MissedWithinNoise,
    /// The whole interval is below the goal, or a drop or decode error.
    Missed,
}

impl Verdict {
    /// `threshold` is the ratio the goal asks for; `clean` whether the
    /// goal's loss conditions hold. Without an interval the median decides.
    fn judge(median: f64, ci: Option<(f64, f64)>, threshold: f64, clean: bool) -> Verdict {
        if !clean {
            return Verdict::Missed;
        }
        let (lo, hi) = ci.unwrap_or((median, median));
        match (median >= threshold, lo >= threshold, hi >= threshold) {
            (true, true, _) => Verdict::Met,
            (true, false, _) => Verdict::MetWithinNoise,
            (false, _, true) => Verdict::MissedWithinNoise,
            (false, _, false) => Verdict::Missed,
        }
    }

    fn is_met(self) -> bool {
        matches!(self, Verdict::Met | Verdict::MetWithinNoise)
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Met => "yes",
            Verdict::MetWithinNoise => "yes, within noise",
            Verdict::MissedWithinNoise => "**no**, within noise",
            Verdict::Missed => "**no**",
        }
    }
}

fn bench_workload(workload: Workload, args: &Args, ctx: &mut Ctx) -> anyhow::Result<Row> {
    let config = match workload.agent_config() {
        Some(text) => {
            let mut file = tempfile::Builder::new()
                .prefix("kestrel-bench-")
                .suffix(".toml")
                .tempfile()?;
            file.write_all(text.as_bytes())?;
            println!(
                "  agent config {}: {}",
                file.path().display(),
                text.replace('\n', " ")
            );
            Some(file)
        }
        None => None,
    };
    let mut without = Vec::new();
    let mut empty_ratios = Vec::new();
    let mut kestrel_ratios = Vec::new();
    let mut agents = Vec::new();
    for round in 0..args.pairs {
        let mut order = [Mode::Without, Mode::Empty, Mode::Kestrel];
        if round % 2 == 1 {
            order.reverse();
        }
        let mut ops = HashMap::new();
        for mode in order {
            let result = match mode {
                Mode::Without => measure(workload, ctx)?,
                Mode::Empty => {
                    let probe = EmptyProbe::attach(EmptyHook::SysEnter)
                        .context("attaching the empty probe")?;
                    let result = measure(workload, ctx);
                    drop(probe);
                    std::thread::sleep(SETTLE);
                    result?
                }
                Mode::Kestrel => {
                    let config = match &config {
                        Some(file) => Some(file.path()),
                        None => args.agent_config.as_deref(),
                    };
                    let agent = Agent::start(&args.kestrel, config)?;
                    let cpu_before = agent.cpu_secs()?;
                    let result = measure(workload, ctx);
                    std::thread::sleep(DRAIN);
                    let cpu = agent.cpu_secs()? - cpu_before;
                    let peak_kib = agent.peak_rss_kib()?;
                    let report = agent.stop()?;
                    std::thread::sleep(SETTLE);
                    let ops = result?;
                    agents.push(AgentRun {
                        cpu,
                        peak_kib,
                        events_per_sec: report.get("records") as f64 / ctx.secs,
                        report,
                    });
                    ops
                }
            };
            ops.insert(mode, result);
        }
        let base = ops[&Mode::Without];
        let empty = ops[&Mode::Empty] / base;
        let kestrel = ops[&Mode::Kestrel] / base;
        let agent = agents.last().expect("one agent run per round");
        println!(
            "  round {}: without {:>10.0} ops/s | empty probe {:>10.0} ({empty:.3}) | \
             kestrel {:>10.0} ({kestrel:.3}) | agent: {:.0} records/s (exec {}), lost {}, \
             decode errors {}, output dropped {}, CPU {:.2} s",
            round + 1,
            base,
            ops[&Mode::Empty],
            ops[&Mode::Kestrel],
            agent.events_per_sec,
            agent.report.get("exec"),
            agent.report.get("kernel_lost"),
            agent.report.get("decode_errors"),
            agent.report.get("output_dropped"),
            agent.cpu,
        );
        without.push(base);
        empty_ratios.push(empty);
        kestrel_ratios.push(kestrel);
    }
    let sum = |key: &str| agents.iter().map(|a| a.report.get(key)).sum::<u64>();
    let empty_ratio = median(&empty_ratios);
    let kestrel_ratio = median(&kestrel_ratios);
    let kernel_lost = sum("kernel_lost");
    let decode_errors = sum("decode_errors");
    let (threshold, clean) = match workload.goal() {
        Goal::OfEmpty(f) => (f * empty_ratio, true),
        Goal::Ratio(r) => (r, true),
        Goal::RatioNoLoss(r) => (r, kernel_lost == 0 && decode_errors == 0),
    };
    let ratio_ci = median_ci95(&kestrel_ratios);
    let verdict = Verdict::judge(kestrel_ratio, ratio_ci, threshold, clean);
    Ok(Row {
        workload,
        without: median(&without),
        empty_ratio,
        kestrel_ratio,
        ratio_range: (
            kestrel_ratios.iter().copied().fold(f64::INFINITY, f64::min),
            kestrel_ratios.iter().copied().fold(0.0, f64::max),
        ),
        events_per_sec: median(&agents.iter().map(|a| a.events_per_sec).collect::<Vec<_>>()),
        kernel_lost,
        kernel_ring_full: sum("kernel_ring_full"),
        output_dropped: sum("output_dropped"),
        decode_errors,
        agent_cpu: median(&agents.iter().map(|a| a.cpu).collect::<Vec<_>>()),
        agent_peak_kib: agents.iter().map(|a| a.peak_kib).max().unwrap_or(0),
        ratio_ci,
        without_cv: coefficient_of_variation(&without),
        verdict,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Mode {
    Without,
    Empty,
    Kestrel,
}

struct AgentRun {
    cpu: f64,
    peak_kib: u64,
    events_per_sec: f64,
    report: AgentReport,
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// A distribution-free interval of at least 95 % confidence for the median
/// of `values`: the order statistics `x(k)` and `x(n+1-k)` for the largest
/// `k` with `P(Binomial(n, 1/2) < k) ≤ 2.5 %` (n = 9 gives the 2nd and 8th
/// of nine, 96.1 %). None below 6 values, where no such `k` exists (and
/// above 1000, where the binomial terms underflow).
fn median_ci95(values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len();
    if n == 0 || n > 1000 {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    // P(X = i) for X ~ Binomial(n, 1/2), summed from i = 0 upwards.
    let mut below = 0.0; // P(X < k)
    let mut choose = 1.0; // C(n, i)
    let half_n = 0.5f64.powi(n as i32);
    let mut k = 0;
    for i in 0..n / 2 {
        below += choose * half_n;
        if below > 0.025 {
            break;
        }
        k = i + 1;
        choose = choose * (n - i) as f64 / (i + 1) as f64;
    }
    (k >= 1).then(|| (sorted[k - 1], sorted[n - k]))
}

/// Standard deviation over mean (sample standard deviation; 0 for fewer
/// than two values).
fn coefficient_of_variation(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    if mean > 0.0 { var.sqrt() / mean } else { 0.0 }
}

fn print_table(rows: &[Row]) {
    println!(
        "| workload | without (ops/s, round-to-round cv) | empty probe ratio \
         | kestrel ratio (min–max) | 95 % interval of the median | goal | met \
         | agent events/s | kernel drops (ring full) | output drops | decode errors \
         | agent CPU s | agent peak RSS |"
    );
    println!("|---|--:|--:|--:|--:|---|---|--:|--:|--:|--:|--:|--:|");
    for r in rows {
        let goal = match r.workload.goal() {
            Goal::OfEmpty(f) => format!("≥ {f:.2} × empty = {:.3}", f * r.empty_ratio),
            Goal::Ratio(x) => format!("≥ {x:.2}"),
            Goal::RatioNoLoss(x) => format!("≥ {x:.2}, 0 drops, 0 decode errors"),
        };
        let ci = r.ratio_ci.map_or_else(
            || "too few rounds".into(),
            |(lo, hi)| format!("{lo:.3}–{hi:.3}"),
        );
        println!(
            "| {} | {:.0} ({:.1} %) | {:.3} | {:.3} ({:.3}–{:.3}) | {ci} | {goal} | {} | {:.0} \
             | {} ({}) | {} | {} | {:.2} | {:.1} MiB |",
            r.workload.label(),
            r.without,
            r.without_cv * 100.0,
            r.empty_ratio,
            r.kestrel_ratio,
            r.ratio_range.0,
            r.ratio_range.1,
            r.verdict.label(),
            r.events_per_sec,
            r.kernel_lost,
            r.kernel_ring_full,
            r.output_dropped,
            r.decode_errors,
            r.agent_cpu,
            r.agent_peak_kib as f64 / 1024.0,
        );
    }
}

// ---- workloads ----

fn run_workload(workload: Workload, ctx: &mut Ctx) -> anyhow::Result<f64> {
    let secs = ctx.secs;
    match workload {
        Workload::Getppid | Workload::GetppidAfterDetach => Ok(timed_loop(secs, || {
            // SAFETY: getppid takes no arguments and cannot fail.
            unsafe { libc::syscall(libc::SYS_getppid) };
            Ok(())
        })?),
        Workload::OpenClose | Workload::OpenCloseNoOpenat => open_close(secs),
        Workload::Tcp => tcp_connect(secs),
        Workload::Exec => exec_storm(secs),
        Workload::Redis => ctx
            .redis
            .as_mut()
            .context("redis is not running")?
            .benchmark(secs),
    }
}

/// Call `op` in a loop for `secs` seconds; operations per second.
fn timed_loop(secs: f64, mut op: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    const BATCH: u64 = 64;
    let duration = Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut ops = 0u64;
    loop {
        for _ in 0..BATCH {
            op()?;
        }
        ops += BATCH;
        if start.elapsed() >= duration {
            break;
        }
    }
    Ok(ops as f64 / start.elapsed().as_secs_f64())
}

fn open_close(secs: f64) -> anyhow::Result<f64> {
    let path = CString::new("/etc/hostname")?;
    timed_loop(secs, || {
        // SAFETY: `path` is a valid NUL-terminated string.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
        if fd < 0 {
            bail!("open /etc/hostname: {}", std::io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened by us and is closed once.
        unsafe { libc::close(fd) };
        Ok(())
    })
}

fn tcp_connect(secs: f64) -> anyhow::Result<f64> {
    /// Connections the client may be ahead of the acceptor: enough to keep
    /// both busy, far below the accept queue (an overflow drops the SYN and
    /// costs a 1 s retransmit, which would swamp the measurement).
    const MAX_AHEAD: u64 = 64;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    // SAFETY: re-listening on our listening socket only raises its backlog.
    unsafe { libc::listen(listener.as_raw_fd(), 4096) };
    let addr = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let acceptor = {
        let (stop, accepted) = (stop.clone(), accepted.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                drop(stream);
                accepted.fetch_add(1, Ordering::Relaxed);
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
        })
    };
    let mut connected = 0u64;
    let result = timed_loop(secs, || {
        while connected > accepted.load(Ordering::Relaxed) + MAX_AHEAD {
            std::thread::yield_now();
        }
        let stream = TcpStream::connect(addr).context("connecting to the listener")?;
        reset_on_close(&stream)?;
        connected += 1;
        Ok(())
    });
    stop.store(true, Ordering::Relaxed);
    // Wake the acceptor so it sees `stop`.
    let _ = TcpStream::connect(addr);
    let _ = acceptor.join();
    result
}

/// SO_LINGER 0: close sends RST and leaves no TIME_WAIT socket, so a
/// benchmark of hundreds of thousands of connections cannot run out of
/// ephemeral ports.
fn reset_on_close(stream: &TcpStream) -> anyhow::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd is open for the call; `linger` is valid for its size.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        bail!("SO_LINGER: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// A command for a program the benchmark starts, without the
/// `LD_LIBRARY_PATH` that `cargo run` sets: with it every dynamically linked
/// program probes each of those directories (and their hwcaps
/// subdirectories) before finding its libraries, about 130 extra failed
/// `openat` calls per exec, which the agent records and which no
/// production exec pays.
fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_remove("LD_LIBRARY_PATH");
    cmd
}

fn exec_storm(secs: f64) -> anyhow::Result<f64> {
    const THREADS: usize = 2;
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let count = count.clone();
            std::thread::spawn(move || -> std::io::Result<()> {
                while Instant::now() < deadline {
                    let status = command("/bin/true").status()?;
                    if !status.success() {
                        return Err(std::io::Error::other(format!("/bin/true: {status}")));
                    }
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    for thread in threads {
        thread
            .join()
            .map_err(|_| anyhow::anyhow!("exec thread panicked"))?
            .context("spawning /bin/true")?;
    }
    Ok(count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

/// A `redis-server` on 127.0.0.1 for the benchmark's lifetime.
struct Redis {
    server: Child,
    port: u16,
    /// Requests per test giving about `--secs` seconds for get + set.
    requests: Option<u64>,
}

impl Redis {
    fn start() -> anyhow::Result<Redis> {
        for tool in ["redis-server", "redis-benchmark"] {
            if command(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_err()
            {
                bail!("`{tool}` is not installed (`cargo xtask bench sensor` installs it)");
            }
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let port_arg = port.to_string();
        let args = [
            "--bind",
            "127.0.0.1",
            "--port",
            &port_arg,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ];
        println!("starting redis-server {}", args.join(" "));
        let server = command("redis-server")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting redis-server")?;
        let redis = Redis {
            server,
            port,
            requests: None,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !redis.pings() {
            if Instant::now() > deadline {
                bail!("redis-server on port {port} did not answer PING within 10 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(redis)
    }

    fn pings(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Run redis-benchmark; get+set requests per second (total requests
    /// over total time). The first call sizes the run to about `secs`.
    fn benchmark(&mut self, secs: f64) -> anyhow::Result<f64> {
        let requests = match self.requests {
            Some(n) => n,
            None => {
                let rate = self.run_benchmark(20_000)?;
                let n = ((rate * secs / 2.0) as u64).max(10_000);
                println!("  redis-benchmark sized to -n {n} per test (~{secs} s for get+set)");
                self.requests = Some(n);
                n
            }
        };
        self.run_benchmark(requests)
    }

    fn run_benchmark(&self, requests: u64) -> anyhow::Result<f64> {
        let out = command("redis-benchmark")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-q", "--csv", "-t", "get,set", "-P", "1", "-c", "50"])
            .args(["-n", &requests.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .context("running redis-benchmark")?;
        if !out.status.success() {
            bail!("redis-benchmark failed ({})", out.status);
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let rates: Vec<f64> = stdout
            .lines()
            .filter_map(|line| {
                let mut fields = line.split(',').map(|f| f.trim_matches('"'));
                let test = fields.next()?;
                let rps = fields.next()?.parse::<f64>().ok()?;
                matches!(test, "GET" | "SET").then_some(rps)
            })
            .collect();
        if rates.len() != 2 || rates.iter().any(|r| *r <= 0.0) {
            bail!("could not read GET and SET rates from redis-benchmark:\n{stdout}");
        }
        Ok(rates.len() as f64 / rates.iter().map(|r| 1.0 / r).sum::<f64>())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

// ---- the agent ----

/// A running `kestrel run --output json` (stdout to /dev/null).
struct Agent {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
}

/// The counters of the agent's final log line (`records=… decode_errors=…`).
struct AgentReport(HashMap<String, u64>);

impl AgentReport {
    fn get(&self, key: &str) -> u64 {
        self.0.get(key).copied().unwrap_or(0)
    }
}

impl Agent {
    fn start(kestrel: &Path, config: Option<&Path>) -> anyhow::Result<Agent> {
        let mut cmd = command(kestrel);
        cmd.args(["run", "--output", "json"]);
        if let Some(config) = config {
            cmd.arg("--config").arg(config);
        }
        let mut child = cmd
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", kestrel.display()))?;
        let stderr = child.stderr.take().context("agent stderr")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(strip_ansi(&line)).is_err() {
                    break;
                }
            }
        });
        let mut agent = Agent {
            child,
            lines,
            log: Vec::new(),
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match agent.lines.recv_timeout(left) {
                Ok(line) => {
                    let ready = line.contains("kestrel ready");
                    agent.log.push(line);
                    if ready {
                        return Ok(agent);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = agent.child.kill();
                    let _ = agent.child.wait();
                    bail!(
                        "the agent did not log `ready` within {READY_TIMEOUT:?}:\n{}",
                        agent.log.join("\n")
                    );
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = agent.child.wait()?;
                    bail!(
                        "the agent exited ({status}) before logging `ready`:\n{}",
                        agent.log.join("\n")
                    );
                }
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// utime + stime so far, from /proc/<pid>/stat.
    fn cpu_secs(&self) -> anyhow::Result<f64> {
        let path = format!("/proc/{}/stat", self.pid());
        let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
        let after_comm = stat.rsplit_once(')').context("malformed stat")?.1;
        let fields: Vec<&str> = after_comm.split_whitespace().collect();
        let ticks =
            |i: usize| -> anyhow::Result<u64> { Ok(fields.get(i).context("short stat")?.parse()?) };
        let total = ticks(11)? + ticks(12)?;
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
        Ok(total as f64 / hz as f64)
    }

    /// Peak resident set (VmHWM) in KiB, from /proc/<pid>/status.
    fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        let path = format!("/proc/{}/status", self.pid());
        let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .context("no VmHWM in status")?
            .parse()
            .context("VmHWM")
    }

    /// SIGINT, wait for the exit and read the final counters.
    fn stop(mut self) -> anyhow::Result<AgentReport> {
        let pid = libc::pid_t::try_from(self.pid())?;
        // SAFETY: signalling our own child, which has not been reaped.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("the agent did not stop within {STOP_TIMEOUT:?} of SIGINT");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader ends at EOF, once the agent has exited.
        self.log.extend(self.lines.iter());
        if !status.success() {
            bail!("the agent exited with {status}:\n{}", self.log.join("\n"));
        }
        let last = self
            .log
            .iter()
            .rev()
            .find(|l| l.contains("records="))
            .with_context(|| {
                format!(
                    "no final `records=` line from the agent:\n{}",
                    self.log.join("\n")
                )
            })?;
        let counters = last
            .split_whitespace()
            .filter_map(|token| {
                let (key, value) = token.split_once('=')?;
                Some((key.to_string(), value.parse().ok()?))
            })
            .collect();
        Ok(AgentReport(counters))
    }
}

/// Remove terminal colour sequences (`ESC [ … m`), should any be there.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_interval_uses_the_binomial_order_statistics() {
        let nine: Vec<f64> = [9.0, 1.0, 8.0, 2.0, 7.0, 3.0, 6.0, 4.0, 5.0].to_vec();
        assert_eq!(median_ci95(&nine), Some((2.0, 8.0)));
        let six: Vec<f64> = (1..=6).map(f64::from).collect();
        assert_eq!(median_ci95(&six), Some((1.0, 6.0)));
        let five: Vec<f64> = (1..=5).map(f64::from).collect();
        assert_eq!(median_ci95(&five), None);
        // n = 25: P(X ≤ 7) = 2.16 %, P(X ≤ 8) = 5.4 %: the 8th and 18th.
        let many: Vec<f64> = (1..=25).map(f64::from).collect();
        assert_eq!(median_ci95(&many), Some((8.0, 18.0)));
        assert_eq!(median_ci95(&[]), None);
    }

    #[test]
    fn verdict_separates_noise_from_a_miss() {
        // (median, interval, loss conditions hold, verdict) against 0.95.
        let cases = [
            (0.97, Some((0.955, 0.99)), true, Verdict::Met),
            (0.96, Some((0.92, 1.04)), true, Verdict::MetWithinNoise),
            (0.94, Some((0.90, 0.99)), true, Verdict::MissedWithinNoise),
            (0.90, Some((0.85, 0.94)), true, Verdict::Missed),
            // A drop fails the goal whatever the ratio.
            (0.99, Some((0.98, 1.0)), false, Verdict::Missed),
            // No interval: the median alone decides.
            (0.95, None, true, Verdict::Met),
            (0.94, None, true, Verdict::Missed),
        ];
        for (median, ci, clean, want) in cases {
            assert_eq!(
                Verdict::judge(median, ci, 0.95, clean),
                want,
                "median {median}, interval {ci:?}, clean {clean}"
            );
        }
    }

    #[test]
    fn coefficient_of_variation_is_relative_spread() {
        assert_eq!(coefficient_of_variation(&[5.0]), 0.0);
        let cv = coefficient_of_variation(&[90.0, 100.0, 110.0]);
        assert!((cv - 0.1).abs() < 1e-12, "{cv}");
    }
}
