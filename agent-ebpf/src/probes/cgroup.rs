//! `cgroup_mkdir` / `cgroup_rmdir` on the cgroup v2 hierarchy: the id and
//! path of each new or removed cgroup, so userspace maps ids to containers
//! (and fetches their metadata) before their first process runs.

use aya_ebpf::{
    helpers::bpf_probe_read_kernel_str_bytes, macros::btf_tracepoint,
    programs::BtfTracePointContext,
};
use kestrel_common::{CgroupEvent, kind, loss};

use super::fill_header;
use crate::{
    kernel::{ReadError, offsets::offset, read, read_ptr, task::TypedTask},
    maps::{EVENTS, bump_task_gen, count_loss, submit_flags},
};

#[btf_tracepoint(function = "cgroup_mkdir")]
pub fn cgroup_mkdir(ctx: BtfTracePointContext) -> i32 {
    if try_cgroup(&ctx, kind::CGROUP_MKDIR).is_err() {
        count_loss(kind::CGROUP_MKDIR, loss::READ_FAILED);
    }
    0
}

#[btf_tracepoint(function = "cgroup_rmdir")]
pub fn cgroup_rmdir(ctx: BtfTracePointContext) -> i32 {
    if try_cgroup(&ctx, kind::CGROUP_RMDIR).is_err() {
        count_loss(kind::CGROUP_RMDIR, loss::READ_FAILED);
    }
    0
}

fn try_cgroup(ctx: &BtfTracePointContext, k: u16) -> Result<(), ReadError> {
    // TP_PROTO(struct cgroup *cgrp, const char *path)
    let cgrp = ctx.arg::<*const u8>(0);
    let path = ctx.arg::<*const u8>(1);
    let root = read_ptr(cgrp, offset!(cgroup_root))?;
    // The default (v2) hierarchy has id 0; v1 hierarchies are numbered from 1.
    if read::<i32>(root, offset!(cgroup_root_hierarchy_id))? != 0 {
        return Ok(());
    }
    let kn = read_ptr(cgrp, offset!(cgroup_kn))?;
    let id = read::<u64>(kn, offset!(kernfs_id))?;
    let Some(mut entry) = EVENTS.reserve::<CgroupEvent>(0) else {
        count_loss(k, loss::RING_FULL);
        return Ok(());
    };
    let event = entry.as_mut_ptr();
    // SAFETY: reserved, writable ring memory of the right size.
    unsafe {
        let e = &mut *event;
        fill_header(
            &mut e.header,
            k,
            core::mem::size_of::<CgroupEvent>(),
            TypedTask::current(),
        );
        e.cgroup_id = id;
        e._pad0 = [0; 3];
        e.path_len = match bpf_probe_read_kernel_str_bytes(path, &mut e.path) {
            Ok(s) => s.len() as u16,
            Err(_) => 0,
        };
    }
    entry.submit(submit_flags(core::mem::size_of::<CgroupEvent>()));
    Ok(())
}

/// A task moved to another cgroup (runc placing a container's init, a
/// `cgroup.procs` write): the dispatcher's per-CPU caches hold its old
/// cgroup, so they refresh.
#[btf_tracepoint(function = "cgroup_attach_task")]
pub fn cgroup_attach_task(_ctx: BtfTracePointContext) -> i32 {
    bump_task_gen();
    0
}
