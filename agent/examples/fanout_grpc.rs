//! Benchmark: alert fan-out over the unix-socket gRPC API.
//!
//! 1. Fan-out rate: publish N alerts as fast as possible to 1, 10 and 100
//!    streaming subscribers; report alerts delivered per second (all
//!    subscribers together) and any loss (gaps).
//! 2. Latency: publish at ~100k alerts/s (paced) to 1 and 10 subscribers;
//!    report p50/p99/max from `AlertHub::publish` to receipt by the client.
//!
//! Run: `cargo run --release --example fanout_grpc`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kestrel::alert::dedup::DedupConfig;
use kestrel::alert::log::LogConfig;
use kestrel::alert::record::{now_unix_ns, sample_alert};
use kestrel::alert::{AlertHub, HubConfig};
use kestrel::api::client::{self, Target};
use kestrel::api::control::*;
use kestrel::api::events::EventHub;
use kestrel::api::filter::BuiltinConditions;
use kestrel::api::proto as pb;
use kestrel::api::server::{ApiServer, ApiState, Listen, ServerConfig, StreamConfig};

struct NoAgent;

impl AgentControl for NoAgent {
    fn status(&self) -> AgentStatus {
        AgentStatus::default()
    }
    fn list_containers(&self) -> Vec<ContainerInfo> {
        vec![]
    }
    fn list_rules(&self) -> Vec<RuleInfo> {
        vec![]
    }
    fn reload_rules(&self, _: &[String]) -> ReloadOutcome {
        ReloadOutcome::default()
    }
}

struct Setup {
    hub: AlertHub,
    target: Target,
    _dir: tempfile::TempDir,
    stop: tokio::sync::oneshot::Sender<()>,
}

async fn setup(capacity: usize) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = AlertHub::open(HubConfig {
        log_dir: dir.path().join("log"),
        log: LogConfig::default(),
        dedup: DedupConfig::off(),
    })
    .expect("open hub");
    let socket = dir.path().join("kestrel.sock");
    let server = ApiServer::bind(ServerConfig {
        listen: Listen::Unix(socket.clone()),
        stream: StreamConfig {
            queue_capacity: capacity,
            ..Default::default()
        },
    })
    .await
    .expect("bind");
    let state = ApiState {
        alerts: hub.clone(),
        events: EventHub::new(),
        control: Arc::new(NoAgent),
        conditions: Arc::new(BuiltinConditions),
    };
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.serve(state, async {
        let _ = rx.await;
    }));
    Setup {
        hub,
        target: Target::Unix(socket),
        _dir: dir,
        stop,
    }
}

/// Subscribes `n` clients (tail) and returns their streams once subscribed.
async fn subscribers(target: &Target, n: usize) -> Vec<tonic::Streaming<pb::AlertStreamMessage>> {
    let mut streams = vec![];
    for _ in 0..n {
        let ch = client::connect(target).await.expect("connect");
        let mut c = pb::alert_service_client::AlertServiceClient::new(ch);
        let mut s = c
            .subscribe(pb::SubscribeRequest {
                filter: None,
                start: Some(pb::subscribe_request::Start::Tail(pb::Tail {})),
                heartbeat_secs: 3600,
            })
            .await
            .expect("subscribe")
            .into_inner();
        // CaughtUp comes first.
        let _ = s.message().await;
        streams.push(s);
    }
    streams
}

#[derive(Default)]
struct Recv {
    alerts: u64,
    lost: u64,
    latencies_ns: Vec<u64>,
}

/// Reads until seq `last` was delivered or reported lost.
async fn drain(mut s: tonic::Streaming<pb::AlertStreamMessage>, last: u64, lat: bool) -> Recv {
    use pb::alert_stream_message::Message;
    let mut r = Recv::default();
    while let Ok(Some(m)) = s.message().await {
        match m.message {
            Some(Message::Alert(a)) => {
                r.alerts += 1;
                if lat {
                    r.latencies_ns.push(now_unix_ns().saturating_sub(a.time_ns));
                }
                if a.seq >= last {
                    break;
                }
            }
            Some(Message::Gap(g)) => {
                r.lost += g.dropped;
                if g.to_seq >= last {
                    break;
                }
            }
            _ => {}
        }
    }
    r
}

async fn fanout(n_subs: usize, n_alerts: u64) {
    let st = setup(1 << 16).await;
    let streams = subscribers(&st.target, n_subs).await;
    let base = st.hub.last_seq();
    let last = base + n_alerts;
    let readers: Vec<_> = streams
        .into_iter()
        .map(|s| tokio::spawn(drain(s, last, false)))
        .collect();
    let hub = st.hub.clone();
    let started = Instant::now();
    let publish = tokio::task::spawn_blocking(move || {
        let a = sample_alert();
        for _ in 0..n_alerts {
            hub.publish(a.clone()).expect("publish");
        }
        started.elapsed()
    });
    let pub_time = publish.await.expect("publisher");
    let mut delivered = 0;
    let mut lost = 0;
    for r in readers {
        let r = r.await.expect("reader");
        delivered += r.alerts;
        lost += r.lost;
    }
    let elapsed = started.elapsed();
    println!(
        "fan-out {:>3} subscriber(s): {:>7} alerts published in {:>6.0} ms ({:>7.0}/s); {:>8} deliveries in {:>6.0} ms = {:>9.0} deliveries/s ({:>7.0} alerts/s per subscriber); lost {}",
        n_subs,
        n_alerts,
        pub_time.as_secs_f64() * 1e3,
        n_alerts as f64 / pub_time.as_secs_f64(),
        delivered,
        elapsed.as_secs_f64() * 1e3,
        delivered as f64 / elapsed.as_secs_f64(),
        delivered as f64 / elapsed.as_secs_f64() / n_subs as f64,
        lost
    );
    let _ = st.stop.send(());
}

fn pct(v: &[u64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)] as f64 / 1e6
}

async fn latency(n_subs: usize, rate: u64, secs: u64) {
    let st = setup(1 << 16).await;
    let streams = subscribers(&st.target, n_subs).await;
    let n_alerts = rate * secs;
    let last = st.hub.last_seq() + n_alerts;
    let readers: Vec<_> = streams
        .into_iter()
        .map(|s| tokio::spawn(drain(s, last, true)))
        .collect();
    let hub = st.hub.clone();
    let publish = tokio::task::spawn_blocking(move || {
        let template = sample_alert();
        let batch = rate / 1000; // one batch per millisecond
        let started = Instant::now();
        let mut sent = 0u64;
        while sent < n_alerts {
            let due = Duration::from_micros(sent * 1000 / batch.max(1));
            // Sleep (not spin) so pacing does not steal CPU from the server.
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
            for _ in 0..batch.min(n_alerts - sent) {
                let mut a = template.clone();
                a.time_ns = now_unix_ns();
                hub.publish(a).expect("publish");
                sent += 1;
            }
        }
        started.elapsed()
    });
    let pub_time = publish.await.expect("publisher");
    let mut all = vec![];
    let mut lost = 0;
    for r in readers {
        let r = r.await.expect("reader");
        lost += r.lost;
        all.extend(r.latencies_ns);
    }
    all.sort_unstable();
    println!(
        "latency {:>3} subscriber(s) at {:>6} alerts/s target ({:>7.0}/s achieved) for {}s: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms over {} receipts; lost {}",
        n_subs,
        rate,
        n_alerts as f64 / pub_time.as_secs_f64(),
        secs,
        pct(&all, 0.50),
        pct(&all, 0.99),
        pct(&all, 0.999),
        pct(&all, 1.0),
        all.len(),
        lost
    );
    let _ = st.stop.send(());
}

/// Per-alert CPU costs of the pieces, to read the figures above against.
async fn costs() {
    use prost::Message;
    let st = setup(1024).await;
    let n = 50_000u32;
    let a = sample_alert();
    let t = Instant::now();
    for _ in 0..n {
        st.hub.publish(a.clone()).expect("publish");
    }
    let publish = t.elapsed() / n;
    let t = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..n {
        let m = pb::AlertStreamMessage::new(pb::alert_stream_message::Message::Alert(
            kestrel::api::convert::alert_to_proto(&a),
        ));
        bytes = m.encode_to_vec().len();
    }
    let encode = t.elapsed() / n;
    println!(
        "costs: AlertHub::publish (dedup off, JSON + log write + bus, no subscriber) {publish:?}/alert; Alert->proto+encode {encode:?}/alert ({bytes} bytes)"
    );
    let _ = st.stop.send(());
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        costs().await;
        fanout(1, 100_000).await;
        fanout(10, 20_000).await;
        fanout(100, 2_000).await;
        for rate in [100_000, 50_000, 20_000, 10_000] {
            latency(1, rate, 2).await;
        }
        latency(10, 10_000, 2).await;
    });
}
