//! Estimating the table's memory: entry structs, their heap (strings and
//! argv) and the containers' own capacity. O(entries): for stats, not the
//! hot path.

use compact_str::CompactString;
use std::mem::size_of;

use super::{Entry, ExitItem, ProcessTable};
use crate::context::ProcessInfo;

/// Where the table's bytes go (estimates: allocator rounding not included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryReport {
    pub entries: usize,
    /// `size_of::<ProcessInfo>()` per entry (the boxed record).
    pub record_bytes: usize,
    /// Strings and argv owned by the records.
    pub heap_bytes: usize,
    /// Hash buckets (whole capacity, with control bytes) and both queues.
    pub index_bytes: usize,
}

impl MemoryReport {
    pub fn total(&self) -> usize {
        self.record_bytes + self.heap_bytes + self.index_bytes
    }

    /// Average bytes per entry (0 when empty).
    pub fn per_entry(&self) -> usize {
        self.total().checked_div(self.entries).unwrap_or(0)
    }
}

/// Heap bytes a record owns.
pub(super) fn heap_bytes(info: &ProcessInfo) -> usize {
    // Short strings live inline in the record: only spilled ones own heap.
    let heap = |s: &CompactString| {
        if s.is_heap_allocated() {
            s.capacity()
        } else {
            0
        }
    };
    let opt = |s: &Option<CompactString>| s.as_ref().map_or(0, heap);
    heap(&info.exe)
        + heap(&info.name)
        + heap(&info.argv0)
        + info.args.len() * size_of::<String>()
        + info.args.iter().map(String::capacity).sum::<usize>()
        + opt(&info.cwd)
        + opt(&info.user_name)
        + opt(&info.group_name)
}

impl ProcessTable {
    pub fn memory(&self) -> MemoryReport {
        let entries = self.map.len();
        let heap = self.map.values().map(|e| heap_bytes(&e.info)).sum();
        // std's map keeps ≤ 7/8 of a power-of-two bucket count in use, each
        // bucket one slot plus one control byte.
        let slots = match self.map.capacity() {
            0 => 0,
            cap => (cap * 8).div_ceil(7).next_power_of_two(),
        };
        let buckets = slots * (size_of::<(u32, Entry)>() + 1);
        let queues = self.exits.capacity() * size_of::<ExitItem>()
            + self.lru.capacity() * size_of::<(u64, u32)>();
        MemoryReport {
            entries,
            record_bytes: entries * size_of::<ProcessInfo>(),
            heap_bytes: heap,
            index_bytes: buckets + queues,
        }
    }

    /// Estimated bytes the table holds (see [`MemoryReport`]).
    pub fn approx_bytes(&self) -> usize {
        self.memory().total()
    }
}
