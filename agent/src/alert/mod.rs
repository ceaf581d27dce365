//! The alert hub: owns the path of an alert from the judge to its
//! subscribers — dedup, seq assignment, the durable log, the live bus.
//!
//! [`AlertHub::publish`] runs, under one lock (so seq order holds even with
//! several calling threads): dedup → `seq = log.next_seq()` → append the
//! JSON-serialized alert to the log → publish on the bus. Because the log
//! append happens before the bus publish, a subscriber can stitch history
//! and live alerts with no duplicate and no hole, see
//! [`AlertHub::subscribe_history`].

pub mod bus;
pub mod dedup;
pub mod log;
pub mod record;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bus::{Bus, SubscriberConfig, Subscription};
use dedup::{DedupConfig, DedupStats, Deduper, Offer};
use log::{AlertLog, LogConfig, LogError, LogReader};
pub use record::{Alert, Priority};

/// How to build an [`AlertHub`].
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Directory of the durable alert log (created 0700).
    pub log_dir: PathBuf,
    pub log: LogConfig,
    pub dedup: DedupConfig,
}

impl HubConfig {
    /// Defaults (64 MiB segments, 1 GiB retention, 10 s dedup) in `log_dir`.
    pub fn new(log_dir: impl Into<PathBuf>) -> Self {
        Self {
            log_dir: log_dir.into(),
            log: LogConfig::default(),
            dedup: DedupConfig::default(),
        }
    }
}

/// Errors of [`AlertHub::publish`].
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("cannot serialize alert: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// Counters of the hub.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubStats {
    /// Alerts appended and published (summaries included).
    pub published: u64,
    /// Highest seq published (or found in the log at open).
    pub last_seq: u64,
    /// Oldest seq still in the log.
    pub log_first_seq: Option<u64>,
    pub log_bytes: u64,
    /// Alerts lost because the log append failed.
    pub log_errors: u64,
    pub dedup: DedupStats,
    pub subscribers: u64,
    /// Items dropped from subscriber queues (all subscribers, ever).
    pub subscriber_drops: u64,
}

struct State {
    log: AlertLog,
    dedup: Deduper,
    buf: Vec<u8>,
    pending: Vec<Alert>,
}

struct Inner {
    state: Mutex<State>,
    bus: Bus<Alert>,
    /// Last seq in the log when it was opened: every live item is newer.
    last_seq_at_open: u64,
    published: AtomicU64,
    log_errors: AtomicU64,
}

/// The alert hub; cheap to clone (all clones share one hub). When the last
/// clone is dropped, subscriptions drain and end.
#[derive(Clone)]
pub struct AlertHub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AlertHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertHub")
            .field("last_seq", &self.last_seq())
            .finish()
    }
}

/// Where a history replay begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryStart {
    /// Records with seq >= this.
    Seq(u64),
    /// Records with event time >= this (unix ns).
    Time(u64),
}

/// A subscription plus what is needed to replay history in front of it.
pub struct HistorySubscription {
    /// Live items, all with seq > `marker`.
    pub live: Subscription<Alert>,
    /// Replay stops after this seq; live takes over.
    pub marker: u64,
    /// Stored records from the requested start on (stop at `marker`).
    pub reader: LogReader,
    /// Oldest seq in the log when the replay started (`None`: log empty).
    pub log_first_seq: Option<u64>,
    /// The seq the next alert will get.
    pub next_seq: u64,
}

/// Why a history cursor cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("from_seq must be >= 1")]
    Zero,
    #[error("from_seq {requested} is in the future: the next alert will get seq {next_seq}")]
    FutureSeq { requested: u64, next_seq: u64 },
}

impl AlertHub {
    /// Opens the log (repairing a torn tail) and builds the hub. Seqs
    /// continue after the newest stored record.
    pub fn open(config: HubConfig) -> Result<Self, LogError> {
        let log = AlertLog::open(&config.log_dir, config.log.clone())?;
        let last_seq_at_open = log.next_seq().saturating_sub(1);
        Ok(Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    log,
                    dedup: Deduper::new(config.dedup),
                    buf: Vec::with_capacity(1024),
                    pending: Vec::new(),
                }),
                bus: Bus::new(),
                last_seq_at_open,
                published: AtomicU64::new(0),
                log_errors: AtomicU64::new(0),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every mutation below leaves the state consistent at each step.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes one alert (its `seq` and `dedup` are overwritten): runs
    /// dedup, assigns the seq, appends to the log, fans out. Returns the seq,
    /// or `None` when the alert was folded into a dedup window (counted).
    /// Summaries of closed windows go out first.
    ///
    /// On a log error the alert is not published (seqs must match the log)
    /// and the error is counted and returned.
    pub fn publish(&self, mut alert: Alert) -> Result<Option<u64>, HubError> {
        alert.dedup = None;
        let now = Instant::now();
        let mut guard = self.lock();
        let st = &mut *guard;
        let mut pending = std::mem::take(&mut st.pending);
        alert.seq = st.log.next_seq();
        let offer = st.dedup.offer(alert, now, &mut pending);
        let mut first_err = None;
        for summary in pending.drain(..) {
            if let Err(e) = self.append_and_publish(st, summary) {
                first_err.get_or_insert(e);
            }
        }
        st.pending = pending;
        let result = match offer {
            Offer::Folded => Ok(None),
            Offer::Emit { alert, key } => {
                let seq = self.append_and_publish(st, alert)?;
                if let Some(k) = key {
                    st.dedup.set_first_seq(k, seq);
                }
                Ok(Some(seq))
            }
        };
        match first_err {
            Some(e) if result.is_ok() => Err(e),
            _ => result,
        }
    }

    fn append_and_publish(&self, st: &mut State, mut alert: Alert) -> Result<u64, HubError> {
        alert.seq = st.log.next_seq();
        st.buf.clear();
        if let Err(e) = serde_json::to_writer(&mut st.buf, &alert) {
            self.inner.log_errors.fetch_add(1, Ordering::Relaxed);
            return Err(e.into());
        }
        let seq = match st.log.append(alert.time_ns, &st.buf) {
            Ok(seq) => seq,
            Err(e) => {
                self.inner.log_errors.fetch_add(1, Ordering::Relaxed);
                return Err(e.into());
            }
        };
        alert.seq = seq;
        self.inner.bus.publish(alert);
        self.inner.published.fetch_add(1, Ordering::Relaxed);
        Ok(seq)
    }

    /// Closes expired dedup windows and publishes their summaries; returns
    /// how many were published. Call periodically (see
    /// [`spawn_maintenance`](Self::spawn_maintenance)).
    pub fn flush_dedup(&self, now: Instant) -> Result<usize, HubError> {
        let mut guard = self.lock();
        let st = &mut *guard;
        let mut pending = std::mem::take(&mut st.pending);
        st.dedup.expire(now, &mut pending);
        let n = self.publish_pending(st, &mut pending);
        st.pending = pending;
        n
    }

    /// Closes every dedup window (shutdown) and publishes the summaries.
    pub fn flush_all_dedup(&self) -> Result<usize, HubError> {
        let mut guard = self.lock();
        let st = &mut *guard;
        let mut pending = std::mem::take(&mut st.pending);
        st.dedup.flush_all(&mut pending);
        let n = self.publish_pending(st, &mut pending);
        st.pending = pending;
        n
    }

    fn publish_pending(&self, st: &mut State, pending: &mut Vec<Alert>) -> Result<usize, HubError> {
        let mut n = 0;
        let mut first_err = None;
        for a in pending.drain(..) {
            match self.append_and_publish(st, a) {
                Ok(_) => n += 1,
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(n), Err)
    }

    /// fsyncs the log.
    pub fn sync(&self) -> Result<(), LogError> {
        self.lock().log.sync()
    }

    /// Applies log retention by age with `now_ns` as the current time.
    pub fn apply_retention(&self, now_ns: u64) -> Result<usize, LogError> {
        self.lock().log.apply_retention(now_ns)
    }

    /// Spawns a task that every `tick` closes expired dedup windows and
    /// every `sync_every` fsyncs the log. Ends when the hub is dropped
    /// (it holds only a weak reference).
    pub fn spawn_maintenance(
        &self,
        tick: Duration,
        sync_every: Option<Duration>,
    ) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(tick.max(Duration::from_millis(10)));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_sync = Instant::now();
            loop {
                interval.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let hub = AlertHub { inner };
                if let Err(e) = hub.flush_dedup(Instant::now()) {
                    tracing::warn!(error = %e, "alert hub: publishing dedup summary failed");
                }
                if let Some(every) = sync_every
                    && last_sync.elapsed() >= every
                {
                    last_sync = Instant::now();
                    if let Err(e) = hub.sync() {
                        tracing::warn!(error = %e, "alert hub: log sync failed");
                    }
                }
                // Do not keep the hub alive between ticks.
                drop(hub);
            }
        })
    }

    /// Subscribes to live alerts only (items published after this call).
    pub fn subscribe(&self, config: SubscriberConfig<Alert>) -> Subscription<Alert> {
        self.inner.bus.subscribe(config)
    }

    /// Subscribes for history + live. Validates the cursor, subscribes with
    /// a marker, and opens a log reader that covers everything up to the
    /// marker: replay `reader` while `seq <= marker`, then consume `live`.
    pub fn subscribe_history(
        &self,
        config: SubscriberConfig<Alert>,
        start: HistoryStart,
    ) -> Result<HistorySubscription, CursorError> {
        if start == HistoryStart::Seq(0) {
            return Err(CursorError::Zero);
        }
        {
            let st = self.lock();
            if let HistoryStart::Seq(s) = start
                && s > st.log.next_seq()
            {
                return Err(CursorError::FutureSeq {
                    requested: s,
                    next_seq: st.log.next_seq(),
                });
            }
        }
        let (live, bus_marker) = self.inner.bus.subscribe_with_marker(config);
        // Seqs up to the log's end at open never come live.
        let marker = bus_marker.max(self.inner.last_seq_at_open);
        let st = self.lock();
        let reader = match start {
            HistoryStart::Seq(s) => st.log.read_from_seq(s),
            HistoryStart::Time(t) => st.log.read_from_time(t),
        };
        Ok(HistorySubscription {
            live,
            marker,
            reader,
            log_first_seq: st.log.first_seq(),
            next_seq: st.log.next_seq(),
        })
    }

    /// Subscribes for live alerts and returns the marker (highest seq
    /// published before the subscription; later ones will be delivered).
    pub fn subscribe_tail(&self, config: SubscriberConfig<Alert>) -> (Subscription<Alert>, u64) {
        let (live, marker) = self.inner.bus.subscribe_with_marker(config);
        (live, marker.max(self.inner.last_seq_at_open))
    }

    /// Highest seq published (or stored at open), 0 if none.
    pub fn last_seq(&self) -> u64 {
        self.inner
            .bus
            .last_published_seq()
            .max(self.inner.last_seq_at_open)
    }

    /// Counters.
    pub fn stats(&self) -> HubStats {
        let (log_first_seq, log_bytes, dedup) = {
            let st = self.lock();
            (st.log.first_seq(), st.log.total_bytes(), st.dedup.stats())
        };
        let bus = self.inner.bus.stats();
        HubStats {
            published: self.inner.published.load(Ordering::Relaxed),
            last_seq: self.last_seq(),
            log_first_seq,
            log_bytes,
            log_errors: self.inner.log_errors.load(Ordering::Relaxed),
            dedup,
            subscribers: bus.subscribers.len() as u64,
            subscriber_drops: bus.dropped_total,
        }
    }
}
