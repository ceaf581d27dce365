//! The per-cgroup syscall profile kept by the kernel: which syscall numbers
//! each cgroup's tasks have used since the agent started. Feeds baselines
//! and seccomp profile export.

use aya::maps::{HashMap, MapData};
use kestrel_common::PROFILE_WORDS;

/// Reads the `PROFILE` map.
pub struct ProfileReader {
    map: HashMap<MapData, u64, [u64; PROFILE_WORDS]>,
}

impl ProfileReader {
    pub(super) fn new(map: HashMap<MapData, u64, [u64; PROFILE_WORDS]>) -> ProfileReader {
        ProfileReader { map }
    }

    /// Syscall numbers used by `cgroup_id`, ascending (empty if none seen).
    pub fn syscalls_of(&self, cgroup_id: u64) -> Vec<u32> {
        match self.map.get(&cgroup_id, 0) {
            Ok(bits) => bits_to_numbers(&bits),
            Err(_) => Vec::new(),
        }
    }

    /// Every profiled cgroup with its syscall numbers.
    pub fn all(&self) -> Vec<(u64, Vec<u32>)> {
        let mut out: Vec<_> = self
            .map
            .iter()
            .flatten()
            .map(|(cgroup, bits)| (cgroup, bits_to_numbers(&bits)))
            .collect();
        out.sort_unstable();
        out
    }
}

fn bits_to_numbers(bits: &[u64; PROFILE_WORDS]) -> Vec<u32> {
    let mut out = Vec::new();
    for (w, word) in bits.iter().enumerate() {
        for b in 0..64 {
            if word & (1 << b) != 0 {
                out.push((w * 64 + b) as u32);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_turns_into_ascending_syscall_numbers() {
        let mut bits = [0u64; PROFILE_WORDS];
        bits[0] = 1 | (1 << 59);
        bits[4] = 1 << 1;
        assert_eq!(bits_to_numbers(&bits), [0, 59, 257]);
    }
}
