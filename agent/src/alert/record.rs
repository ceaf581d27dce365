//! The alert record: what a rule match becomes, for every output (JSON
//! lines, gRPC, HTTP, the durable log). Serialized with serde_json into the
//! durable log's payload. Also owns [`Priority`] parsing/naming and the
//! RFC 3339 (nanosecond, UTC) time formatting used by every output.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::bus::Sequenced;

/// Falco's priorities. Ordering: `Debug < ... < Emergency`, so a minimum
/// priority filter is `alert.priority >= min`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Debug,
    Informational,
    Notice,
    Warning,
    Error,
    Critical,
    Alert,
    Emergency,
}

impl Priority {
    /// All priorities, least severe first.
    pub const ALL: [Priority; 8] = [
        Priority::Debug,
        Priority::Informational,
        Priority::Notice,
        Priority::Warning,
        Priority::Error,
        Priority::Critical,
        Priority::Alert,
        Priority::Emergency,
    ];

    /// Falco's capitalised name ("Warning", "Informational", ...), as used in
    /// Falco's JSON output and by Falcosidekick.
    pub fn falco_name(self) -> &'static str {
        match self {
            Priority::Debug => "Debug",
            Priority::Informational => "Informational",
            Priority::Notice => "Notice",
            Priority::Warning => "Warning",
            Priority::Error => "Error",
            Priority::Critical => "Critical",
            Priority::Alert => "Alert",
            Priority::Emergency => "Emergency",
        }
    }

    /// Lower-case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Debug => "debug",
            Priority::Informational => "informational",
            Priority::Notice => "notice",
            Priority::Warning => "warning",
            Priority::Error => "error",
            Priority::Critical => "critical",
            Priority::Alert => "alert",
            Priority::Emergency => "emergency",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.falco_name())
    }
}

/// A priority name that is not one of Falco's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown priority {0:?} (expected one of emergency, alert, critical, error, warning, notice, informational/info, debug)"
)]
pub struct ParsePriorityError(pub String);

impl FromStr for Priority {
    type Err = ParsePriorityError;

    /// Case-insensitive Falco names; `info` is accepted for `Informational`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let p = match t.to_ascii_lowercase().as_str() {
            "debug" => Priority::Debug,
            "info" | "informational" => Priority::Informational,
            "notice" => Priority::Notice,
            "warning" | "warn" => Priority::Warning,
            "error" | "err" => Priority::Error,
            "critical" | "crit" => Priority::Critical,
            "alert" => Priority::Alert,
            "emergency" | "emerg" => Priority::Emergency,
            _ => return Err(ParsePriorityError(s.to_string())),
        };
        Ok(p)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Assigned by the alert hub/log; continues across restarts.
    pub seq: u64,
    /// RFC 3339 with ns, UTC, of the event (see [`format_rfc3339_ns`]).
    pub time: String,
    /// Unix ns of the event.
    pub time_ns: u64,
    /// Hostname.
    pub node: String,
    pub rule: String,
    pub priority: Priority,
    pub tags: Vec<String>,
    /// "syscall" (Falco's source name).
    pub source: String,
    /// Rendered text.
    pub output: String,
    pub event: AlertEvent,
    pub process: AlertProcess,
    pub container: AlertContainer,
    pub k8s: Option<AlertK8s>,
    /// Every field the rule used, with its value (null if none).
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Present on a follow-up summary of folded repeats.
    pub dedup: Option<Dedup>,
}

impl Sequenced for Alert {
    fn seq(&self) -> u64 {
        self.seq
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// exec, open, connect...
    pub kind: String,
    pub args: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertProcess {
    pub pid: u32,
    pub ppid: u32,
    pub name: String,
    pub exe: String,
    pub cmdline: String,
    pub uid: u32,
    pub user: Option<String>,
    pub tty: u32,
    /// Parent first.
    pub ancestors: Vec<AncestorInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AncestorInfo {
    pub pid: u32,
    pub name: String,
    pub exe: String,
    pub cmdline: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertContainer {
    /// Full runtime id, or "host".
    pub id: String,
    pub name: Option<String>,
    pub image: Option<String>,
    pub image_digest: Option<String>,
    pub runtime: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertK8s {
    pub namespace: String,
    pub pod: String,
    pub labels: BTreeMap<String, String>,
}

/// Repeats of the same (rule, container id, exe, cmdline) within the dedup
/// window are folded: the first alert goes out at once; when the window
/// closes with repeats, a summary alert (new seq, same rule/process/container)
/// goes out carrying the count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dedup {
    /// Occurrences in the window, the first (already delivered) included.
    pub count: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// Seq of the first occurrence.
    pub first_seq: u64,
}

/// Formats unix nanoseconds as RFC 3339 in UTC with exactly nine fractional
/// digits, e.g. `2024-05-01T12:00:00.000000001Z`. Times beyond what `time`
/// can represent (year > 9999) are clamped to the largest representable.
pub fn format_rfc3339_ns(unix_ns: u64) -> String {
    use time::format_description::well_known::Rfc3339;
    let dt = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ns))
        .unwrap_or(time::PrimitiveDateTime::MAX.assume_utc());
    // Rfc3339 drops trailing zero digits; force exactly 9 with our own
    // description so consumers can compare strings.
    const FMT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z"
    );
    dt.format(FMT)
        .or_else(|_| dt.format(&Rfc3339))
        .unwrap_or_else(|_| unix_ns.to_string())
}

/// Parses an RFC 3339 time (any offset) into unix nanoseconds; `None` for a
/// malformed or pre-1970 time.
pub fn parse_rfc3339_ns(s: &str) -> Option<u64> {
    let dt = time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .ok()?;
    u64::try_from(dt.unix_timestamp_nanos()).ok()
}

/// Current wall-clock time in unix nanoseconds (0 if the clock is before 1970).
pub fn now_unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A plausible alert (seq 0) for tests, examples and benchmarks.
pub fn sample_alert() -> Alert {
    let t = 1_714_564_800_000_000_001u64;
    Alert {
        seq: 0,
        time: format_rfc3339_ns(t),
        time_ns: t,
        node: "node-1".into(),
        rule: "Terminal shell in container".into(),
        priority: Priority::Notice,
        tags: vec!["container".into(), "shell".into(), "mitre_execution".into()],
        source: "syscall".into(),
        output: "A shell was spawned in a container with an attached terminal (user=root shell=bash parent=runc cmdline=bash -il container_id=3ad7b26ded6d image=nginx)".into(),
        event: AlertEvent {
            kind: "exec".into(),
            args: [("filename".to_string(), serde_json::json!("/bin/bash"))].into(),
        },
        process: AlertProcess {
            pid: 12,
            ppid: 10,
            name: "bash".into(),
            exe: "/bin/bash".into(),
            cmdline: "bash -il".into(),
            uid: 0,
            user: Some("root".into()),
            tty: 34816,
            ancestors: vec![
                AncestorInfo { pid: 10, name: "sshd".into(), exe: "/usr/sbin/sshd".into(), cmdline: "sshd: root@pts/0".into() },
                AncestorInfo { pid: 1, name: "systemd".into(), exe: "/usr/lib/systemd/systemd".into(), cmdline: "/sbin/init".into() },
            ],
        },
        container: AlertContainer {
            id: "3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e".into(),
            name: Some("web".into()),
            image: Some("docker.io/library/nginx:1.25".into()),
            image_digest: Some("sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31".into()),
            runtime: "containerd".into(),
        },
        k8s: Some(AlertK8s { namespace: "prod".into(), pod: "web-7d9c8".into(), labels: [("app".to_string(), "web".to_string())].into() }),
        fields: [
            ("proc.name".to_string(), serde_json::json!("bash")),
            ("proc.tty".to_string(), serde_json::json!(34816)),
            ("container.id".to_string(), serde_json::json!("3ad7b26ded6d")),
            ("user.loginuid".to_string(), serde_json::Value::Null),
        ]
        .into(),
        dedup: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_parses_falco_names_case_insensitively() {
        assert_eq!("info".parse::<Priority>().unwrap(), Priority::Informational);
        assert_eq!("WARNING".parse::<Priority>().unwrap(), Priority::Warning);
        assert_eq!(
            "Emergency".parse::<Priority>().unwrap(),
            Priority::Emergency
        );
        for p in Priority::ALL {
            assert_eq!(p.falco_name().parse::<Priority>().unwrap(), p);
            assert_eq!(p.as_str().parse::<Priority>().unwrap(), p);
        }
        assert!("loud".parse::<Priority>().is_err());
        assert!(Priority::Debug < Priority::Emergency);
    }

    #[test]
    fn rfc3339_ns_round_trips_with_nine_digits() {
        let ns = 1_714_564_800_000_000_001u64;
        let s = format_rfc3339_ns(ns);
        assert_eq!(s, "2024-05-01T12:00:00.000000001Z");
        assert_eq!(parse_rfc3339_ns(&s), Some(ns));
        assert_eq!(format_rfc3339_ns(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(parse_rfc3339_ns("nonsense"), None);
        // Far future does not panic.
        let _ = format_rfc3339_ns(u64::MAX);
    }
}
