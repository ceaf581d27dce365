//! `sched_process_fork`: a new process. New threads are not reported: the
//! process table tracks processes, and threads would multiply the volume.

use aya_ebpf::{macros::btf_tracepoint, programs::BtfTracePointContext};
use kestrel_common::{ForkEvent, kind, loss};

use super::fill_header;
use crate::{
    kernel::{ReadError, task::TypedTask},
    maps::{EVENTS, bump_task_gen, count_loss, submit_flags},
};

#[btf_tracepoint(function = "sched_process_fork")]
pub fn sched_process_fork(ctx: BtfTracePointContext) -> i32 {
    // The new task (thread or process) may reuse a dead task's stack, and
    // with it the `pt_regs` address the dispatcher's cache is keyed by.
    bump_task_gen();
    if try_sched_process_fork(&ctx).is_err() {
        count_loss(kind::FORK, loss::READ_FAILED);
    }
    0
}

fn try_sched_process_fork(ctx: &BtfTracePointContext) -> Result<(), ReadError> {
    // TP_PROTO(struct task_struct *parent, struct task_struct *child)
    let child = TypedTask::from_arg(ctx.arg::<*const u8>(1));
    let (child_pid, child_tgid) = (child.pid(), child.tgid());
    if child_pid != child_tgid {
        return Ok(()); // a thread, not a process
    }
    let Some(mut entry) = EVENTS.reserve::<ForkEvent>(0) else {
        count_loss(kind::FORK, loss::RING_FULL);
        return Ok(());
    };
    let event = entry.as_mut_ptr();
    // SAFETY: `event` points at reserved, writable ring memory of the right size.
    unsafe {
        fill_header(
            &mut (*event).header,
            kind::FORK,
            core::mem::size_of::<ForkEvent>(),
            TypedTask::from_arg(ctx.arg::<*const u8>(0)),
        );
        (*event).child_pid = child_pid;
        (*event).child_tgid = child_tgid;
    }
    entry.submit(submit_flags(core::mem::size_of::<ForkEvent>()));
    Ok(())
}
