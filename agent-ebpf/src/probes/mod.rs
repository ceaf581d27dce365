//! One file per probe family. Each entry point is a thin wrapper that calls
//! a `try_*` function and turns its error into a counted loss.

pub mod cgroup;
pub mod empty;
pub mod exec;
pub mod exit;
pub mod fork;
pub mod syscalls;

use aya_ebpf::helpers::{
    bpf_get_current_cgroup_id, bpf_get_current_comm, bpf_get_current_pid_tgid,
    bpf_get_current_uid_gid, bpf_get_smp_processor_id, bpf_ktime_get_boot_ns,
};
use kestrel_common::Header;

use crate::kernel::task::Task;

/// Fill the common header from the current task.
#[inline(always)]
pub fn fill_header(header: &mut Header, kind: u16, size: usize) {
    // SAFETY: these helpers have no preconditions in tracing programs.
    let (pid_tgid, uid_gid, cgroup_id, cpu, ktime) = unsafe {
        (
            bpf_get_current_pid_tgid(),
            bpf_get_current_uid_gid(),
            bpf_get_current_cgroup_id(),
            bpf_get_smp_processor_id(),
            bpf_ktime_get_boot_ns(),
        )
    };
    header.kind = kind;
    header.size = size as u16;
    header.cpu = cpu;
    header.ktime_ns = ktime;
    header.pid = pid_tgid as u32;
    header.tgid = (pid_tgid >> 32) as u32;
    header.uid = uid_gid as u32;
    header.gid = (uid_gid >> 32) as u32;
    header._pad0 = 0;
    header.cgroup_id = cgroup_id;
    // A failed parent read leaves ppid 0: the header still goes out and
    // userspace fills the parent from its process table.
    header.ppid = Task::current()
        .real_parent()
        .and_then(|parent| parent.tgid())
        .unwrap_or(0);
    header.comm = bpf_get_current_comm().unwrap_or([0; 16]);
}
