//! The default rules on syscall events shaped like the sensor's: each file,
//! network, privilege and escape rule fires on a crafted attack, and
//! ordinary workload syscalls (a web server reading its config, an app
//! talking to its database, apt on the host ...) raise nothing.

use std::collections::BTreeSet;

use kestrel::event::{Event, SockAddr, SyscallArgs as A};
use kestrel::rules::Engine;
use kestrel::rules::testing::{
    HOST_CGROUP, MapContext, connect, fork, inet, open, syscall, tcp, with_fd_path, with_tuple,
};

use super::default_rules::{APP, Case, base_ctx, engine, fired};

const O_WRONLY: u64 = 1;
const O_RDWR: u64 = 2;
const O_CREAT: u64 = 0o100;
const O_TRUNC: u64 = 0o1000;
const O_APPEND: u64 = 0o2000;
const O_CLOEXEC: u64 = 0o2000000;

/// Judges `ev` in the base context after `setup` adjusted it.
fn run(e: &Engine, ev: &Event, setup: impl FnOnce(&mut MapContext)) -> BTreeSet<String> {
    let mut c = base_ctx();
    setup(&mut c);
    fired(e, ev, &c)
}

fn plain(_: &mut MapContext) {}

/// A process `pid` named `name` in the app container, child of node (20).
fn app_proc(pid: u32, name: &'static str) -> impl FnOnce(&mut MapContext) {
    move |c| {
        c.add_proc(pid, 20, name, &format!("/usr/bin/{name}"), &[], APP);
    }
}

/// In the app container, by `pid` named `comm` (child of node).
fn in_app(pid: u32, comm: &str, name: &'static str, ret: i64, args: A) -> Event {
    syscall(pid, 20, comm, APP, name, ret, args)
}

fn write_open(pid: u32, comm: &str, cg: u64, path: &str, flags: u64) -> Event {
    open(pid, comm, cg, path, flags, 5, Some(path))
}

pub(crate) fn attack_cases(e: &Engine) -> Vec<Case> {
    let c = |rule: &'static str, fired: BTreeSet<String>| Case { rule, fired };
    vec![
        c(
            "Sensitive file opened for reading",
            run(
                e,
                &open(
                    30,
                    "python3",
                    APP,
                    "/etc/shadow",
                    O_CLOEXEC,
                    5,
                    Some("/etc/shadow"),
                ),
                app_proc(30, "python3"),
            ),
        ),
        c(
            "Sensitive file opened for reading",
            run(
                e,
                &open(
                    40,
                    "curl",
                    HOST_CGROUP,
                    "/root/.ssh/id_ed25519",
                    0,
                    3,
                    Some("/root/.ssh/id_ed25519"),
                ),
                |c| {
                    c.add_proc(40, 12, "curl", "/usr/bin/curl", &[], HOST_CGROUP);
                },
            ),
        ),
        c(
            "Credential file read by shell or file tool",
            run(
                e,
                &open(
                    30,
                    "cat",
                    APP,
                    "/var/run/secrets/kubernetes.io/serviceaccount/token",
                    0,
                    3,
                    // The kernel resolves the projected volume's symlinks.
                    Some("/run/secrets/kubernetes.io/serviceaccount/..2024_05_01_10_00_00.1/token"),
                ),
                app_proc(30, "cat"),
            ),
        ),
        c(
            "Write below system directory in container",
            run(
                e,
                &write_open(30, "sh", APP, "/etc/passwd", O_WRONLY | O_APPEND),
                app_proc(30, "sh"),
            ),
        ),
        c(
            "Write below system directory in container",
            run(
                e,
                &write_open(
                    30,
                    "sh",
                    APP,
                    "/root/.ssh/authorized_keys",
                    O_WRONLY | O_CREAT | O_APPEND,
                ),
                app_proc(30, "sh"),
            ),
        ),
        c(
            "Log file truncated",
            run(
                e,
                &write_open(
                    12,
                    "bash",
                    HOST_CGROUP,
                    "/var/log/auth.log",
                    O_WRONLY | O_CREAT | O_TRUNC,
                ),
                plain,
            ),
        ),
        c(
            "Link over sensitive file",
            run(
                e,
                &in_app(
                    30,
                    "ln",
                    "symlinkat",
                    0,
                    A::Link {
                        target: "/etc/shadow".into(),
                        linkpath: "/tmp/s".into(),
                        flags: 0,
                        symbolic: true,
                    },
                ),
                app_proc(30, "ln"),
            ),
        ),
        c(
            "Link over sensitive file",
            // Relative target: resolved against the link's directory.
            run(
                e,
                &in_app(
                    30,
                    "python3",
                    "symlink",
                    0,
                    A::Link {
                        target: "../etc/shadow".into(),
                        linkpath: "/tmp/s".into(),
                        flags: 0,
                        symbolic: true,
                    },
                ),
                app_proc(30, "python3"),
            ),
        ),
        c(
            "Link over sensitive file",
            run(
                e,
                &in_app(
                    30,
                    "ln",
                    "linkat",
                    0,
                    A::Link {
                        target: "/etc/shadow".into(),
                        linkpath: "/tmp/h".into(),
                        flags: 0,
                        symbolic: false,
                    },
                ),
                app_proc(30, "ln"),
            ),
        ),
        c(
            "Connection to mining pool port",
            run(
                e,
                &connect(
                    30,
                    "kworker",
                    APP,
                    inet("10.0.0.5", 41000),
                    inet("45.9.148.21", 3333),
                ),
                app_proc(30, "kworker"),
            ),
        ),
        c(
            "Packet socket created in container",
            run(
                e,
                &in_app(
                    30,
                    "python3",
                    "socket",
                    5,
                    A::Socket {
                        domain: 17,
                        sock_type: 3,
                        protocol: 768,
                    },
                ),
                app_proc(30, "python3"),
            ),
        ),
        c(
            "Stdio redirected to network connection",
            run(
                e,
                &with_tuple(
                    in_app(
                        30,
                        "sh",
                        "dup2",
                        0,
                        A::Dup {
                            oldfd: 3,
                            newfd: Some(0),
                            flags: 0,
                        },
                    ),
                    tcp(inet("10.0.0.5", 45678), inet("203.0.113.9", 4444)),
                ),
                app_proc(30, "sh"),
            ),
        ),
        c(
            "Stdio redirected to network connection",
            run(
                e,
                &with_tuple(
                    in_app(
                        30,
                        "python3",
                        "dup3",
                        2,
                        A::Dup {
                            oldfd: 3,
                            newfd: Some(2),
                            flags: 0,
                        },
                    ),
                    tcp(inet("fd00::5", 45678), inet("2001:db8::9", 443)),
                ),
                app_proc(30, "python3"),
            ),
        ),
        c(
            "Kubernetes API contacted from container",
            run(
                e,
                &connect(
                    20,
                    "node",
                    APP,
                    inet("10.0.0.5", 41000),
                    inet("10.96.0.1", 443),
                ),
                plain,
            ),
        ),
        c(
            "Kubernetes API contacted from container",
            run(
                e,
                &connect(
                    20,
                    "node",
                    APP,
                    inet("10.0.0.5", 41000),
                    inet("192.168.1.10", 6443),
                ),
                plain,
            ),
        ),
        c(
            "Process running from deleted executable in container",
            run(e, &fork(30, 20, "dropper", 31, APP), |c| {
                c.add_proc(30, 20, "dropper", "/tmp/dropper", &[], APP)
                    .exe_deleted = true;
            }),
        ),
        c(
            "Executable bit set in container",
            run(
                e,
                &in_app(
                    30,
                    "sh",
                    "fchmodat",
                    0,
                    A::Chmod {
                        path: Some("x".into()),
                        fd: Some(-100),
                        mode: 0o755,
                    },
                ),
                |c| {
                    c.add_proc(30, 20, "sh", "/bin/sh", &[], APP).cwd = Some("/tmp".into());
                },
            ),
        ),
        c(
            "Executable bit set in container",
            run(
                e,
                &in_app(
                    30,
                    "curl",
                    "openat",
                    3,
                    A::Open {
                        path: "/dev/shm/.x".into(),
                        flags: O_WRONLY | O_CREAT | O_TRUNC,
                        mode: 0o700,
                        dirfd: Some(-100),
                    },
                ),
                app_proc(30, "curl"),
            ),
        ),
        c(
            "Container escape via cgroup release_agent",
            run(
                e,
                &write_open(
                    30,
                    "sh",
                    APP,
                    "/tmp/cgrp/release_agent",
                    O_WRONLY | O_CREAT | O_TRUNC,
                ),
                app_proc(30, "sh"),
            ),
        ),
        c(
            "Namespace change from container",
            run(
                e,
                &with_fd_path(
                    in_app(30, "python3", "setns", 0, A::Setns { fd: 3, nstype: 0 }),
                    "mnt:[4026531841]",
                ),
                app_proc(30, "python3"),
            ),
        ),
        c(
            "Namespace change from container",
            run(
                e,
                &in_app(
                    30,
                    "exploit",
                    "unshare",
                    0,
                    A::Unshare {
                        flags: 0x10000000 | 0x20000,
                    },
                ),
                app_proc(30, "exploit"),
            ),
        ),
        c(
            "Mount in container",
            run(
                e,
                &in_app(
                    30,
                    "python3",
                    "mount",
                    -1,
                    A::Mount {
                        source: "/dev/sda1".into(),
                        target: "/mnt".into(),
                        fstype: "ext4".into(),
                        flags: 0,
                    },
                ),
                app_proc(30, "python3"),
            ),
        ),
        c(
            "Host access from container",
            run(
                e,
                &open(30, "cat", APP, "/proc/1/root/etc/shadow", 0, -13, None),
                app_proc(30, "cat"),
            ),
        ),
        c(
            "Host access from container",
            run(
                e,
                &in_app(
                    30,
                    "curl",
                    "connect",
                    0,
                    A::Connect {
                        fd: 3,
                        addr: Some(SockAddr::Unix {
                            path: "/var/run/docker.sock".into(),
                        }),
                    },
                ),
                app_proc(30, "curl"),
            ),
        ),
        c(
            "Kernel module loaded",
            run(
                e,
                &with_fd_path(
                    in_app(
                        30,
                        "python3",
                        "finit_module",
                        -1,
                        A::Module {
                            params: String::new(),
                            fd: Some(3),
                            flags: 0,
                        },
                    ),
                    "/tmp/rk.ko",
                ),
                app_proc(30, "python3"),
            ),
        ),
        c(
            "Userfaultfd created in container",
            run(
                e,
                &in_app(
                    30,
                    "exploit",
                    "userfaultfd",
                    5,
                    A::Userfaultfd { flags: 0o2004000 },
                ),
                app_proc(30, "exploit"),
            ),
        ),
        c(
            "Ptrace attach",
            run(
                e,
                &in_app(
                    30,
                    "inject",
                    "ptrace",
                    0,
                    A::Ptrace {
                        request: 16,
                        target_pid: 20,
                    },
                ),
                app_proc(30, "inject"),
            ),
        ),
        c(
            "Ptrace anti-debug",
            run(
                e,
                &in_app(
                    30,
                    "malware",
                    "ptrace",
                    0,
                    A::Ptrace {
                        request: 0,
                        target_pid: 0,
                    },
                ),
                app_proc(30, "malware"),
            ),
        ),
    ]
}

#[test]
fn ordinary_syscalls_raise_no_alerts() {
    let e = engine();
    let quiet: Vec<(&str, BTreeSet<String>)> = vec![
        (
            "nginx reads its config",
            run(
                &e,
                &open(
                    21,
                    "nginx",
                    APP,
                    "/etc/nginx/nginx.conf",
                    O_CLOEXEC,
                    6,
                    Some("/etc/nginx/nginx.conf"),
                ),
                plain,
            ),
        ),
        (
            "nginx opens its access log",
            run(
                &e,
                &write_open(
                    21,
                    "nginx",
                    APP,
                    "/var/log/nginx/access.log",
                    O_WRONLY | O_CREAT | O_APPEND,
                ),
                plain,
            ),
        ),
        ("a container reads /etc/hosts, resolv.conf and passwd", {
            let mut all = BTreeSet::new();
            for p in [
                "/etc/hosts",
                "/etc/resolv.conf",
                "/etc/passwd",
                "/etc/ssl/certs/ca-certificates.crt",
            ] {
                all.extend(run(
                    &e,
                    &open(20, "node", APP, p, O_CLOEXEC, 7, Some(p)),
                    plain,
                ));
            }
            all
        }),
        (
            "app reads its own service account token",
            run(
                &e,
                &open(
                    20,
                    "node",
                    APP,
                    "/var/run/secrets/kubernetes.io/serviceaccount/token",
                    O_CLOEXEC,
                    8,
                    Some("/run/secrets/kubernetes.io/serviceaccount/..data/token"),
                ),
                plain,
            ),
        ),
        (
            "missing optional config",
            run(
                &e,
                &open(20, "node", APP, "config/local.yaml", O_CLOEXEC, -2, None),
                plain,
            ),
        ),
        (
            "envsubst renders the nginx config",
            run(
                &e,
                &write_open(
                    30,
                    "envsubst",
                    APP,
                    "/etc/nginx/conf.d/default.conf",
                    O_WRONLY | O_CREAT | O_TRUNC,
                ),
                app_proc(30, "envsubst"),
            ),
        ),
        (
            "python writes bytecode caches",
            run(
                &e,
                &write_open(
                    20,
                    "python3",
                    APP,
                    "/usr/lib/python3.11/json/__pycache__/decoder.cpython-311.pyc.140",
                    O_WRONLY | O_CREAT | 0o200,
                ),
                plain,
            ),
        ),
        (
            "app writes a temp upload",
            run(
                &e,
                &in_app(
                    20,
                    "node",
                    "openat",
                    9,
                    A::Open {
                        path: "/tmp/upload_123".into(),
                        flags: O_RDWR | O_CREAT | 0o200,
                        mode: 0o600,
                        dirfd: Some(-100),
                    },
                ),
                plain,
            ),
        ),
        (
            "java unpacks a native library to /tmp",
            run(
                &e,
                &in_app(
                    30,
                    "java",
                    "chmod",
                    0,
                    A::Chmod {
                        path: Some("/tmp/libnetty_transport_native_epoll_x86_6412345.so".into()),
                        fd: None,
                        mode: 0o755,
                    },
                ),
                app_proc(30, "java"),
            ),
        ),
        (
            "postgres entrypoint secures its data directory",
            run(
                &e,
                &in_app(
                    30,
                    "chmod",
                    "fchmodat",
                    0,
                    A::Chmod {
                        path: Some("/var/lib/postgresql/data".into()),
                        fd: Some(-100),
                        mode: 0o700,
                    },
                ),
                app_proc(30, "chmod"),
            ),
        ),
        (
            "web app connects to its database",
            run(
                &e,
                &connect(
                    20,
                    "node",
                    APP,
                    inet("10.0.0.5", 45678),
                    inet("10.0.3.7", 5432),
                ),
                plain,
            ),
        ),
        (
            "web app calls a public API",
            run(
                &e,
                &connect(
                    20,
                    "node",
                    APP,
                    inet("10.0.0.5", 45679),
                    inet("93.184.216.34", 443),
                ),
                plain,
            ),
        ),
        (
            "selenium tests reach the grid on 4444 in the cluster",
            run(
                &e,
                &connect(
                    20,
                    "node",
                    APP,
                    inet("10.0.0.5", 45680),
                    inet("10.0.9.9", 4444),
                ),
                plain,
            ),
        ),
        (
            "DNS over UDP to the cluster resolver",
            run(
                &e,
                &with_tuple(
                    in_app(
                        20,
                        "node",
                        "connect",
                        0,
                        A::Connect {
                            fd: 9,
                            addr: Some(inet("10.96.0.10", 53)),
                        },
                    ),
                    kestrel::event::SockTuple {
                        proto: "udp",
                        local: inet("10.0.0.5", 53000),
                        remote: inet("10.96.0.10", 53),
                    },
                ),
                plain,
            ),
        ),
        (
            "nginx accepts a client",
            run(
                &e,
                &with_tuple(
                    syscall(
                        21,
                        10,
                        "nginx",
                        APP,
                        "accept4",
                        12,
                        A::Accept {
                            fd: 6,
                            flags: 0o4000,
                        },
                    ),
                    tcp(inet("10.0.1.5", 80), inet("10.0.0.9", 51234)),
                ),
                plain,
            ),
        ),
        (
            "nginx listens",
            run(
                &e,
                &with_tuple(
                    syscall(
                        21,
                        10,
                        "nginx",
                        APP,
                        "listen",
                        0,
                        A::Listen {
                            fd: 6,
                            backlog: 511,
                        },
                    ),
                    tcp(inet("0.0.0.0", 80), inet("0.0.0.0", 0)),
                ),
                plain,
            ),
        ),
        (
            "a shell pipeline dups a pipe onto stdout",
            run(
                &e,
                &with_fd_path(
                    in_app(
                        30,
                        "sh",
                        "dup2",
                        1,
                        A::Dup {
                            oldfd: 4,
                            newfd: Some(1),
                            flags: 0,
                        },
                    ),
                    "pipe:[99]",
                ),
                app_proc(30, "sh"),
            ),
        ),
        (
            "headless chrome sandboxes itself",
            run(
                &e,
                &in_app(
                    30,
                    "chrome",
                    "unshare",
                    0,
                    A::Unshare {
                        flags: 0x10000000 | 0x20000000 | 0x40000000,
                    },
                ),
                app_proc(30, "chrome"),
            ),
        ),
        (
            "runc joins the container's namespaces",
            run(
                &e,
                &with_fd_path(
                    syscall(
                        30,
                        10,
                        "runc:[2:INIT]",
                        APP,
                        "setns",
                        0,
                        A::Setns {
                            fd: 5,
                            nstype: 0x20000,
                        },
                    ),
                    "mnt:[4026532000]",
                ),
                plain,
            ),
        ),
        (
            "an app unshares its file table",
            run(
                &e,
                &in_app(20, "node", "unshare", 0, A::Unshare { flags: 0x400 }),
                plain,
            ),
        ),
        ("nginx forks a worker (syscall and scheduler events)", {
            let mut all = run(
                &e,
                &syscall(
                    21,
                    10,
                    "nginx",
                    APP,
                    "clone",
                    31,
                    A::Clone { flags: 0x1200011 },
                ),
                plain,
            );
            all.extend(run(&e, &fork(21, 10, "nginx", 31, APP), plain));
            all
        }),
        (
            "a failed exec from a terminal shell in the container",
            run(
                &e,
                &in_app(
                    30,
                    "bash",
                    "execve",
                    -2,
                    A::Exec {
                        path: "/usr/local/bin/foo".into(),
                        dirfd: None,
                    },
                ),
                |c| {
                    c.add_proc(30, 20, "bash", "/bin/bash", &[], APP).tty = 34816;
                },
            ),
        ),
        (
            "php-fpm drops privileges",
            run(
                &e,
                &in_app(30, "php-fpm", "setuid", 0, A::SetId { ids: vec![33] }),
                app_proc(30, "php-fpm"),
            ),
        ),
        (
            "a supervisor stops a worker",
            run(
                &e,
                &in_app(
                    20,
                    "node",
                    "kill",
                    0,
                    A::Kill {
                        target_pid: 31,
                        signal: 15,
                    },
                ),
                plain,
            ),
        ),
        (
            "v8 creates a memfd for JIT code",
            run(
                &e,
                &with_fd_path(
                    in_app(
                        20,
                        "node",
                        "memfd_create",
                        11,
                        A::MemfdCreate {
                            name: "jit".into(),
                            flags: 1,
                        },
                    ),
                    "/memfd:jit (deleted)",
                ),
                plain,
            ),
        ),
        ("app rotates its own files", {
            let mut all = run(
                &e,
                &in_app(
                    20,
                    "node",
                    "rename",
                    0,
                    A::Rename {
                        oldpath: "/app/data/x.tmp".into(),
                        newpath: "/app/data/x".into(),
                        flags: 0,
                    },
                ),
                plain,
            );
            all.extend(run(
                &e,
                &in_app(
                    20,
                    "node",
                    "unlink",
                    0,
                    A::Unlink {
                        path: "/tmp/x".into(),
                        flags: 0,
                    },
                ),
                plain,
            ));
            all.extend(run(
                &e,
                &in_app(
                    20,
                    "node",
                    "mkdir",
                    0,
                    A::Mkdir {
                        path: "/tmp/cache".into(),
                        mode: 0o755,
                    },
                ),
                plain,
            ));
            all
        }),
        ("apt on the host", {
            let mut all = run(
                &e,
                &write_open(
                    40,
                    "apt-get",
                    HOST_CGROUP,
                    "/var/lib/apt/lists/partial/x",
                    O_WRONLY | O_CREAT | O_TRUNC,
                ),
                |c| {
                    c.add_proc(
                        40,
                        12,
                        "apt-get",
                        "/usr/bin/apt-get",
                        &["update"],
                        HOST_CGROUP,
                    );
                },
            );
            all.extend(run(
                &e,
                &write_open(
                    41,
                    "dpkg",
                    HOST_CGROUP,
                    "/usr/bin/htop",
                    O_WRONLY | O_CREAT | O_TRUNC,
                ),
                |c| {
                    c.add_proc(41, 40, "dpkg", "/usr/bin/dpkg", &[], HOST_CGROUP);
                },
            ));
            all.extend(run(
                &e,
                &write_open(
                    40,
                    "apt-get",
                    HOST_CGROUP,
                    "/var/log/apt/term.log",
                    O_WRONLY | O_CREAT | O_APPEND,
                ),
                |c| {
                    c.add_proc(
                        40,
                        12,
                        "apt-get",
                        "/usr/bin/apt-get",
                        &["update"],
                        HOST_CGROUP,
                    );
                },
            ));
            all
        }),
        (
            "passwd on the host updates the shadow file",
            run(
                &e,
                &write_open(42, "passwd", HOST_CGROUP, "/etc/shadow", O_RDWR),
                |c| {
                    c.add_proc(42, 12, "passwd", "/usr/bin/passwd", &[], HOST_CGROUP);
                },
            ),
        ),
        (
            "modprobe loads a module on the host",
            run(
                &e,
                &with_fd_path(
                    syscall(
                        43,
                        2,
                        "modprobe",
                        HOST_CGROUP,
                        "finit_module",
                        0,
                        A::Module {
                            params: String::new(),
                            fd: Some(3),
                            flags: 0,
                        },
                    ),
                    "/usr/lib/modules/6.8.0/kernel/net/netfilter/nf_conntrack.ko.zst",
                ),
                plain,
            ),
        ),
    ];
    for (what, fired) in quiet {
        assert!(fired.is_empty(), "{what}: unexpected alerts {fired:?}");
    }
}

#[test]
fn rendered_syscall_alert_names_the_connection() {
    let e = engine();
    let ev = with_tuple(
        in_app(
            30,
            "sh",
            "dup2",
            1,
            A::Dup {
                oldfd: 3,
                newfd: Some(1),
                flags: 0,
            },
        ),
        tcp(inet("10.0.0.5", 45678), inet("203.0.113.9", 4444)),
    );
    let mut c = base_ctx();
    c.add_proc(30, 20, "sh", "/bin/sh", &["-i"], APP);
    let mut out = Vec::new();
    e.evaluate(&ev, &c, &mut out);
    let alerts: Vec<_> = out.iter().filter_map(|m| e.render(m, &ev, &c)).collect();
    let a = alerts
        .iter()
        .find(|a| a.rule == "Stdio redirected to network connection")
        .expect("fires");
    assert!(
        a.output
            .contains("connection=10.0.0.5:45678->203.0.113.9:4444"),
        "{}",
        a.output
    );
    assert!(a.output.contains("fd=1 lport=45678"), "{}", a.output);
    assert!(a.output.contains("cmdline=sh -i"), "{}", a.output);
}
