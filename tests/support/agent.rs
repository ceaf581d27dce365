//! The `kestrel` binary run as a child: waits for "ready", collects stdout
//! JSON lines, stops with SIGTERM on drop.

use std::{
    io::{BufRead as _, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

pub struct Agent {
    child: Child,
    /// Private alert log directory and API socket of this agent.
    pub dir: std::path::PathBuf,
    lines: mpsc::Receiver<serde_json::Value>,
    stderr: mpsc::Receiver<String>,
    seen: Vec<serde_json::Value>,
}

impl Agent {
    /// Start `kestrel run` with `args` and wait (20 s max) for "ready".
    pub fn start(args: &[&str]) -> Agent {
        Agent::start_with_config("", args)
    }

    /// Like [`start`](Self::start) with extra TOML configuration; the alert
    /// log and API socket always go to a private temporary directory.
    pub fn start_with_config(toml: &str, args: &[&str]) -> Agent {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kestrel-agent-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("agent dir");
        let config = dir.join("kestrel.toml");
        let mut text = toml.to_string();
        if !text.contains("[alerts]") {
            text.push_str(&format!(
                "\n[alerts]\nlog_dir = \"{}\"\n",
                dir.join("alerts").display()
            ));
        }
        if !text.contains("[api]") {
            text.push_str(&format!(
                "\n[api]\nsocket = \"{}\"\n",
                dir.join("kestrel.sock").display()
            ));
        }
        std::fs::write(&config, text).expect("agent config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_kestrel"))
            .arg("run")
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kestrel");
        let (err_tx, err_rx) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = err_tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut log = Vec::new();
        loop {
            let line = err_rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("kestrel never said ready; stderr: {log:#?}"));
            let ready = line.contains("ready");
            log.push(line);
            if ready {
                break;
            }
        }
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match serde_json::from_str(&line) {
                    Ok(v) => {
                        let _ = tx.send(v);
                    }
                    Err(e) => panic!("stdout line is not JSON ({e}): {line}"),
                }
            }
        });
        Agent {
            child,
            dir,
            lines: rx,
            stderr: err_rx,
            seen: Vec::new(),
        }
    }

    /// Wait (15 s max) for a record matching `pred`; panics with what was seen.
    pub fn wait_for(
        &mut self,
        what: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        if let Some(v) = self.seen.iter().find(|v| pred(v)) {
            return v.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(v) => {
                    let hit = pred(&v);
                    self.seen.push(v.clone());
                    if hit {
                        return v;
                    }
                }
                Err(_) => {
                    let tail: Vec<_> = self.seen.iter().rev().take(10).collect();
                    let log: Vec<_> = self.stderr.try_iter().collect();
                    panic!(
                        "timed out waiting for {what}; last records: {tail:#?}; stderr: {log:#?}"
                    )
                }
            }
        }
    }

    /// Every record seen so far (after a `wait_for`).
    pub fn seen(&self) -> &[serde_json::Value] {
        &self.seen
    }

    /// The agent's API socket.
    pub fn socket(&self) -> std::path::PathBuf {
        self.dir.join("kestrel.sock")
    }

    /// Stop with SIGTERM and return the exit status and the rest of stderr.
    pub fn stop(mut self) -> (std::process::ExitStatus, Vec<String>) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().expect("wait kestrel");
        // The reader thread ends at EOF, which follows the exit.
        let rest = self.stderr.iter().collect();
        (status, rest)
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `podman system service` on a private socket, killed on drop.
pub struct PodmanService {
    child: Child,
    pub socket: std::path::PathBuf,
}

impl PodmanService {
    pub fn start() -> PodmanService {
        let dir = std::env::temp_dir().join(format!("kestrel-podman-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let socket = dir.join("podman.sock");
        let _ = std::fs::remove_file(&socket);
        let child = Command::new("podman")
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("podman system service");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Path::new(&socket).exists() {
            assert!(
                Instant::now() < deadline,
                "podman service socket never appeared"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        PodmanService { child, socket }
    }
}

impl Drop for PodmanService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Quote `s` for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
