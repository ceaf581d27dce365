//! The file descriptor an event is about (Falco's `fd.*`) and the paths a
//! file syscall touches (`fs.path.*`), derived from one syscall event:
//! which fd, what type, its name (a resolved path or a connection tuple),
//! and for sockets which end is the client and which the server.
//!
//! Kestrel has no per-process fd table: everything comes from the event
//! itself (the kernel-resolved path or socket tuple of the fd, the path or
//! address passed to the syscall) and the process's working directory.
//! What that cannot tell is left without a value (see docs/falco-compat.md).

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::event::{SockAddr, SockTuple, Syscall, SyscallArgs};

use super::fields::Src;
use super::sysargs::{AT_FDCWD, O_DIRECTORY};

/// Falco's fd types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdType {
    File,
    Directory,
    Ipv4,
    Ipv6,
    Unix,
    Memfd,
    Pipe,
    Event,
    Signalfd,
    Eventpoll,
    Inotify,
    Timerfd,
    Netlink,
    Bpf,
    Userfaultfd,
    Pidfd,
    Unknown,
}

impl FdType {
    /// `fd.type`.
    pub fn name(self) -> &'static str {
        match self {
            FdType::File => "file",
            FdType::Directory => "directory",
            FdType::Ipv4 => "ipv4",
            FdType::Ipv6 => "ipv6",
            FdType::Unix => "unix",
            FdType::Memfd => "memfd",
            FdType::Pipe => "pipe",
            FdType::Event => "event",
            FdType::Signalfd => "signalfd",
            FdType::Eventpoll => "eventpoll",
            FdType::Inotify => "inotify",
            FdType::Timerfd => "timerfd",
            FdType::Netlink => "netlink",
            FdType::Bpf => "bpf",
            FdType::Userfaultfd => "userfaultfd",
            FdType::Pidfd => "pidfd",
            FdType::Unknown => "unknown",
        }
    }

    /// `fd.typechar`.
    pub fn typechar(self) -> &'static str {
        match self {
            FdType::File => "f",
            FdType::Directory => "d",
            FdType::Ipv4 => "4",
            FdType::Ipv6 => "6",
            FdType::Unix | FdType::Userfaultfd => "u",
            FdType::Memfd => "m",
            FdType::Pipe => "p",
            FdType::Event => "e",
            FdType::Signalfd => "s",
            FdType::Eventpoll => "l",
            FdType::Inotify => "i",
            FdType::Timerfd => "t",
            FdType::Netlink => "n",
            FdType::Bpf => "b",
            FdType::Pidfd => "P",
            FdType::Unknown => "o",
        }
    }

    pub fn is_ip(self) -> bool {
        matches!(self, FdType::Ipv4 | FdType::Ipv6)
    }

    fn is_file_like(self) -> bool {
        matches!(self, FdType::File | FdType::Directory | FdType::Memfd)
    }

    /// The type of an fd from the kernel's name for it (`d_path`).
    fn of_kernel_path(p: &str) -> FdType {
        if p.starts_with("/memfd:") {
            FdType::Memfd
        } else if p.starts_with('/') {
            FdType::File
        } else if p.starts_with("pipe:") {
            FdType::Pipe
        } else if let Some(a) = p.strip_prefix("anon_inode:") {
            match a.trim_start_matches('[').trim_end_matches(']') {
                "eventfd" => FdType::Event,
                "signalfd" => FdType::Signalfd,
                "eventpoll" => FdType::Eventpoll,
                "inotify" => FdType::Inotify,
                "timerfd" => FdType::Timerfd,
                "userfaultfd" => FdType::Userfaultfd,
                "pidfd" => FdType::Pidfd,
                a if a.starts_with("bpf") => FdType::Bpf,
                _ => FdType::Unknown,
            }
        } else {
            FdType::Unknown
        }
    }
}

/// Which end of a connection the process holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
    /// Not known from the event (e.g. dup of a socket): the client and
    /// server fields have no value, fd.name guesses (see [`SockView::ends`]).
    Unknown,
}

pub type Endpoint = (IpAddr, u16);

/// A socket as an event shows it.
#[derive(Clone, Copy, Debug)]
pub struct SockView<'a> {
    pub local: Option<Endpoint>,
    pub remote: Option<Endpoint>,
    pub role: Role,
    /// `fd.l4proto` (IP sockets only).
    pub proto: Option<&'static str>,
    /// Path of a unix socket, when the event carries it.
    pub unix_path: Option<&'a str>,
    /// `fd.connected` / `fd.name_changed`, when the event tells.
    pub connected: Option<bool>,
    pub name_changed: Option<bool>,
}

impl SockView<'_> {
    /// (client, server). With an unknown role the end with the lower port
    /// is taken for the server (what a listening port usually is).
    pub fn ends(&self) -> (Option<Endpoint>, Option<Endpoint>) {
        match self.role {
            Role::Client => (self.local, self.remote),
            Role::Server => (self.remote, self.local),
            Role::Unknown => match (self.local, self.remote) {
                (Some(l), Some(r)) if l.1 < r.1 => (Some(r), Some(l)),
                (l, r) => (l, r),
            },
        }
    }

    /// (client, server) only when the roles are known from the event.
    pub fn known_ends(&self) -> (Option<Endpoint>, Option<Endpoint>) {
        if self.role == Role::Unknown {
            (None, None)
        } else {
            self.ends()
        }
    }
}

/// Where a file fd's path comes from.
#[derive(Clone, Copy, Debug)]
pub enum PathSrc<'a> {
    /// Resolved by the kernel (absolute, in the process's root).
    Kernel(&'a str),
    /// As passed to the syscall; a relative path is relative to `dir`
    /// when the kernel resolved it at the call, else (`cwd_relative`) to
    /// the process's working directory as last known, else unknown.
    Given {
        path: &'a str,
        cwd_relative: bool,
        dir: Option<&'a str>,
    },
}

/// The fd an event is about.
#[derive(Clone, Copy, Debug)]
pub struct FdView<'a> {
    pub num: i64,
    pub ty: FdType,
    pub path: Option<PathSrc<'a>>,
    /// The path as passed (`fd.nameraw`).
    pub raw: Option<&'a str>,
    pub sock: Option<SockView<'a>>,
}

fn endpoint(a: &SockAddr) -> Option<Endpoint> {
    match a {
        SockAddr::Inet { addr, port } => Some((IpAddr::V4(*addr), *port)),
        SockAddr::Inet6 { addr, port } => Some((IpAddr::V6(*addr), *port)),
        _ => None,
    }
}

fn specified(e: Endpoint) -> bool {
    !e.0.is_unspecified() || e.1 != 0
}

fn family_type(a: &SockAddr) -> FdType {
    match a {
        SockAddr::Inet { .. } => FdType::Ipv4,
        SockAddr::Inet6 { .. } => FdType::Ipv6,
        SockAddr::Unix { .. } => FdType::Unix,
        SockAddr::Other { family_id: 16 } => FdType::Netlink,
        SockAddr::Other { .. } => FdType::Unknown,
    }
}

fn unix_path(a: Option<&SockAddr>) -> Option<&str> {
    match a {
        Some(SockAddr::Unix { path }) if !path.is_empty() => Some(path),
        _ => None,
    }
}

/// A socket from the kernel's tuple and/or the address passed to the
/// syscall (the peer's for connect/sendto/recvfrom, the own for bind).
fn sock<'a>(
    tuple: Option<&'a SockTuple>,
    passed: Option<&'a SockAddr>,
    passed_is_local: bool,
    role: Role,
) -> Option<(FdType, SockView<'a>)> {
    let ty = match (tuple, passed) {
        (Some(t), _) => family_type(&t.local),
        (None, Some(a)) => family_type(a),
        (None, None) => return None,
    };
    let passed_ep = passed.and_then(endpoint).filter(|e| specified(*e));
    let from_tuple = |f: fn(&SockTuple) -> &SockAddr| {
        tuple.and_then(|t| endpoint(f(t))).filter(|e| specified(*e))
    };
    let (mut local, mut remote) = (from_tuple(|t| &t.local), from_tuple(|t| &t.remote));
    if passed_is_local {
        local = local.or(passed_ep);
    } else {
        remote = remote.or(passed_ep);
    }
    let proto = tuple
        .map(|t| t.proto)
        .filter(|p| !matches!(*p, "unix" | "unknown") && ty.is_ip());
    let path = unix_path(passed).or_else(|| tuple.and_then(|t| unix_path(Some(&t.remote))));
    Some((
        ty,
        SockView {
            local,
            remote,
            role,
            proto,
            unix_path: if ty == FdType::Unix { path } else { None },
            connected: None,
            name_changed: None,
        },
    ))
}

fn sock_view<'a>(
    num: i64,
    tuple: Option<&'a SockTuple>,
    passed: Option<&'a SockAddr>,
    passed_is_local: bool,
    role: Role,
) -> Option<FdView<'a>> {
    let (ty, sv) = sock(tuple, passed, passed_is_local, role)?;
    Some(FdView {
        num,
        ty,
        path: None,
        raw: None,
        sock: Some(sv),
    })
}

/// An fd known only by number, with the kernel's path or tuple for it.
fn by_fd(sc: &Syscall, num: i64) -> Option<FdView<'_>> {
    if let Some(t) = &sc.tuple {
        return sock_view(num, Some(t), None, false, Role::Unknown);
    }
    let p = sc.fd_path.as_deref()?;
    let ty = FdType::of_kernel_path(p);
    Some(FdView {
        num,
        ty,
        path: ty.is_file_like().then_some(PathSrc::Kernel(p)),
        raw: None,
        sock: None,
    })
}

fn socket_type(domain: u32) -> FdType {
    match domain {
        1 => FdType::Unix,
        2 => FdType::Ipv4,
        10 => FdType::Ipv6,
        16 => FdType::Netlink,
        _ => FdType::Unknown,
    }
}

fn socket_proto(sock_type: u32, protocol: u32) -> Option<&'static str> {
    match (sock_type & 0xf, protocol) {
        (_, 1 | 58) => Some("icmp"),
        (3, _) => Some("raw"),
        (1, _) | (_, 6) => Some("tcp"),
        (2, _) | (_, 17) => Some("udp"),
        _ => None,
    }
}

/// The fd of a syscall event (None for other events and fd-less syscalls).
pub fn view<'a>(s: &Src<'a>) -> Option<FdView<'a>> {
    let sc = s.sys()?;
    use SyscallArgs as A;
    let ret_fd = (sc.ret >= 0).then_some(sc.ret);
    match &sc.args {
        A::Open {
            path, flags, dirfd, ..
        } => {
            let ty = if flags & O_DIRECTORY != 0 {
                FdType::Directory
            } else {
                match sc.fd_path.as_deref() {
                    Some(p) if p.starts_with("/memfd:") => FdType::Memfd,
                    _ => FdType::File,
                }
            };
            let src = match (sc.ret >= 0, sc.fd_path.as_deref()) {
                (true, Some(k)) => PathSrc::Kernel(k),
                _ => PathSrc::Given {
                    path,
                    cwd_relative: dirfd.is_none_or(|d| d == AT_FDCWD),
                    dir: sc.dir_of(0),
                },
            };
            Some(FdView {
                num: ret_fd.unwrap_or(-1),
                ty,
                path: Some(src),
                raw: Some(path),
                sock: None,
            })
        }
        A::Connect { fd, addr } => {
            let mut v = sock_view(
                i64::from(*fd),
                sc.tuple.as_ref(),
                addr.as_ref(),
                false,
                Role::Client,
            )?;
            if let Some(sv) = &mut v.sock {
                sv.connected = Some(sc.ret >= 0 || sc.ret == -115);
                sv.name_changed = Some(true);
            }
            Some(v)
        }
        A::Accept { .. } => {
            let mut v = sock_view(ret_fd?, sc.tuple.as_ref(), None, false, Role::Server)?;
            if let Some(sv) = &mut v.sock {
                sv.connected = Some(true);
            }
            Some(v)
        }
        A::Bind { fd, addr } => sock_view(
            i64::from(*fd),
            sc.tuple.as_ref(),
            addr.as_ref(),
            true,
            Role::Server,
        ),
        A::Listen { fd, .. } => {
            sock_view(i64::from(*fd), sc.tuple.as_ref(), None, false, Role::Server)
        }
        A::Send { fd, addr, .. } => {
            let role = if sc.name == "recvfrom" {
                Role::Server
            } else {
                Role::Client
            };
            let (ty, mut sv) = sock(sc.tuple.as_ref(), addr.as_ref(), false, role)?;
            // A destination (sendto) or source (recvfrom) address means an
            // unconnected socket; it names the peer.
            if let Some(a) = addr.as_ref().and_then(endpoint) {
                sv.remote = Some(a);
            }
            sv.connected = Some(addr.is_none());
            sv.name_changed = Some(addr.is_some());
            Some(FdView {
                num: i64::from(*fd),
                ty,
                path: None,
                raw: None,
                sock: Some(sv),
            })
        }
        A::Socket {
            domain,
            sock_type,
            protocol,
        } => {
            let ty = socket_type(*domain);
            Some(FdView {
                num: ret_fd?,
                ty,
                path: None,
                raw: None,
                sock: Some(SockView {
                    local: None,
                    remote: None,
                    role: Role::Unknown,
                    proto: if ty.is_ip() {
                        socket_proto(*sock_type, *protocol)
                    } else {
                        None
                    },
                    unix_path: None,
                    connected: Some(false),
                    name_changed: None,
                }),
            })
        }
        A::MemfdCreate { .. } => Some(FdView {
            num: ret_fd?,
            ty: FdType::Memfd,
            path: sc.fd_path.as_deref().map(PathSrc::Kernel),
            raw: None,
            sock: None,
        }),
        A::Userfaultfd { .. } => Some(FdView {
            num: ret_fd?,
            ty: FdType::Userfaultfd,
            path: None,
            raw: None,
            sock: None,
        }),
        A::Bpf { .. } => Some(FdView {
            num: ret_fd?,
            ty: FdType::Bpf,
            path: None,
            raw: None,
            sock: None,
        }),
        A::Chmod {
            path: None,
            fd: Some(fd),
            ..
        } => by_fd(sc, i64::from(*fd)),
        A::Setns { fd, .. } | A::Dup { oldfd: fd, .. } => by_fd(sc, i64::from(*fd)),
        A::Module { fd: Some(fd), .. } => by_fd(sc, i64::from(*fd)),
        _ => None,
    }
}

/// Appends the components of `path` to the absolute path `out[start..]`,
/// applying `.`, `..` and `//`.
fn push_components(out: &mut String, start: usize, path: &str) {
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                let cut = out[start..].rfind('/').map_or(start, |i| start + i);
                out.truncate(cut);
            }
            c => {
                out.push('/');
                out.push_str(c);
            }
        }
    }
}

/// Writes `path` made absolute and normalised (`.`, `..`, `//`) into `out`:
/// relative paths are taken relative to `base`. False (and `out`
/// unchanged) when `path` is relative and there is no absolute base.
pub fn resolve_into(out: &mut String, base: Option<&str>, path: &str) -> bool {
    if path.is_empty() {
        return false;
    }
    let start = out.len();
    if !path.starts_with('/') {
        let Some(base) = base.filter(|b| b.starts_with('/')) else {
            return false;
        };
        push_components(out, start, base);
    }
    push_components(out, start, path);
    if out.len() == start {
        out.push('/');
    }
    true
}

/// Writes the absolute path a file syscall means by `path`, or returns
/// false when it cannot be known (relative to an unknown directory fd).
pub fn write_path(s: &Src<'_>, p: PathSrc<'_>, out: &mut String) -> bool {
    match p {
        PathSrc::Kernel(k) => {
            out.push_str(k);
            true
        }
        PathSrc::Given {
            path,
            cwd_relative,
            dir,
        } => {
            let cwd = dir.or_else(|| {
                if cwd_relative {
                    s.proc().and_then(|p| p.cwd.as_deref())
                } else {
                    None
                }
            });
            resolve_into(out, cwd, path)
        }
    }
}

/// Writes a decimal number without the formatting machinery.
fn write_dec(w: &mut impl std::fmt::Write, n: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let _ = w.write_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"));
}

/// Writes an IPv4 address (dotted quad) without the formatting machinery.
pub fn write_v4(w: &mut impl std::fmt::Write, ip: std::net::Ipv4Addr) {
    for (i, o) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            let _ = w.write_char('.');
        }
        write_dec(w, u32::from(o));
    }
}

fn write_ep(b: &mut String, ep: Option<Endpoint>, v6: bool) {
    match ep {
        Some((IpAddr::V4(ip), port)) => {
            write_v4(b, ip);
            b.push(':');
            write_dec(b, u32::from(port));
        }
        Some((ip, port)) => {
            let _ = write!(b, "{ip}:{port}");
        }
        None if v6 => b.push_str(":::0"),
        None => b.push_str("0.0.0.0:0"),
    }
}

/// Writes `fd.name`; false when the event does not tell it.
pub fn write_name(s: &Src<'_>, v: &FdView<'_>, out: &mut String) -> bool {
    if let Some(p) = v.path {
        return write_path(s, p, out);
    }
    let Some(sv) = &v.sock else { return false };
    if v.ty == FdType::Unix {
        return match sv.unix_path {
            Some(p) => {
                out.push_str(p);
                true
            }
            None => false,
        };
    }
    if !v.ty.is_ip() {
        return false;
    }
    let v6 = v.ty == FdType::Ipv6;
    match sv.ends() {
        (None, None) => false,
        (None, Some(server)) if sv.role == Role::Server => {
            write_ep(out, Some(server), v6);
            true
        }
        (c, srv) => {
            write_ep(out, c, v6);
            out.push_str("->");
            write_ep(out, srv, v6);
            true
        }
    }
}

/// `fs.path.*`: (name, source, target) as passed, with whether a relative
/// path is relative to the working directory.
pub struct FsPaths<'a> {
    pub name: Option<&'a str>,
    pub source: Option<&'a str>,
    pub target: Option<&'a str>,
    pub cwd_relative: bool,
    /// The source is a symlink's content: resolve it against the link's
    /// directory, not the working directory.
    pub source_is_link_target: bool,
    /// What a relative first / second path argument is relative to, when
    /// the kernel resolved it at the call (`name` and `source` are the
    /// first argument, `target` the second).
    pub dir1: Option<&'a str>,
    pub dir2: Option<&'a str>,
}

/// The paths a file-family syscall operates on (None for other events).
pub fn fs_paths<'a>(sc: &'a Syscall) -> Option<FsPaths<'a>> {
    use SyscallArgs as A;
    // `*at` calls: a relative path is relative to their directory fd, which
    // only the kernel's `dir` (when it resolved one) can tell.
    let at_without_dirfd = matches!(
        sc.name,
        "unlinkat" | "mkdirat" | "renameat" | "renameat2" | "linkat" | "symlinkat"
    );
    let none = FsPaths {
        name: None,
        source: None,
        target: None,
        cwd_relative: !at_without_dirfd,
        source_is_link_target: false,
        dir1: sc.dir_of(0),
        dir2: sc.dir_of(1),
    };
    Some(match &sc.args {
        A::Open { path, dirfd, .. } => FsPaths {
            name: Some(path),
            cwd_relative: dirfd.is_none_or(|d| d == AT_FDCWD),
            ..none
        },
        A::Chmod {
            path: Some(p), fd, ..
        } => FsPaths {
            name: Some(p),
            cwd_relative: fd.is_none_or(|d| d == AT_FDCWD),
            ..none
        },
        A::Chmod { path: None, .. } => FsPaths {
            name: sc.fd_path.as_deref().filter(|p| p.starts_with('/')),
            ..none
        },
        A::Unlink { path, .. } | A::Mkdir { path, .. } => FsPaths {
            name: Some(path),
            ..none
        },
        A::Rename {
            oldpath, newpath, ..
        } => FsPaths {
            source: Some(oldpath),
            target: Some(newpath),
            ..none
        },
        A::Link {
            target,
            linkpath,
            symbolic,
            ..
        } => FsPaths {
            source: Some(target),
            target: Some(linkpath),
            source_is_link_target: *symbolic,
            ..none
        },
        _ => return None,
    })
}

/// Resolves one of [`FsPaths`]' paths into `out`.
pub fn write_fs_path(s: &Src<'_>, fp: &FsPaths<'_>, which: u8, out: &mut String) -> bool {
    let known_cwd = || {
        if fp.cwd_relative {
            s.proc().and_then(|p| p.cwd.as_deref())
        } else {
            None
        }
    };
    let dir1 = || fp.dir1.or_else(known_cwd);
    let dir2 = || fp.dir2.or_else(known_cwd);
    match which {
        0 => fp.name.is_some_and(|p| resolve_into(out, dir1(), p)),
        1 if fp.source_is_link_target => {
            let Some(src) = fp.source else { return false };
            if src.starts_with('/') {
                return resolve_into(out, None, src);
            }
            // Relative to the directory holding the link.
            let Some(link) = fp.target else { return false };
            let start = out.len();
            if !resolve_into(out, dir2(), link) {
                return false;
            }
            let cut = out[start..].rfind('/').map_or(start, |i| start + i);
            out.truncate(cut);
            push_components(out, start, src);
            if out.len() == start {
                out.push('/');
            }
            true
        }
        1 => fp.source.is_some_and(|p| resolve_into(out, dir1(), p)),
        _ => fp.target.is_some_and(|p| resolve_into(out, dir2(), p)),
    }
}

/// An IP network for CIDR matching (`fd.net`, `fd.snet` ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// `10.0.0.0/8`, `fd00::/8`, or a single address.
    pub fn parse(s: &str) -> Option<Net> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Net { addr, prefix })
    }

    /// Exactly one address.
    pub fn single(addr: IpAddr) -> Net {
        Net {
            addr,
            prefix: if addr.is_ipv4() { 32 } else { 128 },
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(
                u128::from(u32::from(n)) << 96,
                u128::from(u32::from(a)) << 96,
                self.prefix,
            ),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(u128::from(n), u128::from(a), self.prefix),
            (IpAddr::V4(_), IpAddr::V6(a)) => a
                .to_ipv4_mapped()
                .is_some_and(|a4| self.contains(IpAddr::V4(a4))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, prefix: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let mask = u128::MAX << (128 - u32::from(prefix));
    a & mask == b & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(base: Option<&str>, p: &str) -> Option<String> {
        let mut s = String::new();
        resolve_into(&mut s, base, p).then_some(s)
    }

    #[test]
    fn paths_resolve_against_cwd_and_normalise() {
        assert_eq!(res(None, "/etc/./shadow").as_deref(), Some("/etc/shadow"));
        assert_eq!(
            res(Some("/var/www"), "../../etc//passwd").as_deref(),
            Some("/etc/passwd")
        );
        assert_eq!(res(Some("/"), "../../..").as_deref(), Some("/"));
        assert_eq!(
            res(Some("/app"), "conf/x.yaml").as_deref(),
            Some("/app/conf/x.yaml")
        );
        assert_eq!(res(None, "relative"), None);
        assert_eq!(res(Some("relative-cwd"), "x"), None);
        assert_eq!(res(Some("/"), ""), None);
    }

    #[test]
    fn addresses_format_like_display() {
        for ip in ["0.0.0.0", "10.0.0.5", "255.255.255.255", "93.184.216.34"] {
            let mut s = String::new();
            write_v4(&mut s, ip.parse().unwrap());
            assert_eq!(s, ip);
        }
        let mut s = String::new();
        write_ep(&mut s, Some(("10.1.2.3".parse().unwrap(), 65535)), false);
        write_ep(&mut s, None, false);
        assert_eq!(s, "10.1.2.3:655350.0.0.0:0");
    }

    #[test]
    fn cidr_matching() {
        let n = Net::parse("10.0.0.0/8").unwrap();
        assert!(n.contains("10.1.2.3".parse().unwrap()));
        assert!(!n.contains("11.0.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.9.9.9".parse().unwrap()));
        let n = Net::parse("172.16.0.0/12").unwrap();
        assert!(n.contains("172.31.255.255".parse().unwrap()));
        assert!(!n.contains("172.32.0.0".parse().unwrap()));
        let n = Net::parse("fd00::/8").unwrap();
        assert!(n.contains("fd12::1".parse().unwrap()));
        assert!(!n.contains("fe80::1".parse().unwrap()));
        assert!(
            Net::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(
            Net::parse("1.2.3.4")
                .unwrap()
                .contains("1.2.3.4".parse().unwrap())
        );
        assert_eq!(Net::parse("10.0.0.0/33"), None);
        assert_eq!(Net::parse("example.com"), None);
    }
}
