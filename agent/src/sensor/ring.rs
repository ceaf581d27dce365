//! Reading the event ring buffer on the hot path's own thread.
//!
//! The kernel commits records quietly and wakes the reader only when the
//! waiting data crosses `sensor.wakeup_bytes`; the reader otherwise drains
//! on its poll timer. The wait is edge-triggered epoll (mio) on the ring's
//! fd: it returns on a wake-up or when the timeout runs out, never merely
//! because quietly committed records are waiting (a level-triggered
//! `poll(2)` would return at once and spin at the record rate).

use std::{io, os::fd::AsRawFd as _, time::Duration};

use aya::maps::{MapData, RingBuf};
use mio::{Events, Interest, Poll, Token, unix::SourceFd};

/// The event ring buffer, taken from the sensor, not yet registered.
pub struct EventRing(pub(super) RingBuf<MapData>);

/// Waits for the kernel's wake-ups and drains the ring in batches.
pub struct RingReader {
    ring: RingBuf<MapData>,
    poll: Poll,
    events: Events,
}

const RING: Token = Token(0);

impl RingReader {
    /// Register the ring with an epoll instance of its own.
    pub fn new(ring: EventRing) -> io::Result<RingReader> {
        let ring = ring.0;
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut SourceFd(&ring.as_raw_fd()), RING, Interest::READABLE)?;
        Ok(RingReader {
            ring,
            poll,
            events: Events::with_capacity(4),
        })
    }

    /// Sleep until the kernel wakes the reader or `timeout` passes; true
    /// when woken. An interrupted wait counts as a timeout.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        match self.poll.poll(&mut self.events, Some(timeout)) {
            Ok(()) => Ok(!self.events.is_empty()),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Hand every record now in the ring to `f`; returns how many.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        let mut n = 0;
        while let Some(item) = self.ring.next() {
            f(&item);
            n += 1;
        }
        n
    }
}
