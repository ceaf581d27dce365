//! Syscalls Kestrel captures: an architecture-independent [`Handler`] id per
//! syscall, the [`SyscallSpec`] telling the kernel dispatcher which
//! arguments point to strings, socket addresses or fds, and one syscall
//! number table per architecture.
//!
//! The kernel side holds no syscall numbers: userspace writes
//! `SYSCALLS[nr] = spec` for the running architecture at load time, so the
//! same eBPF code serves x86_64 and arm64.

/// Architecture-independent ids of the captured syscalls.
#[allow(non_upper_case_globals)]
pub mod handler {
    pub const NONE: u16 = 0;
    pub const OPEN: u16 = 1;
    pub const OPENAT: u16 = 2;
    pub const OPENAT2: u16 = 3;
    pub const CREAT: u16 = 4;
    pub const EXECVE: u16 = 5;
    pub const EXECVEAT: u16 = 6;
    pub const CONNECT: u16 = 7;
    pub const ACCEPT: u16 = 8;
    pub const ACCEPT4: u16 = 9;
    pub const BIND: u16 = 10;
    pub const LISTEN: u16 = 11;
    pub const SOCKET: u16 = 12;
    pub const SENDTO: u16 = 13;
    pub const RECVFROM: u16 = 14;
    pub const PTRACE: u16 = 15;
    pub const CHMOD: u16 = 16;
    pub const FCHMOD: u16 = 17;
    pub const FCHMODAT: u16 = 18;
    pub const FCHMODAT2: u16 = 19;
    pub const LINK: u16 = 20;
    pub const LINKAT: u16 = 21;
    pub const SYMLINK: u16 = 22;
    pub const SYMLINKAT: u16 = 23;
    pub const UNLINK: u16 = 24;
    pub const UNLINKAT: u16 = 25;
    pub const RENAME: u16 = 26;
    pub const RENAMEAT: u16 = 27;
    pub const RENAMEAT2: u16 = 28;
    pub const MKDIR: u16 = 29;
    pub const MKDIRAT: u16 = 30;
    pub const MEMFD_CREATE: u16 = 31;
    pub const MOUNT: u16 = 32;
    pub const UMOUNT2: u16 = 33;
    pub const SETNS: u16 = 34;
    pub const UNSHARE: u16 = 35;
    pub const INIT_MODULE: u16 = 36;
    pub const FINIT_MODULE: u16 = 37;
    pub const USERFAULTFD: u16 = 38;
    pub const DUP: u16 = 39;
    pub const DUP2: u16 = 40;
    pub const DUP3: u16 = 41;
    pub const SETUID: u16 = 42;
    pub const SETGID: u16 = 43;
    pub const SETREUID: u16 = 44;
    pub const SETREGID: u16 = 45;
    pub const SETRESUID: u16 = 46;
    pub const SETRESGID: u16 = 47;
    pub const BPF: u16 = 48;
    pub const KILL: u16 = 49;
    pub const TKILL: u16 = 50;
    pub const TGKILL: u16 = 51;
    pub const CLONE: u16 = 52;
    pub const CLONE3: u16 = 53;
    pub const FORK: u16 = 54;
    pub const VFORK: u16 = 55;
    pub const SETFSUID: u16 = 56;
    pub const SETFSGID: u16 = 57;
    pub const RMDIR: u16 = 58;
    /// One past the highest id.
    pub const COUNT: u16 = 59;
}

/// Every captured syscall by name, as Falco's `evt.type` spells it.
pub const NAMES: &[(&str, u16)] = &[
    ("open", handler::OPEN),
    ("openat", handler::OPENAT),
    ("openat2", handler::OPENAT2),
    ("creat", handler::CREAT),
    ("execve", handler::EXECVE),
    ("execveat", handler::EXECVEAT),
    ("connect", handler::CONNECT),
    ("accept", handler::ACCEPT),
    ("accept4", handler::ACCEPT4),
    ("bind", handler::BIND),
    ("listen", handler::LISTEN),
    ("socket", handler::SOCKET),
    ("sendto", handler::SENDTO),
    ("recvfrom", handler::RECVFROM),
    ("ptrace", handler::PTRACE),
    ("chmod", handler::CHMOD),
    ("fchmod", handler::FCHMOD),
    ("fchmodat", handler::FCHMODAT),
    ("fchmodat2", handler::FCHMODAT2),
    ("link", handler::LINK),
    ("linkat", handler::LINKAT),
    ("symlink", handler::SYMLINK),
    ("symlinkat", handler::SYMLINKAT),
    ("unlink", handler::UNLINK),
    ("unlinkat", handler::UNLINKAT),
    ("rmdir", handler::RMDIR),
    ("rename", handler::RENAME),
    ("renameat", handler::RENAMEAT),
    ("renameat2", handler::RENAMEAT2),
    ("mkdir", handler::MKDIR),
    ("mkdirat", handler::MKDIRAT),
    ("memfd_create", handler::MEMFD_CREATE),
    ("mount", handler::MOUNT),
    ("umount2", handler::UMOUNT2),
    ("setns", handler::SETNS),
    ("unshare", handler::UNSHARE),
    ("init_module", handler::INIT_MODULE),
    ("finit_module", handler::FINIT_MODULE),
    ("userfaultfd", handler::USERFAULTFD),
    ("dup", handler::DUP),
    ("dup2", handler::DUP2),
    ("dup3", handler::DUP3),
    ("setuid", handler::SETUID),
    ("setgid", handler::SETGID),
    ("setreuid", handler::SETREUID),
    ("setregid", handler::SETREGID),
    ("setresuid", handler::SETRESUID),
    ("setresgid", handler::SETRESGID),
    ("setfsuid", handler::SETFSUID),
    ("setfsgid", handler::SETFSGID),
    ("bpf", handler::BPF),
    ("kill", handler::KILL),
    ("tkill", handler::TKILL),
    ("tgkill", handler::TGKILL),
    ("clone", handler::CLONE),
    ("clone3", handler::CLONE3),
    ("fork", handler::FORK),
    ("vfork", handler::VFORK),
];

/// The name of handler `h` ("unknown" for an id outside the table).
pub fn name_of(h: u16) -> &'static str {
    let mut i = 0;
    while i < NAMES.len() {
        if NAMES[i].1 == h {
            return NAMES[i].0;
        }
        i += 1;
    }
    "unknown"
}

/// Where the fd to inspect comes from ([`SyscallSpec::fd`]).
pub const FD_FROM_RET: u8 = 7;

/// Bits of [`SyscallSpec::flags`].
pub mod spec_flags {
    /// Emit only when the syscall failed (successful execs are reported by
    /// `sched_process_exec`).
    pub const ERRORS_ONLY: u8 = 1 << 0;
    /// `addr` points to a fixed 24-byte struct to copy (open_how, clone_args).
    pub const ADDR_IS_BLOB: u8 = 1 << 1;
    /// `addr` points to a NUL-terminated string (mount's fstype).
    pub const ADDR_IS_STR: u8 = 1 << 2;
    /// Skip a result of 0: the child's return from clone/fork (the parent's
    /// return reports the call).
    pub const PARENT_ONLY: u8 = 1 << 3;
    /// Capture only in containers: skip tasks whose cgroup userspace marked
    /// as a host cgroup (`HOST_CGROUPS`); every rule that needs the syscall
    /// is scoped to containers.
    pub const CONTAINERS_ONLY: u8 = 1 << 4;
    /// For a host task's successful open: capture only when the opened
    /// file's path starts with a prefix in `HOST_OPEN_PREFIXES` (what host
    /// rules test `fd.name` against).
    pub const HOST_PATH_FILTER: u8 = 1 << 5;
}

/// Bytes of a path a `HOST_OPEN_PREFIXES` key holds: longer prefixes are
/// cut (matching more paths, never fewer).
pub const PATH_PREFIX_BYTES: usize = 64;

/// Entries of the `HOST_OPEN_PREFIXES` LPM trie.
pub const MAX_PATH_PREFIXES: u32 = 1024;

/// A cheap first test before the trie: one bit per (head length, head) of
/// every prefix, where the head is its first `min(len, 8)` bytes. A path
/// can start with a prefix only if the head of the same length of the path
/// has its bit set, so a clear bit rejects the path without the trie walk;
/// a set bit (a real head or a hash collision) asks the trie.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathHeads {
    /// Bit `l` set: some prefix has a head of `l` bytes (1..=8).
    pub lengths: u64,
    pub bits: [u64; HEAD_WORDS],
}

/// Words of [`PathHeads::bits`] (4096 bits).
pub const HEAD_WORDS: usize = 64;

impl PathHeads {
    pub const EMPTY: PathHeads = PathHeads {
        lengths: 0,
        bits: [0; HEAD_WORDS],
    };

    /// The bit of a head: `head` holds `len` bytes (1..=8) little-endian,
    /// the rest zero.
    #[inline(always)]
    pub fn slot(head: u64, len: u32) -> (usize, u64) {
        let h = (head.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(len))
            .wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        let bit = (h >> 52) as usize; // 12 bits: 0..4096
        ((bit / 64) % HEAD_WORDS, 1u64 << (bit % 64))
    }

    /// The first `len` (1..=8) bytes of `word` (little-endian), the rest
    /// zeroed.
    #[inline(always)]
    pub fn head(word: u64, len: u32) -> u64 {
        if len >= 8 {
            word
        } else {
            word & ((1u64 << (8 * len)) - 1)
        }
    }

    /// Put a path component in front of a path whose first 8 bytes are
    /// `word` (little-endian) and whose length is `len`: `name_head` holds
    /// the component's first bytes (any beyond `name_len` are ignored).
    /// Returns the longer path's first 8 bytes and length. A path is built
    /// this way from its last component up, as a dentry walk meets them.
    #[inline(always)]
    pub fn prepend(word: u64, len: usize, name_head: u64, name_len: u32) -> (u64, usize) {
        let piece = u64::from(b'/') | (PathHeads::head(name_head, name_len.min(7)) << 8);
        let piece_len = 1 + name_len as usize;
        let word = if piece_len >= 8 {
            piece
        } else {
            piece | (word << (8 * piece_len))
        };
        (word, len + piece_len)
    }

    /// Add a prefix (non-empty bytes).
    pub fn add(&mut self, prefix: &[u8]) {
        let len = prefix.len().min(8);
        if len == 0 {
            return;
        }
        let mut word = [0u8; 8];
        word[..len].copy_from_slice(&prefix[..len]);
        let (i, bit) = PathHeads::slot(u64::from_le_bytes(word), len as u32);
        self.bits[i] |= bit;
        self.lengths |= 1 << len;
    }

    /// Could a path whose first 8 bytes are `word` (little-endian; bytes
    /// past its end are ignored) and whose length is `path_len` start with
    /// one of the prefixes?
    #[inline(always)]
    pub fn may_match(&self, word: u64, path_len: usize) -> bool {
        let mut len = 1u32;
        while len <= 8 {
            if self.lengths & (1 << len) != 0 && path_len >= len as usize {
                let (i, bit) = PathHeads::slot(PathHeads::head(word, len), len);
                if self.bits[i] & bit != 0 {
                    return true;
                }
            }
            len += 1;
        }
        false
    }
}

/// How the dispatcher treats one syscall number. All-zero: not captured.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallSpec {
    /// One of [`handler`]; `NONE` means not captured.
    pub handler: u16,
    /// Argument index + 1 of a user string to copy into `str1` (0: none).
    pub str1: u8,
    /// Argument index + 1 of a user string to copy into `str2` (0: none).
    pub str2: u8,
    /// Argument index + 1 of a user pointer to copy into `addr` (0: none).
    pub addr: u8,
    /// Argument index + 1 holding the byte length of `addr` (0: none).
    pub addr_len: u8,
    /// Argument index + 1 of an fd to inspect, or [`FD_FROM_RET`] (0: none).
    pub fd: u8,
    /// Bits of [`spec_flags`].
    pub flags: u8,
    /// What a relative `str1` is relative to: [`AT_CWD`], the argument
    /// index + 1 of a directory fd (`*at` calls), or [`NOT_A_PATH`].
    pub dir1: u8,
    /// The same for `str2`.
    pub dir2: u8,
}

/// [`SyscallSpec::dir1`]: relative to the working directory.
pub const AT_CWD: u8 = 0;
/// [`SyscallSpec::dir1`]: the string is not a file path (a symlink's
/// content, a memfd name, module parameters, a mount source).
pub const NOT_A_PATH: u8 = 0xff;

const fn spec(
    handler: u16,
    str1: u8,
    str2: u8,
    addr: u8,
    addr_len: u8,
    fd: u8,
    flags: u8,
) -> SyscallSpec {
    SyscallSpec {
        handler,
        str1,
        str2,
        addr,
        addr_len,
        fd,
        flags,
        dir1: AT_CWD,
        dir2: AT_CWD,
    }
}

/// `spec` with what relative `str1` / `str2` are relative to.
const fn dirs(s: SyscallSpec, dir1: u8, dir2: u8) -> SyscallSpec {
    SyscallSpec { dir1, dir2, ..s }
}

/// The argument layout of each handler (argument positions are 1-based).
pub const fn spec_for(h: u16) -> SyscallSpec {
    use handler::*;
    use spec_flags::*;
    match h {
        OPEN | CREAT => spec(h, 1, 0, 0, 0, FD_FROM_RET, 0),
        OPENAT => dirs(spec(h, 2, 0, 0, 0, FD_FROM_RET, 0), 1, AT_CWD),
        OPENAT2 => dirs(spec(h, 2, 0, 3, 0, FD_FROM_RET, ADDR_IS_BLOB), 1, AT_CWD),
        EXECVE => spec(h, 1, 0, 0, 0, 0, ERRORS_ONLY),
        EXECVEAT => dirs(spec(h, 2, 0, 0, 0, 0, ERRORS_ONLY), 1, AT_CWD),
        CONNECT | BIND => spec(h, 0, 0, 2, 3, 1, 0),
        ACCEPT | ACCEPT4 => spec(h, 0, 0, 0, 0, FD_FROM_RET, 0),
        LISTEN | RECVFROM => spec(h, 0, 0, 0, 0, 1, 0),
        SENDTO => spec(h, 0, 0, 5, 6, 1, 0),
        CHMOD | UNLINK | RMDIR | MKDIR | UMOUNT2 => spec(h, 1, 0, 0, 0, 0, 0),
        FCHMOD | SETNS | DUP | DUP2 | DUP3 => spec(h, 0, 0, 0, 0, 1, 0),
        FCHMODAT | FCHMODAT2 | UNLINKAT | MKDIRAT => dirs(spec(h, 2, 0, 0, 0, 0, 0), 1, AT_CWD),
        LINK | RENAME => spec(h, 1, 2, 0, 0, 0, 0),
        SYMLINK => dirs(spec(h, 1, 2, 0, 0, 0, 0), NOT_A_PATH, AT_CWD),
        LINKAT | RENAMEAT | RENAMEAT2 => dirs(spec(h, 2, 4, 0, 0, 0, 0), 1, 3),
        SYMLINKAT => dirs(spec(h, 1, 3, 0, 0, 0, 0), NOT_A_PATH, 2),
        MEMFD_CREATE => dirs(spec(h, 1, 0, 0, 0, FD_FROM_RET, 0), NOT_A_PATH, AT_CWD),
        MOUNT => dirs(spec(h, 1, 2, 3, 0, 0, ADDR_IS_STR), NOT_A_PATH, AT_CWD),
        INIT_MODULE => dirs(spec(h, 3, 0, 0, 0, 0, 0), NOT_A_PATH, AT_CWD),
        FINIT_MODULE => dirs(spec(h, 2, 0, 0, 0, 1, 0), NOT_A_PATH, AT_CWD),
        CLONE3 => spec(h, 0, 0, 1, 0, 0, ADDR_IS_BLOB | PARENT_ONLY),
        CLONE | FORK | VFORK => spec(h, 0, 0, 0, 0, 0, PARENT_ONLY),
        NONE => spec(NONE, 0, 0, 0, 0, 0, 0),
        _ => spec(h, 0, 0, 0, 0, 0, 0),
    }
}

/// Syscall numbers of x86_64 (arch/x86/entry/syscalls/syscall_64.tbl).
pub const X86_64: &[(u32, u16)] = {
    use handler::*;
    &[
        (2, OPEN),
        (257, OPENAT),
        (437, OPENAT2),
        (85, CREAT),
        (59, EXECVE),
        (322, EXECVEAT),
        (42, CONNECT),
        (43, ACCEPT),
        (288, ACCEPT4),
        (49, BIND),
        (50, LISTEN),
        (41, SOCKET),
        (44, SENDTO),
        (45, RECVFROM),
        (101, PTRACE),
        (90, CHMOD),
        (91, FCHMOD),
        (268, FCHMODAT),
        (452, FCHMODAT2),
        (86, LINK),
        (265, LINKAT),
        (88, SYMLINK),
        (266, SYMLINKAT),
        (87, UNLINK),
        (84, RMDIR),
        (263, UNLINKAT),
        (82, RENAME),
        (264, RENAMEAT),
        (316, RENAMEAT2),
        (83, MKDIR),
        (258, MKDIRAT),
        (319, MEMFD_CREATE),
        (165, MOUNT),
        (166, UMOUNT2),
        (308, SETNS),
        (272, UNSHARE),
        (175, INIT_MODULE),
        (313, FINIT_MODULE),
        (323, USERFAULTFD),
        (32, DUP),
        (33, DUP2),
        (292, DUP3),
        (105, SETUID),
        (106, SETGID),
        (113, SETREUID),
        (114, SETREGID),
        (117, SETRESUID),
        (119, SETRESGID),
        (122, SETFSUID),
        (123, SETFSGID),
        (321, BPF),
        (62, KILL),
        (200, TKILL),
        (234, TGKILL),
        (56, CLONE),
        (435, CLONE3),
        (57, FORK),
        (58, VFORK),
    ]
};

/// Syscall numbers of arm64 (include/uapi/asm-generic/unistd.h). arm64 has
/// no open/creat/link/unlink/rename/mkdir/chmod/symlink/dup2/fork/vfork:
/// libc uses the `*at` forms and clone.
pub const AARCH64: &[(u32, u16)] = {
    use handler::*;
    &[
        (56, OPENAT),
        (437, OPENAT2),
        (221, EXECVE),
        (281, EXECVEAT),
        (203, CONNECT),
        (202, ACCEPT),
        (242, ACCEPT4),
        (200, BIND),
        (201, LISTEN),
        (198, SOCKET),
        (206, SENDTO),
        (207, RECVFROM),
        (117, PTRACE),
        (52, FCHMOD),
        (53, FCHMODAT),
        (452, FCHMODAT2),
        (37, LINKAT),
        (36, SYMLINKAT),
        (35, UNLINKAT),
        (38, RENAMEAT),
        (276, RENAMEAT2),
        (34, MKDIRAT),
        (279, MEMFD_CREATE),
        (40, MOUNT),
        (39, UMOUNT2),
        (268, SETNS),
        (97, UNSHARE),
        (105, INIT_MODULE),
        (273, FINIT_MODULE),
        (282, USERFAULTFD),
        (23, DUP),
        (24, DUP3),
        (146, SETUID),
        (144, SETGID),
        (145, SETREUID),
        (143, SETREGID),
        (147, SETRESUID),
        (149, SETRESGID),
        (151, SETFSUID),
        (152, SETFSGID),
        (280, BPF),
        (129, KILL),
        (130, TKILL),
        (131, TGKILL),
        (220, CLONE),
        (435, CLONE3),
    ]
};

/// The table of the architecture this crate is compiled for (userspace).
pub const fn native_table() -> &'static [(u32, u16)] {
    if cfg!(target_arch = "aarch64") {
        AARCH64
    } else {
        X86_64
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::PathHeads;

    fn word_of(bytes: &[u8]) -> u64 {
        let mut w = [0u8; 8];
        let n = bytes.len().min(8);
        w[..n].copy_from_slice(&bytes[..n]);
        u64::from_le_bytes(w)
    }

    /// Build a path's head the way the typed dentry walk does: last
    /// component first, names padded with garbage past their length.
    fn built(components: &[&str]) -> (u64, usize) {
        let (mut word, mut len) = (0, 0);
        for c in components.iter().rev() {
            let mut padded = c.as_bytes().to_vec();
            padded.extend_from_slice(b"\xffGARBAGE");
            (word, len) = PathHeads::prepend(word, len, word_of(&padded), c.len() as u32);
        }
        (word, len)
    }

    #[test]
    fn prepending_components_gives_the_paths_first_eight_bytes_and_length() {
        for path in [
            "/etc/hostname",
            "/a/b/c",
            "/home/user/.ssh/id_rsa",
            "/x",
            "/abcdefghijkl/m",
            "/ab/cdefg",
        ] {
            let components: Vec<&str> = path[1..].split('/').collect();
            let (word, len) = built(&components);
            assert_eq!(word, word_of(path.as_bytes()), "{path}");
            assert_eq!(len, path.len(), "{path}");
        }
    }

    #[test]
    fn heads_match_built_paths_below_a_prefix_and_not_others() {
        let mut heads = PathHeads::EMPTY;
        for p in ["/etc/shadow", "/home/", "/a"] {
            heads.add(p.as_bytes());
        }
        let may = |components: &[&str]| {
            let (word, len) = built(components);
            heads.may_match(word, len)
        };
        assert!(may(&["etc", "shadow"]));
        assert!(may(&["home", "u", ".ssh", "id_rsa"]));
        assert!(may(&["a"]));
        assert!(!may(&["etc", "hostname"]));
        assert!(!may(&["usr", "lib", "libc.so.6"]));
        assert!(!may(&["tmp"]));
    }
}
