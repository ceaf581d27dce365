//! Syscall capture: each family performed for real (inside runc and podman
//! containers, or in a child cgroup with namespaces the test creates) and
//! the decoded event checked: paths, flags, modes, addresses, ports,
//! results, exe origin flags, the per-container profile, loss accounting.

use kestrel::{
    config::SensorConfig,
    event::{Event, EventBody, SockAddr, Syscall, SyscallArgs},
};

use crate::support::{
    LiveSensor, TestCgroup, cgroup_id_of, podman::PodmanContainer, require_root,
    runc::RuncContainer, wait_ok,
};

/// Syscall events of a cgroup.
fn syscalls(events: &[Event], cgroup: u64) -> Vec<(Event, Syscall)> {
    events
        .iter()
        .filter(|e| e.header.cgroup_id == cgroup)
        .filter_map(|e| match &e.body {
            EventBody::Syscall(s) => Some((e.clone(), s.clone())),
            _ => None,
        })
        .collect()
}

fn find<'a>(
    calls: &'a [(Event, Syscall)],
    what: &str,
    pred: impl Fn(&Syscall) -> bool,
) -> &'a Syscall {
    calls
        .iter()
        .map(|(_, s)| s)
        .find(|s| pred(s))
        .unwrap_or_else(|| {
            let names: Vec<_> = calls.iter().map(|(_, s)| (s.name, &s.args)).collect();
            panic!("no {what} among {names:#?}")
        })
}

#[test]
fn file_syscalls_inside_runc_container_carry_paths_flags_and_modes() {
    if !require_root() {
        return;
    }
    let sensor = LiveSensor::start();
    let container = RuncContainer::start("files");
    let cgroup = cgroup_id_of(container.init_pid());
    let script = "echo data > /tmp/kf && cat /tmp/kf >/dev/null && chmod 751 /tmp/kf \
                  && ln -s /tmp/kf /tmp/kl && ln /tmp/kf /tmp/kh && mv /tmp/kh /tmp/kh2 \
                  && mkdir /tmp/kd && rm /tmp/kl && rmdir /tmp/kd && echo done";
    let out = container.exec(&["/bin/sh", "-c", script]);
    assert!(out.status.success(), "script failed: {out:?}");
    let events = sensor.wait_for("rmdir inside the container", |events| {
        syscalls(events, cgroup)
            .iter()
            .any(|(_, s)| matches!(&s.args, SyscallArgs::Unlink { path, .. } if path == "/tmp/kd"))
    });
    let calls = syscalls(&events, cgroup);

    let create = find(&calls, "open for writing /tmp/kf", |s| {
        matches!(&s.args, SyscallArgs::Open { path, flags, .. }
            if path == "/tmp/kf" && flags & libc::O_CREAT as u64 != 0)
    });
    assert!(create.ret >= 0);
    assert_eq!(
        create.fd_path.as_deref(),
        Some("/tmp/kf"),
        "resolved inside the container root"
    );
    let SyscallArgs::Open { flags, mode, .. } = &create.args else {
        unreachable!()
    };
    assert_eq!(flags & libc::O_ACCMODE as u64, libc::O_WRONLY as u64);
    assert_eq!(mode & 0o777, 0o666);

    // (runc's own setup also chmods inside the rootfs: pick ours.)
    let chmod = find(
        &calls,
        "chmod /tmp/kf",
        |s| matches!(&s.args, SyscallArgs::Chmod { path: Some(p), .. } if p == "/tmp/kf"),
    );
    let SyscallArgs::Chmod { path, mode, .. } = &chmod.args else {
        unreachable!()
    };
    assert_eq!(path.as_deref(), Some("/tmp/kf"));
    assert_eq!(mode & 0o7777, 0o751);
    assert_eq!(chmod.ret, 0);

    find(&calls, "symlink /tmp/kl -> /tmp/kf", |s| {
        matches!(&s.args, SyscallArgs::Link { target, linkpath, symbolic: true, .. }
            if target == "/tmp/kf" && linkpath == "/tmp/kl")
    });
    find(&calls, "hard link /tmp/kh", |s| {
        matches!(&s.args, SyscallArgs::Link { target, linkpath, symbolic: false, .. }
            if target == "/tmp/kf" && linkpath == "/tmp/kh")
    });
    find(&calls, "rename /tmp/kh -> /tmp/kh2", |s| {
        matches!(&s.args, SyscallArgs::Rename { oldpath, newpath, .. }
            if oldpath == "/tmp/kh" && newpath == "/tmp/kh2")
    });
    find(
        &calls,
        "mkdir /tmp/kd",
        |s| matches!(&s.args, SyscallArgs::Mkdir { path, .. } if path == "/tmp/kd"),
    );
    find(
        &calls,
        "unlink /tmp/kl",
        |s| matches!(&s.args, SyscallArgs::Unlink { path, .. } if path == "/tmp/kl"),
    );

    // The kernel kept this container's syscall profile and reported first uses.
    let profile = sensor.profile.syscalls_of(cgroup);
    for name in ["openat", "mkdir", "rename"] {
        let nr = kestrel_common::syscalls::native_table()
            .iter()
            .find(|(_, h)| kestrel_common::syscalls::name_of(*h) == name)
            .map(|(nr, _)| *nr);
        if let Some(nr) = nr {
            assert!(
                profile.contains(&nr),
                "{name} ({nr}) missing from profile {profile:?}"
            );
        }
    }
    assert!(
        events.iter().any(|e| e.header.cgroup_id == cgroup
            && matches!(&e.body, EventBody::FirstSyscall(f) if f.name == "openat")),
        "no first-use record of openat for the container"
    );
    // exit_group never returns to `sys_exit`; the exit probe adds it.
    let events = sensor.wait_for("first use of exit_group in the container", |events| {
        events.iter().any(|e| {
            e.header.cgroup_id == cgroup
                && matches!(&e.body, EventBody::FirstSyscall(f) if f.name == "exit_group")
        })
    });
    let exit_group = kestrel::sensor::syscall_table::exit_numbers().1;
    assert!(sensor.profile.syscalls_of(cgroup).contains(&exit_group));
    // Every first use is named, captured syscall or not.
    let unnamed: Vec<_> = events
        .iter()
        .filter(|e| e.header.cgroup_id == cgroup)
        .filter_map(|e| match &e.body {
            EventBody::FirstSyscall(f) if f.name.starts_with("syscall_") => Some(f.nr),
            _ => None,
        })
        .collect();
    assert!(unnamed.is_empty(), "first uses without a name: {unnamed:?}");
}

#[test]
fn tcp_udp_and_unix_sockets_on_namespace_loopback_carry_addresses_and_tuples() {
    if !require_root() {
        return;
    }
    let sensor = LiveSensor::start();
    let cgroup = TestCgroup::new("net");
    // A new network namespace: loopback only, nothing leaves the box.
    let script = r#"
import os, socket
os.system("ip link set lo up")
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 47011)); srv.listen(4)
cli = socket.socket(); cli.connect(("127.0.0.1", 47011))
conn, peer = srv.accept()
print(peer[1])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(("127.0.0.1", 47012))
s6 = socket.socket(socket.AF_INET6)
try: s6.connect(("::1", 47013))
except OSError: pass
ux = socket.socket(socket.AF_UNIX)
try: ux.connect("/tmp/kestrel-no-such.sock")
except OSError: pass
os.dup2(conn.fileno(), 9)
"#;
    let child = cgroup
        .command("unshare")
        .args(["--net", "python3", "-c", script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("unshare python3");
    let out = child.wait_with_output().expect("python");
    assert!(out.status.success(), "network script failed: {out:?}");
    let client_port: u16 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("port");

    // The script's last call; the shell `os.system` runs also dup2s (to
    // fd 255), so match the target fd or the wait ends too early.
    let events = sensor.wait_for("dup2 of the accepted socket to fd 9", |events| {
        syscalls(events, cgroup.id)
            .iter()
            .any(|(_, s)| matches!(s.args, SyscallArgs::Dup { newfd: Some(9), .. }))
    });
    let calls = syscalls(&events, cgroup.id);
    let inet = |port| SockAddr::Inet {
        addr: std::net::Ipv4Addr::LOCALHOST,
        port,
    };

    let socket = find(
        &calls,
        "socket(AF_INET, SOCK_STREAM)",
        |s| matches!(s.args, SyscallArgs::Socket { domain: 2, sock_type, .. } if sock_type & 0xf == 1),
    );
    assert!(socket.ret >= 0);
    let bind = find(&calls, "bind to 127.0.0.1", |s| {
        matches!(
            &s.args,
            SyscallArgs::Bind {
                addr: Some(SockAddr::Inet { .. }),
                ..
            }
        )
    });
    let SyscallArgs::Bind { addr, .. } = &bind.args else {
        unreachable!()
    };
    assert_eq!(addr.as_ref(), Some(&inet(47011)));
    assert_eq!(bind.ret, 0);
    find(&calls, "listen", |s| s.name == "listen" && s.ret == 0);

    let connect = find(&calls, "tcp connect", |s| {
        s.name == "connect"
            && s.tuple.as_ref().is_some_and(|t| t.proto == "tcp")
            && matches!(&s.args, SyscallArgs::Connect { addr: Some(a), .. } if *a == inet(47011))
    });
    assert_eq!(connect.ret, 0);
    let tuple = connect.tuple.as_ref().expect("tuple");
    assert_eq!(tuple.remote, inet(47011));
    assert_eq!(
        tuple.local,
        inet(client_port),
        "connect's local end is the client port"
    );

    let accept = find(&calls, "accept", |s| {
        s.name.starts_with("accept") && s.ret >= 0
    });
    let tuple = accept.tuple.as_ref().expect("accept tuple");
    assert_eq!(tuple.proto, "tcp");
    assert_eq!(tuple.local, inet(47011));
    assert_eq!(tuple.remote, inet(client_port));

    find(&calls, "udp connect", |s| {
        s.name == "connect" && s.tuple.as_ref().is_some_and(|t| t.proto == "udp")
    });
    find(&calls, "ipv6 connect to ::1", |s| {
        matches!(&s.args, SyscallArgs::Connect { addr: Some(SockAddr::Inet6 { addr, port: 47013 }), .. }
            if addr.is_loopback())
    });
    // Other unix connects happen in this cgroup too (glibc asks nscd while
    // `ip` runs), so pick ours by its path: the path must decode intact.
    let unix = find(&calls, "unix connect to /tmp/kestrel-no-such.sock", |s| {
        matches!(
            &s.args,
            SyscallArgs::Connect {
                addr: Some(SockAddr::Unix { path }),
                ..
            } if path == "/tmp/kestrel-no-such.sock"
        )
    });
    assert_eq!(unix.ret, -(libc::ENOENT as i64));

    let dup = find(&calls, "dup2 onto fd 9", |s| {
        matches!(s.args, SyscallArgs::Dup { newfd: Some(9), .. })
    });
    assert_eq!(
        dup.tuple.as_ref().map(|t| t.proto),
        Some("tcp"),
        "dup2 of a socket carries its tuple (reverse-shell detection)"
    );
}

#[test]
fn process_and_privilege_syscalls_are_captured_with_arguments_and_results() {
    if !require_root() {
        return;
    }
    let sensor = LiveSensor::start();
    let cgroup = TestCgroup::new("priv");
    let script = r#"
import ctypes, os, signal, subprocess, time
libc = ctypes.CDLL(None, use_errno=True)
child = subprocess.Popen(["sleep", "5"])
time.sleep(0.05)
libc.ptrace(16, child.pid, 0, 0)          # PTRACE_ATTACH
os.waitpid(child.pid, 0)
libc.ptrace(17, child.pid, 0, 0)          # PTRACE_DETACH
os.kill(child.pid, signal.SIGKILL); child.wait()
os.setuid(0)
fd = os.memfd_create("kestrel-memfd")
libc.syscall(323, 0)                      # userfaultfd (x86_64)
libc.syscall(175, 0, 0, b"param=1")       # init_module with no image: fails
pid = os.fork()
if pid == 0:
    libc.unshare(0x04000000)              # CLONE_NEWUTS
    os._exit(0)
os.waitpid(pid, 0)
"#;
    cgroup.run_python(script, &[], "privilege script");
    let events = sensor.wait_for("unshare", |events| {
        syscalls(events, cgroup.id)
            .iter()
            .any(|(_, s)| s.name == "unshare")
    });
    let calls = syscalls(&events, cgroup.id);
    let attach = find(&calls, "ptrace attach", |s| {
        matches!(s.args, SyscallArgs::Ptrace { request: 16, .. })
    });
    assert_eq!(attach.ret, 0);
    find(&calls, "kill -9", |s| {
        matches!(s.args, SyscallArgs::Kill { signal: 9, .. })
    });
    find(&calls, "setuid(0)", |s| {
        s.name == "setuid" && matches!(&s.args, SyscallArgs::SetId { ids } if ids == &[0])
    });
    let memfd = find(&calls, "memfd_create", |s| s.name == "memfd_create");
    assert!(
        matches!(&memfd.args, SyscallArgs::MemfdCreate { name, .. } if name == "kestrel-memfd")
    );
    assert!(
        memfd
            .fd_path
            .as_deref()
            .is_some_and(|p| p.contains("memfd:kestrel-memfd")),
        "memfd fd path: {:?}",
        memfd.fd_path
    );
    if cfg!(target_arch = "x86_64") {
        find(&calls, "userfaultfd", |s| s.name == "userfaultfd");
        let module = find(&calls, "init_module", |s| s.name == "init_module");
        assert!(module.ret < 0);
        assert!(matches!(&module.args, SyscallArgs::Module { params, .. } if params == "param=1"));
    }
    find(&calls, "unshare(CLONE_NEWUTS)", |s| {
        matches!(s.args, SyscallArgs::Unshare { flags: 0x0400_0000 })
    });
}

#[test]
fn memfd_execution_is_flagged_on_the_exec_event() {
    if !require_root() {
        return;
    }
    let sensor = LiveSensor::start();
    let cgroup = TestCgroup::new("memfd");
    let script = r#"
import os
fd = os.memfd_create("fileless")
os.write(fd, open("/bin/true", "rb").read())
os.execv(f"/proc/self/fd/{fd}", ["fileless-true"])
"#;
    cgroup.run_python(script, &[], "memfd exec");
    let events = sensor.wait_for("exec of the memfd", |events| {
        events.iter().any(|e| {
            e.header.cgroup_id == cgroup.id
                && matches!(&e.body, EventBody::Exec(x) if x.args.first().is_some_and(|a| a == "fileless-true"))
        })
    });
    let exec = events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::Exec(x)
                if e.header.cgroup_id == cgroup.id
                    && x.args.first().is_some_and(|a| a == "fileless-true") =>
            {
                Some(x.clone())
            }
            _ => None,
        })
        .expect("exec");
    assert!(exec.exe_from_memfd, "{exec:#?}");
    assert!(
        exec.exe_path.contains("memfd:fileless"),
        "{}",
        exec.exe_path
    );
    assert!(!exec.exe_upper_layer);
}

#[test]
fn binary_copied_into_podman_container_and_run_is_flagged_upper_layer() {
    if !require_root() {
        return;
    }
    let sensor = LiveSensor::start();
    let container = PodmanContainer::start("drift");
    let cgroup = cgroup_id_of(container.init_pid());
    let out = container.exec(&[
        "/bin/sh",
        "-c",
        "cp /bin/busybox /busybox-dropped && /busybox-dropped true",
    ]);
    assert!(out.status.success(), "podman exec failed: {out:?}");
    let events = sensor.wait_for("exec of /busybox-dropped", |events| {
        events.iter().any(|e| {
            e.header.cgroup_id == cgroup
                && matches!(&e.body, EventBody::Exec(x) if x.filename == "/busybox-dropped")
        })
    });
    let execs: Vec<_> = events
        .iter()
        .filter(|e| e.header.cgroup_id == cgroup)
        .filter_map(|e| match &e.body {
            EventBody::Exec(x) => Some((e.header.clone(), x.clone())),
            _ => None,
        })
        .collect();
    let (header, dropped) = execs
        .iter()
        .find(|(_, x)| x.filename == "/busybox-dropped")
        .expect("exec of /busybox-dropped");
    assert!(dropped.exe_on_overlay, "{dropped:#?}");
    assert!(dropped.exe_upper_layer, "written after start: {dropped:#?}");
    assert_eq!(
        dropped.exe_path, "/busybox-dropped",
        "path relative to the container root"
    );
    assert!(
        dropped.pid_ns_level > 0,
        "runs in the container's pid namespace"
    );
    assert_ne!(header.pid, dropped.vpid);
    let (_, image_binary) = execs
        .iter()
        .find(|(_, x)| x.exe_path == "/bin/busybox")
        .expect("exec of the image's busybox");
    assert!(image_binary.exe_on_overlay);
    assert!(
        !image_binary.exe_upper_layer,
        "image binaries are in the lower layer"
    );
}

#[test]
fn ring_full_losses_are_counted_per_kind_and_per_cgroup() {
    if !require_root() {
        return;
    }
    // The smallest ring (one page) overflows with a burst of exec records.
    let config = SensorConfig {
        ring_bytes: 4096,
        ..SensorConfig::default()
    };
    let mut sensor = LiveSensor::with_config(&config);
    sensor.stop_reading();
    let cgroup = TestCgroup::new("loss");
    for _ in 0..20 {
        let child = cgroup.command("/bin/true").spawn().expect("true");
        wait_ok(child, "true");
    }
    let lost = sensor.loss.read();
    assert!(
        lost.ring_full_total() > 0,
        "no ring-full loss counted: {lost:?}"
    );
    assert!(
        lost.per_cgroup
            .iter()
            .any(|(id, n)| *id == cgroup.id && *n > 0),
        "loss not attributed to the test cgroup {}: {:?}",
        cgroup.id,
        lost.per_cgroup
    );
}

/// Unix-socket connects of any cgroup to paths starting with `prefix`.
fn unix_connects(events: &[Event], prefix: &str) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Syscall(Syscall {
                args:
                    SyscallArgs::Connect {
                        addr: Some(SockAddr::Unix { path }),
                        ..
                    },
                ..
            }) if path.starts_with(prefix) => Some(path.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn container_scoped_syscalls_skip_host_cgroups_and_follow_tasks_that_move() {
    if !require_root() {
        return;
    }
    let config = SensorConfig {
        capture: vec!["connect".into()],
        capture_in_containers_only: vec!["connect".into()],
        ..SensorConfig::default()
    };
    let mut sensor = LiveSensor::with_config(&config);
    let mut host = sensor.sensor.host_cgroups().expect("host cgroup map");
    let host_cgroup = TestCgroup::new("scope-host");
    let other_cgroup = TestCgroup::new("scope-other");
    host.mark(host_cgroup.id);
    assert!(host.contains(host_cgroup.id));
    assert!(!host.contains(other_cgroup.id));

    // Knock (connect to a unix path nobody listens on), say so, wait to be
    // moved to another cgroup, knock again.
    let script = r#"
import socket, sys
def knock(path):
    s = socket.socket(socket.AF_UNIX)
    try: s.connect(path)
    except OSError: pass
knock(sys.argv[1] + "-before")
print("knocked", flush=True)
sys.stdin.readline()
knock(sys.argv[1] + "-after")
"#;
    let prefix = format!("/tmp/kestrel-scope-{}", std::process::id());
    let run = |from: &TestCgroup, to: &TestCgroup, tag: &str| {
        use std::io::{BufRead as _, Write as _};
        let mut child = from
            .command("python3")
            .args(["-c", script, &format!("{prefix}-{tag}")])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("read");
        assert_eq!(line.trim(), "knocked");
        std::fs::write(to.path.join("cgroup.procs"), child.id().to_string())
            .expect("move the process");
        child
            .stdin
            .as_mut()
            .expect("stdin")
            .write_all(b"go\n")
            .expect("write");
        wait_ok(child, "python3");
    };
    // A host task moved into a (container) cgroup is captured from then on
    // (the way runc places a container's first process)...
    run(&host_cgroup, &other_cgroup, "in");
    // ...and a task moved out to a host cgroup is not any more.
    run(&other_cgroup, &host_cgroup, "out");

    let events = sensor.wait_for("the connects outside host cgroups", |events| {
        unix_connects(events, &prefix).len() >= 2
    });
    // Records are read every few milliseconds; give stragglers time.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut seen = unix_connects(&sensor.events(), &prefix);
    seen.sort();
    assert_eq!(
        seen,
        vec![format!("{prefix}-in-after"), format!("{prefix}-out-before")],
        "only connects made outside the host cgroup are captured; saw {:?} in {} events",
        seen,
        events.len()
    );
}

#[test]
fn relative_paths_carry_the_directory_the_kernel_resolved_them_against() {
    if !require_root() {
        return;
    }
    let sensor = LiveSensor::start();
    let cgroup = TestCgroup::new("reldir");
    let base = format!("/tmp/kestrel-reldir-{}", std::process::id());
    let _ = std::fs::remove_dir_all(&base);
    // chdir after exec (the exec event's cwd is stale), then relative
    // paths against the new cwd and against directory fds.
    let script = r#"
import os, sys
base = sys.argv[1]
os.makedirs(base + "/a/b"); os.makedirs(base + "/other")
os.chdir(base + "/a/b")
open("../f", "w").close()
os.unlink("../f")
try: os.open("missing", os.O_RDONLY)
except OSError: pass
d = os.open(base + "/other", os.O_RDONLY | os.O_DIRECTORY)
os.mkdir("made", dir_fd=d)
open("x", "w").close()
os.rename("x", "moved", src_dir_fd=None, dst_dir_fd=d)
"#;
    cgroup.run_python(script, &[&base], "python3");
    let events = sensor.wait_for("the rename", |events| {
        syscalls(events, cgroup.id)
            .iter()
            .any(|(_, s)| s.name.starts_with("rename"))
    });
    let calls = syscalls(&events, cgroup.id);
    let cwd = format!("{base}/a/b");

    let unlink = find(
        &calls,
        "unlink ../f",
        |s| matches!(&s.args, SyscallArgs::Unlink { path, .. } if path == "../f"),
    );
    assert_eq!(unlink.dir_of(0), Some(cwd.as_str()), "chdir is followed");

    let missing = find(
        &calls,
        "failed open of missing",
        |s| matches!(&s.args, SyscallArgs::Open { path, .. } if path == "missing"),
    );
    assert!(missing.ret < 0);
    assert_eq!(missing.fd_path, None);
    assert_eq!(missing.dir_of(0), Some(cwd.as_str()));

    let mkdir = find(
        &calls,
        "mkdirat(d, made)",
        |s| matches!(&s.args, SyscallArgs::Mkdir { path, .. } if path == "made"),
    );
    assert_eq!(
        mkdir.dir_of(0),
        Some(format!("{base}/other").as_str()),
        "relative to the directory fd"
    );

    // rename("x", "moved") with only the destination relative to a dirfd:
    // the kernel resolves the first path's directory (the cwd) and says it
    // does not apply to the second.
    let rename = find(&calls, "rename x -> moved", |s| {
        matches!(&s.args, SyscallArgs::Rename { oldpath, newpath, .. }
            if oldpath == "x" && newpath == "moved")
    });
    assert_eq!(rename.dir_of(0), Some(cwd.as_str()));
    assert_eq!(rename.dir_of(1), None);
    let _ = std::fs::remove_dir_all(&base);
}

/// The kernel paths (`fd.name`) of the files a cgroup's tasks opened.
fn opened_paths(events: &[Event], cgroup: u64, prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = events
        .iter()
        .filter(|e| e.header.cgroup_id == cgroup)
        .filter_map(|e| match &e.body {
            EventBody::Syscall(Syscall {
                args: SyscallArgs::Open { .. },
                fd_path: Some(path),
                ..
            }) if path.starts_with(prefix) => Some(path.clone()),
            _ => None,
        })
        .collect();
    out.sort();
    out
}

#[test]
fn host_opens_are_kept_only_below_the_prefixes_host_rules_test() {
    if !require_root() {
        return;
    }
    let base = format!("/tmp/kestrel-pathf-{}", std::process::id());
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(format!("{base}/watched/deeper")).expect("mkdir");
    std::fs::create_dir_all(format!("{base}/plain")).expect("mkdir");
    for f in [
        "watched/secret",
        "watched/deeper/key",
        "plain/file",
        "watchedx",
    ] {
        std::fs::write(format!("{base}/{f}"), "x").expect("write");
    }
    std::os::unix::fs::symlink(
        format!("{base}/watched/secret"),
        format!("{base}/plain/link"),
    )
    .expect("symlink");
    let config = SensorConfig {
        capture: vec![
            "open".into(),
            "openat".into(),
            "openat2".into(),
            "creat".into(),
        ],
        host_open_prefixes: Some(vec![format!("{base}/watched/")]),
        ..SensorConfig::default()
    };
    let mut sensor = LiveSensor::with_config(&config);
    assert_eq!(
        sensor.sensor.host_open_prefixes(),
        Some(&[format!("{base}/watched/")][..])
    );
    let mut host = sensor.sensor.host_cgroups().expect("host cgroup map");
    let host_cgroup = TestCgroup::new("pathf-host");
    let other_cgroup = TestCgroup::new("pathf-other");
    host.mark(host_cgroup.id);

    // Absolute, through a symlink from an unwatched directory, relative to
    // a working directory, and a near miss (`watchedx` is not below
    // `watched/`).
    let script = r#"
import os, sys
base = sys.argv[1]
for p in ["watched/secret", "watched/deeper/key", "plain/file", "plain/link", "watchedx"]:
    os.close(os.open(base + "/" + p, os.O_RDONLY))
os.chdir(base + "/watched")
os.close(os.open("secret", os.O_RDONLY))
os.chdir(base + "/plain")
os.close(os.open("../watched/deeper/key", os.O_RDONLY))
os.close(os.open("file", os.O_RDONLY))
"#;
    for cgroup in [&host_cgroup, &other_cgroup] {
        cgroup.run_python(script, &[&base], "python3");
    }
    let watched = |name: &str| format!("{base}/watched/{name}");
    let mut expect_host = vec![
        watched("deeper/key"),
        watched("deeper/key"),
        watched("secret"),
        watched("secret"),
        watched("secret"),
    ];
    expect_host.sort();
    let mut expect_other = expect_host.clone();
    expect_other.extend([
        format!("{base}/plain/file"),
        format!("{base}/plain/file"),
        format!("{base}/watchedx"),
    ]);
    expect_other.sort();
    sensor.wait_for("every open of the container task", |events| {
        opened_paths(events, other_cgroup.id, &base).len() >= expect_other.len()
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let events = sensor.events();
    assert_eq!(
        opened_paths(&events, host_cgroup.id, &base),
        expect_host,
        "a host task's opens are kept only when the kernel's path is below the prefix"
    );
    // Nothing else the host task opened (python's own modules and
    // libraries, rejected by the heads before the trie) came through.
    assert_eq!(
        opened_paths(&events, host_cgroup.id, "/"),
        expect_host,
        "every other host open is dropped in the kernel"
    );
    assert_eq!(
        opened_paths(&events, other_cgroup.id, &base),
        expect_other,
        "opens outside host cgroups are all kept"
    );

    // Turned off at run time: every host open is kept again.
    sensor
        .sensor
        .set_host_open_prefixes(None)
        .expect("filter off");
    assert_eq!(sensor.sensor.host_open_prefixes(), None);
    host_cgroup.run_python(script, &[&base], "python3");
    sensor.wait_for("the host task's unfiltered opens", |events| {
        opened_paths(events, host_cgroup.id, &base).len() >= expect_host.len() + expect_other.len()
    });
    let _ = std::fs::remove_dir_all(&base);
}
