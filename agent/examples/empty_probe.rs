//! Attach the benchmarks' no-op program to a syscall tracepoint for a while,
//! then detach it: the floor any syscall hook pays, for measuring by hand
//! next to `getppid_rate` (see docs/benchmarks.md). Needs root.
//!
//! `cargo run --release --example empty_probe -- [--hook sys_enter|sys_exit] [--secs S]`

use std::time::Duration;

use anyhow::{Context as _, bail};
use kestrel::sensor::{EmptyHook, EmptyProbe};

fn main() -> anyhow::Result<()> {
    let mut hook = EmptyHook::SysEnter;
    let mut secs = 10.0_f64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--hook" => {
                hook = match value()?.as_str() {
                    "sys_enter" => EmptyHook::SysEnter,
                    "sys_exit" => EmptyHook::SysExit,
                    other => bail!("--hook: `{other}` is neither sys_enter nor sys_exit"),
                }
            }
            "--secs" => secs = value()?.parse().context("--secs")?,
            other => bail!("unknown argument `{other}` (--hook sys_enter|sys_exit, --secs S)"),
        }
    }
    if !(secs.is_finite() && secs > 0.0) {
        bail!("--secs must be a positive number of seconds");
    }
    let probe = EmptyProbe::attach(hook).context("attaching the empty probe")?;
    println!("empty probe on {hook:?} attached for {secs} s");
    std::thread::sleep(Duration::from_secs_f64(secs));
    drop(probe);
    println!("empty probe detached");
    Ok(())
}
