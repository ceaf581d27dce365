//! `getppid` calls per second, printed every half second for a while: one
//! long-lived task's syscall cost over time, to watch what attaching or
//! detaching programs elsewhere does to it (see docs/benchmarks.md).
//!
//! `cargo run --release --example getppid_rate -- [SECS]`

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

fn main() -> anyhow::Result<()> {
    let secs: f64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse().context("SECS")?,
        None => 10.0,
    };
    if !(secs.is_finite() && secs > 0.0) {
        bail!("SECS must be a positive number of seconds");
    }
    const SLICE: Duration = Duration::from_millis(500);
    let start = Instant::now();
    let mut slice_start = start;
    let mut calls = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        for _ in 0..1024 {
            // SAFETY: getppid takes no arguments and cannot fail.
            unsafe { libc::syscall(libc::SYS_getppid) };
        }
        calls += 1024;
        let elapsed = slice_start.elapsed();
        if elapsed >= SLICE {
            println!(
                "{:5.1} s  {:.2} M/s",
                start.elapsed().as_secs_f64(),
                calls as f64 / elapsed.as_secs_f64() / 1e6
            );
            calls = 0;
            slice_start = Instant::now();
        }
    }
    Ok(())
}
