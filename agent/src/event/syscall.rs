//! Decoding of syscall records: typed arguments per syscall family, socket
//! addresses from user memory, the kernel's socket tuple.

use std::net::{Ipv4Addr, Ipv6Addr};

use kestrel_common::{
    ADDR_LEN, STR_LEN, SockTuple as RawTuple, SyscallEvent, sys_flags,
    syscalls::{handler as h, name_of},
};

use super::{
    DecodeError,
    decode::{InPlace, bounded_str},
    model::{SockAddr, SockTuple, Syscall, SyscallArgs},
};

const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// Decode one syscall record.
pub(super) fn decode_syscall(raw: &InPlace<'_, SyscallEvent>) -> Result<Syscall, DecodeError> {
    let rec = &raw.head;
    let name = name_of(rec.handler);
    if name == "unknown" {
        return Err(DecodeError::BadLength {
            kind: "syscall",
            field: "handler",
            len: usize::from(rec.handler),
            max: usize::from(h::COUNT - 1),
        });
    }
    let str1 = bounded_str(raw.array(|r| &r.str1[..]), rec.str1_len, "str1_len")?;
    let str2 = bounded_str(raw.array(|r| &r.str2[..]), rec.str2_len, "str2_len")?;
    let addr_len = usize::from(rec.addr_len);
    if addr_len > ADDR_LEN {
        return Err(DecodeError::BadLength {
            kind: "syscall",
            field: "addr_len",
            len: addr_len,
            max: ADDR_LEN,
        });
    }
    let addr_bytes = raw.array(|r| &r.addr[..addr_len]);
    let has_addr = rec.flags & sys_flags::HAS_ADDR != 0;
    let sockaddr = || has_addr.then(|| parse_sockaddr(addr_bytes)).flatten();
    let a = rec.args;
    let fd = |i: usize| a[i] as i32;
    let args = match rec.handler {
        h::OPEN | h::CREAT => SyscallArgs::Open {
            path: str1,
            flags: if rec.handler == h::CREAT {
                0o1101 // O_CREAT | O_WRONLY | O_TRUNC
            } else {
                a[1]
            },
            mode: if rec.handler == h::CREAT { a[1] } else { a[2] } as u32,
            dirfd: None,
        },
        h::OPENAT => SyscallArgs::Open {
            path: str1,
            flags: a[2],
            mode: a[3] as u32,
            dirfd: Some(fd(0)),
        },
        h::OPENAT2 => {
            // struct open_how { u64 flags; u64 mode; u64 resolve; }
            let word = |i: usize| {
                addr_bytes
                    .get(i * 8..i * 8 + 8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_ne_bytes)
                    .unwrap_or(0)
            };
            SyscallArgs::Open {
                path: str1,
                flags: word(0),
                mode: word(1) as u32,
                dirfd: Some(fd(0)),
            }
        }
        h::EXECVE => SyscallArgs::Exec {
            path: str1,
            dirfd: None,
        },
        h::EXECVEAT => SyscallArgs::Exec {
            path: str1,
            dirfd: Some(fd(0)),
        },
        h::CONNECT => SyscallArgs::Connect {
            fd: fd(0),
            addr: sockaddr(),
        },
        h::BIND => SyscallArgs::Bind {
            fd: fd(0),
            addr: sockaddr(),
        },
        h::ACCEPT | h::ACCEPT4 => SyscallArgs::Accept {
            fd: fd(0),
            flags: if rec.handler == h::ACCEPT4 {
                a[3] as u32
            } else {
                0
            },
        },
        h::LISTEN => SyscallArgs::Listen {
            fd: fd(0),
            backlog: a[1] as i32,
        },
        h::SOCKET => SyscallArgs::Socket {
            domain: a[0] as u32,
            sock_type: a[1] as u32,
            protocol: a[2] as u32,
        },
        h::SENDTO | h::RECVFROM => SyscallArgs::Send {
            fd: fd(0),
            len: a[2],
            addr: sockaddr(),
        },
        h::PTRACE => SyscallArgs::Ptrace {
            request: a[0],
            target_pid: a[1] as u32,
        },
        h::CHMOD => SyscallArgs::Chmod {
            path: Some(str1),
            fd: None,
            mode: a[1] as u32,
        },
        h::FCHMOD => SyscallArgs::Chmod {
            path: None,
            fd: Some(fd(0)),
            mode: a[1] as u32,
        },
        h::FCHMODAT | h::FCHMODAT2 => SyscallArgs::Chmod {
            path: Some(str1),
            fd: Some(fd(0)),
            mode: a[2] as u32,
        },
        h::LINK => link(str1, str2, 0, false),
        h::LINKAT => link(str1, str2, a[4] as u32, false),
        h::SYMLINK | h::SYMLINKAT => link(str1, str2, 0, true),
        h::UNLINK => SyscallArgs::Unlink {
            path: str1,
            flags: 0,
        },
        h::RMDIR => SyscallArgs::Unlink {
            path: str1,
            flags: 0x200, // AT_REMOVEDIR: what unlinkat says for the same act
        },
        h::UNLINKAT => SyscallArgs::Unlink {
            path: str1,
            flags: a[2] as u32,
        },
        h::RENAME | h::RENAMEAT => SyscallArgs::Rename {
            oldpath: str1,
            newpath: str2,
            flags: 0,
        },
        h::RENAMEAT2 => SyscallArgs::Rename {
            oldpath: str1,
            newpath: str2,
            flags: a[4] as u32,
        },
        h::MKDIR => SyscallArgs::Mkdir {
            path: str1,
            mode: a[1] as u32,
        },
        h::MKDIRAT => SyscallArgs::Mkdir {
            path: str1,
            mode: a[2] as u32,
        },
        h::MEMFD_CREATE => SyscallArgs::MemfdCreate {
            name: str1,
            flags: a[1] as u32,
        },
        h::MOUNT => SyscallArgs::Mount {
            source: str1,
            target: str2,
            fstype: String::from_utf8_lossy(addr_bytes.split(|&b| b == 0).next().unwrap_or(&[]))
                .into_owned(),
            flags: a[3],
        },
        h::UMOUNT2 => SyscallArgs::Umount {
            target: str1,
            flags: a[1] as u32,
        },
        h::SETNS => SyscallArgs::Setns {
            fd: fd(0),
            nstype: a[1] as u32,
        },
        h::UNSHARE => SyscallArgs::Unshare { flags: a[0] },
        h::INIT_MODULE => SyscallArgs::Module {
            params: str1,
            fd: None,
            flags: 0,
        },
        h::FINIT_MODULE => SyscallArgs::Module {
            params: str1,
            fd: Some(fd(0)),
            flags: a[2] as u32,
        },
        h::USERFAULTFD => SyscallArgs::Userfaultfd { flags: a[0] as u32 },
        h::DUP => SyscallArgs::Dup {
            oldfd: fd(0),
            newfd: None,
            flags: 0,
        },
        h::DUP2 => SyscallArgs::Dup {
            oldfd: fd(0),
            newfd: Some(fd(1)),
            flags: 0,
        },
        h::DUP3 => SyscallArgs::Dup {
            oldfd: fd(0),
            newfd: Some(fd(1)),
            flags: a[2] as u32,
        },
        h::SETUID | h::SETGID | h::SETFSUID | h::SETFSGID => SyscallArgs::SetId {
            ids: vec![a[0] as u32],
        },
        h::SETREUID | h::SETREGID => SyscallArgs::SetId {
            ids: vec![a[0] as u32, a[1] as u32],
        },
        h::SETRESUID | h::SETRESGID => SyscallArgs::SetId {
            ids: vec![a[0] as u32, a[1] as u32, a[2] as u32],
        },
        h::BPF => SyscallArgs::Bpf { cmd: a[0] as u32 },
        h::KILL | h::TKILL => SyscallArgs::Kill {
            target_pid: a[0] as i32,
            signal: a[1] as u32,
        },
        h::TGKILL => SyscallArgs::Kill {
            target_pid: a[1] as i32,
            signal: a[2] as u32,
        },
        h::CLONE => SyscallArgs::Clone { flags: a[0] },
        h::CLONE3 => SyscallArgs::Clone {
            flags: addr_bytes
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_ne_bytes)
                .unwrap_or(0),
        },
        _ => SyscallArgs::None {},
    };
    let fd_path = if rec.flags & sys_flags::HAS_PATH != 0 {
        Some(bounded_str(
            raw.array(|r| &r.path[..]),
            rec.path_len,
            "path_len",
        )?)
    } else {
        None
    };
    let dir_for = (
        rec.flags & sys_flags::DIR_FOR_STR1 != 0,
        rec.flags & sys_flags::DIR_FOR_STR2 != 0,
    );
    let dir = if fd_path.is_none() && (dir_for.0 || dir_for.1) {
        Some(bounded_str(
            raw.array(|r| &r.path[..]),
            rec.path_len,
            "path_len",
        )?)
    } else {
        None
    };
    let tuple = (rec.flags & sys_flags::HAS_TUPLE != 0).then(|| tuple_of(&rec.tuple));
    let truncated = rec.flags
        & (sys_flags::STR1_TRUNCATED
            | sys_flags::STR2_TRUNCATED
            | sys_flags::PATH_TRUNCATED
            | sys_flags::USER_READ_FAILED)
        != 0;
    Ok(Syscall {
        name,
        nr: rec.nr,
        ret: rec.ret,
        args,
        fd_path,
        tuple,
        truncated,
        dir,
        dir_for,
    })
}

fn link(target: String, linkpath: String, flags: u32, symbolic: bool) -> SyscallArgs {
    SyscallArgs::Link {
        target,
        linkpath,
        flags,
        symbolic,
    }
}

/// A `struct sockaddr` from user memory: family in the first two bytes
/// (host order), port in network order.
pub fn parse_sockaddr(bytes: &[u8]) -> Option<SockAddr> {
    let family = u16::from_ne_bytes(bytes.get(..2)?.try_into().ok()?);
    match family {
        AF_INET => {
            let port = u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?);
            let ip: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
            Some(SockAddr::Inet {
                addr: Ipv4Addr::from(ip),
                port,
            })
        }
        AF_INET6 => {
            let port = u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?);
            let ip: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
            Some(SockAddr::Inet6 {
                addr: Ipv6Addr::from(ip),
                port,
            })
        }
        AF_UNIX => {
            let path = bytes.get(2..).unwrap_or(&[]);
            // Abstract sockets start with a NUL; show them with a leading '@'.
            let (prefix, path) = match path.first() {
                Some(0) => ("@", &path[1..]),
                _ => ("", path),
            };
            let path = path.split(|&b| b == 0).next().unwrap_or(&[]);
            Some(SockAddr::Unix {
                path: format!("{prefix}{}", String::from_utf8_lossy(path)),
            })
        }
        other => Some(SockAddr::Other { family_id: other }),
    }
}

fn tuple_of(raw: &RawTuple) -> SockTuple {
    let endpoint = |addr: &[u8; 16], port: u16| match raw.family {
        AF_INET => SockAddr::Inet {
            addr: Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]),
            port,
        },
        AF_INET6 => SockAddr::Inet6 {
            addr: Ipv6Addr::from(*addr),
            port,
        },
        AF_UNIX => SockAddr::Unix {
            path: String::new(),
        },
        other => SockAddr::Other { family_id: other },
    };
    let proto = match (raw.family, raw.protocol, raw.sock_type) {
        (AF_UNIX, _, _) => "unix",
        (_, 6, _) => "tcp",
        (_, 17, _) => "udp",
        (_, 1 | 58, _) => "icmp",
        (_, _, 3) => "raw",
        (_, _, 1) => "tcp",
        (_, _, 2) => "udp",
        _ => "unknown",
    };
    SockTuple {
        proto,
        local: endpoint(&raw.saddr, raw.sport),
        remote: endpoint(&raw.daddr, raw.dport),
    }
}

const _: () = assert!(STR_LEN == 256);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_sockaddr_has_host_order_port() {
        let mut b = vec![0u8; 16];
        b[..2].copy_from_slice(&AF_INET.to_ne_bytes());
        b[2..4].copy_from_slice(&8080u16.to_be_bytes());
        b[4..8].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(
            parse_sockaddr(&b),
            Some(SockAddr::Inet {
                addr: Ipv4Addr::LOCALHOST,
                port: 8080
            })
        );
    }

    #[test]
    fn ipv6_and_unix_sockaddrs_decode() {
        let mut b = vec![0u8; 28];
        b[..2].copy_from_slice(&AF_INET6.to_ne_bytes());
        b[2..4].copy_from_slice(&443u16.to_be_bytes());
        b[23] = 1;
        assert_eq!(
            parse_sockaddr(&b),
            Some(SockAddr::Inet6 {
                addr: Ipv6Addr::LOCALHOST,
                port: 443
            })
        );
        let mut u = AF_UNIX.to_ne_bytes().to_vec();
        u.extend_from_slice(b"/run/docker.sock\0junk");
        assert_eq!(
            parse_sockaddr(&u),
            Some(SockAddr::Unix {
                path: "/run/docker.sock".into()
            })
        );
        let mut abs = AF_UNIX.to_ne_bytes().to_vec();
        abs.extend_from_slice(b"\0hidden");
        assert_eq!(
            parse_sockaddr(&abs),
            Some(SockAddr::Unix {
                path: "@hidden".into()
            })
        );
    }

    #[test]
    fn short_sockaddrs_are_none_not_panics() {
        assert_eq!(parse_sockaddr(&[]), None);
        assert_eq!(parse_sockaddr(&AF_INET.to_ne_bytes()), None);
        assert_eq!(parse_sockaddr(&AF_INET6.to_ne_bytes()[..1]), None);
    }
}
