//! `cargo xtask`: the project's developer tasks.
//!
//! * `setup` installs what the build and tests need, idempotently, saying
//!   what it does: rust-src for the nightly toolchain, bpf-linker 0.10.3, the
//!   tracefs mount, and (for tests) runc, podman and busybox from Debian.
//! * `run` sets up, builds in release and runs the agent with the embedded
//!   default rules (extra arguments go to `kestrel run`).
//! * `test` sets up, then checks formatting, lints with `-D warnings`, and
//!   runs every test, live eBPF tests included.
//! * `bench` runs the benchmarks and prints their figures.
//! * `build-arm64` cross-builds the agent (and its eBPF object) for
//!   `aarch64-unknown-linux-gnu`; `test` does it too, after the tests.
//! * `fuzz` runs the decoder's fuzz target (agent/fuzz) with cargo-fuzz.

mod bench;
mod setup;

use std::process::Command;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what building and testing need (idempotent).
    Setup {
        /// Also install the packages the live tests use (runc, podman, busybox).
        #[arg(long)]
        tests: bool,
    },
    /// Set up, build in release and run the agent (arguments after `--` go to `kestrel run`).
    Run {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Set up, then fmt --check, clippy -D warnings, and every test.
    Test {
        /// Extra arguments for `cargo test` (e.g. a test name filter).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run a benchmark and print its figures.
    Bench {
        #[command(subcommand)]
        which: bench::Which,
    },
    /// Cross-build the agent for aarch64-unknown-linux-gnu (installs the target and linker).
    BuildArm64,
    /// Fuzz the event decoder (cargo-fuzz, nightly; installs cargo-fuzz if missing).
    Fuzz {
        /// Seconds to fuzz for.
        #[arg(long, default_value_t = 60)]
        secs: u64,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Setup { tests } => {
            setup::build_tools()?;
            if tests {
                setup::test_packages()?;
            }
            Ok(())
        }
        Task::Run { args } => {
            setup::build_tools()?;
            cargo(&["build", "--release", "--package", "kestrel"])?;
            let mut cmd = Command::new("target/release/kestrel");
            cmd.arg("run");
            if !args
                .iter()
                .any(|a| a == "--output" || a.starts_with("--output=") || a == "-o")
            {
                cmd.args(["--output", "json"]);
            }
            cmd.args(&args);
            step(&format!("running {cmd:?} (Ctrl-C stops it)"));
            let status = cmd.status().context("starting target/release/kestrel")?;
            if !status.success() {
                bail!("kestrel exited with {status}");
            }
            Ok(())
        }
        Task::Test { args } => {
            setup::build_tools()?;
            setup::test_packages()?;
            cargo(&["fmt", "--all", "--check"])?;
            cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])?;
            setup::clippy_ebpf()?;
            // Run every test binary even when one fails, so a red run shows
            // every failure at once.
            let mut test = vec!["test", "--workspace", "--no-fail-fast"];
            test.extend(args.iter().map(String::as_str));
            cargo(&test)?;
            setup::cross_arm64()?;
            setup::build_arm64()
        }
        Task::Bench { which } => bench::run(which),
        Task::BuildArm64 => {
            setup::build_tools()?;
            setup::cross_arm64()?;
            setup::build_arm64()
        }
        Task::Fuzz { secs } => bench::fuzz(secs),
    }
}

/// Print a set-up or build step so the user sees what is being done.
pub fn step(what: &str) {
    eprintln!("xtask: {what}");
}

/// Run cargo with `args` from the workspace root; fail on a non-zero exit.
pub fn cargo(args: &[&str]) -> anyhow::Result<()> {
    step(&format!("cargo {}", args.join(" ")));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(args);
    setup::apply_toolchain_env(&mut cmd);
    let status = cmd
        .status()
        .with_context(|| format!("running cargo {args:?}"))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}
