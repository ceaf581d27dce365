//! Field-level tests on syscall events: `evt.type` exact names, results and
//! errno names, open flags, `fd.*` on open/connect/accept/unix sockets
//! (Falco's client/server semantics), CIDR matching, `fs.path.*`, and each
//! syscall family's `evt.arg.*` names and renderings.

use super::testing::{
    MapContext, connect, exec, fork, inet, syscall, tcp, with_fd_path, with_tuple,
};
use super::*;
use crate::event::{Event, SockAddr, SyscallArgs as A};
use crate::rules::evttypes::Kind;

const CG: u64 = 100;
const O_WRONLY: u64 = 1;
const O_RDWR: u64 = 2;
const O_CREAT: u64 = 0o100;
const O_TRUNC: u64 = 0o1000;
const O_CLOEXEC: u64 = 0o2000000;

/// Container CG: node(20, cwd /app) and nginx(21).
fn ctx() -> MapContext {
    let mut c = MapContext::new();
    c.add_proc(20, 1, "node", "/usr/local/bin/node", &["server.js"], CG)
        .cwd = Some("/app".into());
    c.add_proc(21, 1, "nginx", "/usr/sbin/nginx", &[], CG);
    c.add_container(CG, "web", "nginx:1.25");
    c
}

fn engine(yaml: &str) -> Engine {
    match load(&[RuleSource::new("t.yaml", yaml)]) {
        Ok(l) => l.engine,
        Err(e) => panic!("load failed: {:#?}", e.errors),
    }
}

fn rule(cond: &str) -> String {
    format!(
        "- rule: r\n  desc: d\n  condition: '{}'\n  output: o\n  priority: INFO\n  warn_evttypes: false\n",
        cond.replace('\'', "''")
    )
}

/// Whether `cond` holds for `ev`.
fn holds(ev: &Event, cond: &str) -> bool {
    let e = engine(&rule(cond));
    let mut out = Vec::new();
    e.evaluate(ev, &ctx(), &mut out);
    !out.is_empty()
}

/// The value of `field` on `ev` (None: no value).
fn field(ev: &Event, field: &str) -> Option<String> {
    let y = format!(
        "- rule: r\n  desc: d\n  condition: proc.pid >= 0\n  output: '%{field}'\n  priority: INFO\n  warn_evttypes: false\n"
    );
    let e = engine(&y);
    let c = ctx();
    let mut out = Vec::new();
    e.evaluate(ev, &c, &mut out);
    assert_eq!(out.len(), 1, "the probe rule matches every event");
    let a = e.render(&out[0], ev, &c).expect("renders");
    a.fields
        .into_iter()
        .find(|(n, _)| n == field)
        .and_then(|(_, v)| v)
}

fn f(ev: &Event, name: &str) -> String {
    field(ev, name).unwrap_or_else(|| format!("<no value for {name}>"))
}

fn sys(name: &'static str, ret: i64, args: A) -> Event {
    syscall(20, 1, "node", CG, name, ret, args)
}

fn open_at(name: &'static str, path: &str, flags: u64, ret: i64) -> Event {
    sys(
        name,
        ret,
        A::Open {
            path: path.into(),
            flags,
            mode: 0o644,
            dirfd: (name != "open").then_some(-100),
        },
    )
}

// ---- evt.type ----

#[test]
fn evt_type_compares_the_exact_syscall_name() {
    let openat = open_at("openat", "/etc/hosts", 0, 3);
    let open_ = open_at("open", "/etc/hosts", 0, 3);
    assert!(holds(&openat, "evt.type = openat"));
    assert!(!holds(&open_, "evt.type = openat"));
    assert!(holds(&open_, "evt.type in (open, openat)"));
    assert!(holds(&openat, "evt.type in (open, openat)"));
    assert!(holds(&open_, "evt.type != openat"));
    assert!(!holds(&openat, "evt.type != openat"));
    assert_eq!(f(&openat, "evt.type"), "openat");
    assert_eq!(f(&open_, "syscall.type"), "open");
    // Still indexed by kind: the rule is only evaluated for open events.
    let e = engine(&rule("evt.type = openat"));
    assert_eq!(e.rules_for(Kind::Open), &[0]);
    assert_eq!(e.rules_for(Kind::Exec), &[] as &[u32]);
}

#[test]
fn scheduler_events_match_every_name_of_their_kind() {
    let c = ctx();
    let ex = exec(20, 1, "/bin/sh", &["sh"], CG);
    assert!(holds(&ex, "evt.type = execve"));
    assert!(
        holds(&ex, "evt.type = execveat"),
        "an exec cannot tell which"
    );
    assert_eq!(f(&ex, "evt.type"), "execve");
    assert_eq!(f(&ex, "syscall.type"), "execve");
    let fk = fork(20, 1, "node", 40, CG);
    assert!(holds(&fk, "evt.type = vfork"));
    assert_eq!(field(&fk, "syscall.type"), None, "the scheduler's fork");
    assert!(!holds(&fk, "syscall.type = clone"));
    let _ = c;
    // A failed execveat is exactly execveat.
    let failed = sys(
        "execveat",
        -2,
        A::Exec {
            path: "/nope".into(),
            dirfd: Some(-100),
        },
    );
    assert!(holds(&failed, "evt.type = execveat"));
    assert!(!holds(&failed, "evt.type = execve"));
    assert_eq!(f(&failed, "evt.res"), "ENOENT");
    assert_eq!(f(&failed, "evt.arg.filename"), "/nope");
    assert_eq!(f(&failed, "evt.arg.res"), "ENOENT");
    assert_eq!(f(&failed, "evt.rawarg.res"), "-2");
}

// ---- results ----

#[test]
fn results_render_errno_names() {
    let ok = open_at("openat", "/etc/hosts", 0, 7);
    assert_eq!(f(&ok, "evt.res"), "SUCCESS");
    assert_eq!(f(&ok, "evt.rawres"), "7");
    assert_eq!(f(&ok, "evt.failed"), "false");
    let enoent = open_at("openat", "/etc/nope", 0, -2);
    assert_eq!(f(&enoent, "evt.res"), "ENOENT");
    assert_eq!(f(&enoent, "evt.rawres"), "-2");
    assert_eq!(f(&enoent, "evt.failed"), "true");
    assert!(holds(&enoent, "evt.res startswith E and evt.rawres < 0"));
    let eacces = open_at("openat", "/etc/shadow", 0, -13);
    assert!(holds(&eacces, "evt.res = EACCES"));
    let inprogress = sys(
        "connect",
        -115,
        A::Connect {
            fd: 3,
            addr: Some(inet("1.2.3.4", 80)),
        },
    );
    assert!(holds(
        &inprogress,
        "evt.rawres >= 0 or evt.res = EINPROGRESS"
    ));
    assert_eq!(
        field(&exec(20, 1, "/bin/ls", &["ls"], CG), "evt.res").as_deref(),
        Some("SUCCESS")
    );
}

// ---- open ----

#[test]
fn open_flags_give_read_write_exec_create() {
    let rd = open_at("openat", "/etc/hosts", O_CLOEXEC, 3);
    assert!(holds(
        &rd,
        "evt.is_open_read = true and evt.is_open_write = false"
    ));
    let wr = open_at("openat", "/etc/x", O_WRONLY | O_CREAT | O_TRUNC, 3);
    assert!(holds(
        &wr,
        "evt.is_open_write = true and evt.is_open_read = false"
    ));
    assert!(holds(
        &wr,
        "evt.is_open_create = true and evt.is_open_exec = false"
    ));
    assert!(holds(
        &wr,
        "evt.arg.flags contains O_CREAT and evt.arg.flags contains \"O_TRUNC\""
    ));
    assert_eq!(f(&wr, "evt.arg.flags"), "O_WRONLY|O_CREAT|O_TRUNC");
    assert_eq!(
        f(&wr, "evt.rawarg.flags"),
        (O_WRONLY | O_CREAT | O_TRUNC).to_string()
    );
    assert_eq!(f(&wr, "evt.arg.mode"), "S_IROTH|S_IRGRP|S_IWUSR|S_IRUSR");
    assert_eq!(
        f(&wr, "evt.arg[2]"),
        "/etc/x",
        "openat: fd, dirfd, name, ..."
    );
    assert_eq!(f(&wr, "evt.arg.dirfd"), "AT_FDCWD");
    let rw = open_at("open", "/data/db", O_RDWR, 3);
    assert!(holds(
        &rw,
        "evt.is_open_read = true and evt.is_open_write = true"
    ));
    assert_eq!(f(&rw, "evt.arg[1]"), "/data/db", "open: fd, name, ...");
    let exe = sys(
        "creat",
        4,
        A::Open {
            path: "/tmp/x".into(),
            flags: O_WRONLY | O_CREAT | O_TRUNC,
            mode: 0o755,
            dirfd: None,
        },
    );
    assert!(holds(
        &exe,
        "evt.is_open_exec = true and evt.is_open_write = true"
    ));
    // Not an open: no value.
    let c = sys("connect", 0, A::Connect { fd: 3, addr: None });
    assert_eq!(field(&c, "evt.is_open_read"), None);
}

#[test]
fn fd_fields_on_open() {
    let ev = with_fd_path(
        open_at("openat", "conf/../conf/app.yaml", 0, 5),
        "/app/conf/app.yaml",
    );
    assert_eq!(f(&ev, "fd.name"), "/app/conf/app.yaml", "the kernel's path");
    assert_eq!(f(&ev, "fd.nameraw"), "conf/../conf/app.yaml");
    assert_eq!(f(&ev, "fd.directory"), "/app/conf");
    assert_eq!(f(&ev, "fd.filename"), "app.yaml");
    assert_eq!(f(&ev, "fd.num"), "5");
    assert_eq!(f(&ev, "fd.type"), "file");
    assert_eq!(f(&ev, "fd.typechar"), "f");
    assert_eq!(f(&ev, "fs.path.name"), "/app/conf/app.yaml");
    assert_eq!(f(&ev, "fs.path.nameraw"), "conf/../conf/app.yaml");
    // Failed, relative: resolved against the working directory (/app).
    let failed = open_at("openat", "../etc/./shadow", 0, -13);
    assert_eq!(f(&failed, "fd.name"), "/etc/shadow");
    assert_eq!(f(&failed, "fd.num"), "-1");
    assert!(holds(
        &failed,
        "fd.typechar = f and fd.num = -1 and evt.res startswith E"
    ));
    // Relative to a directory fd the event does not resolve: no value.
    let mut at_dir = open_at("openat", "x.txt", 0, -2);
    if let crate::event::EventBody::Syscall(s) = &mut at_dir.body
        && let A::Open { dirfd, .. } = &mut s.args
    {
        *dirfd = Some(7);
    }
    assert_eq!(field(&at_dir, "fd.name"), None);
    assert_eq!(f(&at_dir, "fd.nameraw"), "x.txt");
    // O_DIRECTORY: a directory fd.
    let dir = with_fd_path(open_at("openat", "/etc", 0o200000 | O_CLOEXEC, 3), "/etc");
    assert_eq!(f(&dir, "fd.typechar"), "d");
    assert_eq!(f(&dir, "fd.directory"), "/etc");
    assert_eq!(field(&dir, "fd.filename"), None);
    // Other events have no fd.
    assert_eq!(field(&exec(20, 1, "/bin/ls", &["ls"], CG), "fd.name"), None);
}

// ---- sockets ----

#[test]
fn fd_fields_on_connect_make_the_process_the_client() {
    let ev = connect(
        20,
        "node",
        CG,
        inet("10.0.0.5", 45678),
        inet("93.184.216.34", 443),
    );
    assert_eq!(f(&ev, "fd.name"), "10.0.0.5:45678->93.184.216.34:443");
    assert_eq!(f(&ev, "fd.cip"), "10.0.0.5");
    assert_eq!(f(&ev, "fd.sip"), "93.184.216.34");
    assert_eq!(f(&ev, "fd.dip"), "93.184.216.34");
    assert_eq!(f(&ev, "fd.cport"), "45678");
    assert_eq!(f(&ev, "fd.sport"), "443");
    assert_eq!(f(&ev, "fd.dport"), "443");
    assert_eq!(f(&ev, "fd.lip"), "10.0.0.5");
    assert_eq!(f(&ev, "fd.rip"), "93.184.216.34");
    assert_eq!(f(&ev, "fd.lport"), "45678");
    assert_eq!(f(&ev, "fd.rport"), "443");
    assert_eq!(f(&ev, "fd.l4proto"), "tcp");
    assert_eq!(f(&ev, "fd.type"), "ipv4");
    assert_eq!(f(&ev, "fd.typechar"), "4");
    assert_eq!(f(&ev, "fd.sockfamily"), "ip");
    assert_eq!(f(&ev, "fd.num"), "3");
    assert_eq!(f(&ev, "fd.is_server"), "false");
    assert_eq!(f(&ev, "fd.connected"), "true");
    assert_eq!(f(&ev, "evt.arg.tuple"), "10.0.0.5:45678->93.184.216.34:443");
    assert_eq!(f(&ev, "evt.arg.addr"), "93.184.216.34:443");
    assert!(holds(
        &ev,
        "fd.port = 443 and fd.port = 45678 and fd.ip = 10.0.0.5"
    ));
    assert!(holds(
        &ev,
        "fd.sport in (80, 443) and fd.sip = \"93.184.216.34\""
    ));
    assert_eq!(field(&ev, "fd.sip.name"), None, "no DNS resolution");
}

#[test]
fn failed_connect_without_a_tuple_uses_the_address_passed() {
    let ev = sys(
        "connect",
        -111,
        A::Connect {
            fd: 4,
            addr: Some(inet("192.0.2.7", 8080)),
        },
    );
    assert_eq!(f(&ev, "fd.sip"), "192.0.2.7");
    assert_eq!(f(&ev, "fd.sport"), "8080");
    assert_eq!(field(&ev, "fd.cip"), None);
    assert_eq!(f(&ev, "fd.name"), "0.0.0.0:0->192.0.2.7:8080");
    assert_eq!(f(&ev, "evt.res"), "ECONNREFUSED");
    assert_eq!(f(&ev, "fd.connected"), "false");
}

#[test]
fn fd_fields_on_accept_make_the_process_the_server() {
    let ev = with_tuple(
        syscall(
            21,
            1,
            "nginx",
            CG,
            "accept4",
            9,
            A::Accept {
                fd: 6,
                flags: 0o2000000,
            },
        ),
        tcp(inet("10.0.1.5", 80), inet("10.0.0.9", 51234)),
    );
    assert_eq!(f(&ev, "fd.name"), "10.0.0.9:51234->10.0.1.5:80");
    assert_eq!(f(&ev, "fd.sip"), "10.0.1.5");
    assert_eq!(f(&ev, "fd.sport"), "80");
    assert_eq!(f(&ev, "fd.cip"), "10.0.0.9");
    assert_eq!(f(&ev, "fd.lport"), "80");
    assert_eq!(f(&ev, "fd.rport"), "51234");
    assert_eq!(f(&ev, "fd.num"), "9", "the new connection's fd");
    assert_eq!(f(&ev, "fd.is_server"), "true");
    assert_eq!(f(&ev, "evt.arg.flags"), "SOCK_CLOEXEC");
}

#[test]
fn unix_and_ipv6_sockets() {
    let unix = sys(
        "connect",
        0,
        A::Connect {
            fd: 5,
            addr: Some(SockAddr::Unix {
                path: "/var/run/docker.sock".into(),
            }),
        },
    );
    assert_eq!(f(&unix, "fd.name"), "/var/run/docker.sock");
    assert_eq!(f(&unix, "fd.type"), "unix");
    assert_eq!(f(&unix, "fd.typechar"), "u");
    assert_eq!(f(&unix, "fd.sockfamily"), "unix");
    assert_eq!(field(&unix, "fd.l4proto"), None);
    assert_eq!(field(&unix, "fd.sip"), None);
    let v6 = connect(
        20,
        "node",
        CG,
        inet("fd00::5", 40000),
        inet("2001:db8::1", 443),
    );
    assert_eq!(f(&v6, "fd.name"), "fd00::5:40000->2001:db8::1:443");
    assert_eq!(f(&v6, "fd.typechar"), "6");
    assert!(
        holds(&v6, "fd.sip = \"2001:0db8:0:0:0:0:0:1\""),
        "addresses compare as addresses"
    );
    assert!(holds(&v6, "fd.cnet = \"fd00::/8\""));
}

#[test]
fn cidr_matching_on_network_fields() {
    let db = connect(
        20,
        "node",
        CG,
        inet("10.0.0.5", 45678),
        inet("10.0.3.7", 5432),
    );
    assert!(holds(&db, "fd.snet in (\"10.0.0.0/8\")"));
    assert!(holds(
        &db,
        "fd.snet in (\"192.168.0.0/16\", \"10.0.0.0/8\")"
    ));
    assert!(!holds(&db, "fd.snet = \"192.168.0.0/16\""));
    assert!(holds(&db, "fd.net != \"127.0.0.0/8\""));
    assert!(holds(
        &db,
        "fd.rnet = 10.0.3.0/24 and fd.lnet = 10.0.0.0/24"
    ));
    let lo = connect(
        20,
        "node",
        CG,
        inet("127.0.0.1", 40000),
        inet("127.0.0.1", 6379),
    );
    assert!(holds(&lo, "fd.net = \"127.0.0.0/8\""));
    assert!(!holds(&lo, "fd.net != \"127.0.0.0/8\""));
    let public = connect(20, "node", CG, inet("10.0.0.5", 45678), inet("8.8.8.8", 53));
    let list =
        "- list: rfc1918\n  items: ['\"10.0.0.0/8\"', '\"172.16.0.0/12\"', '\"192.168.0.0/16\"']\n";
    let y = format!(
        "{list}{}",
        rule("evt.type = connect and not fd.snet in (rfc1918)")
    );
    let e = engine(&y);
    let mut out = Vec::new();
    e.evaluate(&public, &ctx(), &mut out);
    assert_eq!(out.len(), 1);
    out.clear();
    e.evaluate(&db, &ctx(), &mut out);
    assert!(out.is_empty());
    // A network that is not one is a load error with advice.
    let err = match load(&[RuleSource::new("t.yaml", rule("fd.snet = \"10.0.0.0/33\""))]) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.errors[0].to_string(),
    };
    assert!(err.contains("is not an IP network"), "{err}");
}

#[test]
fn dup_of_a_socket_carries_the_socket() {
    let ev = with_tuple(
        sys(
            "dup2",
            0,
            A::Dup {
                oldfd: 3,
                newfd: Some(0),
                flags: 0,
            },
        ),
        tcp(inet("10.0.0.5", 45678), inet("203.0.113.9", 4444)),
    );
    assert!(holds(
        &ev,
        "evt.rawres in (0, 1, 2) and fd.type in (ipv4, ipv6)"
    ));
    assert_eq!(f(&ev, "fd.num"), "3");
    assert_eq!(f(&ev, "evt.arg.oldfd"), "3");
    assert_eq!(f(&ev, "evt.arg.newfd"), "0");
    assert_eq!(f(&ev, "fd.lip"), "10.0.0.5");
    assert_eq!(f(&ev, "fd.rport"), "4444");
    // The event does not say who connected: no client/server fields, and
    // fd.name guesses the lower port is the server's.
    assert_eq!(field(&ev, "fd.sip"), None);
    assert_eq!(field(&ev, "fd.is_server"), None);
    assert_eq!(f(&ev, "fd.name"), "10.0.0.5:45678->203.0.113.9:4444");
    let pipe = with_fd_path(
        sys(
            "dup2",
            1,
            A::Dup {
                oldfd: 4,
                newfd: Some(1),
                flags: 0,
            },
        ),
        "pipe:[12345]",
    );
    assert_eq!(f(&pipe, "fd.type"), "pipe");
    assert_eq!(field(&pipe, "fd.name"), None);
}

// ---- fs.path.* ----

#[test]
fn fs_paths_resolve_against_the_working_directory() {
    let unlink = sys(
        "unlink",
        0,
        A::Unlink {
            path: "logs/../x.log".into(),
            flags: 0,
        },
    );
    assert_eq!(f(&unlink, "fs.path.name"), "/app/x.log");
    assert_eq!(f(&unlink, "evt.arg.path"), "logs/../x.log");
    // unlinkat's directory fd is not in the event: only absolute paths.
    let unlinkat = sys(
        "unlinkat",
        0,
        A::Unlink {
            path: "x.log".into(),
            flags: 0x200,
        },
    );
    assert_eq!(field(&unlinkat, "fs.path.name"), None);
    assert_eq!(f(&unlinkat, "evt.arg.name"), "x.log");
    assert_eq!(f(&unlinkat, "evt.arg.flags"), "AT_REMOVEDIR");
    let rename = sys(
        "renameat2",
        0,
        A::Rename {
            oldpath: "/tmp/a".into(),
            newpath: "/usr/bin/a".into(),
            flags: 1,
        },
    );
    assert_eq!(f(&rename, "fs.path.source"), "/tmp/a");
    assert_eq!(f(&rename, "fs.path.target"), "/usr/bin/a");
    assert_eq!(f(&rename, "evt.arg.oldpath"), "/tmp/a");
    assert_eq!(f(&rename, "evt.arg.newpath"), "/usr/bin/a");
    assert_eq!(f(&rename, "evt.arg.flags"), "RENAME_NOREPLACE");
    // A relative symlink target is relative to the link's directory.
    let symlink = sys(
        "symlink",
        0,
        A::Link {
            target: "../etc/shadow".into(),
            linkpath: "/tmp/s".into(),
            flags: 0,
            symbolic: true,
        },
    );
    assert_eq!(f(&symlink, "fs.path.source"), "/etc/shadow");
    assert_eq!(f(&symlink, "fs.path.target"), "/tmp/s");
    assert_eq!(f(&symlink, "evt.arg.target"), "../etc/shadow");
    assert_eq!(f(&symlink, "evt.arg.linkpath"), "/tmp/s");
    let link = sys(
        "linkat",
        0,
        A::Link {
            target: "/etc/shadow".into(),
            linkpath: "/tmp/h".into(),
            flags: 0x400,
            symbolic: false,
        },
    );
    assert_eq!(f(&link, "evt.arg.oldpath"), "/etc/shadow");
    assert_eq!(f(&link, "evt.arg.newpath"), "/tmp/h");
    assert_eq!(f(&link, "evt.arg.flags"), "AT_SYMLINK_FOLLOW");
    let mkdir = sys(
        "mkdir",
        0,
        A::Mkdir {
            path: "cache".into(),
            mode: 0o755,
        },
    );
    assert_eq!(f(&mkdir, "fs.path.name"), "/app/cache");
    let chmod = sys(
        "chmod",
        0,
        A::Chmod {
            path: Some("/tmp/x".into()),
            fd: None,
            mode: 0o4755,
        },
    );
    assert_eq!(f(&chmod, "fs.path.name"), "/tmp/x");
    assert_eq!(f(&chmod, "evt.arg.filename"), "/tmp/x");
    assert!(holds(
        &chmod,
        "evt.arg.mode contains S_ISUID and evt.arg.mode contains S_IXUSR"
    ));
    let fchmod = with_fd_path(
        sys(
            "fchmod",
            0,
            A::Chmod {
                path: None,
                fd: Some(3),
                mode: 0o755,
            },
        ),
        "/tmp/y",
    );
    assert_eq!(f(&fchmod, "fs.path.name"), "/tmp/y");
    assert_eq!(f(&fchmod, "fd.name"), "/tmp/y");
    assert_eq!(f(&fchmod, "evt.arg.fd"), "3");
}

// ---- arguments of the other families ----

#[test]
fn arguments_of_privilege_and_namespace_syscalls() {
    let ptrace = sys(
        "ptrace",
        0,
        A::Ptrace {
            request: 16,
            target_pid: 1234,
        },
    );
    assert_eq!(f(&ptrace, "evt.arg.request"), "PTRACE_ATTACH");
    assert_eq!(f(&ptrace, "evt.rawarg.request"), "16");
    assert!(holds(&ptrace, "evt.arg.request contains PTRACE_ATTACH"));
    assert_eq!(f(&ptrace, "evt.arg.pid"), "1234");
    let seize = sys(
        "ptrace",
        0,
        A::Ptrace {
            request: 0x4206,
            target_pid: 1,
        },
    );
    assert_eq!(f(&seize, "evt.arg.request"), "PTRACE_SEIZE");
    let socket = sys(
        "socket",
        5,
        A::Socket {
            domain: 17,
            sock_type: 3,
            protocol: 768,
        },
    );
    assert_eq!(f(&socket, "evt.arg.domain"), "AF_PACKET");
    assert!(holds(&socket, "evt.arg.domain contains AF_PACKET"));
    assert_eq!(
        f(&socket, "evt.args"),
        "fd=5 domain=AF_PACKET type=3 proto=768"
    );
    assert_eq!(f(&socket, "fd.num"), "5");
    let setns = with_fd_path(
        sys(
            "setns",
            0,
            A::Setns {
                fd: 3,
                nstype: 0x20000,
            },
        ),
        "mnt:[4026531841]",
    );
    assert_eq!(f(&setns, "evt.arg.nstype"), "CLONE_NEWNS");
    assert_eq!(f(&setns, "evt.arg.fd"), "3");
    let unshare = sys(
        "unshare",
        0,
        A::Unshare {
            flags: 0x10000000 | 0x20000,
        },
    );
    assert_eq!(f(&unshare, "evt.arg.flags"), "CLONE_NEWNS|CLONE_NEWUSER");
    assert!(holds(&unshare, "evt.arg.flags contains CLONE_NEWUSER"));
    let mount = sys(
        "mount",
        -1,
        A::Mount {
            source: "/dev/sda1".into(),
            target: "/mnt".into(),
            fstype: "ext4".into(),
            flags: 0xC0ED_0000 | 1,
        },
    );
    assert_eq!(f(&mount, "evt.arg.dev"), "/dev/sda1");
    assert_eq!(f(&mount, "evt.arg.dir"), "/mnt");
    assert_eq!(f(&mount, "evt.arg.type"), "ext4");
    assert_eq!(f(&mount, "evt.arg.flags"), "MS_RDONLY");
    assert_eq!(f(&mount, "evt.res"), "EPERM");
    let setuid = sys(
        "setresuid",
        0,
        A::SetId {
            ids: vec![33, 33, u32::MAX],
        },
    );
    assert_eq!(f(&setuid, "evt.arg.ruid"), "33");
    assert_eq!(f(&setuid, "evt.arg.suid"), u32::MAX.to_string());
    let setuid = sys("setuid", 0, A::SetId { ids: vec![0] });
    assert_eq!(f(&setuid, "evt.arg.uid"), "0");
    let kill = sys(
        "kill",
        0,
        A::Kill {
            target_pid: 77,
            signal: 9,
        },
    );
    assert_eq!(f(&kill, "evt.arg.pid"), "77");
    assert_eq!(f(&kill, "evt.arg.sig"), "SIGKILL");
    let bpf = sys("bpf", 6, A::Bpf { cmd: 5 });
    assert!(holds(&bpf, "evt.arg.cmd=5 or evt.arg.cmd=BPF_PROG_LOAD"));
    assert_eq!(f(&bpf, "evt.rawarg.cmd"), "5");
    let clone = sys("clone", 41, A::Clone { flags: 0x1200011 });
    assert!(holds(&clone, "evt.arg.flags contains CLONE_CHILD_SETTID"));
    assert_eq!(f(&clone, "evt.arg.res"), "41");
    assert_eq!(f(&clone, "syscall.type"), "clone");
    let memfd = with_fd_path(
        sys(
            "memfd_create",
            4,
            A::MemfdCreate {
                name: "payload".into(),
                flags: 1,
            },
        ),
        "/memfd:payload (deleted)",
    );
    assert_eq!(f(&memfd, "evt.arg.name"), "payload");
    assert_eq!(f(&memfd, "evt.arg.flags"), "MFD_CLOEXEC");
    assert_eq!(f(&memfd, "fd.type"), "memfd");
    assert_eq!(f(&memfd, "fd.name"), "/memfd:payload (deleted)");
    let uffd = sys("userfaultfd", 5, A::Userfaultfd { flags: 0o2004000 });
    assert_eq!(f(&uffd, "evt.arg.flags"), "O_NONBLOCK|O_CLOEXEC");
    assert_eq!(f(&uffd, "fd.type"), "userfaultfd");
    let module = with_fd_path(
        sys(
            "finit_module",
            -1,
            A::Module {
                params: "debug=1".into(),
                fd: Some(3),
                flags: 0,
            },
        ),
        "/tmp/rk.ko",
    );
    assert_eq!(f(&module, "evt.arg.uargs"), "debug=1");
    assert_eq!(f(&module, "fd.name"), "/tmp/rk.ko");
    assert_eq!(f(&module, "evt.arg.flags"), "0");
}

#[test]
fn process_facts_render_like_falco() {
    let mut c = ctx();
    if let Some(p) = c.procs.get_mut(&20) {
        p.cap_effective = (1 << 21) | (1 << 16);
        p.exe_upper_layer = true;
        p.loginuid = Some(1000);
        p.tty = 34816;
    }
    let ev = open_at("openat", "/etc/hosts", 0, 3);
    let e = engine(&rule(
        "thread.cap_effective contains CAP_SYS_ADMIN and thread.cap_effective icontains sys_module \
         and proc.is_exe_upper_layer = true and user.loginuid = 1000 and proc.tty = 34816 \
         and proc.cwd = /app",
    ));
    let mut out = Vec::new();
    e.evaluate(&ev, &c, &mut out);
    assert_eq!(out.len(), 1);
    let a = e.render(&out[0], &ev, &c).unwrap();
    let caps = a.fields.iter().find(|(n, _)| n == "thread.cap_effective");
    assert_eq!(
        caps.and_then(|(_, v)| v.as_deref()),
        Some("CAP_SYS_MODULE CAP_SYS_ADMIN")
    );
    let mut ex = exec(20, 1, "/bin/sh", &["sh"], CG);
    if let crate::event::EventBody::Exec(x) = &mut ex.body {
        x.vpid = 7;
    }
    assert_eq!(f(&ex, "proc.vpid"), "7");
    assert_eq!(field(&open_at("openat", "/x", 0, 3), "proc.vpid"), None);
}

#[test]
fn check_reports_arguments_an_event_type_does_not_have() {
    let r = check(&[RuleSource::new(
        "t.yaml",
        "- rule: r\n  desc: d\n  condition: evt.type = execve\n  output: '%evt.arg.flags %evt.arg.res'\n  priority: INFO\n",
    )]);
    assert!(r.summary.fields_not_captured.contains_key("evt.arg.flags"));
    assert!(!r.summary.fields_not_captured.contains_key("evt.arg.res"));
}

#[test]
fn fs_paths_use_the_directory_the_kernel_resolved_at_the_call() {
    let with_dir = |mut ev: Event, dir: &str, for_second: bool| {
        if let crate::event::EventBody::Syscall(s) = &mut ev.body {
            s.dir = Some(dir.into());
            s.dir_for = (true, for_second);
        }
        ev
    };
    // After a chdir the process table's cwd (/app) is stale; the kernel's
    // directory wins.
    let unlink = with_dir(
        sys(
            "unlink",
            0,
            A::Unlink {
                path: "../x.log".into(),
                flags: 0,
            },
        ),
        "/srv/data/logs",
        false,
    );
    assert_eq!(f(&unlink, "fs.path.name"), "/srv/data/x.log");
    // unlinkat with a directory fd: resolvable now.
    let unlinkat = with_dir(
        sys(
            "unlinkat",
            0,
            A::Unlink {
                path: "x.log".into(),
                flags: 0,
            },
        ),
        "/var/log",
        false,
    );
    assert_eq!(f(&unlinkat, "fs.path.name"), "/var/log/x.log");
    // renameat: the directory applies to the first path only; the second,
    // relative to another directory fd, stays unknown.
    let rename = with_dir(
        sys(
            "renameat",
            0,
            A::Rename {
                oldpath: "a".into(),
                newpath: "b".into(),
                flags: 0,
            },
        ),
        "/tmp",
        false,
    );
    assert_eq!(f(&rename, "fs.path.source"), "/tmp/a");
    assert_eq!(field(&rename, "fs.path.target"), None);
    // A failed relative open: fd.name from the kernel's directory.
    let open = with_dir(
        sys(
            "openat",
            -2,
            A::Open {
                path: "conf.yaml".into(),
                flags: 0,
                mode: 0,
                dirfd: Some(-100),
            },
        ),
        "/etc/app",
        false,
    );
    assert_eq!(f(&open, "fd.name"), "/etc/app/conf.yaml");
}
