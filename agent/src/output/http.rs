//! HTTP output: POSTs each alert as Falco's JSON alert (`output`,
//! `priority`, `rule`, `time`, `output_fields`, `source`, `tags`,
//! `hostname`), so Falcosidekick works unchanged. A bounded queue sits in
//! front of one sender task; when it is full new alerts are dropped and
//! counted. Failed posts (network errors, 5xx, 408, 429) are retried with
//! exponential backoff; other 4xx are not retried. Plain HTTP or HTTPS via
//! rustls (no OpenSSL).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::alert::AlertHub;
use crate::alert::bus::{BusMessage, SubscriberConfig};
use crate::alert::record::Alert;

/// Falco's JSON alert for `a`. `output_fields` holds the rule's fields plus
/// the standard context fields (container, process, k8s) when the rule did
/// not already name them, and `kestrel.seq` (and dedup counts on a summary).
pub fn falco_json(a: &Alert) -> Value {
    let mut fields: Map<String, Value> = a
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut put = |k: &str, v: Value| {
        fields.entry(k.to_string()).or_insert(v);
    };
    put("evt.time", json!(a.time_ns));
    put("evt.type", json!(a.event.kind));
    put("proc.name", json!(a.process.name));
    put("proc.pid", json!(a.process.pid));
    put("proc.exepath", json!(a.process.exe));
    put("proc.cmdline", json!(a.process.cmdline));
    put("user.uid", json!(a.process.uid));
    if let Some(u) = &a.process.user {
        put("user.name", json!(u));
    }
    put(
        "container.id",
        json!(a.container.id.get(..12).unwrap_or(&a.container.id)),
    );
    if let Some(n) = &a.container.name {
        put("container.name", json!(n));
    }
    if let Some(i) = &a.container.image {
        put("container.image.repository", json!(i));
    }
    if let Some(k) = &a.k8s {
        put("k8s.ns.name", json!(k.namespace));
        put("k8s.pod.name", json!(k.pod));
    }
    put("kestrel.seq", json!(a.seq));
    if let Some(d) = &a.dedup {
        put("kestrel.dedup.count", json!(d.count));
        put("kestrel.dedup.first_seq", json!(d.first_seq));
        put("kestrel.dedup.first_seen", json!(d.first_seen));
        put("kestrel.dedup.last_seen", json!(d.last_seen));
    }
    json!({
        "output": a.output,
        "priority": a.priority.falco_name(),
        "rule": a.rule,
        "time": a.time,
        "output_fields": fields,
        "source": a.source,
        "tags": a.tags,
        "hostname": a.node,
    })
}

/// HTTP output settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// e.g. `http://falcosidekick:2801/`.
    pub url: String,
    /// Alerts waiting to be posted; beyond this new ones are dropped.
    pub queue: usize,
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Extra headers (e.g. authorization).
    pub headers: Vec<(String, String)>,
}

impl HttpConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            queue: 1024,
            max_retries: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            headers: Vec::new(),
        }
    }
}

/// Counters of the HTTP output.
#[derive(Debug, Default)]
pub struct HttpStats {
    /// Posted with a 2xx answer.
    pub sent: AtomicU64,
    /// Given up on after retries, or rejected with a non-retryable status.
    pub failed: AtomicU64,
    /// Dropped because the queue was full (or the subscriber fell behind).
    pub dropped: AtomicU64,
    /// Extra attempts made.
    pub retries: AtomicU64,
}

/// Handle to a running HTTP output. Dropping every handle stops the sender
/// after it drained its queue.
#[derive(Clone)]
pub struct HttpOutput {
    tx: mpsc::Sender<Arc<Alert>>,
    stats: Arc<HttpStats>,
}

impl HttpOutput {
    /// Starts the sender task (needs a tokio runtime).
    pub fn spawn(config: HttpConfig) -> Result<(Self, tokio::task::JoinHandle<()>), String> {
        let url: reqwest::Url = config
            .url
            .parse()
            .map_err(|e| format!("bad URL {:?}: {e}", config.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("URL {:?} is not http(s)", config.url));
        }
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &config.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| format!("bad header name {k:?}: {e}"))?;
            let value = reqwest::header::HeaderValue::from_str(v)
                .map_err(|e| format!("bad header value for {k}: {e}"))?;
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .default_headers(headers)
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let (tx, mut rx) = mpsc::channel::<Arc<Alert>>(config.queue.max(1));
        let stats = Arc::new(HttpStats::default());
        let st = Arc::clone(&stats);
        let task = tokio::spawn(async move {
            while let Some(alert) = rx.recv().await {
                let body = falco_json(&alert).to_string();
                post_with_retries(&client, &url, body, &config, &st).await;
            }
        });
        Ok((Self { tx, stats }, task))
    }

    /// Queues one alert; returns false (and counts a drop) if the queue is full.
    pub fn send(&self, alert: Arc<Alert>) -> bool {
        match self.tx.try_send(alert) {
            Ok(()) => true,
            Err(_) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    pub fn stats(&self) -> &HttpStats {
        &self.stats
    }

    /// Feeds every alert published on `hub` to this output (a task that ends
    /// with the hub). Loss on the bus subscription is counted as dropped.
    pub fn follow(&self, hub: &AlertHub) -> tokio::task::JoinHandle<()> {
        let mut sub = hub.subscribe(SubscriberConfig::new(1024).with_name("http-output"));
        let out = self.clone();
        tokio::spawn(async move {
            while let Some(m) = sub.recv().await {
                match m {
                    BusMessage::Item(a) => {
                        out.send(a);
                    }
                    BusMessage::Gap { dropped, .. } => {
                        out.stats.dropped.fetch_add(dropped, Ordering::Relaxed);
                    }
                }
            }
        })
    }
}

async fn post_with_retries(
    client: &reqwest::Client,
    url: &reqwest::Url,
    body: String,
    config: &HttpConfig,
    stats: &HttpStats,
) {
    let mut backoff = config.initial_backoff;
    for attempt in 0..=config.max_retries {
        if attempt > 0 {
            stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2).min(config.max_backoff);
        }
        let result = client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await;
        match result {
            Ok(resp) if resp.status().is_success() => {
                stats.sent.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(resp) => {
                let s = resp.status();
                let retryable = s.is_server_error() || s.as_u16() == 408 || s.as_u16() == 429;
                tracing::warn!(status = %s, attempt, "HTTP output: post rejected");
                if !retryable {
                    break;
                }
            }
            Err(e) => tracing::warn!(error = %e, attempt, "HTTP output: post failed"),
        }
    }
    stats.failed.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falco_shape_has_the_fields_sidekick_reads() {
        let mut a = crate::alert::record::sample_alert();
        a.seq = 3;
        let v = falco_json(&a);
        for k in [
            "output",
            "priority",
            "rule",
            "time",
            "output_fields",
            "source",
            "tags",
            "hostname",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert_eq!(v["priority"], "Notice");
        assert_eq!(v["hostname"], "node-1");
        assert_eq!(v["output_fields"]["kestrel.seq"], 3);
        // Rule fields win over the defaults.
        assert_eq!(v["output_fields"]["container.id"], "3ad7b26ded6d");
        assert_eq!(v["output_fields"]["k8s.ns.name"], "prod");
    }
}
