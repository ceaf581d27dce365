//! Maps shared by every probe: the event ring buffer and the loss counters.
//! Probe-specific maps live next to their probe in `probes/`.

use aya_ebpf::{
    helpers::bpf_get_current_cgroup_id,
    macros::map,
    maps::{Array, LruHashMap, PerCpuArray, RingBuf},
};
use kestrel_common::{kind, loss};

/// Default ring size: 4 MiB holds ~2k exec records (the largest, ~2 KiB),
/// enough for a burst of a few milliseconds of a 100k/s exec storm while the
/// reader wakes up. Userspace overrides it from its configuration
/// (`sensor.ring_bytes`) before load.
pub const EVENTS_BYTES: u32 = 4 << 20;

#[map(name = "EVENTS")]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(EVENTS_BYTES, 0);

/// `bpf_ringbuf_query` / `bpf_ringbuf_commit` flags (uapi `bpf.h`).
const BPF_RB_AVAIL_DATA: u64 = 0;
const BPF_RB_NO_WAKEUP: u64 = 1;
const BPF_RB_FORCE_WAKEUP: u64 = 2;

/// Flags for submitting a record of `size` bytes. By default the kernel
/// wakes the reader for every record it finds idle: an interrupt plus a
/// cross-CPU wake-up per record, at the producer's expense (~1 µs measured
/// here). With `SETTINGS.wakeup_bytes` set, records are submitted quietly
/// and only the record that makes the waiting data cross that mark wakes
/// the reader (once per crossing, not for every record above it); the
/// reader also polls on a short timer, so a trickle is still read within
/// milliseconds and a missed crossing costs no more than one poll period.
#[inline(always)]
pub fn submit_flags(size: usize) -> u64 {
    let threshold = u64::from(crate::kernel::offsets::setting!(wakeup_bytes));
    if threshold == 0 {
        return 0;
    }
    // Includes this record: it is reserved, not yet committed.
    let waiting = EVENTS.query(BPF_RB_AVAIL_DATA);
    if waiting >= threshold && waiting < threshold + size as u64 {
        BPF_RB_FORCE_WAKEUP
    } else {
        BPF_RB_NO_WAKEUP
    }
}

/// Generations of what the syscall dispatcher's per-CPU cache holds (see
/// `probes::syscalls`). Slot [`SET_GEN`] is bumped by userspace when the
/// host-cgroup set changes: every CPU's cache then reloads its cgroup's
/// facts. Slot [`TASK_GEN`] is bumped when a task may start or join a
/// cgroup (fork, cgroup attach): every CPU's cache then re-reads the
/// current task's cgroup id, and reloads the rest only if it changed.
#[map(name = "CACHE_GEN")]
pub static CACHE_GEN: Array<u64> = Array::with_max_entries(2, 0);

/// [`CACHE_GEN`] slot of the host-set generation (written by userspace).
pub const SET_GEN: u32 = 0;
/// [`CACHE_GEN`] slot of the task-identity generation.
pub const TASK_GEN: u32 = 1;

/// Make every CPU's dispatcher cache re-read the current task's cgroup.
/// Two racing bumps may store the same value; either way the value
/// changed, which is all a cache checks.
#[inline(always)]
pub fn bump_task_gen() {
    if let Some(generation) = CACHE_GEN.get_ptr_mut(TASK_GEN) {
        // SAFETY: valid map value pointer.
        unsafe { *generation = (*generation).wrapping_add(1) };
    }
}

/// Records the kernel could not deliver, per CPU, indexed by
/// `kind * loss::REASONS + reason`. Per-CPU so counting a drop never
/// contends with another CPU.
#[map(name = "LOSS")]
pub static LOSS: PerCpuArray<u64> = PerCpuArray::with_max_entries(loss::SLOTS, 0);

/// Cgroups whose records were lost: cgroup id → ring-full count by kind.
/// 4096 cgroups cover a busy node's containers; LRU forgets the quietest.
pub const LOSS_BY_CGROUP_ENTRIES: u32 = 4096;

#[map(name = "LOSS_BY_CGROUP")]
pub static LOSS_BY_CGROUP: LruHashMap<u64, [u64; kind::COUNT as usize]> =
    LruHashMap::with_max_entries(LOSS_BY_CGROUP_ENTRIES, 0);

/// Count one record of `kind` lost for `reason`; ring-full losses are also
/// counted against the current cgroup.
#[inline(always)]
pub fn count_loss(kind: u16, reason: u32) {
    let slot = u32::from(kind) * loss::REASONS + reason;
    if let Some(counter) = LOSS.get_ptr_mut(slot) {
        // SAFETY: the pointer comes from the map lookup and is valid for this
        // CPU's slot; per-CPU storage means no other writer races with us.
        unsafe { *counter += 1 };
    }
    if reason != loss::RING_FULL {
        return;
    }
    // SAFETY: the helper has no preconditions.
    let cgroup = unsafe { bpf_get_current_cgroup_id() };
    let k = usize::from(kind) % kind::COUNT as usize;
    if let Some(counts) = LOSS_BY_CGROUP.get_ptr_mut(cgroup) {
        // SAFETY: valid map value pointer; a racing increment from another
        // CPU may be lost, which only undercounts an already-lossy moment.
        unsafe { (*counts)[k] += 1 };
    } else {
        let mut counts = [0u64; kind::COUNT as usize];
        counts[k] = 1;
        let _ = LOSS_BY_CGROUP.insert(cgroup, counts, 0);
    }
}
