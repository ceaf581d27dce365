//! How events become `ProcessInfo`: the one place that copies event fields
//! into the record. When the sensor sends more exec facts (exe inode and
//! times, upper-layer/memfd/deleted flags, cwd, loginuid, tty, sid, euid,
//! caps), they are added in [`apply_exec`] and nowhere else.

use compact_str::CompactString;

use crate::context::ProcessInfo;
use crate::event::{Exec, Fork, Header};

/// A record from an event header alone, for a process the table did not
/// know. Unknown facts keep their defaults; `start_time_ns` is 0 (unknown)
/// and `euid` is taken to be `uid`.
pub(super) fn from_header(h: &Header) -> ProcessInfo {
    ProcessInfo {
        pid: h.tgid,
        ppid: h.ppid,
        name: CompactString::new(h.comm.as_str()),
        uid: h.uid,
        gid: h.gid,
        euid: h.uid,
        cgroup_id: h.cgroup_id,
        ..ProcessInfo::default()
    }
}

/// The child of a fork: a copy of the parent (same image, args, cwd,
/// session, caps…) with its own pid, born at the event's time. The header
/// is the forking thread at fork time, so its comm, creds and cgroup are
/// what the child starts with.
pub(super) fn fork_child(parent: &ProcessInfo, h: &Header, f: &Fork) -> ProcessInfo {
    let mut child = parent.clone();
    child.pid = f.child_tgid;
    child.ppid = h.tgid;
    child.start_time_ns = h.time_ns;
    child.name.clear();
    child.name.push_str(h.comm.as_str());
    child.uid = h.uid;
    child.gid = h.gid;
    if h.cgroup_id != 0 {
        child.cgroup_id = h.cgroup_id;
    }
    child
}

/// A new image in an existing process: pid and start time stay; the
/// image's facts and the credentials, session, terminal and cwd the kernel
/// reported at exec replace the old ones.
pub(super) fn apply_exec(info: &mut ProcessInfo, h: &Header, e: &Exec) {
    // The kernel-resolved path when there is one (it follows symlinks and
    // is absolute), else the name given to exec.
    info.exe = CompactString::new(if e.exe_path.is_empty() {
        &e.filename
    } else {
        &e.exe_path
    });
    info.name = CompactString::new(h.comm.as_str());
    let mut argv = e.args.iter();
    info.argv0 = CompactString::new(argv.next().map_or(e.filename.as_str(), String::as_str));
    info.args = argv.cloned().collect();
    if h.ppid != 0 {
        info.ppid = h.ppid;
    }
    info.uid = h.uid;
    info.gid = h.gid;
    if h.cgroup_id != 0 {
        info.cgroup_id = h.cgroup_id;
    }
    info.exe_upper_layer = e.exe_upper_layer;
    info.exe_from_memfd = e.exe_from_memfd;
    info.exe_deleted = e.exe_deleted;
    info.exe_ino = e.exe_ino;
    info.exe_ino_ctime_ns = e.exe_ctime_ns;
    info.exe_ino_mtime_ns = e.exe_mtime_ns;
    info.euid = e.euid;
    info.cap_effective = e.cap_effective;
    info.loginuid = e.loginuid;
    info.tty = e.tty;
    if e.sid != 0 {
        info.sid = e.sid;
    }
    if e.pgid != 0 {
        info.pgid = e.pgid;
    }
    if !e.cwd.is_empty() {
        info.cwd = Some(CompactString::new(&e.cwd));
    }
}
