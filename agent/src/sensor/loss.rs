//! The kernel's loss counters: records the programs could not deliver, per
//! CPU, by event kind and reason (ring full, kernel read failed).

use aya::maps::{HashMap, MapData, PerCpuArray};
use kestrel_common::{kind, loss};
use serde::Serialize;

/// A snapshot of the kernel's loss counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LossCounters {
    /// Ring-buffer reserve failures by event kind.
    pub ring_full: Vec<(String, u64)>,
    /// Records not sent because a kernel read failed, by event kind.
    pub read_failed: Vec<(String, u64)>,
    /// All losses per CPU.
    pub per_cpu: Vec<u64>,
    /// Ring-full losses per cgroup id (the busiest 4096 cgroups).
    pub per_cgroup: Vec<(u64, u64)>,
}

impl LossCounters {
    pub fn total(&self) -> u64 {
        self.per_cpu.iter().sum()
    }

    pub fn ring_full_total(&self) -> u64 {
        self.ring_full.iter().map(|(_, n)| n).sum()
    }
}

/// Reads the per-CPU `LOSS` array.
pub struct LossReader {
    array: PerCpuArray<MapData, u64>,
    by_cgroup: HashMap<MapData, u64, [u64; kind::COUNT as usize]>,
}

fn kind_name(k: u32) -> &'static str {
    match k as u16 {
        kind::EXEC => "exec",
        kind::FORK => "fork",
        kind::EXIT => "exit",
        kind::SYSCALL => "syscall",
        kind::FIRST_SYSCALL => "first_syscall",
        kind::CGROUP_MKDIR => "cgroup_mkdir",
        kind::CGROUP_RMDIR => "cgroup_rmdir",
        _ => "other",
    }
}

impl LossReader {
    pub(super) fn new(
        array: PerCpuArray<MapData, u64>,
        by_cgroup: HashMap<MapData, u64, [u64; kind::COUNT as usize]>,
    ) -> LossReader {
        LossReader { array, by_cgroup }
    }

    /// Sum the counters over CPUs. A slot that cannot be read is skipped
    /// with a debug log (it only happens if the map vanished).
    pub fn read(&self) -> LossCounters {
        let mut out = LossCounters::default();
        for k in 1..kind::COUNT {
            for reason in 0..loss::REASONS {
                let slot = k * loss::REASONS + reason;
                let values = match self.array.get(&slot, 0) {
                    Ok(values) => values,
                    Err(err) => {
                        tracing::debug!(slot, %err, "reading LOSS");
                        continue;
                    }
                };
                if out.per_cpu.len() < values.len() {
                    out.per_cpu.resize(values.len(), 0);
                }
                let mut sum = 0;
                for (cpu, v) in values.iter().enumerate() {
                    sum += *v;
                    out.per_cpu[cpu] += *v;
                }
                let list = if reason == loss::RING_FULL {
                    &mut out.ring_full
                } else {
                    &mut out.read_failed
                };
                list.push((kind_name(k).to_string(), sum));
            }
        }
        for (cgroup, counts) in self.by_cgroup.iter().flatten() {
            out.per_cgroup.push((cgroup, counts.iter().sum()));
        }
        out.per_cgroup.sort_unstable();
        out
    }
}
