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

pub mod syscalls;

/// The `imm` of the raw kfunc call instruction that stands for
/// `bpf_rdonly_cast` in the eBPF object: userspace writes the kfunc's BTF
/// id there before loading (or replaces the call with `r0 = 0` when the
/// kernel lacks it). The whole instruction, little-endian.
pub const RDONLY_CAST_CALL: [u8; 8] = [0x85, 0x20, 0x00, 0x00, 0x01, 0x00, 0xad, 0x7e];

/// Bytes of each string a syscall record carries (paths, names).
pub const STR_LEN: usize = 256;
/// Bytes of a socket address copied from user memory.
pub const ADDR_LEN: usize = 128;
/// Highest syscall number (exclusive) the dispatcher looks at.
pub const MAX_SYSCALLS: u32 = 512;

/// Record kinds, as stored in [`Header::kind`].
pub mod kind {
    pub const EXEC: u16 = 1;
    pub const FORK: u16 = 2;
    pub const EXIT: u16 = 3;
    /// A completed syscall of interest ([`super::SyscallEvent`]).
    pub const SYSCALL: u16 = 4;
    /// A cgroup used a syscall for the first time ([`super::FirstSyscallEvent`]).
    pub const FIRST_SYSCALL: u16 = 5;
    /// A cgroup v2 directory was created ([`super::CgroupEvent`]).
    pub const CGROUP_MKDIR: u16 = 6;
    /// A cgroup v2 directory was removed ([`super::CgroupEvent`]).
    pub const CGROUP_RMDIR: u16 = 7;
    /// One past the highest kind; sizes per-kind counter arrays.
    pub const COUNT: u32 = 8;
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

/// Bits of [`ExecEvent::exe_flags`]: facts about the executable file.
pub mod exe_flags {
    /// The executable is on an overlayfs mount.
    pub const OVERLAY: u32 = 1 << 0;
    /// ...and lives on the overlay's upper (writable) layer: it was written
    /// after the container started.
    pub const UPPER_LAYER: u32 = 1 << 1;
    /// The executable is a memfd (`memfd_create` + `fexecve`).
    pub const MEMFD: u32 = 1 << 2;
    /// The executable has no link left on disk (deleted after start).
    pub const DELETED: u32 = 1 << 3;
    /// The exe path was longer than kept.
    pub const PATH_TRUNCATED: u32 = 1 << 4;
    /// The cwd path was longer than kept.
    pub const CWD_TRUNCATED: u32 = 1 << 5;
    /// The task runs in a pid namespace other than the host's.
    pub const IN_PID_NS: u32 = 1 << 6;
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
    /// Bits of [`exe_flags`].
    pub exe_flags: u32,
    /// Process context read from the task.
    pub ctx: TaskContext,
    /// Executable inode number and times (ns since the epoch).
    pub exe_ino: u64,
    pub exe_ctime_ns: u64,
    pub exe_mtime_ns: u64,
    /// Bytes used of `exe_path` / `cwd`.
    pub exe_path_len: u16,
    pub cwd_len: u16,
    pub _pad1: u32,
    pub filename: [u8; FILENAME_LEN],
    pub args: [u8; ARGS_LEN],
    /// The executable's path as the kernel resolves it (`mm->exe_file`),
    /// relative to the task's root.
    pub exe_path: [u8; STR_LEN],
    /// The working directory, relative to the task's root.
    pub cwd: [u8; STR_LEN],
}

/// Credentials and session facts of a task.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskContext {
    pub euid: u32,
    pub egid: u32,
    /// Audit login uid (`u32::MAX` when unset).
    pub loginuid: u32,
    /// Session id (pid of the session leader, in the task's namespace).
    pub sid: u32,
    /// Process group id (in the task's namespace).
    pub pgid: u32,
    /// Controlling terminal as a device number (`major << 20 | minor`), 0 if none.
    pub tty: u32,
    /// Effective capabilities.
    pub cap_effective: u64,
    /// pid namespace level of the task (0 = the host's).
    pub pid_ns_level: u32,
    /// Thread id as seen inside the task's pid namespace.
    pub vpid: u32,
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

/// Bits of [`SyscallEvent::flags`].
pub mod sys_flags {
    pub const STR1_TRUNCATED: u16 = 1 << 0;
    pub const STR2_TRUNCATED: u16 = 1 << 1;
    pub const PATH_TRUNCATED: u16 = 1 << 2;
    /// `tuple` holds a socket tuple read from the socket behind the fd.
    pub const HAS_TUPLE: u16 = 1 << 3;
    /// `path` holds the path of the file behind the fd, resolved by the kernel.
    pub const HAS_PATH: u16 = 1 << 4;
    /// `addr` holds a socket address copied from user memory.
    pub const HAS_ADDR: u16 = 1 << 5;
    /// Reading a user string or address failed (bad pointer).
    pub const USER_READ_FAILED: u16 = 1 << 6;
    /// The file behind the fd is a socket.
    pub const FD_IS_SOCKET: u16 = 1 << 7;
    /// `path` holds the directory a relative `str1` is relative to (the
    /// working directory or the `*at` call's directory fd), resolved by the
    /// kernel at the call; never set together with `HAS_PATH`.
    pub const DIR_FOR_STR1: u16 = 1 << 8;
    /// The same directory applies to a relative `str2`.
    pub const DIR_FOR_STR2: u16 = 1 << 9;
}

/// A socket's addresses and ports as the kernel holds them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockTuple {
    /// `AF_INET`, `AF_INET6`, `AF_UNIX`, …
    pub family: u16,
    /// `SOCK_STREAM`, `SOCK_DGRAM`, … (0 if unknown)
    pub sock_type: u16,
    /// `IPPROTO_TCP`, … (0 if unknown)
    pub protocol: u16,
    pub _pad0: u16,
    /// Local port, host byte order.
    pub sport: u16,
    /// Remote port, host byte order.
    pub dport: u16,
    pub _pad1: u32,
    /// Local address (IPv4 in the first 4 bytes).
    pub saddr: [u8; 16],
    /// Remote address (IPv4 in the first 4 bytes).
    pub daddr: [u8; 16],
}

/// A completed syscall of interest: raw arguments and result, the strings
/// and socket address its arguments point to, and for fd-based syscalls the
/// kernel's view of the file or socket behind the fd.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SyscallEvent {
    pub header: Header,
    /// Syscall number (architecture-specific).
    pub nr: u32,
    /// Architecture-independent id, one of [`syscalls::Handler`].
    pub handler: u16,
    /// Bits of [`sys_flags`].
    pub flags: u16,
    /// Return value.
    pub ret: i64,
    pub args: [u64; 6],
    pub str1_len: u16,
    pub str2_len: u16,
    pub path_len: u16,
    pub addr_len: u16,
    pub tuple: SockTuple,
    pub addr: [u8; ADDR_LEN],
    pub str1: [u8; STR_LEN],
    pub str2: [u8; STR_LEN],
    pub path: [u8; STR_LEN],
}

/// A cgroup used syscall `nr` for the first time since the agent started.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirstSyscallEvent {
    pub header: Header,
    pub nr: u32,
    pub _pad0: u32,
}

/// Sensor settings, handed to the programs as the load-time global `SETTINGS`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// 1: keep the per-cgroup syscall profile.
    pub profile: u32,
    /// Submit records without waking the reader until this many bytes wait
    /// in the ring (the reader polls too); 0: wake for every record.
    pub wakeup_bytes: u32,
    /// Numbers of `exit` and `exit_group` (per architecture): the exit
    /// probe adds them to the profile, as they never reach `sys_exit`.
    pub exit_nr: u32,
    pub exit_group_nr: u32,
}

impl Settings {
    pub const DEFAULT: Settings = Settings {
        profile: 1,
        wakeup_bytes: 0,
        exit_nr: u32::MAX,
        exit_group_nr: u32::MAX,
    };
}

/// A cgroup v2 directory created or removed: its id and path (relative to
/// the cgroup2 mount), so userspace learns new containers' cgroups before
/// their first process runs.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CgroupEvent {
    pub header: Header,
    /// The new cgroup's id (`kernfs_node.id`: the directory's inode).
    pub cgroup_id: u64,
    pub path_len: u16,
    pub _pad0: [u16; 3],
    pub path: [u8; STR_LEN],
}

/// Per-cgroup syscall profile: one bit per syscall number.
pub const PROFILE_WORDS: usize = (MAX_SYSCALLS / 64) as usize;

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
    // Syscall arguments: offsets in `struct pt_regs` of args 0..5 and of the
    // syscall number (per architecture, from BTF).
    pub regs_args: [u32; 6],
    pub regs_nr: u32,
    // Credentials, session, namespace.
    pub task_cred: u32,
    pub cred_euid: u32,
    pub cred_egid: u32,
    pub cred_cap_effective: u32,
    pub task_loginuid: u32,
    pub task_thread_pid: u32,
    pub pid_level: u32,
    pub pid_numbers: u32,
    /// `sizeof(struct upid)`: stride of `pid.numbers[]`.
    pub upid_size: u32,
    pub upid_nr: u32,
    pub signal_pids: u32,
    /// Enum values `PIDTYPE_PGID` and `PIDTYPE_SID`.
    pub pidtype_pgid: u32,
    pub pidtype_sid: u32,
    pub signal_tty: u32,
    pub tty_index: u32,
    pub tty_driver: u32,
    pub driver_major: u32,
    pub driver_minor_start: u32,
    // Files and paths.
    pub mm_exe_file: u32,
    pub task_fs: u32,
    pub fs_root: u32,
    pub fs_pwd: u32,
    pub task_files: u32,
    pub files_fdt: u32,
    pub fdt_fd: u32,
    pub fdt_max_fds: u32,
    /// BTF id of `struct file`, for `bpf_rdonly_cast` (0: the kernel lacks
    /// the kfunc; the typed path walk is off).
    pub btf_id_file: u32,
    pub file_f_path: u32,
    pub file_f_inode: u32,
    pub file_private_data: u32,
    pub path_mnt: u32,
    pub path_dentry: u32,
    pub dentry_parent: u32,
    pub dentry_name: u32,
    pub dentry_inode: u32,
    /// The inline name storage (`d_shortname`, older `d_iname`); 0: none
    /// (the typed path walk is off).
    pub dentry_inline_name: u32,
    pub qstr_name: u32,
    pub qstr_len: u32,
    pub vfsmount_mnt_root: u32,
    pub vfsmount_mnt_sb: u32,
    /// `offsetof(struct mount, mnt)`: from a `vfsmount *` back to its `mount`.
    pub mount_mnt: u32,
    pub mount_parent: u32,
    pub mount_mountpoint: u32,
    pub inode_mode: u32,
    pub inode_ino: u32,
    pub inode_nlink: u32,
    pub inode_sb: u32,
    pub inode_ctime_sec: u32,
    pub inode_ctime_nsec: u32,
    pub inode_mtime_sec: u32,
    pub inode_mtime_nsec: u32,
    pub sb_magic: u32,
    /// `offsetof(struct ovl_inode, __upperdentry) - offsetof(vfs_inode)`;
    /// 0 when the kernel's BTF lacks overlayfs (upper-layer detection off).
    pub ovl_upper_from_inode: u32,
    // Sockets.
    pub socket_sk: u32,
    pub sk_family: u32,
    pub sk_daddr: u32,
    pub sk_rcv_saddr: u32,
    pub sk_dport: u32,
    pub sk_num: u32,
    pub sk_v6_daddr: u32,
    pub sk_v6_rcv_saddr: u32,
    pub sk_type: u32,
    pub sk_protocol: u32,
    // Cgroups.
    pub cgroup_kn: u32,
    pub cgroup_root: u32,
    pub kernfs_id: u32,
    pub cgroup_root_hierarchy_id: u32,
    // The record header, read with typed loads (no helper calls).
    pub task_comm: u32,
    pub cred_uid: u32,
    pub cred_gid: u32,
    pub task_cgroups: u32,
    pub css_set_dfl_cgrp: u32,
    /// BTF id of `struct dentry`, for `bpf_rdonly_cast` (0: the typed
    /// path resolution is off).
    pub btf_id_dentry: u32,
}

impl Offsets {
    /// All-zero offsets: the value compiled into the object before userspace
    /// replaces it.
    pub const ZERO: Offsets = Offsets::zeroed();

    const fn zeroed() -> Offsets {
        // SAFETY: `Offsets` is plain `#[repr(C)]` integers; all-zero is a
        // valid value.
        unsafe { core::mem::zeroed() }
    }
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
const _: () = assert!(core::mem::size_of::<TaskContext>() == 40);
const _: () = assert!(
    core::mem::size_of::<ExecEvent>()
        == 64 + 16 + 40 + 24 + 8 + FILENAME_LEN + ARGS_LEN + 2 * STR_LEN
);
const _: () = assert!(core::mem::size_of::<SockTuple>() == 48);
const _: () =
    assert!(core::mem::size_of::<SyscallEvent>() == 64 + 16 + 48 + 8 + 48 + ADDR_LEN + 3 * STR_LEN);
const _: () = assert!(core::mem::size_of::<FirstSyscallEvent>() == 72);
const _: () = assert!(core::mem::size_of::<CgroupEvent>() == 64 + 16 + STR_LEN);
const _: () = assert!(core::mem::size_of::<ForkEvent>() == 72);
const _: () = assert!(core::mem::size_of::<ExitEvent>() == 72);
const _: () = assert!(core::mem::size_of::<Offsets>().is_multiple_of(4));

// SAFETY: plain `#[repr(C)]` data of integers and byte arrays with explicit
// padding fields; every bit pattern is valid.
#[cfg(feature = "user")]
unsafe impl aya::Pod for Offsets {}
// SAFETY: as above: `#[repr(C)]` integers only, no implicit padding.
#[cfg(feature = "user")]
unsafe impl aya::Pod for syscalls::SyscallSpec {}
// SAFETY: as above.
#[cfg(feature = "user")]
unsafe impl aya::Pod for Settings {}
// SAFETY: as above: `#[repr(C)]` u64s only.
#[cfg(feature = "user")]
unsafe impl aya::Pod for syscalls::PathHeads {}
