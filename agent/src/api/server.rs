//! The gRPC server: `AlertService`, `EventService` and `AgentService` over a
//! unix socket (default `/run/kestrel/kestrel.sock`, mode 0600 in a 0700
//! directory) or TCP with TLS (optionally mutual TLS).
//!
//! Each stream subscriber gets its own bounded bus queue
//! ([`StreamConfig::queue_capacity`]); a subscriber that falls behind loses
//! its oldest queued alerts and is told exactly which seqs in a `gap`
//! message. The publisher and the other subscribers never wait. History
//! replays come from the durable log and are stitched to the live stream
//! with no duplicate and no hole. Bad requests get a gRPC status with a
//! message; nothing a client sends can crash the server.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

use crate::alert::bus::{BusMessage, SubscriberConfig};
use crate::alert::record::{Alert, now_unix_ns};
use crate::alert::{AlertHub, CursorError, HistoryStart, HistorySubscription};
use crate::api::control::AgentControl;
use crate::api::convert;
use crate::api::events::{EventHub, EventItem, EventItemKind};
use crate::api::filter::{self, ConditionCompiler};
use crate::api::proto as pb;
use crate::api::wire::WireCache;
use pb::agent_service_server::{AgentService, AgentServiceServer};
use pb::alert_service_server::{AlertService, AlertServiceServer};
use pb::event_service_server::{EventService, EventServiceServer};

/// Default unix socket path.
pub const DEFAULT_SOCKET: &str = "/run/kestrel/kestrel.sock";

/// Per-stream settings.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// Bounded queue per subscriber (items); overflow drops the oldest.
    pub queue_capacity: usize,
    /// Default heartbeat interval (a request may ask for another; both are
    /// bounded to 100 ms..1 h).
    pub heartbeat: Duration,
    /// Most concurrent streams (alerts + events); more get RESOURCE_EXHAUSTED.
    pub max_streams: usize,
    /// Records read from the log per blocking batch during replay.
    pub history_batch: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 4096,
            heartbeat: Duration::from_secs(10),
            max_streams: 256,
            history_batch: 512,
        }
    }
}

/// TLS material (PEM).
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    /// When set, clients must present a certificate signed by this CA (mTLS).
    pub client_ca_pem: Option<Vec<u8>>,
}

/// Where to listen. TCP is only offered with TLS.
#[derive(Debug, Clone)]
pub enum Listen {
    Unix(PathBuf),
    Tcp { addr: SocketAddr, tls: TlsConfig },
}

impl Default for Listen {
    fn default() -> Self {
        Listen::Unix(PathBuf::from(DEFAULT_SOCKET))
    }
}

#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    pub listen: Listen,
    pub stream: StreamConfig,
}

/// What the services serve.
#[derive(Clone)]
pub struct ApiState {
    pub alerts: AlertHub,
    pub events: EventHub,
    pub control: Arc<dyn AgentControl>,
    pub conditions: Arc<dyn ConditionCompiler>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("socket {path}: {source}")]
    Socket {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("socket {0} is in use by a running server")]
    InUse(PathBuf),
    #[error("{0} exists and is not a socket; refusing to remove it")]
    NotASocket(PathBuf),
    #[error("bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("TLS configuration: {0}")]
    Tls(String),
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

enum Bound {
    #[cfg(unix)]
    Unix(tokio::net::UnixListener, PathBuf),
    Tcp(tokio::net::TcpListener, ServerTlsConfig),
}

/// A bound, not yet serving, API server.
pub struct ApiServer {
    bound: Bound,
    stream: StreamConfig,
}

/// Prepares the unix socket: creates the parent directory (0700) if
/// missing, removes a stale socket file (one nobody answers on), refuses to
/// touch a live socket or a non-socket file, binds, and sets mode 0600.
#[cfg(unix)]
pub fn bind_unix_socket(path: &Path) -> Result<tokio::net::UnixListener, ServeError> {
    let sock_err = |source| ServeError::Socket {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(sock_err)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            match std::os::unix::net::UnixStream::connect(path) {
                Ok(_) => return Err(ServeError::InUse(path.to_path_buf())),
                Err(_) => {
                    tracing::info!(path = %path.display(), "removing stale socket");
                    std::fs::remove_file(path).map_err(sock_err)?;
                }
            }
        }
        Ok(_) => return Err(ServeError::NotASocket(path.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(sock_err(e)),
    }
    let listener = tokio::net::UnixListener::bind(path).map_err(sock_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(sock_err)?;
    Ok(listener)
}

fn tls_server_config(tls: &TlsConfig) -> ServerTlsConfig {
    let mut cfg = ServerTlsConfig::new().identity(Identity::from_pem(&tls.cert_pem, &tls.key_pem));
    if let Some(ca) = &tls.client_ca_pem {
        cfg = cfg.client_ca_root(Certificate::from_pem(ca));
    }
    cfg
}

impl ApiServer {
    /// Binds the socket (must run inside a tokio runtime).
    pub async fn bind(config: ServerConfig) -> Result<Self, ServeError> {
        let bound = match config.listen {
            #[cfg(unix)]
            Listen::Unix(path) => Bound::Unix(bind_unix_socket(&path)?, path),
            #[cfg(not(unix))]
            Listen::Unix(path) => {
                return Err(ServeError::Socket {
                    path,
                    source: io::Error::other("unix sockets need a unix system"),
                });
            }
            Listen::Tcp { addr, tls } => {
                if tls.cert_pem.is_empty() || tls.key_pem.is_empty() {
                    return Err(ServeError::Tls("TCP needs a certificate and a key".into()));
                }
                let l = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| ServeError::Bind { addr, source })?;
                Bound::Tcp(l, tls_server_config(&tls))
            }
        };
        Ok(Self {
            bound,
            stream: config.stream,
        })
    }

    /// The TCP address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.bound {
            Bound::Tcp(l, _) => l.local_addr().ok(),
            #[cfg(unix)]
            Bound::Unix(..) => None,
        }
    }

    /// Serves until `shutdown` completes; then removes the unix socket.
    pub async fn serve(
        self,
        state: ApiState,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        // On shutdown, end every stream so graceful shutdown does not wait
        // for followers that would otherwise stream forever.
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let shutdown = async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        };
        let shared = Arc::new(Shared {
            state,
            stream: self.stream,
            streams: AtomicUsize::new(0),
            stop,
            wire: Arc::new(WireCache::default()),
        });
        let alerts = AlertServiceServer::new(AlertSvc(Arc::clone(&shared)));
        let events = EventServiceServer::new(EventSvc(Arc::clone(&shared)));
        let agent = AgentServiceServer::new(AgentSvc(Arc::clone(&shared)));
        match self.bound {
            #[cfg(unix)]
            Bound::Unix(listener, path) => {
                let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
                let result = Server::builder()
                    .add_service(alerts)
                    .add_service(events)
                    .add_service(agent)
                    .serve_with_incoming_shutdown(incoming, shutdown)
                    .await;
                let _ = std::fs::remove_file(&path);
                result?;
            }
            Bound::Tcp(listener, tls) => {
                let incoming = tonic::transport::server::TcpIncoming::from(listener);
                Server::builder()
                    .tls_config(tls)?
                    .add_service(alerts)
                    .add_service(events)
                    .add_service(agent)
                    .serve_with_incoming_shutdown(incoming, shutdown)
                    .await?;
            }
        }
        Ok(())
    }
}

/// Binds and serves until `shutdown` completes.
pub async fn serve(
    config: ServerConfig,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    ApiServer::bind(config).await?.serve(state, shutdown).await
}

struct Shared {
    state: ApiState,
    stream: StreamConfig,
    streams: AtomicUsize,
    /// Becomes true when the server shuts down.
    stop: tokio::sync::watch::Receiver<bool>,
    wire: Arc<WireCache>,
}

/// Counts a live stream; released on drop.
struct StreamSlot(Arc<Shared>);

impl StreamSlot {
    fn acquire(shared: &Arc<Shared>) -> Result<Self, Status> {
        let n = shared.streams.fetch_add(1, Ordering::AcqRel);
        let slot = StreamSlot(Arc::clone(shared));
        if n >= shared.stream.max_streams {
            return Err(Status::resource_exhausted(format!(
                "too many streams (limit {})",
                shared.stream.max_streams
            )));
        }
        Ok(slot)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::AcqRel);
    }
}

fn heartbeat_interval(shared: &Shared, requested_secs: u32) -> Duration {
    let d = if requested_secs == 0 {
        shared.stream.heartbeat
    } else {
        Duration::from_secs(u64::from(requested_secs))
    };
    // A zero period would make the timer panic; bound both ends.
    d.clamp(Duration::from_millis(100), Duration::from_secs(3600))
}

type AlertTx = mpsc::Sender<Result<pb::AlertStreamMessage, Status>>;

fn msg(m: pb::alert_stream_message::Message) -> Result<pb::AlertStreamMessage, Status> {
    Ok(pb::AlertStreamMessage::new(m))
}

fn gap(from_seq: u64, to_seq: u64, reason: pb::GapReason, dropped: u64) -> pb::Gap {
    pb::Gap {
        from_seq,
        to_seq,
        reason: reason as i32,
        dropped,
    }
}

fn heartbeat(last_seq: u64) -> pb::Heartbeat {
    pb::Heartbeat {
        time: Some(convert::timestamp(now_unix_ns())),
        last_seq,
    }
}

struct AlertSvc(Arc<Shared>);

#[tonic::async_trait]
impl AlertService for AlertSvc {
    type SubscribeStream = ReceiverStream<Result<pb::AlertStreamMessage, Status>>;

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let shared = &self.0;
        let req = request.into_inner();
        let spec = convert::filter_from_proto(req.filter)
            .map_err(|e| Status::invalid_argument(format!("bad filter: {e}")))?;
        let pred = filter::compile_alert_filter(&spec, shared.state.conditions.as_ref())
            .map_err(|e| Status::invalid_argument(format!("bad filter: {e}")))?;
        let start = match req.start {
            None | Some(pb::subscribe_request::Start::Tail(_)) => None,
            Some(pb::subscribe_request::Start::FromSeq(s)) => Some(HistoryStart::Seq(s)),
            Some(pb::subscribe_request::Start::FromTime(t)) => {
                let ns = convert::timestamp_to_ns(&t)
                    .map_err(|e| Status::invalid_argument(format!("bad from_time: {e}")))?;
                if ns > now_unix_ns().saturating_add(5_000_000_000) {
                    return Err(Status::out_of_range(format!(
                        "from_time {} is in the future",
                        crate::alert::record::format_rfc3339_ns(ns)
                    )));
                }
                Some(HistoryStart::Time(ns))
            }
        };
        let slot = StreamSlot::acquire(shared)?;
        let f = Arc::clone(&pred);
        let cfg = SubscriberConfig::new(shared.stream.queue_capacity)
            .with_filter(move |a: &Alert| f(a))
            .with_name("grpc-alerts");
        let hub = shared.state.alerts.clone();
        let hb = heartbeat_interval(shared, req.heartbeat_secs);
        let batch = shared.stream.history_batch.max(1);
        let (tx, rx) = mpsc::channel(16);
        let stop = shared.stop.clone();
        let wire = Arc::clone(&shared.wire);
        match start {
            None => {
                let (live, marker) = hub.subscribe_tail(cfg);
                tokio::spawn(async move {
                    let _slot = slot;
                    if tx
                        .send(msg(pb::alert_stream_message::Message::CaughtUp(
                            pb::CaughtUp { last_seq: marker },
                        )))
                        .await
                        .is_ok()
                    {
                        live_alerts(tx, live, marker, hub, hb, stop, wire).await;
                    }
                });
            }
            Some(start) => {
                let hs = hub.subscribe_history(cfg, start).map_err(|e| match e {
                    CursorError::Zero => Status::invalid_argument(e.to_string()),
                    CursorError::FutureSeq { .. } => Status::out_of_range(e.to_string()),
                })?;
                tokio::spawn(async move {
                    let _slot = slot;
                    let marker = hs.marker;
                    let Some(live) = replay(&tx, hs, start, pred, batch).await else {
                        return;
                    };
                    if tx
                        .send(msg(pb::alert_stream_message::Message::CaughtUp(
                            pb::CaughtUp { last_seq: marker },
                        )))
                        .await
                        .is_ok()
                    {
                        live_alerts(tx, live, marker, hub, hb, stop, wire).await;
                    }
                });
            }
        }
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

enum HistItem {
    Alert(u64, Box<pb::Alert>),
    /// A record that did not match the filter.
    Skipped(u64),
    /// A record or segment that could not be read.
    Corrupt,
}

/// Replays stored alerts up to the marker; returns the live subscription,
/// or `None` when the client went away.
async fn replay(
    tx: &AlertTx,
    hs: HistorySubscription,
    start: HistoryStart,
    pred: filter::SharedPredicate<Alert>,
    batch: usize,
) -> Option<crate::alert::bus::Subscription<Alert>> {
    use pb::alert_stream_message::Message;
    let HistorySubscription {
        live,
        marker,
        reader,
        log_first_seq,
        ..
    } = hs;
    // Next seq we expect to see; None for a time start until the first record.
    let mut expected = match start {
        HistoryStart::Seq(s) => Some(s),
        HistoryStart::Time(_) => None,
    };
    let mut reader = Some(reader);
    let mut corrupt_seen = false;
    let mut first = true;
    loop {
        let Some(mut r) = reader.take() else { break };
        let pred = Arc::clone(&pred);
        let joined = tokio::task::spawn_blocking(move || {
            let mut out = Vec::with_capacity(batch);
            let mut done = false;
            while out.len() < batch {
                match r.next() {
                    None => {
                        done = true;
                        break;
                    }
                    Some(Ok(rec)) if rec.seq > marker => {
                        done = true;
                        break;
                    }
                    Some(Ok(rec)) => match serde_json::from_slice::<Alert>(&rec.payload) {
                        Ok(mut a) => {
                            a.seq = rec.seq;
                            if pred(&a) {
                                out.push(HistItem::Alert(rec.seq, Box::new(convert::alert_to_proto(&a))));
                            } else {
                                out.push(HistItem::Skipped(rec.seq));
                            }
                        }
                        Err(e) => {
                            tracing::warn!(seq = rec.seq, error = %e, "alert log: undecodable record");
                            out.push(HistItem::Corrupt);
                        }
                    },
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "alert log: read error during replay");
                        out.push(HistItem::Corrupt);
                    }
                }
            }
            (r, out, done)
        })
        .await;
        let (r, items, done) = match joined {
            Ok(v) => v,
            Err(e) => {
                let _ = tx
                    .send(Err(Status::internal(format!("history replay failed: {e}"))))
                    .await;
                return None;
            }
        };
        for item in items {
            let seq = match &item {
                HistItem::Alert(s, _) | HistItem::Skipped(s) => *s,
                HistItem::Corrupt => {
                    corrupt_seen = true;
                    continue;
                }
            };
            if first {
                first = false;
                // A time start that lands on the oldest retained record may
                // have lost older matches to retention.
                if expected.is_none()
                    && let Some(f) = log_first_seq
                    && f > 1
                    && seq == f
                    && tx
                        .send(msg(Message::Gap(gap(
                            1,
                            f - 1,
                            pb::GapReason::Retention,
                            0,
                        ))))
                        .await
                        .is_err()
                {
                    return None;
                }
            }
            if let Some(exp) = expected
                && seq > exp
            {
                let reason = if corrupt_seen {
                    pb::GapReason::LogCorruption
                } else {
                    pb::GapReason::Retention
                };
                if tx
                    .send(msg(Message::Gap(gap(exp, seq - 1, reason, 0))))
                    .await
                    .is_err()
                {
                    return None;
                }
            }
            corrupt_seen = false;
            expected = Some(seq + 1);
            if let HistItem::Alert(_, a) = item
                && tx.send(msg(Message::Alert(*a))).await.is_err()
            {
                return None;
            }
        }
        if !done {
            reader = Some(r);
        }
    }
    // History that vanished at the end (retention while reading, or the log
    // was emptied): report it.
    let tail_from = match expected {
        Some(e) => Some(e),
        None => match start {
            HistoryStart::Seq(s) => Some(s),
            HistoryStart::Time(_) => None,
        },
    };
    if let Some(e) = tail_from
        && e <= marker
    {
        let reason = if corrupt_seen {
            pb::GapReason::LogCorruption
        } else {
            pb::GapReason::Retention
        };
        if tx
            .send(msg(Message::Gap(gap(e, marker, reason, 0))))
            .await
            .is_err()
        {
            return None;
        }
    }
    Some(live)
}

fn live_message(
    m: BusMessage<Alert>,
    marker: u64,
    wire: &WireCache,
) -> Option<pb::AlertStreamMessage> {
    use pb::alert_stream_message::Message;
    match m {
        // Never re-send what the replay covered.
        BusMessage::Item(a) if a.seq <= marker => None,
        // Encoded once, shared by every subscriber.
        BusMessage::Item(a) => Some(wire.alert_message(&a)),
        BusMessage::Gap {
            from_seq,
            to_seq,
            dropped,
        } => Some(pb::AlertStreamMessage::new(Message::Gap(gap(
            from_seq,
            to_seq,
            pb::GapReason::SubscriberSlow,
            dropped,
        )))),
    }
}

/// Most queued items forwarded per wake-up before checking for shutdown,
/// client departure and heartbeats again.
const DRAIN_BATCH: usize = 256;

async fn live_alerts(
    tx: AlertTx,
    mut live: crate::alert::bus::Subscription<Alert>,
    marker: u64,
    hub: AlertHub,
    hb: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
    wire: Arc<WireCache>,
) {
    use pb::alert_stream_message::Message;
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + hb, hb);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            biased;
            _ = tx.closed() => return,
            _ = stop.changed() => return,
            m = live.recv() => match m {
                None => return,
                Some(m) => live_message(m, marker, &wire),
            },
            _ = ticker.tick() => Some(pb::AlertStreamMessage::new(Message::Heartbeat(heartbeat(hub.last_seq())))),
        };
        if let Some(out) = first
            && tx.send(Ok(out)).await.is_err()
        {
            return;
        }
        // Forward what is already queued without going through select!.
        for _ in 0..DRAIN_BATCH {
            let Ok(m) = live.try_recv() else { break };
            if let Some(out) = live_message(m, marker, &wire)
                && tx.send(Ok(out)).await.is_err()
            {
                return;
            }
        }
    }
}

struct EventSvc(Arc<Shared>);

#[tonic::async_trait]
impl EventService for EventSvc {
    type SubscribeStream = ReceiverStream<Result<pb::EventStreamMessage, Status>>;

    async fn subscribe(
        &self,
        request: Request<pb::EventSubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        use pb::event_stream_message::Message;
        let shared = &self.0;
        let req = request.into_inner();
        let spec = convert::filter_from_proto(req.filter)
            .map_err(|e| Status::invalid_argument(format!("bad filter: {e}")))?;
        let pred = filter::compile_event_filter(&spec, shared.state.conditions.as_ref())
            .map_err(|e| Status::invalid_argument(format!("bad filter: {e}")))?;
        let slot = StreamSlot::acquire(shared)?;
        let mut live = shared.state.events.subscribe(
            SubscriberConfig::new(shared.stream.queue_capacity)
                .with_filter(move |e: &EventItem| pred(e))
                .with_name("grpc-events"),
        );
        let hb = heartbeat_interval(shared, req.heartbeat_secs);
        let events = shared.state.events.clone();
        let mut stop = shared.stop.clone();
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            let _slot = slot;
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + hb, hb);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let out = tokio::select! {
                    biased;
                    _ = tx.closed() => return,
                    _ = stop.changed() => return,
                    m = live.recv() => match m {
                        None => return,
                        Some(BusMessage::Item(item)) => match &item.kind {
                            EventItemKind::Event(e) => Message::Event(convert::event_to_proto(item.seq, e)),
                            EventItemKind::KernelDrops { count } => Message::Gap(gap(
                                item.seq,
                                item.seq,
                                pb::GapReason::KernelDrops,
                                *count,
                            )),
                        },
                        Some(BusMessage::Gap { from_seq, to_seq, dropped }) => Message::Gap(gap(
                            from_seq,
                            to_seq,
                            pb::GapReason::SubscriberSlow,
                            dropped,
                        )),
                    },
                    _ = ticker.tick() => Message::Heartbeat(heartbeat(events.last_seq())),
                };
                if tx
                    .send(Ok(pb::EventStreamMessage { message: Some(out) }))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

struct AgentSvc(Arc<Shared>);

impl AgentSvc {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn AgentControl) -> T + Send + 'static,
    ) -> Result<T, Status> {
        let control = Arc::clone(&self.0.state.control);
        tokio::task::spawn_blocking(move || f(control.as_ref()))
            .await
            .map_err(|e| Status::internal(format!("agent call failed: {e}")))
    }
}

#[tonic::async_trait]
impl AgentService for AgentSvc {
    async fn status(
        &self,
        _request: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusResponse>, Status> {
        let status = self.blocking(|c| c.status()).await?;
        let hub = self.0.state.alerts.stats();
        Ok(Response::new(convert::status_to_proto(status, &hub)))
    }

    async fn list_containers(
        &self,
        _request: Request<pb::ListContainersRequest>,
    ) -> Result<Response<pb::ListContainersResponse>, Status> {
        let list = self.blocking(|c| c.list_containers()).await?;
        Ok(Response::new(pb::ListContainersResponse {
            containers: list.into_iter().map(convert::container_to_proto).collect(),
        }))
    }

    async fn list_rules(
        &self,
        _request: Request<pb::ListRulesRequest>,
    ) -> Result<Response<pb::ListRulesResponse>, Status> {
        let list = self.blocking(|c| c.list_rules()).await?;
        Ok(Response::new(pb::ListRulesResponse {
            rules: list.into_iter().map(convert::rule_to_proto).collect(),
        }))
    }

    async fn reload_rules(
        &self,
        request: Request<pb::ReloadRulesRequest>,
    ) -> Result<Response<pb::ReloadRulesResponse>, Status> {
        let paths = request.into_inner().paths;
        if paths.iter().any(|p| p.is_empty() || p.contains('\0')) {
            return Err(Status::invalid_argument(
                "rules paths must be non-empty and contain no NUL",
            ));
        }
        let outcome = self.blocking(move |c| c.reload_rules(&paths)).await?;
        Ok(Response::new(convert::reload_to_proto(outcome)))
    }
}
