//! End-to-end tests of the gRPC API: a real tonic server on a temporary
//! unix socket (or TCP+TLS) and a real tonic client. Only `AgentControl`
//! and the condition language use test/built-in implementations.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::common::*;
use kestrel::alert::dedup::DedupConfig;
use kestrel::alert::log::LogConfig;
use kestrel::alert::record::Priority;
use kestrel::api::client::{self, AlertsArgs, OutputFormat, Since};
use kestrel::api::proto as pb;
use kestrel::api::server::StreamConfig;
use tonic::Code;

const RT: &str = "multi_thread";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_then_live_with_filters() {
    let _ = RT;
    let srv = start_server().await;
    for i in 1..=10u64 {
        let mut a = alert(i);
        if i % 2 == 0 {
            a.rule = "Even rule".into();
            a.priority = Priority::Critical;
        }
        if i == 5 {
            a.process.name = "nc".into();
        }
        srv.hub.publish(a).unwrap();
    }
    let mut c = alert_client(&srv.target()).await;

    // Structured filter: min priority.
    let f = pb::Filter {
        min_priority: pb::Priority::Error as i32,
        ..Default::default()
    };
    let mut s = c
        .subscribe(from_seq(1, Some(f)))
        .await
        .unwrap()
        .into_inner();
    let got = read_until(&mut s, |g| matches!(g, Got::CaughtUp(_))).await;
    assert_eq!(alert_seqs(&got), vec![2, 4, 6, 8, 10]);
    assert_eq!(got.last(), Some(&Got::CaughtUp(10)));

    // Condition string; then live alerts pass the same filter.
    let f = pb::Filter {
        condition:
            "proc.name in (nc, ncat) or (rule = \"Even rule\" and proc.cmdline = 'bash -c step12')"
                .into(),
        ..Default::default()
    };
    let mut s = c
        .subscribe(from_seq(1, Some(f)))
        .await
        .unwrap()
        .into_inner();
    let got = read_until(&mut s, |g| matches!(g, Got::CaughtUp(_))).await;
    assert_eq!(alert_seqs(&got), vec![5]);
    for i in 11..=13u64 {
        let mut a = alert(i);
        a.rule = "Even rule".into();
        srv.hub.publish(a).unwrap();
    }
    let got = read_until(&mut s, |g| matches!(g, Got::Alert(_))).await;
    assert_eq!(alert_seqs(&got), vec![12]);

    // Container/k8s lists.
    let f = pb::Filter {
        container_ids: vec!["3ad7b26ded6d".into()],
        k8s_namespaces: vec!["prod".into()],
        rules: vec!["Even rule".into()],
        ..Default::default()
    };
    let mut s = c
        .subscribe(from_seq(1, Some(f)))
        .await
        .unwrap()
        .into_inner();
    let got = read_until(&mut s, |g| matches!(g, Got::CaughtUp(_))).await;
    assert_eq!(alert_seqs(&got), vec![2, 4, 6, 8, 10, 11, 12, 13]);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_clear_errors_and_the_server_survives() {
    let srv = start_server().await;
    srv.hub.publish(alert(1)).unwrap();
    let mut c = alert_client(&srv.target()).await;

    let cases: Vec<(pb::SubscribeRequest, Code, &str)> = vec![
        (from_seq(0, None), Code::InvalidArgument, ">= 1"),
        (from_seq(99, None), Code::OutOfRange, "future"),
        (
            from_seq(
                1,
                Some(pb::Filter {
                    condition: "proc.name = ".into(),
                    ..Default::default()
                }),
            ),
            Code::InvalidArgument,
            "bad filter",
        ),
        (
            from_seq(
                1,
                Some(pb::Filter {
                    condition: "bogusfield = 1".into(),
                    ..Default::default()
                }),
            ),
            Code::InvalidArgument,
            "unknown field",
        ),
        (
            from_seq(
                1,
                Some(pb::Filter {
                    min_priority: 42,
                    ..Default::default()
                }),
            ),
            Code::InvalidArgument,
            "priority",
        ),
        (
            pb::SubscribeRequest {
                start: Some(pb::subscribe_request::Start::FromTime(
                    prost_types::Timestamp {
                        seconds: -5,
                        nanos: 0,
                    },
                )),
                ..Default::default()
            },
            Code::InvalidArgument,
            "from_time",
        ),
        (
            pb::SubscribeRequest {
                start: Some(pb::subscribe_request::Start::FromTime(
                    prost_types::Timestamp {
                        seconds: 4_000_000_000,
                        nanos: 0,
                    },
                )),
                ..Default::default()
            },
            Code::OutOfRange,
            "future",
        ),
    ];
    for (req, code, needle) in cases {
        let err = match c.subscribe(req.clone()).await {
            Ok(_) => panic!("accepted: {req:?}"),
            Err(e) => e,
        };
        assert_eq!(err.code(), code, "{req:?}: {err:?}");
        assert!(
            err.message().contains(needle),
            "{}: {}",
            needle,
            err.message()
        );
    }

    // Events reject alert-only filter fields.
    let mut ec = pb::event_service_client::EventServiceClient::new(
        client::connect(&srv.target()).await.unwrap(),
    );
    let err = ec
        .subscribe(pb::EventSubscribeRequest {
            filter: Some(pb::Filter {
                rules: vec!["x".into()],
                ..Default::default()
            }),
            heartbeat_secs: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    // Garbage on the socket does not hurt the server.
    {
        use tokio::io::AsyncWriteExt;
        let mut raw = tokio::net::UnixStream::connect(&srv.socket).await.unwrap();
        let _ = raw
            .write_all(b"GET / HTTP/1.1\r\n\r\n\x00\xff garbage garbage")
            .await;
        let _ = raw.shutdown().await;
        let mut raw = tokio::net::UnixStream::connect(&srv.socket).await.unwrap();
        let _ = raw
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff")
            .await;
    }
    // Still serving.
    let mut s = c.subscribe(from_seq(1, None)).await.unwrap().into_inner();
    let got = read_until(&mut s, |g| matches!(g, Got::CaughtUp(_))).await;
    assert_eq!(alert_seqs(&got), vec![1]);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_client_disconnect_has_no_dup_and_no_hole() {
    let srv = start_server().await;
    let hub = srv.hub.clone();
    let total = 600u64;
    // Publish continuously while the client disconnects and resumes.
    let publisher = std::thread::spawn(move || {
        for i in 1..=total {
            hub.publish(alert(i)).unwrap();
            if i % 20 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    });
    let mut seen = vec![];
    let mut next = 1u64;
    let mut rounds = 0;
    while next <= total {
        rounds += 1;
        let mut c = alert_client(&srv.target()).await;
        let mut s = c
            .subscribe(from_seq(next, None))
            .await
            .unwrap()
            .into_inner();
        // Take a bounded bite, then drop the connection mid-stream.
        let mut n = 0;
        let got = read_until(&mut s, |g| {
            if matches!(g, Got::Alert(_)) {
                n += 1;
            }
            n >= 97 || *g == Got::Alert(total)
        })
        .await;
        assert!(got.iter().all(|g| !matches!(g, Got::Gap(..))), "{got:?}");
        let seqs = alert_seqs(&got);
        if let Some(&last) = seqs.last() {
            next = last + 1;
        }
        seen.extend(seqs);
        drop(s);
        drop(c);
    }
    publisher.join().unwrap();
    assert!(rounds > 3);
    assert_eq!(seen, (1..=total).collect::<Vec<_>>());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_subscriber_gets_exact_gap_while_fast_one_gets_all() {
    let srv = start_server_with(
        hub_config,
        StreamConfig {
            queue_capacity: 64,
            ..Default::default()
        },
    )
    .await;
    let total = 3000u64;
    let mut fast_c = alert_client(&srv.target()).await;
    let mut slow_c = alert_client(&srv.target()).await;
    let mut fast = fast_c.subscribe(tail()).await.unwrap().into_inner();
    let mut slow = slow_c.subscribe(tail()).await.unwrap().into_inner();
    // Both are subscribed once CaughtUp arrived.
    read_until(&mut fast, |g| matches!(g, Got::CaughtUp(_))).await;
    read_until(&mut slow, |g| matches!(g, Got::CaughtUp(_))).await;

    // The publisher never runs more than 32 alerts ahead of the fast
    // client, so the fast client's queue (64) cannot overflow however
    // loaded the machine is; the slow one falls far behind.
    let fast_seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let fs = fast_seen.clone();
    let fast_task = tokio::spawn(async move {
        read_until(&mut fast, |g| {
            if let Got::Alert(s) = g {
                fs.store(*s, std::sync::atomic::Ordering::Release);
            }
            *g == Got::Alert(total)
        })
        .await
    });
    let slow_task = tokio::spawn(async move {
        let mut out = vec![];
        let mut n = 0;
        loop {
            let m = tokio::time::timeout(Duration::from_secs(20), slow.message())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            let g = simplify(m);
            n += 1;
            if n < 150 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let done = g == Got::Alert(total);
            out.push(g);
            if done {
                return out;
            }
        }
    });
    let hub = srv.hub.clone();
    tokio::task::spawn_blocking(move || {
        for i in 1..=total {
            while i > fast_seen.load(std::sync::atomic::Ordering::Acquire) + 32 {
                std::thread::sleep(Duration::from_micros(100));
            }
            hub.publish(alert(i)).unwrap();
        }
    })
    .await
    .unwrap();

    let fast_got = fast_task.await.unwrap();
    let fast_seqs = alert_seqs(&fast_got);
    assert!(
        fast_seqs == (1..=total).collect::<Vec<_>>(),
        "fast got {} alerts, gaps: {:?}",
        fast_seqs.len(),
        fast_got
            .iter()
            .filter(|g| matches!(g, Got::Gap(..)))
            .collect::<Vec<_>>()
    );
    let slow_got = slow_task.await.unwrap();
    // Items and gaps account for every seq exactly once, in order.
    let mut covered = vec![];
    let mut lost = 0;
    let mut gaps = 0;
    for g in &slow_got {
        match *g {
            Got::Alert(s) => covered.push(s),
            Got::Gap(from, to, reason, dropped) => {
                assert_eq!(reason, pb::GapReason::SubscriberSlow as i32);
                assert_eq!(
                    dropped,
                    to - from + 1,
                    "no filter: every seq in the range was lost"
                );
                covered.extend(from..=to);
                lost += dropped;
                gaps += 1;
            }
            _ => {}
        }
    }
    assert!(gaps >= 1, "slow subscriber saw no gap");
    assert!(lost > 100, "lost only {lost}");
    assert!(
        covered == (1..=total).collect::<Vec<_>>(),
        "slow: items + gaps do not cover 1..={total} exactly once"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_gap_then_history() {
    let srv = start_server_with(
        |dir| kestrel::alert::HubConfig {
            log_dir: dir.join("log"),
            log: LogConfig {
                max_segment_bytes: 8 * 1024,
                retain_bytes: 24 * 1024,
                ..Default::default()
            },
            dedup: DedupConfig::off(),
        },
        StreamConfig::default(),
    )
    .await;
    for i in 1..=200 {
        srv.hub.publish(alert(i)).unwrap();
    }
    let first = srv.hub.stats().log_first_seq.unwrap();
    assert!(first > 1, "retention removed nothing");
    let mut c = alert_client(&srv.target()).await;
    let mut s = c.subscribe(from_seq(1, None)).await.unwrap().into_inner();
    let got = read_until(&mut s, |g| matches!(g, Got::CaughtUp(_))).await;
    assert_eq!(
        got[0],
        Got::Gap(1, first - 1, pb::GapReason::Retention as i32, 0)
    );
    assert_eq!(alert_seqs(&got), (first..=200).collect::<Vec<_>>());
    // A cursor inside retention: no gap.
    let mut s = c
        .subscribe(from_seq(first + 3, None))
        .await
        .unwrap()
        .into_inner();
    let got = read_until(&mut s, |g| matches!(g, Got::CaughtUp(_))).await;
    assert!(!got.iter().any(|g| matches!(g, Got::Gap(..))));
    assert_eq!(alert_seqs(&got)[0], first + 3);
    // Resuming exactly at the end: nothing to replay, then live.
    let mut s = c.subscribe(from_seq(201, None)).await.unwrap().into_inner();
    let got = read_until(&mut s, |g| matches!(g, Got::CaughtUp(_))).await;
    assert_eq!(got, vec![Got::CaughtUp(200)]);
    srv.hub.publish(alert(201)).unwrap();
    let got = read_until(&mut s, |g| matches!(g, Got::Alert(_))).await;
    assert_eq!(got, vec![Got::Alert(201)]);
    // Shutting down ends the follower's stream cleanly.
    srv.stop().await;
    let end = tokio::time::timeout(Duration::from_secs(3), s.message())
        .await
        .unwrap();
    assert!(matches!(end, Ok(None) | Err(_)), "{end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_time_and_heartbeat() {
    let srv = start_server().await;
    for i in 1..=10 {
        srv.hub.publish(alert(i)).unwrap();
    }
    let t6 = alert(6).time_ns;
    let mut c = alert_client(&srv.target()).await;
    let req = pb::SubscribeRequest {
        filter: None,
        start: Some(pb::subscribe_request::Start::FromTime(
            kestrel::api::convert::timestamp(t6),
        )),
        heartbeat_secs: 1,
    };
    let mut s = c.subscribe(req).await.unwrap().into_inner();
    let got = read_until(&mut s, |g| matches!(g, Got::CaughtUp(_))).await;
    assert_eq!(alert_seqs(&got), vec![6, 7, 8, 9, 10]);
    let got = read_until(&mut s, |g| matches!(g, Got::Heartbeat(_))).await;
    assert_eq!(got, vec![Got::Heartbeat(10)]);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_folds_repeats_and_streams_a_summary() {
    let srv = start_server_with(
        |dir| kestrel::alert::HubConfig {
            log_dir: dir.join("log"),
            log: LogConfig::default(),
            dedup: DedupConfig {
                window: Some(Duration::from_millis(300)),
                max_keys: 100,
            },
        },
        StreamConfig::default(),
    )
    .await;
    let _maint = srv.hub.spawn_maintenance(Duration::from_millis(50), None);
    let mut c = alert_client(&srv.target()).await;
    let mut s = c.subscribe(tail()).await.unwrap().into_inner();
    read_until(&mut s, |g| matches!(g, Got::CaughtUp(_))).await;
    let same = alert(1);
    assert_eq!(srv.hub.publish(same.clone()).unwrap(), Some(1));
    for _ in 0..4 {
        assert_eq!(srv.hub.publish(same.clone()).unwrap(), None);
    }
    assert_eq!(srv.hub.publish(alert(2)).unwrap(), Some(2));
    let mut msgs = vec![];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while msgs.len() < 3 {
        let m = tokio::time::timeout_at(deadline, s.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Some(pb::alert_stream_message::Message::Alert(a)) = m.message {
            msgs.push(a);
        }
    }
    assert_eq!(msgs[0].seq, 1);
    assert!(msgs[0].dedup.is_none());
    assert_eq!(msgs[1].seq, 2);
    let summary = &msgs[2];
    assert_eq!(summary.seq, 3);
    let d = summary.dedup.clone().unwrap();
    assert_eq!((d.count, d.first_seq), (5, 1));
    assert_eq!(summary.process.as_ref().unwrap().cmdline, "bash -c step1");
    let st = srv.hub.stats();
    assert_eq!((st.dedup.folded, st.dedup.summaries), (4, 1));
    // The summary is in the log too.
    let mut s = c.subscribe(from_seq(3, None)).await.unwrap().into_inner();
    let got = read_until(&mut s, |g| matches!(g, Got::CaughtUp(_))).await;
    assert_eq!(alert_seqs(&got), vec![3]);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_service_and_reload_with_broken_file_keeps_old_rules() {
    let srv = start_server().await;
    let mut out = Vec::<u8>::new();
    let st = client::status(&srv.target(), OutputFormat::Text, &mut out)
        .await
        .unwrap();
    assert_eq!(st.kernel, "6.1.0-test");
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("sched_process_exec"), "{text}");
    assert!(text.contains("cpu   0: 3 dropped"), "{text}");

    let good = srv.dir.path().join("good.rules");
    let bad = srv.dir.path().join("bad.rules");
    std::fs::write(&good, "Shell_in_container warning\nRead_shadow error\n").unwrap();
    std::fs::write(&bad, "Ok_rule notice\nthis line is broken\n").unwrap();
    let mut agent = pb::agent_service_client::AgentServiceClient::new(
        client::connect(&srv.target()).await.unwrap(),
    );
    let before = agent
        .list_rules(pb::ListRulesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(before.rules.len(), 1);

    let mut out = Vec::<u8>::new();
    let ok = client::rules_reload(&srv.target(), &[bad.display().to_string()], &mut out)
        .await
        .unwrap();
    assert!(!ok);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("bad.rules:2:1"), "{text}");
    let after = agent
        .list_rules(pb::ListRulesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after, before, "broken file must not replace the rules");

    let r = agent
        .reload_rules(pb::ReloadRulesRequest {
            paths: vec![good.display().to_string()],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.ok);
    assert_eq!(r.rules_loaded, 2);
    let err = agent
        .reload_rules(pb::ReloadRulesRequest {
            paths: vec![String::new()],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let cs = agent
        .list_containers(pb::ListContainersRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cs.containers[0].image, "nginx");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_alerts_prints_history_as_text_and_json() {
    let srv = start_server().await;
    for i in 1..=3 {
        srv.hub.publish(alert(i)).unwrap();
    }
    let mut out = Vec::<u8>::new();
    let args = AlertsArgs {
        since: Some(Since::Seq(2)),
        ..Default::default()
    };
    let sum = client::alerts(&srv.target(), &args, &mut out)
        .await
        .unwrap();
    assert_eq!((sum.alerts, sum.last_seq), (2, 3));
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("bash(12) > sshd(10) > systemd(1)"));

    let mut out = Vec::<u8>::new();
    let args = AlertsArgs {
        filter: Some("proc.cmdline = 'bash -c step1'".into()),
        output: OutputFormat::Json,
        ..Default::default()
    };
    client::alerts(&srv.target(), &args, &mut out)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["seq"], 1);

    let args = AlertsArgs {
        filter: Some("proc.cmdline = ".into()),
        ..Default::default()
    };
    let err = client::alerts(&srv.target(), &args, &mut Vec::<u8>::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("bad filter"), "{err}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_filters_and_reports_kernel_drops() {
    use kestrel::api::events::EnrichedEvent;
    use kestrel::event::*;
    let srv = start_server().await;
    let mut ec = pb::event_service_client::EventServiceClient::new(
        client::connect(&srv.target()).await.unwrap(),
    );
    let mut s = ec
        .subscribe(pb::EventSubscribeRequest {
            filter: Some(pb::Filter {
                condition: "evt.type = exec and proc.name = curl".into(),
                ..Default::default()
            }),
            heartbeat_secs: 0,
        })
        .await
        .unwrap()
        .into_inner();
    // Wait until the subscription is registered.
    while !srv.events.has_subscribers() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ev = |comm: &str| EnrichedEvent {
        event: Event {
            body: EventBody::Exec(Exec {
                filename: "/usr/bin/curl".into(),
                args: vec!["curl".into(), "x".into()],
                args_truncated: false,
                filename_truncated: false,
                old_pid: 5,
                ..Exec::default()
            }),
            header: Header {
                time_ns: 1,
                ktime_ns: 2,
                cpu: 0,
                pid: 5,
                tgid: 5,
                ppid: 1,
                uid: 0,
                gid: 0,
                cgroup_id: 9,
                comm: Comm::new(comm),
            },
        },
        container_id: Some("c1".into()),
        container_image: None,
        k8s_namespace: None,
        k8s_pod: None,
    };
    srv.events.publish(ev("sh"));
    srv.events.publish(ev("curl"));
    srv.events.report_kernel_drops(7);
    let m = s.message().await.unwrap().unwrap();
    match m.message.unwrap() {
        pb::event_stream_message::Message::Event(e) => {
            assert_eq!(e.comm, "curl");
            assert_eq!(e.seq, 2);
        }
        other => panic!("{other:?}"),
    }
    let m = s.message().await.unwrap().unwrap();
    match m.message.unwrap() {
        pb::event_stream_message::Message::Gap(g) => {
            assert_eq!(g.reason, pb::GapReason::KernelDrops as i32);
            assert_eq!(g.dropped, 7);
        }
        other => panic!("{other:?}"),
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_is_private_and_stale_socket_is_replaced() {
    let srv = start_server().await;
    let mode = std::fs::metadata(&srv.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(srv.socket.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
    // A second server on a live socket is refused.
    let err = kestrel::api::server::bind_unix_socket(&srv.socket).unwrap_err();
    assert!(err.to_string().contains("in use"), "{err}");
    // A stale socket (nobody listening) is removed and replaced.
    let stale = srv.dir.path().join("run/stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let l = kestrel::api::server::bind_unix_socket(&stale).unwrap();
    drop(l);
    // A regular file is never removed.
    let file = srv.dir.path().join("run/file.sock");
    std::fs::write(&file, "x").unwrap();
    assert!(kestrel::api::server::bind_unix_socket(&file).is_err());
    assert!(file.exists());
    srv.stop().await;
}
