//! Benchmarks that print figures (never timed assertions), and the fuzzer
//! runner (a long measurement too, never part of `test`).

use std::process::Command;

use anyhow::{Context as _, bail};
use clap::Subcommand;

use crate::{setup, step};

/// Debian packages the `sensor` benchmark's redis workload needs.
const REDIS_PACKAGES: &[&str] = &["redis-server", "redis-tools"];

#[derive(Subcommand)]
pub enum Which {
    /// Exec storm: fork+exec of /bin/true under the agent; events/s and losses.
    ExecStorm {
        /// Number of fork+exec to run.
        #[arg(long, default_value_t = 10_000)]
        count: u32,
    },
    /// Syscall-heavy workloads without the agent, with an empty probe and
    /// with the real agent (`kestrel run`): throughput ratios, drops, agent
    /// CPU and memory, as a markdown table. Needs root.
    Sensor {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 2.0)]
        secs: f64,
        /// Without / empty probe / agent rounds per workload (medians are
        /// reported, with a 95 % interval from 6 rounds on).
        #[arg(long, default_value_t = 9)]
        pairs: u32,
        /// Only these workloads (comma-separated: getppid,
        /// getppid-after-detach, open-close,
        /// open-close-no-openat, tcp, exec, redis).
        #[arg(long)]
        only: Option<String>,
    },
}

pub fn run(which: Which) -> anyhow::Result<()> {
    match which {
        Which::ExecStorm { count } => {
            setup::build_tools()?;
            crate::cargo(&["build", "--release", "--package", "kestrel"])?;
            crate::cargo(&[
                "run",
                "--release",
                "--package",
                "kestrel",
                "--example",
                "exec_storm",
                "--",
                &count.to_string(),
            ])
        }
        Which::Sensor { secs, pairs, only } => {
            setup::build_tools()?;
            setup::debian_packages("redis for the redis workload", REDIS_PACKAGES)?;
            crate::cargo(&["build", "--release", "--package", "kestrel"])?;
            let secs = secs.to_string();
            let pairs = pairs.to_string();
            let mut args = vec![
                "run",
                "--release",
                "--package",
                "kestrel",
                "--example",
                "sensor_bench",
                "--",
                "--secs",
                &secs,
                "--pairs",
                &pairs,
            ];
            if let Some(only) = &only {
                args.extend(["--only", only]);
            }
            crate::cargo(&args)
        }
    }
}

/// `xtask fuzz`: run the `decode` fuzz target (agent/fuzz) with cargo-fuzz
/// on the nightly toolchain for `secs` seconds; installs cargo-fuzz if
/// missing. Crashes are left in `agent/fuzz/artifacts/decode/`.
pub fn fuzz(secs: u64) -> anyhow::Result<()> {
    // The fuzz target links the kestrel library, whose build script builds
    // the eBPF object: it needs the same tools as any build.
    setup::build_tools()?;
    setup::cargo_fuzz()?;
    let max_time = format!("-max_total_time={secs}");
    let mut cmd = Command::new("rustup");
    cmd.args(["run", "nightly", "cargo", "fuzz", "run", "decode", "--"])
        .arg(&max_time)
        .current_dir("agent")
        // Let rustup pick nightly's cargo and rustc, not the ones `cargo
        // xtask` runs with.
        .env_remove("RUSTC")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO");
    setup::apply_toolchain_env(&mut cmd);
    step(&format!(
        "fuzzing kestrel::event::Decoder::decode for {secs} s: \
         (cd agent && rustup run nightly cargo fuzz run decode -- {max_time})"
    ));
    let status = cmd.status().context("running cargo fuzz")?;
    if !status.success() {
        bail!("cargo fuzz run decode failed ({status}); see agent/fuzz/artifacts/decode/");
    }
    step("fuzzing: no crash");
    Ok(())
}
