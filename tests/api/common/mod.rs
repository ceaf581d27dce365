//! Shared helpers of the integration tests: a test `AgentControl`, a
//! server on a temporary unix socket, alert builders, stream collectors.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kestrel::alert::dedup::DedupConfig;
use kestrel::alert::log::LogConfig;
use kestrel::alert::record::{Alert, Priority, sample_alert};
use kestrel::alert::{AlertHub, HubConfig};
use kestrel::api::client::{self, Target};
use kestrel::api::control::*;
use kestrel::api::events::EventHub;
use kestrel::api::filter::BuiltinConditions;
use kestrel::api::proto as pb;
use kestrel::api::server::{ApiServer, ApiState, Listen, ServerConfig, StreamConfig};
use tokio::sync::oneshot;

/// Test implementation of [`AgentControl`]: rules files hold one rule per
/// line as `name priority`; a line that does not parse is a validation
/// error, and then the old rules stay.
pub struct TestControl {
    pub rules: Mutex<Vec<RuleInfo>>,
}

impl TestControl {
    pub fn new() -> Self {
        Self {
            rules: Mutex::new(vec![RuleInfo {
                name: "Initial rule".into(),
                description: "from start".into(),
                priority: Priority::Warning,
                tags: vec!["t".into()],
                enabled: true,
                source_file: "builtin".into(),
            }]),
        }
    }
}

impl AgentControl for TestControl {
    fn status(&self) -> AgentStatus {
        AgentStatus {
            version: "0.1.0-test".into(),
            kernel: "6.1.0-test".into(),
            hostname: "test-node".into(),
            uptime_secs: 5,
            programs: vec![ProgramInfo {
                name: "sched_process_exec".into(),
                state: "attached".into(),
                attach_point: "tracepoint/sched/sched_process_exec".into(),
                error: None,
            }],
            counters: AgentCounters {
                events: 1000,
                decode_errors: 1,
                drops_per_cpu: vec![(0, 3), (1, 0)],
                drops_per_container: vec![("abc".into(), 2)],
                queue_losses: vec![("enrich".into(), 4)],
            },
        }
    }

    fn list_containers(&self) -> Vec<ContainerInfo> {
        vec![ContainerInfo {
            id: "c1".into(),
            image: "nginx".into(),
            ..Default::default()
        }]
    }

    fn list_rules(&self) -> Vec<RuleInfo> {
        self.rules.lock().unwrap().clone()
    }

    fn reload_rules(&self, paths: &[String]) -> ReloadOutcome {
        let mut new = vec![];
        let mut errors = vec![];
        for p in paths {
            match std::fs::read_to_string(p) {
                Err(e) => errors.push(RuleErrorInfo {
                    file: p.clone(),
                    message: e.to_string(),
                    ..Default::default()
                }),
                Ok(text) => {
                    for (i, line) in text.lines().enumerate() {
                        let mut it = line.split_whitespace();
                        match (it.next(), it.next().map(str::parse::<Priority>), it.next()) {
                            (Some(name), Some(Ok(priority)), None) => new.push(RuleInfo {
                                name: name.into(),
                                description: String::new(),
                                priority,
                                tags: vec![],
                                enabled: true,
                                source_file: p.clone(),
                            }),
                            _ => errors.push(RuleErrorInfo {
                                file: p.clone(),
                                line: i as u32 + 1,
                                column: 1,
                                message: format!("cannot parse rule line {line:?}"),
                            }),
                        }
                    }
                }
            }
        }
        let mut rules = self.rules.lock().unwrap();
        if errors.is_empty() {
            *rules = new;
        }
        ReloadOutcome {
            ok: errors.is_empty(),
            rules_loaded: rules.len() as u32,
            errors,
        }
    }
}

pub fn hub_config(dir: &Path) -> HubConfig {
    HubConfig {
        log_dir: dir.join("log"),
        log: LogConfig::default(),
        dedup: DedupConfig::off(),
    }
}

/// A distinct alert (unique cmdline, so dedup never folds it).
pub fn alert(i: u64) -> Alert {
    let mut a = sample_alert();
    a.process.cmdline = format!("bash -c step{i}");
    a.time_ns = 1_700_000_000_000_000_000 + i * 1_000_000;
    a.time = kestrel::alert::record::format_rfc3339_ns(a.time_ns);
    a
}

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub hub: AlertHub,
    pub events: EventHub,
    pub control: Arc<TestControl>,
    stop: Option<oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub fn target(&self) -> Target {
        Target::Unix(self.socket.clone())
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            // Open streams are ended by the server, so this is quick even
            // with followers still connected.
            tokio::time::timeout(Duration::from_secs(3), t)
                .await
                .expect("server did not shut down")
                .unwrap();
        }
    }
}

pub async fn start_server_with(
    hub_cfg: impl FnOnce(&Path) -> HubConfig,
    stream: StreamConfig,
) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("run/kestrel.sock");
    let hub = AlertHub::open(hub_cfg(dir.path())).unwrap();
    let events = EventHub::new();
    let control = Arc::new(TestControl::new());
    let state = ApiState {
        alerts: hub.clone(),
        events: events.clone(),
        control: control.clone(),
        conditions: Arc::new(BuiltinConditions),
    };
    let server = ApiServer::bind(ServerConfig {
        listen: Listen::Unix(socket.clone()),
        stream,
    })
    .await
    .unwrap();
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        server
            .serve(state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    TestServer {
        dir,
        socket,
        hub,
        events,
        control,
        stop: Some(tx),
        task: Some(task),
    }
}

pub async fn start_server() -> TestServer {
    start_server_with(hub_config, StreamConfig::default()).await
}

pub async fn alert_client(
    target: &Target,
) -> pb::alert_service_client::AlertServiceClient<tonic::transport::Channel> {
    pb::alert_service_client::AlertServiceClient::new(client::connect(target).await.unwrap())
}

pub fn from_seq(s: u64, filter: Option<pb::Filter>) -> pb::SubscribeRequest {
    pb::SubscribeRequest {
        filter,
        start: Some(pb::subscribe_request::Start::FromSeq(s)),
        heartbeat_secs: 0,
    }
}

pub fn tail() -> pb::SubscribeRequest {
    pb::SubscribeRequest {
        filter: None,
        start: Some(pb::subscribe_request::Start::Tail(pb::Tail {})),
        heartbeat_secs: 0,
    }
}

/// What a stream delivered, simplified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    Alert(u64),
    Gap(u64, u64, i32, u64),
    CaughtUp(u64),
    Heartbeat(u64),
}

pub fn simplify(m: pb::AlertStreamMessage) -> Got {
    use pb::alert_stream_message::Message;
    match m.message.unwrap() {
        Message::Alert(a) => Got::Alert(a.seq),
        Message::Gap(g) => Got::Gap(g.from_seq, g.to_seq, g.reason, g.dropped),
        Message::CaughtUp(c) => Got::CaughtUp(c.last_seq),
        Message::Heartbeat(h) => Got::Heartbeat(h.last_seq),
    }
}

/// Reads until `stop` returns true for a message (included) or timeout.
pub async fn read_until(
    stream: &mut tonic::Streaming<pb::AlertStreamMessage>,
    mut stop: impl FnMut(&Got) -> bool,
) -> Vec<Got> {
    let mut out = vec![];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let m = tokio::time::timeout_at(deadline, stream.message())
            .await
            .expect("timed out waiting for stream")
            .expect("stream error")
            .expect("stream ended");
        let g = simplify(m);
        let done = stop(&g);
        out.push(g);
        if done {
            return out;
        }
    }
}

pub fn alert_seqs(got: &[Got]) -> Vec<u64> {
    got.iter()
        .filter_map(|g| match g {
            Got::Alert(s) => Some(*s),
            _ => None,
        })
        .collect()
}
