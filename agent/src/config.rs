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
    pub output: OutputConfig,
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
}

impl Default for ProcessTableConfig {
    fn default() -> Self {
        ProcessTableConfig {
            max_entries: 65_536,
            exit_grace_ms: 5_000,
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
    /// Capture syscalls through the `sys_enter`/`sys_exit` dispatcher.
    pub syscalls: bool,
    /// Which syscalls to capture, by name; `all` is every supported one
    /// but the data path (`sendto`, `recvfrom`).
    pub capture: Vec<String>,
    /// Capture syscalls only of tasks in containers (non-host pid namespace).
    pub containers_only: bool,
    /// Keep the per-container syscall profile in the kernel.
    pub syscall_profile: bool,
}

impl Default for SensorConfig {
    fn default() -> Self {
        SensorConfig {
            ring_bytes: 8 << 20,
            loss_report_secs: 10,
            syscalls: true,
            capture: vec!["all".into()],
            containers_only: false,
            syscall_profile: true,
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
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            format: OutputFormat::Json,
            queue: 65_536,
            events: false,
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
    fn ring_size_must_be_a_power_of_two() {
        let mut config = Config::default();
        config.sensor.ring_bytes = 5000;
        assert!(config.validate().unwrap_err().contains("power of two"));
    }
}
