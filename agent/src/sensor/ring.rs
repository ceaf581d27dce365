//! Async reading of the event ring buffer with tokio.

use std::io;

use aya::maps::{MapData, RingBuf};
use tokio::io::unix::AsyncFd;

/// The event ring buffer, taken from the sensor, not yet registered with a
/// runtime.
pub struct EventRing(pub(super) RingBuf<MapData>);

/// Wakes when the kernel has written records and drains them in batches.
pub struct RingReader {
    fd: AsyncFd<RingBuf<MapData>>,
}

impl RingReader {
    /// Register the ring with the current tokio runtime's reactor. Call it
    /// on the runtime that will poll it (the hot path's own).
    pub fn new(ring: EventRing) -> io::Result<RingReader> {
        // SAFETY: the ring owns its map fd, which stays open and unchanged
        // for as long as the `RingBuf` lives, and the `AsyncFd` owns the
        // `RingBuf`, so the fd outlives the registration.
        let fd = unsafe { AsyncFd::register_with_interest(ring.0, tokio::io::Interest::READABLE) }
            .map_err(|err| err.into_parts().1)?;
        Ok(RingReader { fd })
    }

    /// Wait until records are available, then hand each to `f` until the
    /// ring is empty. Returns how many records were read.
    pub async fn read_batch(&mut self, mut f: impl FnMut(&[u8])) -> io::Result<usize> {
        let mut guard = self.fd.readable_mut().await?;
        let ring = guard.get_inner_mut();
        let mut n = 0;
        while let Some(item) = ring.next() {
            f(&item);
            n += 1;
        }
        guard.clear_ready();
        Ok(n)
    }

    /// Read whatever is there without waiting.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        let ring = self.fd.get_mut();
        let mut n = 0;
        while let Some(item) = ring.next() {
            f(&item);
            n += 1;
        }
        n
    }
}
