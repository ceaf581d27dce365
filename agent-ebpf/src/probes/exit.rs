//! `sched_process_exit`: a thread exits. Reported when the thread-group
//! leader exits or the last thread of the group does (`signal->live` has
//! already dropped to 0 when the tracepoint fires), so userspace learns that
//! a process ended without hearing about every thread.

use aya_ebpf::{macros::btf_tracepoint, programs::BtfTracePointContext};
use kestrel_common::{ExitEvent, MAX_SYSCALLS, exit_flags, kind, loss};

use super::{fill_header, syscalls::note_use_current};
use crate::{
    kernel::{ReadError, offsets::setting, task::TypedTask},
    maps::{EVENTS, count_loss, submit_flags},
};

#[btf_tracepoint(function = "sched_process_exit")]
pub fn sched_process_exit(ctx: BtfTracePointContext) -> i32 {
    if try_sched_process_exit(&ctx).is_err() {
        count_loss(kind::EXIT, loss::READ_FAILED);
    }
    0
}

fn try_sched_process_exit(ctx: &BtfTracePointContext) -> Result<(), ReadError> {
    // TP_PROTO(struct task_struct *p, ...): the exiting task is current.
    let task = TypedTask::from_arg(ctx.arg::<*const u8>(0));
    let (pid, tgid) = (task.pid(), task.tgid());
    let group_dead = task.live_threads().ok_or(ReadError)? == 0;
    let exit_code = task.exit_code();
    if setting!(profile) != 0 && exit_code & 0x7f == 0 {
        // Not killed by a signal: the task called exit_group (a process's
        // main thread, as libc's exit() does) or exit (a thread ending).
        // These never return, so the dispatcher cannot see them.
        let nr = if pid == tgid {
            setting!(exit_group_nr)
        } else {
            setting!(exit_nr)
        };
        if nr < MAX_SYSCALLS {
            note_use_current(task.cgroup_id(), nr);
        }
    }
    if pid != tgid && !group_dead {
        return Ok(()); // a thread of a live process
    }
    let Some(mut entry) = EVENTS.reserve::<ExitEvent>(0) else {
        count_loss(kind::EXIT, loss::RING_FULL);
        return Ok(());
    };
    let event = entry.as_mut_ptr();
    // SAFETY: `event` points at reserved, writable ring memory of the right size.
    unsafe {
        fill_header(
            &mut (*event).header,
            kind::EXIT,
            core::mem::size_of::<ExitEvent>(),
            task,
        );
        (*event).exit_code = exit_code;
        (*event).flags = if group_dead {
            exit_flags::GROUP_DEAD
        } else {
            0
        };
    }
    entry.submit(submit_flags(core::mem::size_of::<ExitEvent>()));
    Ok(())
}
