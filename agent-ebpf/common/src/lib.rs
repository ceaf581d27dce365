//! Wire types shared by Kestrel's eBPF programs and its userspace agent.
//!
//! Everything here is plain `#[repr(C)]` data with explicit padding: no
//! pointers, no enums with invalid bit patterns, sizes asserted at compile
//! time. Every record in the ring buffer starts with a [`Header`]; the
//! header's `kind` says which record follows and `size` how many bytes the
//! whole record spans. Userspace never trusts either: see `agent/src/event`.
#![no_std]

/// Length of a task's `comm` (kernel `TASK_COMM_LEN`).
pub const COMM_LEN: usize = 16;
/// Bytes of the exec'd filename kept (longer names are cut and flagged).
pub const FILENAME_LEN: usize = 256;
/// Bytes of the NUL-separated argv kept (longer argv is cut and flagged).
pub const ARGS_LEN: usize = 1024;
/// Arguments kept after splitting argv in userspace.
pub const MAX_ARGS: usize = 16;

/// Record kinds, as stored in [`Header::kind`].
pub mod kind {
    pub const EXEC: u16 = 1;
    pub const FORK: u16 = 2;
    pub const EXIT: u16 = 3;
    /// One past the highest kind; sizes per-kind counter arrays.
    pub const COUNT: u32 = 4;
}

/// Bits of [`ExecEvent::flags`].
pub mod exec_flags {
    /// argv was longer than [`super::ARGS_LEN`] bytes.
    pub const ARGS_TRUNCATED: u32 = 1 << 0;
    /// The filename was longer than [`super::FILENAME_LEN`] bytes.
    pub const FILENAME_TRUNCATED: u32 = 1 << 1;
    /// argv could not be read from the new image's memory.
    pub const ARGS_UNREADABLE: u32 = 1 << 2;
}

/// Bits of [`ExitEvent::flags`].
pub mod exit_flags {
    /// The last thread of the thread group exited: the process is gone.
    pub const GROUP_DEAD: u32 = 1 << 0;
}

/// Common header at the start of every ring-buffer record (64 bytes).
///
/// `pid`/`tgid`/`ppid`/`uid`/`gid`/`cgroup_id`/`comm` describe the task the
/// kernel ran the probe in: for a fork that is the parent, the child is in
/// the record's body.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// One of [`kind`].
    pub kind: u16,
    /// Size in bytes of the whole record, header included.
    pub size: u16,
    /// CPU the probe ran on.
    pub cpu: u32,
    /// `bpf_ktime_get_boot_ns()`: nanoseconds since boot, suspend included.
    pub ktime_ns: u64,
    /// Thread id (kernel `pid`).
    pub pid: u32,
    /// Process id (kernel `tgid`).
    pub tgid: u32,
    /// Process id of the real parent.
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub _pad0: u32,
    /// cgroup v2 id (the inode number of the cgroup directory).
    pub cgroup_id: u64,
    pub comm: [u8; COMM_LEN],
}

/// A successful `execve`/`execveat`, seen at `sched_process_exec`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExecEvent {
    pub header: Header,
    /// Bits of [`exec_flags`].
    pub flags: u32,
    /// Bytes of `filename` used (without the NUL).
    pub filename_len: u16,
    /// Bytes of `args` used: NUL-separated arguments.
    pub args_len: u16,
    /// Pid the task had before exec (differs when a non-leader thread execs).
    pub old_pid: u32,
    pub _pad0: u32,
    pub filename: [u8; FILENAME_LEN],
    pub args: [u8; ARGS_LEN],
}

/// A new process (not a thread), seen at `sched_process_fork`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForkEvent {
    pub header: Header,
    pub child_pid: u32,
    pub child_tgid: u32,
}

/// A thread-group leader or last thread exiting, seen at `sched_process_exit`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitEvent {
    pub header: Header,
    /// Raw `task_struct.exit_code`: `status << 8 | signal`.
    pub exit_code: u32,
    /// Bits of [`exit_flags`].
    pub flags: u32,
}

/// Kernel struct field offsets, resolved from BTF by userspace at start and
/// handed to the programs as the load-time global `OFFSETS`.
///
/// All values are byte offsets. The programs read them with volatile loads
/// so the compiler cannot fold the all-zero default into the code.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offsets {
    pub task_pid: u32,
    pub task_tgid: u32,
    pub task_real_parent: u32,
    pub task_mm: u32,
    pub task_signal: u32,
    pub task_exit_code: u32,
    pub mm_arg_start: u32,
    pub mm_arg_end: u32,
    pub signal_live: u32,
    pub binprm_filename: u32,
}

impl Offsets {
    /// All-zero offsets: the value compiled into the object before userspace
    /// replaces it.
    pub const ZERO: Offsets = Offsets {
        task_pid: 0,
        task_tgid: 0,
        task_real_parent: 0,
        task_mm: 0,
        task_signal: 0,
        task_exit_code: 0,
        mm_arg_start: 0,
        mm_arg_end: 0,
        signal_live: 0,
        binprm_filename: 0,
    };
}

/// Index into the per-CPU `LOSS` array: `kind * LOSS_REASONS + reason`.
pub mod loss {
    /// The ring buffer had no room (`bpf_ringbuf_reserve` failed).
    pub const RING_FULL: u32 = 0;
    /// A kernel read the record needs failed; the record was not sent.
    pub const READ_FAILED: u32 = 1;
    pub const REASONS: u32 = 2;
    /// Entries of the `LOSS` array.
    pub const SLOTS: u32 = super::kind::COUNT * REASONS;
}

const _: () = assert!(core::mem::size_of::<Header>() == 64);
const _: () = assert!(core::mem::size_of::<ExecEvent>() == 64 + 16 + FILENAME_LEN + ARGS_LEN);
const _: () = assert!(core::mem::size_of::<ForkEvent>() == 72);
const _: () = assert!(core::mem::size_of::<ExitEvent>() == 72);
const _: () = assert!(core::mem::size_of::<Offsets>() == 40);

// SAFETY: plain `#[repr(C)]` data of integers and byte arrays with explicit
// padding fields; every bit pattern is valid.
#[cfg(feature = "user")]
unsafe impl aya::Pod for Offsets {}
