//! In-process alert bus: live fan-out of alerts to many subscribers.
//!
//! This module owns delivery of freshly published alerts to subscribers
//! (API streams, exporters, ...). Each subscriber has its own bounded queue;
//! the publisher never waits for a subscriber. When a queue is full the
//! subscriber's *oldest* queued item is dropped and the loss is reported to
//! that subscriber in-band as a [`BusMessage::Gap`] placed exactly where the
//! missing items were, so a consumer always knows what it missed (and can
//! backfill it from the durable log by seq). History and replay are not
//! handled here: that is the alert log's job; see
//! [`Bus::subscribe_with_marker`] for how the two are stitched together.
//!
//! Locking: the subscriber list is behind an `RwLock` (read by `publish`,
//! written only by subscribe/unsubscribe), each queue behind its own `Mutex`
//! held just long enough to push or pop one entry. Wake-ups use a
//! `tokio::sync::Notify` per subscriber.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{
    Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak,
};

use tokio::sync::Notify;

/// Items carried by the bus expose their global sequence number.
pub trait Sequenced {
    /// The item's seq; published seqs must be increasing.
    fn seq(&self) -> u64;
}

/// A subscriber-side filter, evaluated on the publisher's thread.
///
/// It must be cheap, must not block and must not call into the bus.
pub type Filter<T> = Box<dyn Fn(&T) -> bool + Send + Sync>;

/// What a subscriber receives.
pub enum BusMessage<T> {
    /// The next item.
    Item(Arc<T>),
    /// Items were dropped here because the queue was full. `dropped` items
    /// (that matched this subscriber's filter) with seqs in
    /// `from_seq..=to_seq` were lost; with a filter the range may contain
    /// seqs that were never meant for this subscriber, so
    /// `to_seq - from_seq + 1 >= dropped`.
    Gap {
        /// Seq of the oldest lost item.
        from_seq: u64,
        /// Seq of the newest lost item.
        to_seq: u64,
        /// Number of lost items.
        dropped: u64,
    },
}

impl<T> Clone for BusMessage<T> {
    fn clone(&self) -> Self {
        match self {
            Self::Item(item) => Self::Item(Arc::clone(item)),
            &Self::Gap {
                from_seq,
                to_seq,
                dropped,
            } => Self::Gap {
                from_seq,
                to_seq,
                dropped,
            },
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for BusMessage<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Item(item) => f.debug_tuple("Item").field(item).finish(),
            Self::Gap {
                from_seq,
                to_seq,
                dropped,
            } => f
                .debug_struct("Gap")
                .field("from_seq", from_seq)
                .field("to_seq", to_seq)
                .field("dropped", dropped)
                .finish(),
        }
    }
}

/// Why [`Subscription::try_recv`] returned nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TryRecvError {
    /// Nothing queued right now.
    #[error("no alert queued")]
    Empty,
    /// Nothing queued and every [`Bus`] handle has been dropped.
    #[error("alert bus closed")]
    Closed,
}

/// How to subscribe.
pub struct SubscriberConfig<T> {
    capacity: usize,
    filter: Option<Filter<T>>,
    name: String,
}

impl<T> SubscriberConfig<T> {
    /// A subscriber whose queue holds up to `capacity` items (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            filter: None,
            name: String::new(),
        }
    }

    /// Only items for which `filter` returns true are queued; the others are
    /// neither delivered nor counted as dropped.
    pub fn with_filter(mut self, filter: impl Fn(&T) -> bool + Send + Sync + 'static) -> Self {
        self.filter = Some(Box::new(filter));
        self
    }

    /// A label shown in [`BusStats`].
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

impl<T> fmt::Debug for SubscriberConfig<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriberConfig")
            .field("capacity", &self.capacity)
            .field("filtered", &self.filter.is_some())
            .field("name", &self.name)
            .finish()
    }
}

/// Counters of one subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberStats {
    /// Bus-unique id.
    pub id: u64,
    /// Name given at subscription.
    pub name: String,
    /// Queue capacity.
    pub capacity: usize,
    /// Items queued now.
    pub queued: usize,
    /// Items ever queued (after filtering).
    pub enqueued: u64,
    /// Items dropped because the queue was full.
    pub dropped: u64,
}

/// Counters of the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusStats {
    /// Items published.
    pub published: u64,
    /// Highest seq published (0 before the first publish).
    pub last_published_seq: u64,
    /// Items dropped across all subscribers, including departed ones.
    pub dropped_total: u64,
    /// Current subscribers.
    pub subscribers: Vec<SubscriberStats>,
}

#[derive(Debug, Clone, Copy)]
struct PendingGap {
    from_seq: u64,
    to_seq: u64,
    dropped: u64,
}

struct Queue<T> {
    items: VecDeque<Arc<T>>,
    /// Loss that precedes `items.front()`. Drops always take the front, so
    /// all loss since the last `Gap` was handed out forms one run.
    gap: Option<PendingGap>,
    closed: bool,
}

struct Slot<T> {
    id: u64,
    name: String,
    capacity: usize,
    filter: Option<Filter<T>>,
    queue: Mutex<Queue<T>>,
    notify: Notify,
    enqueued: AtomicU64,
    dropped: AtomicU64,
}

impl<T> Slot<T> {
    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        // A panic while holding this lock cannot leave the queue invalid.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stats(&self) -> SubscriberStats {
        SubscriberStats {
            id: self.id,
            name: self.name.clone(),
            capacity: self.capacity,
            queued: self.lock().items.len(),
            enqueued: self.enqueued.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

struct Shared<T> {
    subscribers: RwLock<Vec<Arc<Slot<T>>>>,
    last_published: AtomicU64,
    published: AtomicU64,
    dropped_total: AtomicU64,
    next_id: AtomicU64,
    handles: AtomicUsize,
}

impl<T> Shared<T> {
    fn read(&self) -> RwLockReadGuard<'_, Vec<Arc<Slot<T>>>> {
        self.subscribers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Vec<Arc<Slot<T>>>> {
        self.subscribers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The publishing side. Cloning gives another handle to the same bus; when
/// the last handle is dropped, subscribers drain what is queued and then see
/// the end of the stream.
pub struct Bus<T> {
    shared: Arc<Shared<T>>,
}

impl<T> fmt::Debug for Bus<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bus")
            .field("subscribers", &self.shared.read().len())
            .field(
                "last_published",
                &self.shared.last_published.load(Ordering::Relaxed),
            )
            .finish()
    }
}

impl<T: Sequenced + Send + Sync + 'static> Default for Bus<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for Bus<T> {
    fn clone(&self) -> Self {
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Bus<T> {
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            for slot in self.shared.read().iter() {
                slot.lock().closed = true;
                slot.notify.notify_one();
            }
        }
    }
}

impl<T: Sequenced + Send + Sync + 'static> Bus<T> {
    /// An empty bus.
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                subscribers: RwLock::new(Vec::new()),
                last_published: AtomicU64::new(0),
                published: AtomicU64::new(0),
                dropped_total: AtomicU64::new(0),
                next_id: AtomicU64::new(1),
                handles: AtomicUsize::new(1),
            }),
        }
    }

    /// Hands `item` to every subscriber whose filter accepts it and returns
    /// how many that was. Never waits for a subscriber: a full queue loses its
    /// oldest entry (recorded as a gap for that subscriber).
    ///
    /// Items must be published in increasing seq order (one publisher, or
    /// publishers serialized by the caller, e.g. under the lock that appends
    /// to the alert log).
    pub fn publish(&self, item: impl Into<Arc<T>>) -> usize {
        let item: Arc<T> = item.into();
        let seq = item.seq();
        let subscribers = self.shared.read();
        // Updated under the read lock so that `subscribe_with_marker`, which
        // holds the write lock, sees either all of this publish or none.
        self.shared.last_published.fetch_max(seq, Ordering::AcqRel);
        self.shared.published.fetch_add(1, Ordering::Relaxed);
        let mut delivered = 0;
        for slot in subscribers.iter() {
            if slot.filter.as_ref().is_some_and(|accept| !accept(&item)) {
                continue;
            }
            let evicted = {
                let mut queue = slot.lock();
                let evicted = if queue.items.len() >= slot.capacity {
                    queue.items.pop_front()
                } else {
                    None
                };
                if let Some(old) = &evicted {
                    let lost = old.seq();
                    queue.gap = Some(match queue.gap {
                        None => PendingGap {
                            from_seq: lost,
                            to_seq: lost,
                            dropped: 1,
                        },
                        Some(g) => PendingGap {
                            from_seq: g.from_seq.min(lost),
                            to_seq: g.to_seq.max(lost),
                            dropped: g.dropped + 1,
                        },
                    });
                }
                queue.items.push_back(Arc::clone(&item));
                evicted
            };
            // Release the evicted item outside the queue lock.
            if evicted.is_some() {
                drop(evicted);
                slot.dropped.fetch_add(1, Ordering::Relaxed);
                self.shared.dropped_total.fetch_add(1, Ordering::Relaxed);
            }
            slot.enqueued.fetch_add(1, Ordering::Relaxed);
            slot.notify.notify_one();
            delivered += 1;
        }
        delivered
    }

    /// Subscribes; the subscription receives items published after this call.
    pub fn subscribe(&self, config: SubscriberConfig<T>) -> Subscription<T> {
        self.subscribe_with_marker(config).0
    }

    /// Subscribes and returns, atomically with it, the highest seq published
    /// so far (`0` if none): the *marker*.
    ///
    /// Contract: every item with `seq <= marker` was published before the
    /// subscription existed and will **not** be delivered to it; every item
    /// with `seq > marker` is published after and **will** be delivered
    /// (subject to the filter, and to loss reported as `Gap`). So a consumer
    /// that wants history plus live alerts with no duplicate and no hole:
    ///
    /// 1. `let (sub, marker) = bus.subscribe_with_marker(cfg);`
    /// 2. replay the log from where it wants up to and including `marker`
    ///    (`log.read_from_seq(from)` while `record.seq <= marker`);
    /// 3. then consume `sub`, whose first item has `seq > marker`.
    ///
    /// This holds provided that publishers append an alert to the log
    /// *before* publishing it and publish in increasing seq order. Live items
    /// queue up during the replay, so size the capacity for it (loss is still
    /// reported as a `Gap`).
    pub fn subscribe_with_marker(&self, config: SubscriberConfig<T>) -> (Subscription<T>, u64) {
        let slot = Arc::new(Slot {
            id: self.shared.next_id.fetch_add(1, Ordering::Relaxed),
            name: config.name,
            capacity: config.capacity.max(1),
            filter: config.filter,
            queue: Mutex::new(Queue {
                items: VecDeque::with_capacity(config.capacity.clamp(1, 1024)),
                gap: None,
                closed: false,
            }),
            notify: Notify::new(),
            enqueued: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        let mut subscribers = self.shared.write();
        let marker = self.shared.last_published.load(Ordering::Acquire);
        subscribers.push(Arc::clone(&slot));
        drop(subscribers);
        let subscription = Subscription {
            slot,
            bus: Arc::downgrade(&self.shared),
        };
        (subscription, marker)
    }

    /// Highest seq published so far (0 if none).
    pub fn last_published_seq(&self) -> u64 {
        self.shared.last_published.load(Ordering::Acquire)
    }

    /// Number of current subscribers.
    pub fn subscriber_count(&self) -> usize {
        self.shared.read().len()
    }

    /// Counters of the bus and of each current subscriber.
    pub fn stats(&self) -> BusStats {
        let subscribers = self.shared.read().iter().map(|s| s.stats()).collect();
        BusStats {
            published: self.shared.published.load(Ordering::Relaxed),
            last_published_seq: self.shared.last_published.load(Ordering::Acquire),
            dropped_total: self.shared.dropped_total.load(Ordering::Relaxed),
            subscribers,
        }
    }
}

/// The receiving side of one subscriber. Dropping it unsubscribes.
pub struct Subscription<T> {
    slot: Arc<Slot<T>>,
    bus: Weak<Shared<T>>,
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.slot.id)
            .field("name", &self.slot.name)
            .finish()
    }
}

impl<T> Subscription<T> {
    /// Waits for the next message: a pending `Gap` first, then items in seq
    /// order. Returns `None` once the bus is gone and the queue is drained.
    /// Cancel-safe (nothing is lost if the future is dropped).
    pub async fn recv(&mut self) -> Option<BusMessage<T>> {
        loop {
            match self.try_recv() {
                Ok(message) => return Some(message),
                Err(TryRecvError::Closed) => return None,
                // A notify_one() that raced with the check left a permit, so
                // this does not miss a wake-up.
                Err(TryRecvError::Empty) => self.slot.notify.notified().await,
            }
        }
    }

    /// The next message if one is queued.
    pub fn try_recv(&mut self) -> Result<BusMessage<T>, TryRecvError> {
        let mut queue = self.slot.lock();
        if let Some(gap) = queue.gap.take() {
            return Ok(BusMessage::Gap {
                from_seq: gap.from_seq,
                to_seq: gap.to_seq,
                dropped: gap.dropped,
            });
        }
        if let Some(item) = queue.items.pop_front() {
            return Ok(BusMessage::Item(item));
        }
        if queue.closed {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Bus-unique id of this subscriber.
    pub fn id(&self) -> u64 {
        self.slot.id
    }

    /// Items this subscriber lost to a full queue so far.
    pub fn dropped(&self) -> u64 {
        self.slot.dropped.load(Ordering::Relaxed)
    }

    /// Counters of this subscriber.
    pub fn stats(&self) -> SubscriberStats {
        self.slot.stats()
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.bus.upgrade() {
            shared.write().retain(|s| s.id != self.slot.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[derive(Debug, PartialEq, Eq)]
    struct Alert {
        seq: u64,
        pid: u32,
    }

    impl Sequenced for Alert {
        fn seq(&self) -> u64 {
            self.seq
        }
    }

    fn alert(seq: u64) -> Alert {
        Alert {
            seq,
            pid: seq as u32,
        }
    }

    fn publish_range(bus: &Bus<Alert>, seqs: std::ops::RangeInclusive<u64>) {
        for s in seqs {
            bus.publish(alert(s));
        }
    }

    /// Everything currently queued, as `Ok(seq)` for items and
    /// `Err((from, to, dropped))` for gaps.
    fn drain(sub: &mut Subscription<Alert>) -> Vec<Result<u64, (u64, u64, u64)>> {
        let mut out = vec![];
        while let Ok(m) = sub.try_recv() {
            out.push(match m {
                BusMessage::Item(a) => Ok(a.seq),
                BusMessage::Gap {
                    from_seq,
                    to_seq,
                    dropped,
                } => Err((from_seq, to_seq, dropped)),
            });
        }
        out
    }

    #[test]
    fn fast_subscriber_gets_everything_slow_one_gets_exact_gap_then_newest() {
        let bus = Bus::new();
        let mut fast = bus.subscribe(SubscriberConfig::new(1000).with_name("fast"));
        let mut slow = bus.subscribe(SubscriberConfig::new(4).with_name("slow"));
        publish_range(&bus, 1..=20);

        assert_eq!(drain(&mut fast), (1..=20).map(Ok).collect::<Vec<_>>());
        assert_eq!(
            drain(&mut slow),
            vec![Err((1, 16, 16)), Ok(17), Ok(18), Ok(19), Ok(20)]
        );
        // After catching up, items flow again without a gap.
        publish_range(&bus, 21..=22);
        assert_eq!(drain(&mut slow), vec![Ok(21), Ok(22)]);

        let stats = bus.stats();
        assert_eq!(stats.published, 22);
        assert_eq!(stats.dropped_total, 16);
        assert_eq!(stats.last_published_seq, 22);
        let by_name = |n: &str| {
            stats
                .subscribers
                .iter()
                .find(|s| s.name == n)
                .unwrap()
                .clone()
        };
        assert_eq!(by_name("fast").dropped, 0);
        assert_eq!(by_name("slow").dropped, 16);
        assert_eq!(slow.dropped(), 16);
    }

    #[test]
    fn gap_is_delivered_before_the_item_that_follows_the_loss() {
        let bus = Bus::new();
        let mut sub = bus.subscribe(SubscriberConfig::new(2));
        publish_range(&bus, 1..=5); // queue [4,5], lost 1..=3
        assert_eq!(drain_one(&mut sub), Err((1, 3, 3)));
        publish_range(&bus, 6..=6); // queue full: 4 lost, after the first gap
        assert_eq!(drain(&mut sub), vec![Err((4, 4, 1)), Ok(5), Ok(6)]);
    }

    fn drain_one(sub: &mut Subscription<Alert>) -> Result<u64, (u64, u64, u64)> {
        match sub.try_recv().unwrap() {
            BusMessage::Item(a) => Ok(a.seq),
            BusMessage::Gap {
                from_seq,
                to_seq,
                dropped,
            } => Err((from_seq, to_seq, dropped)),
        }
    }

    #[test]
    fn filter_is_applied_at_publish_and_filtered_items_are_not_loss() {
        let bus = Bus::new();
        let mut even = bus
            .subscribe(SubscriberConfig::new(2).with_filter(|a: &Alert| a.seq.is_multiple_of(2)));
        let mut all = bus.subscribe(SubscriberConfig::new(100));
        publish_range(&bus, 1..=10);
        // Matching: 2,4,6,8,10; queue keeps 8,10; 2,4,6 lost (3 items over
        // the seq range 2..=6).
        assert_eq!(drain(&mut even), vec![Err((2, 6, 3)), Ok(8), Ok(10)]);
        assert_eq!(even.dropped(), 3);
        assert_eq!(even.stats().enqueued, 5);
        assert_eq!(drain(&mut all).len(), 10);
        assert_eq!(bus.publish(alert(11)), 1);
        assert_eq!(bus.publish(alert(12)), 2);
    }

    #[test]
    fn publish_into_full_queue_returns_immediately() {
        let bus = Bus::new();
        let _stuck = bus.subscribe(SubscriberConfig::new(1));
        let n = 200_000u64;
        let started = Instant::now();
        publish_range(&bus, 1..=n);
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_secs(5),
            "publishing took {elapsed:?}"
        );
        let stats = bus.stats();
        assert_eq!(stats.dropped_total, n - 1);
        assert_eq!(stats.subscribers[0].queued, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn publisher_is_not_held_up_by_a_waiting_receiver() {
        let bus = Bus::new();
        let mut sub = bus.subscribe(SubscriberConfig::new(8));
        let waiter = tokio::spawn(async move {
            let first = sub.recv().await;
            (first, sub)
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        publish_range(&bus, 1..=100);
        let (first, mut sub) = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        // Whenever the receiver got to run, every seq is accounted for: either
        // delivered in order or counted in a gap, and the newest items are kept.
        let mut messages = vec![match first.unwrap() {
            BusMessage::Item(a) => Ok(a.seq),
            BusMessage::Gap {
                from_seq,
                to_seq,
                dropped,
            } => Err((from_seq, to_seq, dropped)),
        }];
        messages.extend(drain(&mut sub));
        let items: Vec<u64> = messages.iter().filter_map(|m| m.ok()).collect();
        let lost: u64 = messages.iter().filter_map(|m| m.err()).map(|g| g.2).sum();
        assert_eq!(items.len() as u64 + lost, 100, "{messages:?}");
        assert!(items.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(items.last(), Some(&100));
        assert_eq!(sub.dropped(), lost);
    }

    #[test]
    fn dropping_a_subscription_unsubscribes() {
        let bus = Bus::new();
        let a = bus.subscribe(SubscriberConfig::new(4));
        let b = bus.subscribe(SubscriberConfig::new(4));
        assert_eq!(bus.subscriber_count(), 2);
        drop(a);
        assert_eq!(bus.subscriber_count(), 1);
        assert_eq!(bus.publish(alert(1)), 1);
        assert_eq!(bus.stats().subscribers[0].id, b.id());
        drop(b);
        assert_eq!(bus.publish(alert(2)), 0);
    }

    #[tokio::test]
    async fn recv_wakes_on_publish_and_ends_when_bus_is_dropped() {
        let bus = Bus::<Alert>::new();
        let mut sub = bus.subscribe(SubscriberConfig::new(4));
        let task = tokio::spawn(async move {
            let mut seqs = vec![];
            while let Some(m) = sub.recv().await {
                if let BusMessage::Item(a) = m {
                    seqs.push(a.seq);
                }
            }
            seqs
        });
        tokio::task::yield_now().await;
        let clone = bus.clone();
        bus.publish(alert(1));
        drop(bus);
        clone.publish(alert(2));
        drop(clone); // last handle: the stream ends after the queue drains
        let seqs = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seqs, vec![1, 2]);
    }

    #[test]
    fn subscribe_with_marker_gives_no_duplicate_and_no_hole() {
        for round in 0..20u64 {
            let n = 20_000u64;
            let bus = Arc::new(Bus::<Alert>::new());
            // Stands in for the alert log: appended before publishing.
            let log = Arc::new(Mutex::new(Vec::<u64>::new()));
            let publisher = {
                let (bus, log) = (Arc::clone(&bus), Arc::clone(&log));
                std::thread::spawn(move || {
                    for s in 1..=n {
                        log.lock().unwrap().push(s);
                        bus.publish(alert(s));
                    }
                })
            };
            // Subscribe at a varying point while publishing is in progress.
            while bus.last_published_seq() < round * 500 {
                std::thread::yield_now();
            }
            let (mut sub, marker) = bus.subscribe_with_marker(SubscriberConfig::new(n as usize));
            let replayed: Vec<u64> = log
                .lock()
                .unwrap()
                .iter()
                .copied()
                .take_while(|&s| s <= marker)
                .collect();
            publisher.join().unwrap();
            let live: Vec<u64> = drain(&mut sub).into_iter().map(|m| m.unwrap()).collect();
            assert_eq!(
                replayed.len() as u64,
                marker,
                "log holds every seq up to the marker"
            );
            if let Some(&first_live) = live.first() {
                assert_eq!(first_live, marker + 1);
            }
            let mut all = replayed;
            all.extend(live);
            assert_eq!(
                all,
                (1..=n).collect::<Vec<_>>(),
                "round {round}, marker {marker}"
            );
        }
    }

    #[test]
    fn marker_is_zero_before_first_publish_and_tracks_last_seq() {
        let bus = Bus::<Alert>::new();
        let (_s, marker) = bus.subscribe_with_marker(SubscriberConfig::new(1));
        assert_eq!(marker, 0);
        publish_range(&bus, 1..=7);
        let (mut s, marker) = bus.subscribe_with_marker(SubscriberConfig::new(1));
        assert_eq!(marker, 7);
        assert_eq!(s.try_recv().unwrap_err(), TryRecvError::Empty);
    }
}
