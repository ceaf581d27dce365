//! Helpers for tests and benchmarks: a map-backed [`Context`] and builders
//! for hand-made events. Not used on the agent's hot path.

use std::collections::HashMap;

use std::net::IpAddr;

use crate::context::{ContainerInfo, Context, PodMeta, ProcessInfo};
use crate::event::{
    Comm, Event, EventBody, Exec, Exit, Fork, Header, SockAddr, SockTuple, Syscall, SyscallArgs,
};

/// A [`Context`] backed by two hash maps.
#[derive(Clone, Debug, Default)]
pub struct MapContext {
    pub procs: HashMap<u32, ProcessInfo>,
    pub containers: HashMap<u64, ContainerInfo>,
}

impl Context for MapContext {
    fn process(&self, tgid: u32) -> Option<&ProcessInfo> {
        self.procs.get(&tgid)
    }

    fn container(&self, cgroup_id: u64) -> Option<&ContainerInfo> {
        self.containers.get(&cgroup_id)
    }
}

/// cgroup id the helpers use for "the host".
pub const HOST_CGROUP: u64 = 1;
/// Start time of test containers and processes (2023-11-14T22:13:20Z).
pub const T0: u64 = 1_700_000_000_000_000_000;

impl MapContext {
    /// A context with a host "container" on [`HOST_CGROUP`], init (pid 1)
    /// and systemd-like ancestors.
    pub fn new() -> MapContext {
        let mut c = MapContext::default();
        c.containers.insert(
            HOST_CGROUP,
            ContainerInfo {
                id: "host".into(),
                runtime: "host".into(),
                ..ContainerInfo::default()
            },
        );
        c.add_proc(
            1,
            0,
            "systemd",
            "/usr/lib/systemd/systemd",
            &[],
            HOST_CGROUP,
        );
        c
    }

    /// Adds a process; `argv` is argv[1..].
    pub fn add_proc(
        &mut self,
        pid: u32,
        ppid: u32,
        name: &str,
        exe: &str,
        argv: &[&str],
        cgroup_id: u64,
    ) -> &mut ProcessInfo {
        let p = ProcessInfo {
            pid,
            ppid,
            exe: exe.into(),
            name: Comm::new(name).as_str().into(),
            args: argv.iter().map(|s| s.to_string()).collect(),
            argv0: exe.rsplit('/').next().unwrap_or(exe).into(),
            cwd: Some("/".into()),
            sid: pid,
            pgid: pid,
            start_time_ns: T0,
            cgroup_id,
            user_name: Some("root".into()),
            group_name: Some("root".into()),
            loginuid: None,
            ..ProcessInfo::default()
        };
        self.procs.insert(pid, p);
        self.procs.get_mut(&pid).expect("just inserted")
    }

    /// Adds a container on `cgroup_id` with a 64-hex id derived from it.
    pub fn add_container(&mut self, cgroup_id: u64, name: &str, image: &str) -> &mut ContainerInfo {
        let c = ContainerInfo {
            id: format!("{cgroup_id:064x}"),
            runtime: "containerd".into(),
            name: Some(name.into()),
            image: Some(image.into()),
            started_at_ns: Some(T0),
            pod: Some(PodMeta {
                name: format!("{name}-pod"),
                namespace: "default".into(),
                uid: "00000000-0000-0000-0000-000000000001".into(),
                labels: Default::default(),
            }),
            ..ContainerInfo::default()
        };
        self.containers.insert(cgroup_id, c);
        self.containers.get_mut(&cgroup_id).expect("just inserted")
    }
}

fn header(pid: u32, ppid: u32, comm: &str, cgroup_id: u64) -> Header {
    Header {
        time_ns: T0 + 60_000_000_000,
        ktime_ns: 60_000_000_000,
        cpu: 0,
        pid,
        tgid: pid,
        ppid,
        uid: 0,
        gid: 0,
        cgroup_id,
        comm: Comm::new(comm),
    }
}

/// An exec of `filename` with full `argv` (argv[0] included) by `pid`.
pub fn exec(pid: u32, ppid: u32, filename: &str, argv: &[&str], cgroup_id: u64) -> Event {
    let comm = filename.rsplit('/').next().unwrap_or(filename);
    Event {
        header: header(pid, ppid, comm, cgroup_id),
        body: EventBody::Exec(Exec {
            filename: filename.into(),
            args: argv.iter().map(|s| s.to_string()).collect(),
            args_truncated: false,
            filename_truncated: false,
            old_pid: pid,
            exe_path: filename.into(),
            ..Exec::default()
        }),
    }
}

/// A fork by `pid` (named `comm`) creating `child`.
pub fn fork(pid: u32, ppid: u32, comm: &str, child: u32, cgroup_id: u64) -> Event {
    Event {
        header: header(pid, ppid, comm, cgroup_id),
        body: EventBody::Fork(Fork {
            child_pid: child,
            child_tgid: child,
        }),
    }
}

/// The exit of `pid`.
pub fn exit(pid: u32, ppid: u32, comm: &str, status: i32, cgroup_id: u64) -> Event {
    Event {
        header: header(pid, ppid, comm, cgroup_id),
        body: EventBody::Exit(Exit {
            status,
            signal: 0,
            group_dead: true,
        }),
    }
}

/// A completed syscall `name` by `pid` (named `comm`) returning `ret`, with
/// no kernel-resolved fd path or socket tuple (add them with
/// [`with_fd_path`] / [`with_tuple`]).
pub fn syscall(
    pid: u32,
    ppid: u32,
    comm: &str,
    cgroup_id: u64,
    name: &'static str,
    ret: i64,
    args: SyscallArgs,
) -> Event {
    Event {
        header: header(pid, ppid, comm, cgroup_id),
        body: EventBody::Syscall(Syscall {
            name,
            nr: 0,
            ret,
            args,
            fd_path: None,
            tuple: None,
            truncated: false,
            dir: None,
            dir_for: (false, false),
        }),
    }
}

/// The kernel's path for the event's fd (open's result, fchmod's fd ...).
pub fn with_fd_path(mut ev: Event, path: &str) -> Event {
    if let EventBody::Syscall(s) = &mut ev.body {
        s.fd_path = Some(path.to_string());
    }
    ev
}

/// The kernel's socket tuple for the event's fd.
pub fn with_tuple(mut ev: Event, tuple: SockTuple) -> Event {
    if let EventBody::Syscall(s) = &mut ev.body {
        s.tuple = Some(tuple);
    }
    ev
}

/// `1.2.3.4:80`-style socket address (IPv4 or IPv6 by the address).
pub fn inet(ip: &str, port: u16) -> SockAddr {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(addr)) => SockAddr::Inet { addr, port },
        Ok(IpAddr::V6(addr)) => SockAddr::Inet6 { addr, port },
        Err(_) => SockAddr::Unix { path: ip.into() },
    }
}

/// A TCP socket tuple as the kernel reports it (local end first).
pub fn tcp(local: SockAddr, remote: SockAddr) -> SockTuple {
    SockTuple {
        proto: "tcp",
        local,
        remote,
    }
}

/// open/openat/creat-family event: `path` as passed, `flags`, `mode`; a
/// successful open (`ret >= 0`) gets `fd_path` as the kernel's path when
/// given.
pub fn open(
    pid: u32,
    comm: &str,
    cgroup_id: u64,
    path: &str,
    flags: u64,
    ret: i64,
    fd_path: Option<&str>,
) -> Event {
    let ev = syscall(
        pid,
        0,
        comm,
        cgroup_id,
        "openat",
        ret,
        SyscallArgs::Open {
            path: path.into(),
            flags,
            mode: 0,
            dirfd: Some(-100),
        },
    );
    match fd_path {
        Some(p) if ret >= 0 => with_fd_path(ev, p),
        _ => ev,
    }
}

/// A successful TCP connect from `local` to `remote` on fd 3.
pub fn connect(pid: u32, comm: &str, cgroup_id: u64, local: SockAddr, remote: SockAddr) -> Event {
    with_tuple(
        syscall(
            pid,
            0,
            comm,
            cgroup_id,
            "connect",
            0,
            SyscallArgs::Connect {
                fd: 3,
                addr: Some(remote.clone()),
            },
        ),
        tcp(local, remote),
    )
}
