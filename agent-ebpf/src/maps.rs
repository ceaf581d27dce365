//! Maps shared by every probe: the event ring buffer and the loss counters.
//! Probe-specific maps live next to their probe in `probes/`.

use aya_ebpf::{
    macros::map,
    maps::{PerCpuArray, RingBuf},
};
use kestrel_common::loss;

/// Default ring size: 4 MiB holds ~3k exec records (the largest, 1.4 KiB),
/// enough for a burst of a few milliseconds of a 100k/s exec storm while the
/// reader wakes up. Userspace overrides it from its configuration
/// (`sensor.ring_bytes`) before load.
pub const EVENTS_BYTES: u32 = 4 << 20;

#[map(name = "EVENTS")]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(EVENTS_BYTES, 0);

/// Records the kernel could not deliver, per CPU, indexed by
/// `kind * loss::REASONS + reason`. Per-CPU so counting a drop never
/// contends with another CPU.
#[map(name = "LOSS")]
pub static LOSS: PerCpuArray<u64> = PerCpuArray::with_max_entries(loss::SLOTS, 0);

/// Count one record of `kind` lost for `reason`.
#[inline(always)]
pub fn count_loss(kind: u16, reason: u32) {
    let slot = u32::from(kind) * loss::REASONS + reason;
    if let Some(counter) = LOSS.get_ptr_mut(slot) {
        // SAFETY: the pointer comes from the map lookup and is valid for this
        // CPU's slot; per-CPU storage means no other writer races with us.
        unsafe { *counter += 1 };
    }
}
