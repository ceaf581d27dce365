//! The API client and the functions behind the agent's CLI sub-commands
//! (`alerts`, `events`, `status`, `rules reload`). Connects over the unix
//! socket (tonic over `UnixStream` via a custom connector) or TCP + TLS
//! (optionally presenting a client certificate). Output is compact text
//! (coloured on a terminal) or JSON lines.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::alert::record::{self, format_rfc3339_ns, now_unix_ns};
use crate::api::convert;
use crate::api::filter::FilterSpec;
use crate::api::proto as pb;
use crate::output::text;

pub use pb::agent_service_client::AgentServiceClient;
pub use pb::alert_service_client::AlertServiceClient;
pub use pb::event_service_client::EventServiceClient;

/// TLS settings of a TCP client.
#[derive(Debug, Clone, Default)]
pub struct ClientTls {
    /// CA that signed the server certificate (PEM).
    pub ca_pem: Vec<u8>,
    /// Name to verify the server certificate against (default: URI host).
    pub domain: Option<String>,
    /// Client certificate and key (PEM), for mTLS.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

/// Where the agent listens.
#[derive(Debug, Clone)]
pub enum Target {
    Unix(PathBuf),
    /// `uri` like `https://host:7443`.
    Tcp {
        uri: String,
        tls: ClientTls,
    },
}

impl Default for Target {
    fn default() -> Self {
        Target::Unix(PathBuf::from(crate::api::server::DEFAULT_SOCKET))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("bad target: {0}")]
    BadTarget(String),
    #[error("{}: {}", .0.code(), .0.message())]
    Status(#[from] tonic::Status),
    #[error("output: {0}")]
    Io(#[from] io::Error),
    #[error("bad reply: {0}")]
    BadReply(String),
}

/// HTTP/2 receive windows of the client: larger than h2's 64 KiB default
/// so a fast stream is not throttled by window updates.
const STREAM_WINDOW: u32 = 1 << 20;
const CONNECTION_WINDOW: u32 = 2 << 20;

/// Opens a channel to the agent.
pub async fn connect(target: &Target) -> Result<Channel, ClientError> {
    match target {
        Target::Unix(path) => {
            let path = path.clone();
            let shown = path.display().to_string();
            // The URI is required by the API but unused by the connector.
            Endpoint::from_static("http://localhost")
                .initial_stream_window_size(STREAM_WINDOW)
                .initial_connection_window_size(CONNECTION_WINDOW)
                .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
                    let path = path.clone();
                    async move {
                        let s = tokio::net::UnixStream::connect(path).await?;
                        Ok::<_, io::Error>(hyper_util::rt::TokioIo::new(s))
                    }
                }))
                .await
                .map_err(|source| ClientError::Connect {
                    target: shown,
                    source,
                })
        }
        Target::Tcp { uri, tls } => {
            let mut cfg = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&tls.ca_pem));
            if let Some(d) = &tls.domain {
                cfg = cfg.domain_name(d.clone());
            }
            if let Some((cert, key)) = &tls.identity {
                cfg = cfg.identity(Identity::from_pem(cert, key));
            }
            let err = |source| ClientError::Connect {
                target: uri.clone(),
                source,
            };
            Endpoint::from_shared(uri.clone())
                .map_err(|e| ClientError::BadTarget(format!("{uri}: {e}")))?
                .tls_config(cfg)
                .map_err(err)?
                .connect_timeout(Duration::from_secs(10))
                .initial_stream_window_size(STREAM_WINDOW)
                .initial_connection_window_size(CONNECTION_WINDOW)
                .connect()
                .await
                .map_err(err)
        }
    }
}

/// Where `alerts` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    Seq(u64),
    /// Unix ns.
    Time(u64),
}

/// Parses `--since`: a seq (`1234`), an RFC 3339 time
/// (`2024-05-01T12:00:00Z`), or a duration ago (`30s`, `10m`, `2h`, `1d`).
pub fn parse_since(s: &str) -> Result<Since, String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse()
            .map(Since::Seq)
            .map_err(|e| format!("bad seq {s:?}: {e}"));
    }
    if let Some(ns) = record::parse_rfc3339_ns(s) {
        return Ok(Since::Time(ns));
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().map_err(|_| {
        format!("--since {s:?}: expected a seq, an RFC 3339 time or a duration like 10m")
    })?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => {
            return Err(format!(
                "--since {s:?}: unknown unit {unit:?} (use s, m, h, d)"
            ));
        }
    };
    Ok(Since::Time(
        now_unix_ns().saturating_sub(secs.saturating_mul(1_000_000_000)),
    ))
}

/// Text or JSON lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// Arguments of `kestrel alerts`.
#[derive(Debug, Clone, Default)]
pub struct AlertsArgs {
    /// Keep streaming live alerts (else stop once history is printed).
    pub follow: bool,
    /// Start; default: everything retained (no follow) or live only (follow).
    pub since: Option<Since>,
    /// Condition expression (rule language).
    pub filter: Option<String>,
    /// Structured filter fields (the condition in `filter` wins).
    pub spec: FilterSpec,
    pub output: OutputFormat,
    /// Colour the text output.
    pub colour: bool,
}

/// What an `alerts` run saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertsSummary {
    pub alerts: u64,
    pub gaps: u64,
    pub last_seq: u64,
}

fn gap_text(g: &pb::Gap) -> String {
    let reason = match pb::GapReason::try_from(g.reason) {
        Ok(pb::GapReason::SubscriberSlow) => "client too slow, dropped by the agent",
        Ok(pb::GapReason::Retention) => "no longer retained on disk",
        Ok(pb::GapReason::KernelDrops) => "dropped by the kernel",
        Ok(pb::GapReason::LogCorruption) => "unreadable on disk",
        _ => "unknown reason",
    };
    let n = if g.dropped > 0 {
        format!("{} ", g.dropped)
    } else {
        String::new()
    };
    format!("-- missed {n}#{}..#{}: {reason} --", g.from_seq, g.to_seq)
}

fn gap_json(g: &pb::Gap) -> String {
    let reason = pb::GapReason::try_from(g.reason)
        .map(|r| r.as_str_name())
        .unwrap_or("GAP_REASON_UNSPECIFIED");
    serde_json::json!({"gap": {"from_seq": g.from_seq, "to_seq": g.to_seq, "reason": reason, "dropped": g.dropped}})
        .to_string()
}

/// `kestrel alerts [--follow] [--since SEQ|TIME] [--filter EXPR] [--output text|json]`.
/// Writes to `out`; returns when history is done (no follow) or the stream
/// ends.
pub async fn alerts(
    target: &Target,
    args: &AlertsArgs,
    out: &mut (dyn Write + Send),
) -> Result<AlertsSummary, ClientError> {
    use pb::alert_stream_message::Message;
    let mut client = AlertServiceClient::new(connect(target).await?);
    let mut spec = args.spec.clone();
    if let Some(f) = &args.filter {
        spec.condition = f.clone();
    }
    let since = match (args.since, args.follow) {
        (Some(s), _) => Some(s),
        (None, false) => Some(Since::Seq(1)),
        (None, true) => None,
    };
    let start = match since {
        None => pb::subscribe_request::Start::Tail(pb::Tail {}),
        Some(Since::Seq(s)) => pb::subscribe_request::Start::FromSeq(s),
        Some(Since::Time(t)) => pb::subscribe_request::Start::FromTime(convert::timestamp(t)),
    };
    let req = pb::SubscribeRequest {
        filter: Some(convert::filter_to_proto(&spec)),
        start: Some(start),
        heartbeat_secs: 0,
    };
    let mut stream = client.subscribe(req).await?.into_inner();
    let mut sum = AlertsSummary::default();
    while let Some(m) = stream.message().await? {
        match m.message {
            Some(Message::Alert(a)) => {
                let a = convert::alert_from_proto(a).map_err(ClientError::BadReply)?;
                sum.alerts += 1;
                sum.last_seq = a.seq;
                match args.output {
                    OutputFormat::Text => writeln!(out, "{}", text::format_alert(&a, args.colour))?,
                    OutputFormat::Json => {
                        serde_json::to_writer(&mut *out, &a).map_err(io::Error::other)?;
                        writeln!(out)?;
                    }
                }
            }
            Some(Message::Gap(g)) => {
                sum.gaps += 1;
                match args.output {
                    OutputFormat::Text => writeln!(out, "{}", gap_text(&g))?,
                    OutputFormat::Json => writeln!(out, "{}", gap_json(&g))?,
                }
            }
            Some(Message::CaughtUp(_)) if !args.follow => break,
            Some(Message::CaughtUp(_)) | Some(Message::Heartbeat(_)) | None => {}
        }
        out.flush()?;
    }
    Ok(sum)
}

/// `kestrel events --filter EXPR`: streams live events until `limit`
/// events were printed (if given) or the stream ends.
pub async fn events(
    target: &Target,
    filter: Option<&str>,
    output: OutputFormat,
    limit: Option<u64>,
    out: &mut (dyn Write + Send),
) -> Result<u64, ClientError> {
    use pb::event_stream_message::Message;
    let mut client = EventServiceClient::new(connect(target).await?);
    let req = pb::EventSubscribeRequest {
        filter: Some(pb::Filter {
            condition: filter.unwrap_or_default().to_string(),
            ..Default::default()
        }),
        heartbeat_secs: 0,
    };
    let mut stream = client.subscribe(req).await?.into_inner();
    let mut n = 0;
    while let Some(m) = stream.message().await? {
        match m.message {
            Some(Message::Event(e)) => {
                n += 1;
                match output {
                    OutputFormat::Json => writeln!(out, "{}", event_json(&e))?,
                    OutputFormat::Text => writeln!(out, "{}", event_text(&e))?,
                }
                if limit.is_some_and(|l| n >= l) {
                    break;
                }
            }
            Some(Message::Gap(g)) => match output {
                OutputFormat::Text => writeln!(out, "{}", gap_text(&g))?,
                OutputFormat::Json => writeln!(out, "{}", gap_json(&g))?,
            },
            Some(Message::Heartbeat(_)) | None => {}
        }
        out.flush()?;
    }
    Ok(n)
}

fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn event_text(e: &pb::Event) -> String {
    let body = match &e.body {
        Some(pb::event::Body::Exec(x)) => {
            format!("exec {} {:?}", clean(&x.filename), clean(&x.args.join(" ")))
        }
        Some(pb::event::Body::Fork(x)) => format!("fork child={}", x.child_tgid),
        Some(pb::event::Body::Exit(x)) => format!("exit status={} signal={}", x.status, x.signal),
        Some(pb::event::Body::Syscall(x)) => {
            let mut s = format!("{} {} = {}", clean(&x.name), clean(&x.args_json), x.ret);
            if !x.fd_path.is_empty() {
                s.push_str(&format!(" fd={}", clean(&x.fd_path)));
            }
            if !x.tuple.is_empty() {
                s.push_str(&format!(" {}", clean(&x.tuple)));
            }
            s
        }
        Some(pb::event::Body::FirstSyscall(x)) => {
            format!("first use of {} ({})", clean(&x.name), x.nr)
        }
        Some(pb::event::Body::Cgroup(x)) => format!(
            "cgroup {} {} id={}",
            if x.created { "mkdir" } else { "rmdir" },
            clean(&x.path),
            x.id
        ),
        None => "?".into(),
    };
    let ctr = if e.container_id.is_empty() {
        "host".to_string()
    } else {
        format!(
            "ctr={}",
            clean(e.container_id.get(..12).unwrap_or(&e.container_id))
        )
    };
    format!(
        "{} #{} {}({}) ppid={} uid={} {ctr} {body}",
        format_rfc3339_ns(e.time_ns),
        e.seq,
        clean(&e.comm),
        e.tgid,
        e.ppid,
        e.uid
    )
}

fn event_json(e: &pb::Event) -> String {
    let body = match &e.body {
        Some(pb::event::Body::Exec(x)) => {
            serde_json::json!({"type": "exec", "filename": x.filename, "args": x.args, "args_truncated": x.args_truncated, "filename_truncated": x.filename_truncated, "old_pid": x.old_pid})
        }
        Some(pb::event::Body::Fork(x)) => {
            serde_json::json!({"type": "fork", "child_pid": x.child_pid, "child_tgid": x.child_tgid})
        }
        Some(pb::event::Body::Exit(x)) => {
            serde_json::json!({"type": "exit", "status": x.status, "signal": x.signal, "group_dead": x.group_dead})
        }
        Some(pb::event::Body::Syscall(x)) => {
            let args: serde_json::Value =
                serde_json::from_str(&x.args_json).unwrap_or(serde_json::Value::Null);
            serde_json::json!({"type": "syscall", "name": x.name, "nr": x.nr, "ret": x.ret, "args": args, "fd_path": x.fd_path, "tuple": x.tuple, "truncated": x.truncated})
        }
        Some(pb::event::Body::FirstSyscall(x)) => {
            serde_json::json!({"type": "first_syscall", "nr": x.nr, "name": x.name})
        }
        Some(pb::event::Body::Cgroup(x)) => {
            serde_json::json!({"type": "cgroup", "created": x.created, "id": x.id, "path": x.path})
        }
        None => serde_json::Value::Null,
    };
    serde_json::json!({
        "seq": e.seq, "time": format_rfc3339_ns(e.time_ns), "time_ns": e.time_ns, "cpu": e.cpu,
        "pid": e.pid, "tgid": e.tgid, "ppid": e.ppid, "uid": e.uid, "gid": e.gid,
        "cgroup_id": e.cgroup_id, "comm": e.comm, "body": body,
        "container_id": e.container_id, "container_image": e.container_image,
        "k8s_namespace": e.k8s_namespace, "k8s_pod": e.k8s_pod,
    })
    .to_string()
}

/// `kestrel status`.
pub async fn status(
    target: &Target,
    output: OutputFormat,
    out: &mut (dyn Write + Send),
) -> Result<pb::StatusResponse, ClientError> {
    let mut client = AgentServiceClient::new(connect(target).await?);
    let s = client.status(pb::StatusRequest {}).await?.into_inner();
    match output {
        OutputFormat::Json => {
            let c = s.counters.clone().unwrap_or_default();
            let a = s.alerts.unwrap_or_default();
            let v = serde_json::json!({
                "version": s.version, "kernel": s.kernel, "hostname": s.hostname, "uptime_secs": s.uptime_secs,
                "programs": s.programs.iter().map(|p| serde_json::json!({"name": p.name, "state": p.state, "attach_point": p.attach_point, "error": p.error})).collect::<Vec<_>>(),
                "counters": {"events": c.events, "decode_errors": c.decode_errors,
                    "drops_per_cpu": c.drops_per_cpu.iter().map(|d| (d.cpu.to_string(), d.drops)).collect::<std::collections::BTreeMap<_,_>>(),
                    "drops_per_container": c.drops_per_container.iter().map(|d| (d.container_id.clone(), d.drops)).collect::<std::collections::BTreeMap<_,_>>(),
                    "queue_losses": c.queue_losses},
                "alerts": {"last_seq": a.last_seq, "published": a.published, "folded": a.folded, "summaries": a.summaries,
                    "dedup_evictions": a.dedup_evictions, "subscribers": a.subscribers, "subscriber_drops": a.subscriber_drops,
                    "log_bytes": a.log_bytes, "log_first_seq": a.log_first_seq},
            });
            writeln!(out, "{v}")?;
        }
        OutputFormat::Text => {
            writeln!(
                out,
                "kestrel {} on {} (kernel {}), up {}s",
                clean(&s.version),
                clean(&s.hostname),
                clean(&s.kernel),
                s.uptime_secs
            )?;
            writeln!(out, "programs:")?;
            for p in &s.programs {
                let err = if p.error.is_empty() {
                    String::new()
                } else {
                    format!(" error: {}", clean(&p.error))
                };
                writeln!(
                    out,
                    "  {:<24} {:<10} {}{err}",
                    clean(&p.name),
                    clean(&p.state),
                    clean(&p.attach_point)
                )?;
            }
            if let Some(c) = &s.counters {
                let drops: u64 = c.drops_per_cpu.iter().map(|d| d.drops).sum();
                writeln!(
                    out,
                    "events: {}  kernel drops: {drops}  decode errors: {}",
                    c.events, c.decode_errors
                )?;
                for d in c.drops_per_cpu.iter().filter(|d| d.drops > 0) {
                    writeln!(out, "  cpu {:>3}: {} dropped", d.cpu, d.drops)?;
                }
                for d in &c.drops_per_container {
                    writeln!(
                        out,
                        "  container {}: {} dropped",
                        clean(d.container_id.get(..12).unwrap_or(&d.container_id)),
                        d.drops
                    )?;
                }
                for (q, n) in &c.queue_losses {
                    writeln!(out, "  queue {}: {n} lost", clean(q))?;
                }
            }
            if let Some(a) = &s.alerts {
                writeln!(
                    out,
                    "alerts: last #{}  published {}  folded {}  summaries {}  subscribers {}  subscriber drops {}  log {} bytes from #{}",
                    a.last_seq,
                    a.published,
                    a.folded,
                    a.summaries,
                    a.subscribers,
                    a.subscriber_drops,
                    a.log_bytes,
                    a.log_first_seq
                )?;
            }
        }
    }
    Ok(s)
}

/// `kestrel rules reload [PATHS...]`: returns whether the new rules are in
/// force; on errors they are printed and the old rules stay.
pub async fn rules_reload(
    target: &Target,
    paths: &[String],
    out: &mut (dyn Write + Send),
) -> Result<bool, ClientError> {
    let mut client = AgentServiceClient::new(connect(target).await?);
    let r = client
        .reload_rules(pb::ReloadRulesRequest {
            paths: paths.to_vec(),
        })
        .await?
        .into_inner();
    if r.ok {
        writeln!(out, "rules reloaded: {} rules in force", r.rules_loaded)?;
    } else {
        writeln!(
            out,
            "rules NOT reloaded; {} rules still in force:",
            r.rules_loaded
        )?;
        for e in &r.errors {
            writeln!(
                out,
                "  {}:{}:{}: {}",
                clean(&e.file),
                e.line,
                e.column,
                clean(&e.message)
            )?;
        }
    }
    Ok(r.ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_parses_seq_time_and_durations() {
        assert_eq!(parse_since("42"), Ok(Since::Seq(42)));
        assert_eq!(
            parse_since("2024-05-01T12:00:00Z"),
            Ok(Since::Time(1_714_564_800_000_000_000))
        );
        let Ok(Since::Time(t)) = parse_since("10m") else {
            panic!()
        };
        assert!(now_unix_ns() - t >= 600_000_000_000);
        assert!(parse_since("10y").is_err());
        assert!(parse_since("").is_err());
        assert!(parse_since("99999999999999999999999").is_err());
    }
}
