//! Typed events, as they leave the decoder and flow through enrich and judge.

use serde::{Serialize, Serializer};

/// A task's `comm` (at most 16 bytes), kept inline: no allocation per event.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Comm {
    bytes: [u8; kestrel_common::COMM_LEN],
    len: u8,
}

impl Comm {
    /// From the kernel's NUL-padded buffer; invalid UTF-8 is replaced
    /// byte-wise by `?` so the value stays a valid, bounded string.
    pub fn from_kernel(raw: &[u8; kestrel_common::COMM_LEN]) -> Comm {
        let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        let mut bytes = [0u8; kestrel_common::COMM_LEN];
        bytes[..len].copy_from_slice(&raw[..len]);
        if std::str::from_utf8(&bytes[..len]).is_err() {
            for b in &mut bytes[..len] {
                if !b.is_ascii() {
                    *b = b'?';
                }
            }
        }
        Comm {
            bytes,
            len: len as u8,
        }
    }

    /// From a string (e.g. `/proc/<pid>/comm`), cut to 15 bytes on a char
    /// boundary like the kernel does.
    pub fn new(s: &str) -> Comm {
        let mut end = s.len().min(kestrel_common::COMM_LEN - 1);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; kestrel_common::COMM_LEN];
        bytes[..end].copy_from_slice(&s.as_bytes()[..end]);
        Comm {
            bytes,
            len: end as u8,
        }
    }

    pub fn as_str(&self) -> &str {
        // Constructors guarantee valid UTF-8; fall back to "" defensively.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl std::fmt::Debug for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Comm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What every event carries: when, where, and which task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Header {
    /// Wall-clock time, nanoseconds since the Unix epoch (derived from the
    /// kernel's boot-time clock and the boot time measured at start).
    pub time_ns: u64,
    /// Kernel boot-time clock, nanoseconds.
    pub ktime_ns: u64,
    pub cpu: u32,
    /// Thread id.
    pub pid: u32,
    /// Process id.
    pub tgid: u32,
    /// Parent process id (0 when the kernel could not read it).
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    /// cgroup v2 id: the inode number of the task's cgroup directory.
    pub cgroup_id: u64,
    pub comm: Comm,
}

/// The kinds of event, for indexing rules and counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Exec,
    Fork,
    Exit,
}

impl EventKind {
    pub const ALL: [EventKind; 3] = [EventKind::Exec, EventKind::Fork, EventKind::Exit];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Exec => "exec",
            EventKind::Fork => "fork",
            EventKind::Exit => "exit",
        }
    }
}

/// A successful exec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exec {
    /// The path handed to exec, as the kernel saw it.
    pub filename: String,
    /// argv, at most [`kestrel_common::MAX_ARGS`] entries.
    pub args: Vec<String>,
    /// argv was longer than kept (bytes or count).
    pub args_truncated: bool,
    /// The filename was longer than kept.
    pub filename_truncated: bool,
    /// Thread id before exec (differs when a non-leader thread exec'd).
    pub old_pid: u32,
}

/// A new process; the header describes the parent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fork {
    pub child_pid: u32,
    pub child_tgid: u32,
}

/// A process (thread group) ending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exit {
    /// Exit status (`exit_code >> 8`), meaningful when `signal` is 0.
    pub status: i32,
    /// Terminating signal, 0 for a normal exit.
    pub signal: i32,
    /// Whether the whole thread group is gone (else only its leader exited).
    pub group_dead: bool,
}

/// The kind-specific part of an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum EventBody {
    Exec(Exec),
    Fork(Fork),
    Exit(Exit),
}

/// One decoded kernel event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    #[serde(flatten)]
    pub body: EventBody,
    #[serde(flatten)]
    pub header: Header,
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self.body {
            EventBody::Exec(_) => EventKind::Exec,
            EventBody::Fork(_) => EventKind::Fork,
            EventBody::Exit(_) => EventKind::Exit,
        }
    }
}
