//! The enriched view of an event that judges read besides the event
//! itself: the process (from the `process` room's table) and the container
//! (from the `container` room's registry), behind the [`Context`] trait
//! the pipeline implements over both.

use std::{collections::BTreeMap, sync::Arc};

use compact_str::CompactString;

/// One process (thread group) as the process table knows it.
#[derive(Clone, Debug, Default)]
pub struct ProcessInfo {
    pub pid: u32, // tgid
    pub ppid: u32,
    pub exe: CompactString, // full path of the executable as exec'd (Falco proc.exepath)
    pub name: CompactString, // comm / basename (Falco proc.name)
    pub args: Arc<[String]>, // argv[1..] (Falco proc.args joined by ' '); shared by a fork's child
    pub argv0: CompactString, // argv[0] (Falco proc.exe)
    pub cwd: Option<CompactString>,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub loginuid: Option<u32>,
    pub tty: u32, // 0 = none
    pub sid: u32,
    pub pgid: u32,
    pub start_time_ns: u64, // unix ns
    pub cgroup_id: u64,
    pub cap_effective: u64,
    pub exe_upper_layer: bool,
    pub exe_from_memfd: bool,
    pub exe_deleted: bool,
    pub exe_ino: u64,
    pub exe_ino_ctime_ns: u64,
    pub exe_ino_mtime_ns: u64,
    pub user_name: Option<CompactString>,
    pub group_name: Option<CompactString>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PodMeta {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub labels: BTreeMap<String, String>,
}

/// The [`ContainerInfo::id`] of host processes (not in any container).
pub const HOST_ID: &str = "host";

/// Container metadata (from the runtime API); `id == "host"` for host processes.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ContainerInfo {
    pub id: String,      // full 64-hex id, or "host"
    pub runtime: String, // docker, containerd, cri-o, podman, runc, host
    pub name: Option<String>,
    pub image: Option<String>, // repository[:tag]
    pub image_id: Option<String>,
    pub image_digest: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub privileged: bool,
    pub started_at_ns: Option<u64>,
    pub pod: Option<PodMeta>,
}

/// What the engine may ask about besides the event.
pub trait Context {
    /// The process (thread group) with this tgid.
    fn process(&self, tgid: u32) -> Option<&ProcessInfo>;
    /// The container of a cgroup id (None: not known yet / not resolvable).
    fn container(&self, cgroup_id: u64) -> Option<&ContainerInfo>;
}
