//! Configuration: one struct tree with its defaults in one place.
//!
//! `kestrel config defaults` prints it as TOML; `kestrel run --config FILE`
//! reads a TOML file in which every key is optional.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::container::registry::ContainerConfig;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub sensor: SensorConfig,
    pub rules: RulesConfig,
    pub process: ProcessTableConfig,
    pub container: ContainerConfig,
    pub alerts: AlertsConfig,
    pub api: ApiConfig,
    pub output: OutputConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// Directory of the durable alert log (created 0700).
    pub log_dir: PathBuf,
    /// Size of one log segment file.
    pub segment_bytes: u64,
    /// Oldest segments are removed beyond this total size...
    pub retain_bytes: u64,
    /// ...or when older than this many hours (0: no age limit).
    pub retain_hours: u64,
    /// Seconds between fsyncs of the log (0: leave it to the OS).
    pub fsync_secs: u64,
    /// Repeats of (rule, container, exe, cmdline) within this many seconds
    /// fold into one summary with a count (0: every alert goes out).
    pub dedup_window_secs: u64,
    /// Alerts waiting between the hot path and the hub (beyond: dropped
    /// and counted).
    pub queue: usize,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            log_dir: PathBuf::from("/var/lib/kestrel/alerts"),
            segment_bytes: 64 << 20,
            retain_bytes: 1 << 30,
            retain_hours: 7 * 24,
            fsync_secs: 1,
            dedup_window_secs: 10,
            queue: 16_384,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Serve the gRPC API.
    pub enabled: bool,
    /// Unix socket (mode 0600, directory created 0700).
    pub socket: PathBuf,
    /// TCP listener instead, with TLS (mTLS when `client_ca` is set).
    pub tcp: Option<TcpApiConfig>,
    /// Per-subscriber queue (items); a slow subscriber loses the oldest and
    /// is told exactly which seqs.
    pub subscriber_queue: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            enabled: true,
            socket: PathBuf::from("/run/kestrel/kestrel.sock"),
            tcp: None,
            subscriber_queue: 4096,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpApiConfig {
    /// e.g. `0.0.0.0:7443`.
    pub addr: String,
    /// Server certificate and key (PEM files).
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CA for client certificates: set it to require mTLS.
    pub client_ca: Option<PathBuf>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    /// Load the rules embedded in the binary.
    pub default_rules: bool,
    /// Rule files loaded after the defaults (or alone).
    pub files: Vec<PathBuf>,
    /// Capture only the syscalls loaded rules need (else `sensor.capture`).
    pub capture_what_rules_need: bool,
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            default_rules: true,
            files: Vec::new(),
            capture_what_rules_need: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessTableConfig {
    /// Hard cap on processes tracked (evictions are counted).
    pub max_entries: usize,
    /// How long an exited process stays resolvable for late events (ms).
    pub exit_grace_ms: u64,
    /// Resolve `user.name`/`group.name` from each process's own
    /// `/etc/passwd` and `/etc/group` (a container's, not the host's).
    pub user_names: bool,
}

impl Default for ProcessTableConfig {
    fn default() -> Self {
        ProcessTableConfig {
            max_entries: 65_536,
            exit_grace_ms: 5_000,
            user_names: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SensorConfig {
    /// Bytes of the kernel → userspace ring buffer (a power of two, at
    /// least one page). Larger rings absorb longer bursts.
    pub ring_bytes: u32,
    /// Seconds between loss-counter reports in the log (0: only at exit).
    pub loss_report_secs: u64,
    /// Capture syscalls through the `sys_exit` dispatcher.
    pub syscalls: bool,
    /// Which syscalls to capture, by name; `all` is every supported one
    /// but the data path (`sendto`, `recvfrom`).
    pub capture: Vec<String>,
    /// Capture syscalls only of tasks in containers (cgroups that are not
    /// the host's).
    pub containers_only: bool,
    /// Of `capture`, the syscalls to capture only in containers. Set by the
    /// agent from the loaded rules (a syscall that only container-scoped
    /// rules need), not read from the file.
    #[serde(skip)]
    pub capture_in_containers_only: Vec<String>,
    /// Capture the opens (open, openat, openat2, creat) of host tasks only
    /// for files whose path starts with one of these; `None`: every path.
    /// Set by the agent from the loaded rules (the prefixes host rules test
    /// `fd.name` against), not read from the file.
    #[serde(skip)]
    pub host_open_prefixes: Option<Vec<String>>,
    /// Keep the per-cgroup syscall profile in the kernel.
    pub syscall_profile: bool,
    /// Wake the reader only once this many bytes wait in the ring (it also
    /// polls every few milliseconds); saves an interrupt and a cross-CPU
    /// wake-up per record under load. 0: wake for every record. Capped at
    /// half the ring.
    pub wakeup_bytes: u32,
    /// Milliseconds between the reader's polls of the ring (1–1000): the
    /// longest a record submitted below `wakeup_bytes` waits, so it bounds
    /// alert latency below the wake-up mark. Every poll wakes the agent:
    /// under an exec storm 8 instead of 4 gained ~3 % throughput while alert
    /// p99 at 10k events/s went from 4.4 to 8.6 ms, inside the 10 ms goal
    /// (docs/benchmarks.md).
    pub poll_ms: u32,
}

impl Default for SensorConfig {
    fn default() -> Self {
        SensorConfig {
            ring_bytes: 8 << 20,
            loss_report_secs: 10,
            syscalls: true,
            capture: vec!["all".into()],
            containers_only: false,
            capture_in_containers_only: Vec::new(),
            host_open_prefixes: None,
            syscall_profile: true,
            wakeup_bytes: 256 << 10,
            poll_ms: 8,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// One JSON object per line.
    #[default]
    Json,
    /// A compact line for humans.
    Text,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    pub format: OutputFormat,
    /// Records waiting for the output writer; beyond this they are dropped
    /// and counted (the hot path never waits for stdout).
    pub queue: usize,
    /// Also print every (enriched) event, not only alerts.
    pub events: bool,
    /// Alerts as JSON lines to a file with size-based rotation.
    pub file: Option<FileOutputConfig>,
    /// Alerts POSTed in Falco's JSON shape (Falcosidekick and what is behind it).
    pub http: Option<HttpOutputConfig>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOutputConfig {
    pub path: PathBuf,
    #[serde(default = "default_file_bytes")]
    pub max_bytes: u64,
    #[serde(default = "default_file_keep")]
    pub keep: usize,
}

fn default_file_bytes() -> u64 {
    100 << 20
}

fn default_file_keep() -> usize {
    5
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpOutputConfig {
    /// e.g. `http://falcosidekick:2801/`.
    pub url: String,
    #[serde(default = "default_http_queue")]
    pub queue: usize,
    #[serde(default = "default_http_retries")]
    pub max_retries: u32,
}

fn default_http_queue() -> usize {
    1024
}

fn default_http_retries() -> u32 {
    5
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            format: OutputFormat::Json,
            queue: 65_536,
            events: false,
            file: None,
            http: None,
        }
    }
}

/// A configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: Config = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), String> {
        let ring = self.sensor.ring_bytes;
        if !ring.is_power_of_two() || ring < 4096 {
            return Err(format!(
                "sensor.ring_bytes = {ring}: must be a power of two of at least 4096"
            ));
        }
        let poll = self.sensor.poll_ms;
        if !(1..=1000).contains(&poll) {
            return Err(format!(
                "sensor.poll_ms = {poll}: must be between 1 and 1000 milliseconds"
            ));
        }
        if self.output.queue == 0 {
            return Err("output.queue must be at least 1".into());
        }
        Ok(())
    }

    /// The defaults as TOML, with every key.
    pub fn defaults_toml() -> String {
        toml::to_string_pretty(&Config::default()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_through_toml() {
        let text = Config::defaults_toml();
        let back: Config = toml::from_str(&text).expect("parses");
        assert_eq!(back, Config::default());
        assert!(back.validate().is_ok());
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let err = toml::from_str::<Config>("[sensor]\nring_byte = 4096\n").unwrap_err();
        assert!(err.to_string().contains("ring_byte"), "{err}");
    }

    #[test]
    fn poll_interval_must_be_between_1_ms_and_1_s() {
        let mut config = Config::default();
        assert_eq!(config.sensor.poll_ms, 8);
        for bad in [0, 1001] {
            config.sensor.poll_ms = bad;
            let err = config.validate().unwrap_err();
            assert!(
                err.contains("sensor.poll_ms") && err.contains(&bad.to_string()),
                "{err}"
            );
        }
        for good in [1, 20, 1000] {
            config.sensor.poll_ms = good;
            assert!(config.validate().is_ok());
        }
        let parsed: Config = toml::from_str("[sensor]\npoll_ms = 20\n").expect("parses");
        assert_eq!(parsed.sensor.poll_ms, 20);
    }

    #[test]
    fn ring_size_must_be_a_power_of_two() {
        let mut config = Config::default();
        config.sensor.ring_bytes = 5000;
        assert!(config.validate().unwrap_err().contains("power of two"));
    }
}
