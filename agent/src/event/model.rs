//! Typed events, as they leave the decoder and flow through enrich and judge.

use compact_str::CompactString;
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
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Exec,
    Fork,
    Exit,
    /// A completed syscall of interest; [`Syscall::name`] says which.
    Syscall,
    /// A cgroup used a syscall for the first time.
    FirstSyscall,
    /// A cgroup v2 directory was created or removed.
    Cgroup,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::Exec,
        EventKind::Fork,
        EventKind::Exit,
        EventKind::Syscall,
        EventKind::FirstSyscall,
        EventKind::Cgroup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Exec => "exec",
            EventKind::Fork => "fork",
            EventKind::Exit => "exit",
            EventKind::Syscall => "syscall",
            EventKind::FirstSyscall => "first_syscall",
            EventKind::Cgroup => "cgroup",
        }
    }
}

/// A successful exec.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Exec {
    /// The path handed to exec, as the kernel saw it.
    pub filename: CompactString,
    /// argv, at most [`kestrel_common::MAX_ARGS`] entries.
    pub args: Vec<String>,
    /// argv was longer than kept (bytes or count).
    pub args_truncated: bool,
    /// The filename was longer than kept.
    pub filename_truncated: bool,
    /// Thread id before exec (differs when a non-leader thread exec'd).
    pub old_pid: u32,
    /// The executable as the kernel resolved it (`mm->exe_file`), relative
    /// to the process's root; empty if unreadable.
    pub exe_path: CompactString,
    /// Working directory, relative to the process's root.
    pub cwd: CompactString,
    pub exe_ino: u64,
    /// Executable inode change / modification time (Unix ns).
    pub exe_ctime_ns: u64,
    pub exe_mtime_ns: u64,
    /// The executable is on overlayfs...
    pub exe_on_overlay: bool,
    /// ...in its upper layer: written after the container started.
    pub exe_upper_layer: bool,
    /// The executable is a memfd (fileless execution).
    pub exe_from_memfd: bool,
    /// The executable was deleted from disk.
    pub exe_deleted: bool,
    pub euid: u32,
    pub egid: u32,
    /// Audit login uid; None when unset.
    pub loginuid: Option<u32>,
    /// Session id and process group, as seen in the process's pid namespace.
    pub sid: u32,
    pub pgid: u32,
    /// Controlling terminal (`major << 20 | minor`), 0 if none.
    pub tty: u32,
    pub cap_effective: u64,
    /// pid namespace depth (0: the host's) and the pid seen inside it.
    pub pid_ns_level: u32,
    pub vpid: u32,
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

/// A socket address from user memory or a socket's endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "family", rename_all = "lowercase")]
pub enum SockAddr {
    Inet { addr: std::net::Ipv4Addr, port: u16 },
    Inet6 { addr: std::net::Ipv6Addr, port: u16 },
    Unix { path: String },
    Other { family_id: u16 },
}

/// The kernel's view of a socket: both endpoints and the protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SockTuple {
    /// `tcp`, `udp`, `raw`, `unix`, … (Falco's `fd.l4proto`).
    pub proto: &'static str,
    pub local: SockAddr,
    pub remote: SockAddr,
}

/// A completed syscall: name, result, and typed arguments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Syscall {
    /// The syscall's name (Falco's `evt.type`).
    pub name: &'static str,
    /// Architecture-specific number.
    pub nr: u32,
    /// Return value: an fd, a count, 0, or `-errno`.
    pub ret: i64,
    /// Arguments by name (only those that exist for this syscall).
    pub args: SyscallArgs,
    /// For fd-based syscalls (and open's result): the path of the file
    /// behind the fd, resolved by the kernel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fd_path: Option<String>,
    /// For socket fds: both endpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuple: Option<SockTuple>,
    /// A string or address was longer than kept, or unreadable.
    pub truncated: bool,
    /// The directory a relative path argument is relative to, resolved by
    /// the kernel at the call: the working directory (after any `chdir`)
    /// or the `*at` call's directory fd.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// Which path arguments `dir` applies to: (first, second).
    #[serde(skip)]
    pub dir_for: (bool, bool),
}

impl Syscall {
    /// The directory relative path argument `which` (0: first, 1: second)
    /// is relative to, when the kernel resolved it.
    pub fn dir_of(&self, which: usize) -> Option<&str> {
        let applies = if which == 0 {
            self.dir_for.0
        } else {
            self.dir_for.1
        };
        self.dir.as_deref().filter(|_| applies)
    }

    pub fn failed(&self) -> bool {
        self.ret < 0
    }
}

/// Arguments of each captured syscall family.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", untagged)]
pub enum SyscallArgs {
    Open {
        /// The path as passed (may be relative to `dirfd`/cwd).
        path: String,
        flags: u64,
        mode: u32,
        /// `AT_FDCWD` (-100) or a directory fd; None for open/creat.
        dirfd: Option<i32>,
    },
    Exec {
        path: String,
        dirfd: Option<i32>,
    },
    Connect {
        fd: i32,
        addr: Option<SockAddr>,
    },
    Accept {
        fd: i32,
        flags: u32,
    },
    Bind {
        fd: i32,
        addr: Option<SockAddr>,
    },
    Listen {
        fd: i32,
        backlog: i32,
    },
    Socket {
        domain: u32,
        sock_type: u32,
        protocol: u32,
    },
    Send {
        fd: i32,
        len: u64,
        addr: Option<SockAddr>,
    },
    Ptrace {
        request: u64,
        target_pid: u32,
    },
    Chmod {
        /// The path as passed (chmod/fchmodat); None for fchmod (see `fd_path`).
        path: Option<String>,
        fd: Option<i32>,
        mode: u32,
    },
    Link {
        /// Existing file (link) or symlink target (symlink).
        target: String,
        /// The new name.
        linkpath: String,
        flags: u32,
        symbolic: bool,
    },
    Unlink {
        path: String,
        flags: u32,
    },
    Rename {
        oldpath: String,
        newpath: String,
        flags: u32,
    },
    Mkdir {
        path: String,
        mode: u32,
    },
    MemfdCreate {
        name: String,
        flags: u32,
    },
    Mount {
        source: String,
        target: String,
        fstype: String,
        flags: u64,
    },
    Umount {
        target: String,
        flags: u32,
    },
    Setns {
        fd: i32,
        nstype: u32,
    },
    Unshare {
        flags: u64,
    },
    Module {
        /// Module parameters string.
        params: String,
        fd: Option<i32>,
        flags: u32,
    },
    Userfaultfd {
        flags: u32,
    },
    Dup {
        oldfd: i32,
        newfd: Option<i32>,
        flags: u32,
    },
    SetId {
        /// Real/effective/saved (or fs) ids as passed; `u32::MAX` = unchanged.
        ids: Vec<u32>,
    },
    Bpf {
        cmd: u32,
    },
    Kill {
        target_pid: i32,
        signal: u32,
    },
    Clone {
        flags: u64,
    },
    None {},
}

/// A cgroup used syscall `nr` for the first time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FirstSyscall {
    pub nr: u32,
    pub name: String,
}

/// A cgroup v2 directory created or removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CgroupChange {
    /// True for mkdir, false for rmdir.
    pub created: bool,
    /// The cgroup's id (inode of its directory).
    pub id: u64,
    /// Path relative to the cgroup2 mount, starting with `/`.
    pub path: String,
}

/// The kind-specific part of an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    Exec(Exec),
    Fork(Fork),
    Exit(Exit),
    Syscall(Syscall),
    FirstSyscall(FirstSyscall),
    Cgroup(CgroupChange),
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
            EventBody::Syscall(_) => EventKind::Syscall,
            EventBody::FirstSyscall(_) => EventKind::FirstSyscall,
            EventBody::Cgroup(_) => EventKind::Cgroup,
        }
    }

    /// The event's type name as rules see it: the syscall's name for
    /// syscalls (`openat`, `connect`, …), else `execve`, `clone`,
    /// `procexit`, `first_syscall`.
    pub fn type_name(&self) -> &'static str {
        match &self.body {
            EventBody::Exec(_) => "execve",
            EventBody::Fork(_) => "clone",
            EventBody::Exit(_) => "procexit",
            EventBody::Syscall(s) => s.name,
            EventBody::FirstSyscall(_) => "first_syscall",
            EventBody::Cgroup(c) if c.created => "cgroup_mkdir",
            EventBody::Cgroup(_) => "cgroup_rmdir",
        }
    }
}
