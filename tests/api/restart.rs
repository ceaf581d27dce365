//! Resume after the server is killed with SIGKILL and restarted: the server
//! runs as a child process (this test binary re-executed), the alert log
//! stays on disk, seqs continue, and a client resuming from its cursor gets
//! no duplicate and no hole.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use kestrel::alert::AlertHub;
use kestrel::api::client::Target;
use kestrel::api::events::EventHub;
use kestrel::api::filter::BuiltinConditions;
use kestrel::api::server::{ApiState, Listen, ServerConfig, StreamConfig, serve};

const CHILD_ENV: &str = "KESTREL_TEST_CHILD_DIR";

/// The child server: serves on `<dir>/kestrel.sock` with the log in
/// `<dir>/log`; reads `pub N` lines on stdin, publishes N alerts and
/// answers `DONE <last seq>`. Runs only when re-executed by the test.
#[test]
#[ignore = "child process of kill9_restart_resumes_without_dup_or_hole"]
fn child_server() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let hub = AlertHub::open(hub_config(&dir)).unwrap();
        let state = ApiState {
            alerts: hub.clone(),
            events: EventHub::new(),
            control: Arc::new(TestControl::new()),
            conditions: Arc::new(BuiltinConditions),
        };
        let config = ServerConfig {
            listen: Listen::Unix(dir.join("kestrel.sock")),
            stream: StreamConfig::default(),
        };
        tokio::spawn(async move {
            serve(config, state, std::future::pending()).await.unwrap();
        });
        // Wait for the socket to accept.
        while tokio::net::UnixStream::connect(dir.join("kestrel.sock"))
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        println!("READY {}", hub.last_seq());
        let lines = tokio::task::spawn_blocking(move || {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                let Ok(line) = line else { return };
                if let Some(n) = line.strip_prefix("pub ") {
                    let n: u64 = n.trim().parse().unwrap();
                    let mut last = 0;
                    for _ in 0..n {
                        let i = hub.last_seq() + 1;
                        last = hub.publish(alert(i)).unwrap().unwrap();
                    }
                    println!("DONE {last}");
                }
            }
        });
        let _ = lines.await;
    });
}

struct ChildServer {
    child: Child,
    stdin: ChildStdin,
    lines: std::sync::mpsc::Receiver<String>,
}

impl ChildServer {
    fn start(dir: &Path) -> (Self, u64) {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "restart::child_server",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut s = Self {
            child,
            stdin,
            lines,
        };
        let ready = s.expect("READY ");
        (s, ready)
    }

    fn expect(&mut self, prefix: &str) -> u64 {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .expect("child silent");
            // libtest may print "test child_server ... " in front.
            if let Some(i) = line.find(prefix) {
                return line[i + prefix.len()..].trim().parse().unwrap();
            }
        }
    }

    fn publish(&mut self, n: u64) -> u64 {
        writeln!(self.stdin, "pub {n}").unwrap();
        self.stdin.flush().unwrap();
        self.expect("DONE ")
    }

    fn kill9(mut self) {
        // Child::kill sends SIGKILL on unix.
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_restart_resumes_without_dup_or_hole() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::Unix(dir.path().join("kestrel.sock"));

    let (mut server, last) = tokio::task::block_in_place(|| ChildServer::start(dir.path()));
    assert_eq!(last, 0);
    assert_eq!(tokio::task::block_in_place(|| server.publish(25)), 25);

    // A follower reads part of the stream, then the server dies under it.
    let mut c = alert_client(&target).await;
    let mut s = c.subscribe(from_seq(1, None)).await.unwrap().into_inner();
    let got = read_until(&mut s, |g| *g == Got::Alert(10)).await;
    let mut seen = alert_seqs(&got);
    tokio::task::block_in_place(|| server.kill9());
    // The stream ends with an error (or delivers what was already buffered).
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(10), s.message())
        .await
        .unwrap()
    {
        if let Got::Alert(seq) = simplify(m) {
            seen.push(seq);
        }
    }
    drop(c);

    // Restart: the log is on disk; seqs continue.
    let (mut server, last) = tokio::task::block_in_place(|| ChildServer::start(dir.path()));
    assert_eq!(last, 25, "seq continues after the restart");
    assert_eq!(tokio::task::block_in_place(|| server.publish(5)), 30);

    let resume = seen.last().copied().unwrap() + 1;
    let mut c = alert_client(&target).await;
    let mut s = c
        .subscribe(from_seq(resume, None))
        .await
        .unwrap()
        .into_inner();
    let got = read_until(&mut s, |g| matches!(g, Got::CaughtUp(_))).await;
    assert!(got.iter().all(|g| !matches!(g, Got::Gap(..))), "{got:?}");
    seen.extend(alert_seqs(&got));
    // And live after the restart.
    assert_eq!(tokio::task::block_in_place(|| server.publish(2)), 32);
    let got = read_until(&mut s, |g| *g == Got::Alert(32)).await;
    seen.extend(alert_seqs(&got));
    assert_eq!(seen, (1..=32).collect::<Vec<_>>());
    drop(s);
    drop(c);
    tokio::task::block_in_place(|| server.kill9());
}
