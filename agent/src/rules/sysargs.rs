//! Syscall arguments as Falco names and renders them: the parameter list of
//! each event type (`evt.arg.NAME` / `evt.arg[N]`), flag and enum names
//! (`O_CREAT`, `PTRACE_ATTACH`, `AF_PACKET`, `CLONE_NEWNS`, `S_IXUSR`, ...),
//! errno names for results (`ENOENT`), and the reader that writes one
//! argument of an event into a value.
//!
//! Every argument is a string, as in Falco (`evt.arg.fd = 3` compares the
//! text "3"); `evt.rawarg.NAME` gives the number behind a flag or enum.
//! Linux constants that differ between x86_64 and arm64 live in [`arch`].

use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::event::{EventBody, SockAddr, Syscall, SyscallArgs};

use super::evttypes::{EVENT_TYPES, Kind, KindSet, kind_of_name};
use super::fdinfo;
use super::fields::{Out, Src};

/// Open flags whose values differ per architecture (the rest are shared).
pub mod arch {
    #[cfg(target_arch = "aarch64")]
    mod values {
        pub const O_DIRECTORY: u64 = 0o40000;
        pub const O_NOFOLLOW: u64 = 0o100000;
        pub const O_DIRECT: u64 = 0o200000;
        pub const O_LARGEFILE: u64 = 0o400000;
    }
    #[cfg(not(target_arch = "aarch64"))]
    mod values {
        pub const O_DIRECT: u64 = 0o40000;
        pub const O_LARGEFILE: u64 = 0o100000;
        pub const O_DIRECTORY: u64 = 0o200000;
        pub const O_NOFOLLOW: u64 = 0o400000;
    }
    pub use values::*;
}

pub const O_ACCMODE: u64 = 0o3;
pub const O_RDONLY: u64 = 0;
pub const O_WRONLY: u64 = 1;
pub const O_RDWR: u64 = 2;
pub const O_CREAT: u64 = 0o100;
pub const O_TRUNC: u64 = 0o1000;
const O_SYNC_BIT: u64 = 0o4000000;
const O_TMPFILE_BIT: u64 = 0o20000000;
pub const O_DIRECTORY: u64 = arch::O_DIRECTORY;
/// `AT_FDCWD`: a `*at` path relative to the working directory.
pub const AT_FDCWD: i32 = -100;
/// Any execute bit of a mode.
pub const S_IXANY: u32 = 0o111;

/// Open flags other than the access mode, in the order Falco prints them.
static OPEN_FLAGS: &[(u64, &str)] = &[
    (O_CREAT, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (O_TRUNC, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o20000, "O_ASYNC"),
    (arch::O_DIRECT, "O_DIRECT"),
    (arch::O_LARGEFILE, "O_LARGEFILE"),
    (arch::O_NOFOLLOW, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
];

/// Writes open flags like Falco: `O_WRONLY|O_CREAT|O_TRUNC`.
pub fn write_open_flags(b: &mut String, f: u64) {
    b.push_str(match f & O_ACCMODE {
        O_RDONLY => "O_RDONLY",
        O_WRONLY => "O_WRONLY",
        _ => "O_RDWR",
    });
    for (bit, name) in OPEN_FLAGS {
        if f & bit != 0 {
            b.push('|');
            b.push_str(name);
        }
    }
    if f & O_TMPFILE_BIT != 0 {
        b.push_str("|O_TMPFILE");
    } else if f & arch::O_DIRECTORY != 0 {
        b.push_str("|O_DIRECTORY");
    }
    if f & O_SYNC_BIT != 0 {
        b.push_str("|O_SYNC");
    } else if f & 0o10000 != 0 {
        b.push_str("|O_DSYNC");
    }
}

/// Whether open flags create a file (`O_CREAT` or `O_TMPFILE`).
pub fn creates(f: u64) -> bool {
    f & (O_CREAT | O_TMPFILE_BIT) != 0
}

static MODE_FLAGS: &[(u64, &str)] = &[
    (0o1, "S_IXOTH"),
    (0o2, "S_IWOTH"),
    (0o4, "S_IROTH"),
    (0o10, "S_IXGRP"),
    (0o20, "S_IWGRP"),
    (0o40, "S_IRGRP"),
    (0o100, "S_IXUSR"),
    (0o200, "S_IWUSR"),
    (0o400, "S_IRUSR"),
    (0o1000, "S_ISVTX"),
    (0o2000, "S_ISGID"),
    (0o4000, "S_ISUID"),
];

static CLONE_FLAGS: &[(u64, &str)] = &[
    (0x80, "CLONE_NEWTIME"),
    (0x100, "CLONE_VM"),
    (0x200, "CLONE_FS"),
    (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"),
    (0x1000, "CLONE_PIDFD"),
    (0x2000, "CLONE_PTRACE"),
    (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"),
    (0x10000, "CLONE_THREAD"),
    (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"),
    (0x80000, "CLONE_SETTLS"),
    (0x100000, "CLONE_PARENT_SETTID"),
    (0x200000, "CLONE_CHILD_CLEARTID"),
    (0x400000, "CLONE_DETACHED"),
    (0x800000, "CLONE_UNTRACED"),
    (0x1000000, "CLONE_CHILD_SETTID"),
    (0x2000000, "CLONE_NEWCGROUP"),
    (0x4000000, "CLONE_NEWUTS"),
    (0x8000000, "CLONE_NEWIPC"),
    (0x10000000, "CLONE_NEWUSER"),
    (0x20000000, "CLONE_NEWPID"),
    (0x40000000, "CLONE_NEWNET"),
    (0x80000000, "CLONE_IO"),
];

static MOUNT_FLAGS: &[(u64, &str)] = &[
    (1, "MS_RDONLY"),
    (2, "MS_NOSUID"),
    (4, "MS_NODEV"),
    (8, "MS_NOEXEC"),
    (16, "MS_SYNCHRONOUS"),
    (32, "MS_REMOUNT"),
    (64, "MS_MANDLOCK"),
    (128, "MS_DIRSYNC"),
    (256, "MS_NOSYMFOLLOW"),
    (1024, "MS_NOATIME"),
    (2048, "MS_NODIRATIME"),
    (4096, "MS_BIND"),
    (8192, "MS_MOVE"),
    (16384, "MS_REC"),
    (32768, "MS_SILENT"),
    (1 << 16, "MS_POSIXACL"),
    (1 << 17, "MS_UNBINDABLE"),
    (1 << 18, "MS_PRIVATE"),
    (1 << 19, "MS_SLAVE"),
    (1 << 20, "MS_SHARED"),
    (1 << 21, "MS_RELATIME"),
    (1 << 22, "MS_KERNMOUNT"),
    (1 << 23, "MS_I_VERSION"),
    (1 << 24, "MS_STRICTATIME"),
    (1 << 25, "MS_LAZYTIME"),
];

static UMOUNT_FLAGS: &[(u64, &str)] = &[
    (1, "MNT_FORCE"),
    (2, "MNT_DETACH"),
    (4, "MNT_EXPIRE"),
    (8, "UMOUNT_NOFOLLOW"),
];

static MEMFD_FLAGS: &[(u64, &str)] = &[
    (1, "MFD_CLOEXEC"),
    (2, "MFD_ALLOW_SEALING"),
    (4, "MFD_HUGETLB"),
    (8, "MFD_NOEXEC_SEAL"),
    (0x10, "MFD_EXEC"),
];

/// userfaultfd and dup3 flags (file-status flags).
static FD_FLAGS: &[(u64, &str)] = &[
    (1, "UFFD_USER_MODE_ONLY"),
    (0o4000, "O_NONBLOCK"),
    (0o2000000, "O_CLOEXEC"),
];

static ACCEPT_FLAGS: &[(u64, &str)] = &[(0o4000, "SOCK_NONBLOCK"), (0o2000000, "SOCK_CLOEXEC")];

static UNLINK_FLAGS: &[(u64, &str)] = &[(0x200, "AT_REMOVEDIR")];

static LINKAT_FLAGS: &[(u64, &str)] = &[(0x400, "AT_SYMLINK_FOLLOW"), (0x1000, "AT_EMPTY_PATH")];

static RENAME_FLAGS: &[(u64, &str)] = &[
    (1, "RENAME_NOREPLACE"),
    (2, "RENAME_EXCHANGE"),
    (4, "RENAME_WHITEOUT"),
];

static MODULE_FLAGS: &[(u64, &str)] = &[
    (1, "MODULE_INIT_IGNORE_MODVERSIONS"),
    (2, "MODULE_INIT_IGNORE_VERMAGIC"),
    (4, "MODULE_INIT_COMPRESSED_FILE"),
];

/// Writes `v` as `A|B|C` from `table`; `0` when no known bit is set.
pub fn write_flags(b: &mut String, v: u64, table: &[(u64, &str)]) {
    let start = b.len();
    for (bit, name) in table {
        if v & bit != 0 {
            if b.len() > start {
                b.push('|');
            }
            b.push_str(name);
        }
    }
    if b.len() == start {
        b.push('0');
    }
}

/// Writes a mode like Falco (`S_IRUSR|S_IWUSR|...`).
pub fn write_mode(b: &mut String, mode: u32) {
    write_flags(b, u64::from(mode), MODE_FLAGS);
}

fn enum_name(v: u64, table: &[(u64, &'static str)]) -> Option<&'static str> {
    table.iter().find(|(n, _)| *n == v).map(|(_, s)| *s)
}

static SOCKET_DOMAINS: &[(u64, &str)] = &[
    (0, "AF_UNSPEC"),
    (1, "AF_UNIX"),
    (2, "AF_INET"),
    (3, "AF_AX25"),
    (4, "AF_IPX"),
    (5, "AF_APPLETALK"),
    (9, "AF_X25"),
    (10, "AF_INET6"),
    (15, "AF_KEY"),
    (16, "AF_NETLINK"),
    (17, "AF_PACKET"),
    (29, "AF_CAN"),
    (30, "AF_TIPC"),
    (31, "AF_BLUETOOTH"),
    (38, "AF_ALG"),
    (40, "AF_VSOCK"),
    (44, "AF_XDP"),
];

pub static PTRACE_REQUESTS: &[(u64, &str)] = &[
    (0, "PTRACE_TRACEME"),
    (1, "PTRACE_PEEKTEXT"),
    (2, "PTRACE_PEEKDATA"),
    (3, "PTRACE_PEEKUSR"),
    (4, "PTRACE_POKETEXT"),
    (5, "PTRACE_POKEDATA"),
    (6, "PTRACE_POKEUSR"),
    (7, "PTRACE_CONT"),
    (8, "PTRACE_KILL"),
    (9, "PTRACE_SINGLESTEP"),
    (12, "PTRACE_GETREGS"),
    (13, "PTRACE_SETREGS"),
    (14, "PTRACE_GETFPREGS"),
    (15, "PTRACE_SETFPREGS"),
    (16, "PTRACE_ATTACH"),
    (17, "PTRACE_DETACH"),
    (18, "PTRACE_GETFPXREGS"),
    (19, "PTRACE_SETFPXREGS"),
    (24, "PTRACE_SYSCALL"),
    (30, "PTRACE_ARCH_PRCTL"),
    (31, "PTRACE_SYSEMU"),
    (32, "PTRACE_SYSEMU_SINGLESTEP"),
    (0x4200, "PTRACE_SETOPTIONS"),
    (0x4201, "PTRACE_GETEVENTMSG"),
    (0x4202, "PTRACE_GETSIGINFO"),
    (0x4203, "PTRACE_SETSIGINFO"),
    (0x4204, "PTRACE_GETREGSET"),
    (0x4205, "PTRACE_SETREGSET"),
    (0x4206, "PTRACE_SEIZE"),
    (0x4207, "PTRACE_INTERRUPT"),
    (0x4208, "PTRACE_LISTEN"),
    (0x4209, "PTRACE_PEEKSIGINFO"),
    (0x420a, "PTRACE_GETSIGMASK"),
    (0x420b, "PTRACE_SETSIGMASK"),
    (0x420c, "PTRACE_SECCOMP_GET_FILTER"),
    (0x420d, "PTRACE_SECCOMP_GET_METADATA"),
    (0x420e, "PTRACE_GET_SYSCALL_INFO"),
    (0x420f, "PTRACE_GET_RSEQ_CONFIGURATION"),
];

static BPF_CMDS: &[(u64, &str)] = &[
    (0, "BPF_MAP_CREATE"),
    (1, "BPF_MAP_LOOKUP_ELEM"),
    (2, "BPF_MAP_UPDATE_ELEM"),
    (3, "BPF_MAP_DELETE_ELEM"),
    (4, "BPF_MAP_GET_NEXT_KEY"),
    (5, "BPF_PROG_LOAD"),
    (6, "BPF_OBJ_PIN"),
    (7, "BPF_OBJ_GET"),
    (8, "BPF_PROG_ATTACH"),
    (9, "BPF_PROG_DETACH"),
    (10, "BPF_PROG_TEST_RUN"),
    (11, "BPF_PROG_GET_NEXT_ID"),
    (12, "BPF_MAP_GET_NEXT_ID"),
    (13, "BPF_PROG_GET_FD_BY_ID"),
    (14, "BPF_MAP_GET_FD_BY_ID"),
    (15, "BPF_OBJ_GET_INFO_BY_FD"),
    (16, "BPF_PROG_QUERY"),
    (17, "BPF_RAW_TRACEPOINT_OPEN"),
    (18, "BPF_BTF_LOAD"),
    (19, "BPF_BTF_GET_FD_BY_ID"),
    (20, "BPF_TASK_FD_QUERY"),
    (21, "BPF_MAP_LOOKUP_AND_DELETE_ELEM"),
    (22, "BPF_MAP_FREEZE"),
    (23, "BPF_BTF_GET_NEXT_ID"),
    (24, "BPF_MAP_LOOKUP_BATCH"),
    (25, "BPF_MAP_LOOKUP_AND_DELETE_BATCH"),
    (26, "BPF_MAP_UPDATE_BATCH"),
    (27, "BPF_MAP_DELETE_BATCH"),
    (28, "BPF_LINK_CREATE"),
    (29, "BPF_LINK_UPDATE"),
    (30, "BPF_LINK_GET_FD_BY_ID"),
    (31, "BPF_LINK_GET_NEXT_ID"),
    (32, "BPF_ENABLE_STATS"),
    (33, "BPF_ITER_CREATE"),
    (34, "BPF_LINK_DETACH"),
    (35, "BPF_PROG_BIND_MAP"),
    (36, "BPF_TOKEN_CREATE"),
];

static SIGNALS: [&str; 32] = [
    "0",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// Linux errno names, by number (index 0 unused).
static ERRNO: [&str; 134] = [
    "",
    "EPERM",
    "ENOENT",
    "ESRCH",
    "EINTR",
    "EIO",
    "ENXIO",
    "E2BIG",
    "ENOEXEC",
    "EBADF",
    "ECHILD",
    "EAGAIN",
    "ENOMEM",
    "EACCES",
    "EFAULT",
    "ENOTBLK",
    "EBUSY",
    "EEXIST",
    "EXDEV",
    "ENODEV",
    "ENOTDIR",
    "EISDIR",
    "EINVAL",
    "ENFILE",
    "EMFILE",
    "ENOTTY",
    "ETXTBSY",
    "EFBIG",
    "ENOSPC",
    "ESPIPE",
    "EROFS",
    "EMLINK",
    "EPIPE",
    "EDOM",
    "ERANGE",
    "EDEADLK",
    "ENAMETOOLONG",
    "ENOLCK",
    "ENOSYS",
    "ENOTEMPTY",
    "ELOOP",
    "",
    "ENOMSG",
    "EIDRM",
    "ECHRNG",
    "EL2NSYNC",
    "EL3HLT",
    "EL3RST",
    "ELNRNG",
    "EUNATCH",
    "ENOCSI",
    "EL2HLT",
    "EBADE",
    "EBADR",
    "EXFULL",
    "ENOANO",
    "EBADRQC",
    "EBADSLT",
    "",
    "EBFONT",
    "ENOSTR",
    "ENODATA",
    "ETIME",
    "ENOSR",
    "ENONET",
    "ENOPKG",
    "EREMOTE",
    "ENOLINK",
    "EADV",
    "ESRMNT",
    "ECOMM",
    "EPROTO",
    "EMULTIHOP",
    "EDOTDOT",
    "EBADMSG",
    "EOVERFLOW",
    "ENOTUNIQ",
    "EBADFD",
    "EREMCHG",
    "ELIBACC",
    "ELIBBAD",
    "ELIBSCN",
    "ELIBMAX",
    "ELIBEXEC",
    "EILSEQ",
    "ERESTART",
    "ESTRPIPE",
    "EUSERS",
    "ENOTSOCK",
    "EDESTADDRREQ",
    "EMSGSIZE",
    "EPROTOTYPE",
    "ENOPROTOOPT",
    "EPROTONOSUPPORT",
    "ESOCKTNOSUPPORT",
    "EOPNOTSUPP",
    "EPFNOSUPPORT",
    "EAFNOSUPPORT",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "ENETDOWN",
    "ENETUNREACH",
    "ENETRESET",
    "ECONNABORTED",
    "ECONNRESET",
    "ENOBUFS",
    "EISCONN",
    "ENOTCONN",
    "ESHUTDOWN",
    "ETOOMANYREFS",
    "ETIMEDOUT",
    "ECONNREFUSED",
    "EHOSTDOWN",
    "EHOSTUNREACH",
    "EALREADY",
    "EINPROGRESS",
    "ESTALE",
    "EUCLEAN",
    "ENOTNAM",
    "ENAVAIL",
    "EISNAM",
    "EREMOTEIO",
    "EDQUOT",
    "ENOMEDIUM",
    "EMEDIUMTYPE",
    "ECANCELED",
    "ENOKEY",
    "EKEYEXPIRED",
    "EKEYREVOKED",
    "EKEYREJECTED",
    "EOWNERDEAD",
    "ENOTRECOVERABLE",
    "ERFKILL",
    "EHWPOISON",
];

/// The errno name of a negative return value (`-2` → `ENOENT`).
pub fn errno_name(ret: i64) -> Option<&'static str> {
    let n = usize::try_from(ret.checked_neg()?).ok()?;
    ERRNO.get(n).copied().filter(|s| !s.is_empty())
}

/// Writes a result like Falco's `evt.res`: `SUCCESS`, or the errno name.
pub fn write_res(o: &mut Out<'_>, ret: i64) {
    if ret >= 0 {
        o.str("SUCCESS");
    } else if let Some(n) = errno_name(ret) {
        o.str(n);
    } else {
        let _ = write!(o.buf(), "{ret}");
    }
}

// ------------------------------------------------------------------------
// Parameter lists

/// One parameter of an event type: its Falco name and whether Kestrel's
/// events carry it.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    pub name: &'static str,
    pub supplied: bool,
}

const fn p(name: &'static str) -> Param {
    Param {
        name,
        supplied: true,
    }
}

/// A parameter Falco has and Kestrel's events do not (no value).
const fn np(name: &'static str) -> Param {
    Param {
        name,
        supplied: false,
    }
}

/// The parameters of some event types, in Falco's order (`evt.arg[N]`).
pub struct ArgLayout {
    pub types: &'static [&'static str],
    pub params: &'static [Param],
}

const fn l(types: &'static [&'static str], params: &'static [Param]) -> ArgLayout {
    ArgLayout { types, params }
}

/// The parameter lists of every event type Kestrel produces, after
/// Falco's exit events (which carry the enter parameters too).
pub static ARG_LAYOUTS: &[ArgLayout] = &[
    l(
        &["execve", "execveat"],
        &[
            p("res"),
            p("exe"),
            p("args"),
            p("filename"),
            p("pid"),
            p("tid"),
            p("ptid"),
            p("cwd"),
            p("comm"),
            p("tty"),
            p("loginuid"),
            p("cap_effective"),
            np("flags"),
            np("env"),
            p("dirfd"),
        ],
    ),
    l(
        &["clone", "clone3", "fork", "vfork"],
        &[
            p("res"),
            p("exe"),
            p("args"),
            p("tid"),
            p("pid"),
            p("ptid"),
            p("cwd"),
            p("comm"),
            p("flags"),
            p("child_tid"),
        ],
    ),
    l(
        &["procexit"],
        &[p("status"), p("ret"), p("sig"), np("core")],
    ),
    l(
        &["open"],
        &[
            p("fd"),
            p("name"),
            p("flags"),
            p("mode"),
            np("dev"),
            np("ino"),
        ],
    ),
    l(
        &["openat", "openat2"],
        &[
            p("fd"),
            p("dirfd"),
            p("name"),
            p("flags"),
            p("mode"),
            np("dev"),
            np("ino"),
        ],
    ),
    l(
        &["creat"],
        &[p("fd"), p("name"), p("mode"), np("dev"), np("ino")],
    ),
    l(&["connect"], &[p("res"), p("tuple"), p("fd"), p("addr")]),
    l(
        &["accept", "accept4"],
        &[
            p("fd"),
            p("tuple"),
            np("queuepct"),
            np("queuelen"),
            np("queuemax"),
            p("flags"),
        ],
    ),
    l(&["bind"], &[p("res"), p("addr"), p("fd")]),
    l(&["listen"], &[p("res"), p("fd"), p("backlog")]),
    l(&["socket"], &[p("fd"), p("domain"), p("type"), p("proto")]),
    l(
        &["sendto"],
        &[p("res"), np("data"), p("fd"), p("size"), p("tuple")],
    ),
    l(
        &["recvfrom"],
        &[p("res"), np("data"), p("tuple"), p("fd"), p("size")],
    ),
    l(
        &["ptrace"],
        &[p("res"), np("addr"), np("data"), p("request"), p("pid")],
    ),
    l(&["chmod"], &[p("res"), p("filename"), p("mode")]),
    l(&["fchmod"], &[p("res"), p("fd"), p("mode")]),
    l(
        &["fchmodat", "fchmodat2"],
        &[p("res"), p("dirfd"), p("filename"), p("mode")],
    ),
    l(&["link"], &[p("res"), p("oldpath"), p("newpath")]),
    l(
        &["linkat"],
        &[
            p("res"),
            np("olddir"),
            p("oldpath"),
            np("newdir"),
            p("newpath"),
            p("flags"),
        ],
    ),
    l(&["symlink"], &[p("res"), p("target"), p("linkpath")]),
    l(
        &["symlinkat"],
        &[p("res"), p("target"), np("linkdirfd"), p("linkpath")],
    ),
    l(&["unlink", "rmdir"], &[p("res"), p("path")]),
    l(
        &["unlinkat"],
        &[p("res"), np("dirfd"), p("name"), p("flags")],
    ),
    l(&["rename"], &[p("res"), p("oldpath"), p("newpath")]),
    l(
        &["renameat", "renameat2"],
        &[
            p("res"),
            np("olddirfd"),
            p("oldpath"),
            np("newdirfd"),
            p("newpath"),
            p("flags"),
        ],
    ),
    l(&["mkdir"], &[p("res"), p("path"), p("mode")]),
    l(&["mkdirat"], &[p("res"), np("dirfd"), p("path"), p("mode")]),
    l(&["memfd_create"], &[p("fd"), p("name"), p("flags")]),
    l(
        &["mount"],
        &[p("res"), p("dev"), p("dir"), p("type"), p("flags")],
    ),
    l(&["umount2", "umount"], &[p("res"), p("name"), p("flags")]),
    l(&["setns"], &[p("res"), p("fd"), p("nstype")]),
    l(&["unshare"], &[p("res"), p("flags")]),
    l(
        &["init_module"],
        &[p("res"), np("img"), np("length"), p("uargs")],
    ),
    l(
        &["finit_module"],
        &[p("res"), p("fd"), p("uargs"), p("flags")],
    ),
    l(&["userfaultfd"], &[p("res"), p("flags")]),
    l(&["dup"], &[p("res"), p("oldfd")]),
    l(&["dup2"], &[p("res"), p("oldfd"), p("newfd")]),
    l(&["dup3"], &[p("res"), p("oldfd"), p("newfd"), p("flags")]),
    l(&["setuid", "setfsuid"], &[p("res"), p("uid")]),
    l(&["setgid", "setfsgid"], &[p("res"), p("gid")]),
    l(&["setreuid"], &[p("res"), p("ruid"), p("euid")]),
    l(&["setregid"], &[p("res"), p("rgid"), p("egid")]),
    l(&["setresuid"], &[p("res"), p("ruid"), p("euid"), p("suid")]),
    l(&["setresgid"], &[p("res"), p("rgid"), p("egid"), p("sgid")]),
    l(&["bpf"], &[p("fd"), p("cmd")]),
    l(&["kill"], &[p("res"), p("pid"), p("sig")]),
    l(&["tkill"], &[p("res"), p("tid"), p("sig")]),
    l(&["tgkill"], &[p("res"), np("pid"), p("tid"), p("sig")]),
];

/// The parameter list of an event type, by its [`EVENT_TYPES`] index.
pub fn layout(idx: Option<u16>) -> Option<&'static ArgLayout> {
    static BY_TYPE: OnceLock<Vec<Option<&'static ArgLayout>>> = OnceLock::new();
    let table = BY_TYPE.get_or_init(|| {
        EVENT_TYPES
            .iter()
            .map(|t| ARG_LAYOUTS.iter().find(|l| l.types.contains(&t.name)))
            .collect()
    });
    table.get(usize::from(idx?)).copied().flatten()
}

/// Whether some captured event type supplies this argument (for `check`).
pub fn arg_captured(key: Option<&str>, index: Option<u32>) -> bool {
    arg_captured_for(KindSet::all(), key, index)
}

/// Whether a captured event type of one of `kinds` supplies the argument.
pub fn arg_captured_for(kinds: KindSet, key: Option<&str>, index: Option<u32>) -> bool {
    ARG_LAYOUTS.iter().any(|l| {
        l.types
            .iter()
            .any(|t| kind_of_name(t).is_some_and(|k| k.is_captured() && kinds.contains(k)))
            && match (key, index) {
                (Some(k), _) => l.params.iter().any(|p| p.supplied && p.name == k),
                (None, Some(i)) => l.params.get(i as usize).is_some_and(|p| p.supplied),
                (None, None) => true,
            }
    })
}

// ------------------------------------------------------------------------
// Reading one argument

fn num(o: &mut Out<'_>, n: impl std::fmt::Display) {
    let _ = write!(o.buf(), "{n}");
}

/// An fd-valued result (`fd` of open, socket, accept...): the number, or
/// the errno name when negative (raw: always the number).
fn fd_res(o: &mut Out<'_>, ret: i64, raw: bool) {
    if raw || ret >= 0 {
        num(o, ret);
    } else {
        write_res(o, ret);
    }
}

fn res(o: &mut Out<'_>, ret: i64, raw: bool) {
    if raw || ret >= 0 {
        num(o, ret);
    } else {
        write_res(o, ret);
    }
}

fn dirfd(o: &mut Out<'_>, d: i32, raw: bool) {
    if d == AT_FDCWD && !raw {
        o.str("AT_FDCWD");
    } else {
        num(o, d);
    }
}

fn flags(o: &mut Out<'_>, v: u64, table: &[(u64, &str)], raw: bool) {
    if raw {
        num(o, v);
    } else {
        write_flags(o.buf(), v, table);
    }
}

fn named(o: &mut Out<'_>, v: u64, table: &[(u64, &'static str)], raw: bool) {
    match enum_name(v, table) {
        Some(n) if !raw => o.str(n),
        _ => num(o, v),
    }
}

fn signal(o: &mut Out<'_>, sig: u64, raw: bool) {
    match SIGNALS.get(sig as usize) {
        Some(n) if !raw => o.str(n),
        _ => num(o, sig),
    }
}

fn addr(o: &mut Out<'_>, a: &SockAddr) {
    let b = o.buf();
    match a {
        SockAddr::Inet { addr, port } => {
            let _ = write!(b, "{addr}:{port}");
        }
        SockAddr::Inet6 { addr, port } => {
            let _ = write!(b, "{addr}:{port}");
        }
        SockAddr::Unix { path } => b.push_str(path),
        SockAddr::Other { family_id } => {
            let _ = write!(b, "family {family_id}");
        }
    }
}

/// Writes argument `name` of the event (`raw`: numbers behind flags and
/// enums, as `evt.rawarg`); writes nothing when the event has no such
/// argument.
pub fn write_arg(s: &Src<'_>, name: &str, raw: bool, o: &mut Out<'_>) {
    match &s.ev.body {
        EventBody::Syscall(sc) => syscall_arg(s, sc, name, raw, o),
        EventBody::Exec(e) => match name {
            "res" => o.str("0"),
            "exe" | "args" | "pid" | "tid" | "ptid" | "comm" => process_arg(s, name, o),
            "filename" => o.str(&e.filename),
            "cwd" => o.str(&e.cwd),
            "tty" => num(o, e.tty),
            "loginuid" => num(o, e.loginuid.map_or(-1, i64::from)),
            "cap_effective" => {
                if raw {
                    num(o, e.cap_effective)
                } else {
                    super::fields::write_caps(o.buf(), e.cap_effective)
                }
            }
            _ => {}
        },
        EventBody::Fork(f) => match name {
            "res" => num(o, f.child_tgid),
            "child_tid" => num(o, f.child_pid),
            "exe" | "args" | "pid" | "tid" | "ptid" | "cwd" | "comm" => process_arg(s, name, o),
            _ => {}
        },
        EventBody::Exit(x) => match name {
            // Falco: status is the raw wait status, ret the exit code.
            "status" => num(o, (x.status << 8) | (x.signal & 0x7f)),
            "ret" => num(o, x.status),
            "sig" => signal(o, x.signal as u64, raw),
            _ => {}
        },
        EventBody::FirstSyscall(_) | EventBody::Cgroup(_) => {}
    }
}

/// Process parameters of exec/clone events, from the context.
fn process_arg(s: &Src<'_>, name: &str, o: &mut Out<'_>) {
    let h = &s.ev.header;
    match name {
        "exe" => {
            if let Some(a) = s.argv0() {
                o.str(a)
            }
        }
        "args" if !s.write_args(o.buf()) => o.v.state = super::fields::State::Absent,
        "pid" => num(o, h.tgid),
        "tid" => num(o, h.pid),
        "ptid" => {
            if let Some(p) = s.ppid() {
                num(o, p)
            }
        }
        "comm" => o.str(h.comm.as_str()),
        "cwd" => {
            if let Some(c) = s.proc().and_then(|p| p.cwd.as_deref()) {
                o.str(c)
            }
        }
        _ => {}
    }
}

fn syscall_arg(s: &Src<'_>, sc: &Syscall, name: &str, raw: bool, o: &mut Out<'_>) {
    use SyscallArgs as A;
    let ret = sc.ret;
    match (&sc.args, name) {
        (A::Open { .. }, "fd") => fd_res(o, ret, raw),
        (A::Open { path, .. }, "name") => o.str(path),
        (A::Open { flags: f, .. }, "flags") => {
            if raw {
                num(o, f)
            } else {
                write_open_flags(o.buf(), *f)
            }
        }
        (A::Open { mode, .. }, "mode") => {
            if raw {
                num(o, mode)
            } else {
                write_mode(o.buf(), *mode)
            }
        }
        (A::Open { dirfd: Some(d), .. }, "dirfd") => dirfd(o, *d, raw),
        (A::Exec { .. }, "res") => res(o, ret, raw),
        (A::Exec { path, .. }, "filename") => o.str(path),
        (A::Exec { dirfd: Some(d), .. }, "dirfd") => dirfd(o, *d, raw),
        (A::Exec { .. }, "exe" | "args" | "pid" | "tid" | "ptid" | "comm" | "cwd") => {
            process_arg(s, name, o)
        }
        (A::Connect { fd, .. }, "fd") | (A::Bind { fd, .. }, "fd") => num(o, fd),
        (A::Listen { fd, .. }, "fd") | (A::Send { fd, .. }, "fd") => num(o, fd),
        (A::Connect { addr: Some(a), .. } | A::Bind { addr: Some(a), .. }, "addr") => addr(o, a),
        (A::Connect { .. } | A::Accept { .. } | A::Send { .. }, "tuple") => {
            if let Some(f) = s.fd()
                && !fdinfo::write_name(s, &f, o.buf())
            {
                o.v.state = super::fields::State::Absent;
            }
        }
        (A::Accept { .. }, "fd") => fd_res(o, ret, raw),
        (A::Accept { flags: f, .. }, "flags") if sc.name == "accept4" => {
            flags(o, u64::from(*f), ACCEPT_FLAGS, raw)
        }
        (A::Listen { backlog, .. }, "backlog") => num(o, backlog),
        (A::Socket { .. }, "fd") => fd_res(o, ret, raw),
        (A::Socket { domain, .. }, "domain") => named(o, u64::from(*domain), SOCKET_DOMAINS, raw),
        (A::Socket { sock_type, .. }, "type") => num(o, sock_type),
        (A::Socket { protocol, .. }, "proto") => num(o, protocol),
        (A::Send { len, .. }, "size") => num(o, len),
        (A::Ptrace { request, .. }, "request") => named(o, *request, PTRACE_REQUESTS, raw),
        (A::Ptrace { target_pid, .. }, "pid") => num(o, target_pid),
        (A::Chmod { path: Some(p), .. }, "filename") => o.str(p),
        (A::Chmod { fd: Some(d), .. }, "fd") if sc.name == "fchmod" => num(o, d),
        (A::Chmod { fd: Some(d), .. }, "dirfd") if sc.name != "fchmod" => dirfd(o, *d, raw),
        (A::Chmod { mode, .. } | A::Mkdir { mode, .. }, "mode") => {
            if raw {
                num(o, mode)
            } else {
                write_mode(o.buf(), *mode)
            }
        }
        (A::Link { target, .. }, "target" | "oldpath") => o.str(target),
        (A::Link { linkpath, .. }, "linkpath" | "newpath") => o.str(linkpath),
        (A::Link { flags: f, .. }, "flags") => flags(o, u64::from(*f), LINKAT_FLAGS, raw),
        (A::Unlink { path, .. }, "path" | "name") => o.str(path),
        (A::Unlink { flags: f, .. }, "flags") => flags(o, u64::from(*f), UNLINK_FLAGS, raw),
        (A::Rename { oldpath, .. }, "oldpath") => o.str(oldpath),
        (A::Rename { newpath, .. }, "newpath") => o.str(newpath),
        (A::Rename { flags: f, .. }, "flags") => flags(o, u64::from(*f), RENAME_FLAGS, raw),
        (A::Mkdir { path, .. }, "path") => o.str(path),
        (A::MemfdCreate { .. }, "fd") => fd_res(o, ret, raw),
        (A::MemfdCreate { name: n, .. }, "name") => o.str(n),
        (A::MemfdCreate { flags: f, .. }, "flags") => flags(o, u64::from(*f), MEMFD_FLAGS, raw),
        (A::Mount { source, .. }, "dev") => o.str(source),
        (A::Mount { target, .. }, "dir") => o.str(target),
        (A::Mount { fstype, .. }, "type") => o.str(fstype),
        (A::Mount { flags: f, .. }, "flags") => {
            // The legacy magic number in the high half is not a flag.
            let f = if f >> 16 == 0xC0ED { f & 0xffff } else { *f };
            flags(o, f, MOUNT_FLAGS, raw)
        }
        (A::Umount { target, .. }, "name") => o.str(target),
        (A::Umount { flags: f, .. }, "flags") => flags(o, u64::from(*f), UMOUNT_FLAGS, raw),
        (A::Setns { fd, .. }, "fd") => num(o, fd),
        (A::Setns { nstype, .. }, "nstype") => flags(o, u64::from(*nstype), CLONE_FLAGS, raw),
        (A::Unshare { flags: f }, "flags") | (A::Clone { flags: f }, "flags") => {
            flags(o, *f, CLONE_FLAGS, raw)
        }
        (A::Module { params, .. }, "uargs") => o.str(params),
        (A::Module { fd: Some(d), .. }, "fd") => num(o, d),
        (A::Module { flags: f, .. }, "flags") if sc.name == "finit_module" => {
            flags(o, u64::from(*f), MODULE_FLAGS, raw)
        }
        (A::Userfaultfd { flags: f }, "flags") => flags(o, u64::from(*f), FD_FLAGS, raw),
        (A::Dup { oldfd, .. }, "oldfd") => num(o, oldfd),
        (A::Dup { newfd: Some(n), .. }, "newfd") => num(o, n),
        (A::Dup { flags: f, .. }, "flags") => flags(o, u64::from(*f), FD_FLAGS, raw),
        (A::SetId { ids }, _) => {
            let i = match name {
                "uid" | "gid" | "ruid" | "rgid" => 0,
                "euid" | "egid" => 1,
                "suid" | "sgid" => 2,
                _ => return res_or_fd(sc, name, raw, o),
            };
            if let Some(id) = ids.get(i) {
                num(o, id)
            }
        }
        (A::Bpf { .. }, "fd") => fd_res(o, ret, raw),
        (A::Bpf { cmd }, "cmd") => named(o, u64::from(*cmd), BPF_CMDS, raw),
        (A::Kill { target_pid, .. }, "pid") if sc.name == "kill" => num(o, target_pid),
        (A::Kill { target_pid, .. }, "tid") if sc.name != "kill" => num(o, target_pid),
        (A::Kill { signal: sig, .. }, "sig") => signal(o, u64::from(*sig), raw),
        (
            A::Clone { .. } | A::None {},
            "exe" | "args" | "pid" | "tid" | "ptid" | "cwd" | "comm",
        ) if kind_of_name(sc.name) == Some(Kind::Fork) => process_arg(s, name, o),
        _ => res_or_fd(sc, name, raw, o),
    }
}

/// `res` of any syscall whose layout has it.
fn res_or_fd(sc: &Syscall, name: &str, raw: bool, o: &mut Out<'_>) {
    if name == "res" {
        res(o, sc.ret, raw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_render_like_falco() {
        let mut b = String::new();
        write_open_flags(&mut b, O_WRONLY | O_CREAT | O_TRUNC | 0o2000000);
        assert_eq!(b, "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC");
        b.clear();
        write_open_flags(&mut b, 0);
        assert_eq!(b, "O_RDONLY");
        b.clear();
        write_open_flags(&mut b, O_RDWR | O_DIRECTORY);
        assert_eq!(b, "O_RDWR|O_DIRECTORY");
    }

    #[test]
    fn modes_and_flags_render_names() {
        let mut b = String::new();
        write_mode(&mut b, 0o4755);
        assert_eq!(
            b,
            "S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID"
        );
        b.clear();
        write_flags(&mut b, 0x40000000 | 0x20000, CLONE_FLAGS);
        assert_eq!(b, "CLONE_NEWNS|CLONE_NEWNET");
        b.clear();
        write_flags(&mut b, 0, CLONE_FLAGS);
        assert_eq!(b, "0");
    }

    #[test]
    fn errno_names_cover_common_failures() {
        assert_eq!(errno_name(-2), Some("ENOENT"));
        assert_eq!(errno_name(-13), Some("EACCES"));
        assert_eq!(errno_name(-115), Some("EINPROGRESS"));
        assert_eq!(errno_name(-133), Some("EHWPOISON"));
        assert_eq!(errno_name(-41), None);
        assert_eq!(errno_name(-9999), None);
        assert_eq!(errno_name(0), None);
        assert_eq!(errno_name(i64::MIN), None);
    }

    #[test]
    fn every_captured_syscall_has_a_parameter_list() {
        for (name, _) in kestrel_common::syscalls::NAMES {
            let idx = super::super::evttypes::type_index(name);
            assert!(layout(idx).is_some(), "{name} has no parameter list");
        }
    }
}
