//! HTTP output against a local hyper server on 127.0.0.1: Falco's JSON
//! shape, retry after a 500, drop counting when the queue is full.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use kestrel::alert::record::sample_alert;
use kestrel::output::http::{HttpConfig, HttpOutput};

/// A server answering the first `fail_first` requests with 500, each after
/// `delay`; records bodies of the requests it accepted.
async fn server(
    fail_first: usize,
    delay: Duration,
) -> (String, Arc<Mutex<Vec<serde_json::Value>>>, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bodies = Arc::new(Mutex::new(vec![]));
    let hits = Arc::new(AtomicUsize::new(0));
    let (b, h) = (bodies.clone(), hits.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (b, h) = (b.clone(), h.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (b, h) = (b.clone(), h.clone());
                    async move {
                        let n = h.fetch_add(1, Ordering::SeqCst);
                        let ct = req.headers().get("content-type").cloned();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        tokio::time::sleep(delay).await;
                        let status = if n < fail_first {
                            StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            assert_eq!(ct.unwrap(), "application/json");
                            b.lock()
                                .unwrap()
                                .push(serde_json::from_slice(&body).unwrap());
                            StatusCode::OK
                        };
                        Ok::<_, Infallible>(
                            Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::new()))
                                .unwrap(),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (format!("http://{addr}/"), bodies, hits)
}

async fn wait_for(mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_falco_json_and_retries_after_500() {
    let (url, bodies, hits) = server(2, Duration::ZERO).await;
    let mut cfg = HttpConfig::new(url);
    cfg.initial_backoff = Duration::from_millis(20);
    let (out, _task) = HttpOutput::spawn(cfg).unwrap();
    let mut a = sample_alert();
    a.seq = 77;
    assert!(out.send(Arc::new(a)));
    wait_for(|| out.stats().sent.load(Ordering::Relaxed) == 1).await;
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    assert_eq!(out.stats().retries.load(Ordering::Relaxed), 2);
    assert_eq!(out.stats().failed.load(Ordering::Relaxed), 0);
    let body = bodies.lock().unwrap()[0].clone();
    assert_eq!(body["rule"], "Terminal shell in container");
    assert_eq!(body["priority"], "Notice");
    assert_eq!(body["source"], "syscall");
    assert_eq!(body["hostname"], "node-1");
    assert_eq!(body["time"], "2024-05-01T12:00:00.000000001Z");
    assert_eq!(body["output_fields"]["kestrel.seq"], 77);
    assert!(body["tags"].as_array().unwrap().contains(&"shell".into()));
    assert!(body["output"].as_str().unwrap().starts_with("A shell"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gives_up_after_retries_and_counts_failure() {
    let (url, _bodies, hits) = server(usize::MAX, Duration::ZERO).await;
    let mut cfg = HttpConfig::new(url);
    cfg.initial_backoff = Duration::from_millis(5);
    cfg.max_retries = 2;
    let (out, _task) = HttpOutput::spawn(cfg).unwrap();
    out.send(Arc::new(sample_alert()));
    wait_for(|| out.stats().failed.load(Ordering::Relaxed) == 1).await;
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_drops_and_counts() {
    let (url, _bodies, _hits) = server(0, Duration::from_millis(200)).await;
    let mut cfg = HttpConfig::new(url);
    cfg.queue = 2;
    let (out, _task) = HttpOutput::spawn(cfg).unwrap();
    let accepted = (0..10)
        .filter(|_| out.send(Arc::new(sample_alert())))
        .count() as u64;
    let dropped = out.stats().dropped.load(Ordering::Relaxed);
    assert_eq!(accepted + dropped, 10);
    assert!(accepted <= 3, "accepted {accepted}");
    assert!(dropped >= 7);
    wait_for(|| out.stats().sent.load(Ordering::Relaxed) == accepted).await;
    assert!(HttpOutput::spawn(HttpConfig::new("ftp://x/")).is_err());
    assert!(HttpOutput::spawn(HttpConfig::new("not a url")).is_err());
}
