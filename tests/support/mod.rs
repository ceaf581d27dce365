//! Helpers shared by the live tests: root check, child cgroups, a sensor
//! collecting events in the background, runc bundles.
#![allow(dead_code)]

pub mod agent;
pub mod podman;
pub mod runc;

use std::{
    os::unix::{fs::MetadataExt as _, process::CommandExt as _},
    path::{Path, PathBuf},
    process::{Child, Command},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use kestrel::{
    config::SensorConfig,
    event::{Decoder, Event},
    pipeline::{self, HotPath, PipelineStats},
    sensor::{LossReader, ProfileReader, Sensor},
};
use tokio::sync::watch;

/// Live tests load real programs into the kernel: they need root. Without
/// it they fail with this message, unless KESTREL_SKIP_LIVE=1 says to skip.
pub fn require_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var_os("KESTREL_SKIP_LIVE").is_some() {
        eprintln!("skipped: live eBPF test needs root (KESTREL_SKIP_LIVE set)");
        return false;
    }
    panic!("live eBPF tests need root; run them as root or set KESTREL_SKIP_LIVE=1 to skip");
}

/// The cgroup2 mount (hybrid hosts mount it at /sys/fs/cgroup/unified).
pub fn cgroup2_mount() -> PathBuf {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        if right.starts_with("cgroup2 ")
            && let Some(mount_point) = left.split(' ').nth(4)
        {
            return PathBuf::from(mount_point);
        }
    }
    panic!("no cgroup2 mount found in /proc/self/mountinfo");
}

/// A child cgroup created for one test, removed on drop.
pub struct TestCgroup {
    pub path: PathBuf,
    pub id: u64,
}

impl TestCgroup {
    pub fn new(name: &str) -> TestCgroup {
        let path = cgroup2_mount().join(format!("kestrel-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir(&path);
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        let id = std::fs::metadata(&path).expect("stat cgroup").ino();
        TestCgroup { path, id }
    }

    /// Run `python3 -c script args...` in this cgroup and wait for it to
    /// succeed (`what` names it in the failure).
    pub fn run_python(&self, script: &str, args: &[&str], what: &str) {
        let child = self
            .command("python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .spawn()
            .expect("python3");
        wait_ok(child, what);
    }

    /// A command whose child joins this cgroup before it execs.
    pub fn command(&self, program: &str) -> Command {
        use std::os::fd::{AsRawFd as _, OwnedFd};
        let procs: OwnedFd = std::fs::OpenOptions::new()
            .write(true)
            .open(self.path.join("cgroup.procs"))
            .expect("open cgroup.procs")
            .into();
        let mut cmd = Command::new(program);
        // SAFETY: in the forked child the closure only calls write(2), which
        // is async-signal-safe; the fd is owned by the closure and is
        // close-on-exec (std opens files with O_CLOEXEC).
        unsafe {
            cmd.pre_exec(move || {
                let fd = procs.as_raw_fd();
                if libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for _ in 0..50 {
            if std::fs::remove_dir(&self.path).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("warning: could not remove {}", self.path.display());
    }
}

/// A loaded sensor whose events are collected in the background.
pub struct LiveSensor {
    events: Arc<Mutex<Vec<Event>>>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub stats: Arc<PipelineStats>,
    pub loss: LossReader,
    pub profile: ProfileReader,
    pub sensor: Sensor,
}

impl LiveSensor {
    pub fn start() -> LiveSensor {
        LiveSensor::with_config(&SensorConfig::default())
    }

    pub fn with_config(config: &SensorConfig) -> LiveSensor {
        let mut sensor = Sensor::start(config).expect("sensor starts");
        let ring = sensor.take_ring().expect("ring");
        let loss = sensor.loss_reader().expect("loss");
        let profile = sensor.profile_reader().expect("profile");
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = {
            let events = events.clone();
            move |event: Event| events.lock().unwrap_or_else(|e| e.into_inner()).push(event)
        };
        let stats = Arc::new(PipelineStats::default());
        let (stop, stop_rx) = watch::channel(false);
        let hot = HotPath::new(Decoder::from_clocks(), sink, stats.clone());
        let poll = std::time::Duration::from_millis(u64::from(config.poll_ms));
        let thread = pipeline::spawn(ring, hot, stop_rx, poll).expect("hot path");
        LiveSensor {
            events,
            stop,
            thread: Some(thread),
            stats,
            loss,
            profile,
            sensor,
        }
    }

    /// Wait (up to 10 s) until `done` holds for the events seen so far;
    /// return a copy of them. Panics with what was seen on time-out.
    pub fn wait_for(&self, what: &str, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            {
                let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
                if done(&events) {
                    return events.clone();
                }
                if Instant::now() > deadline {
                    let tail: Vec<_> = events.iter().rev().take(20).collect();
                    panic!("timed out waiting for {what}; last events: {tail:#?}");
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop reading the ring buffer (it then fills up and the kernel counts
    /// what it cannot deliver).
    pub fn stop_reading(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// A copy of every event seen so far.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Events of one cgroup.
    pub fn in_cgroup(events: &[Event], cgroup_id: u64) -> Vec<Event> {
        events
            .iter()
            .filter(|e| e.header.cgroup_id == cgroup_id)
            .cloned()
            .collect()
    }
}

impl Drop for LiveSensor {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Wait for a child and assert it succeeded.
pub fn wait_ok(mut child: Child, what: &str) {
    let status = child.wait().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(status.success(), "{what} failed: {status}");
}

/// Does `path` exist as a file?
pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// The cgroup2 path of a process (`0::/path` in `/proc/<pid>/cgroup`).
pub fn cgroup2_path_of(pid: u32) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("proc cgroup");
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("cgroup2 line")
        .to_string()
}

/// The cgroup id (inode of the cgroup2 directory) of a process.
pub fn cgroup_id_of(pid: u32) -> u64 {
    let rel = cgroup2_path_of(pid);
    let dir = cgroup2_mount().join(rel.trim_start_matches('/'));
    std::fs::metadata(&dir)
        .unwrap_or_else(|e| panic!("stat {}: {e}", dir.display()))
        .ino()
}
