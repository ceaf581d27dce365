//! The live event stream behind `EventService`: enriched events (decoded
//! kernel events plus container/k8s context) fanned out to API subscribers,
//! with kernel-drop notices in-band. Events are not stored; only `tail`
//! subscriptions exist.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::alert::bus::Sequenced;
use crate::alert::bus::{Bus, SubscriberConfig, Subscription};
use crate::event::Event;

/// A decoded event with the context enrich added.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EnrichedEvent {
    pub event: Event,
    pub container_id: Option<String>,
    pub container_image: Option<String>,
    pub k8s_namespace: Option<String>,
    pub k8s_pod: Option<String>,
}

/// What travels on the event bus.
// Events are the common case; boxing would allocate once more per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum EventItemKind {
    Event(EnrichedEvent),
    /// The kernel lost `count` events before this point.
    KernelDrops {
        count: u64,
    },
}

/// An event-bus item with its stream seq (per agent run).
#[derive(Debug, Clone)]
pub struct EventItem {
    pub seq: u64,
    pub kind: EventItemKind,
}

impl Sequenced for EventItem {
    fn seq(&self) -> u64 {
        self.seq
    }
}

/// Fan-out of enriched events. Publishing is cheap when nobody listens
/// (check [`EventHub::has_subscribers`] to skip building events at all).
#[derive(Clone)]
pub struct EventHub {
    bus: Bus<EventItem>,
    /// Serializes seq assignment and publish so seqs reach the bus in order.
    next_seq: Arc<Mutex<u64>>,
    kernel_drops: Arc<AtomicU64>,
}

impl std::fmt::Debug for EventHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventHub").finish_non_exhaustive()
    }
}

impl Default for EventHub {
    fn default() -> Self {
        Self::new()
    }
}

impl EventHub {
    pub fn new() -> Self {
        Self {
            bus: Bus::new(),
            next_seq: Arc::new(Mutex::new(1)),
            kernel_drops: Arc::new(AtomicU64::new(0)),
        }
    }

    /// True when at least one API client streams events.
    pub fn has_subscribers(&self) -> bool {
        self.bus.subscriber_count() > 0
    }

    fn publish_kind(&self, kind: EventItemKind) -> u64 {
        let mut next = self.next_seq.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = *next;
        *next += 1;
        self.bus.publish(EventItem { seq, kind });
        seq
    }

    /// Publishes one event; returns its stream seq.
    pub fn publish(&self, event: EnrichedEvent) -> u64 {
        self.publish_kind(EventItemKind::Event(event))
    }

    /// Tells subscribers that the kernel dropped `count` events.
    pub fn report_kernel_drops(&self, count: u64) {
        if count > 0 {
            self.kernel_drops.fetch_add(count, Ordering::Relaxed);
            self.publish_kind(EventItemKind::KernelDrops { count });
        }
    }

    pub fn subscribe(&self, config: SubscriberConfig<EventItem>) -> Subscription<EventItem> {
        self.bus.subscribe(config)
    }

    /// Highest seq published.
    pub fn last_seq(&self) -> u64 {
        self.bus.last_published_seq()
    }
}
