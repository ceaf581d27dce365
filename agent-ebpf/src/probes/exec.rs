//! `sched_process_exec`: a successful exec, with the filename and a bounded
//! argv read from the new image's memory.

use aya_ebpf::{
    helpers::{bpf_probe_read_kernel_str_bytes, generated::bpf_probe_read_user},
    macros::btf_tracepoint,
    programs::BtfTracePointContext,
};
use kestrel_common::{ARGS_LEN, ExecEvent, FILENAME_LEN, exec_flags, kind, loss};

use super::fill_header;
use crate::{
    kernel::task::{Binprm, ReadError, Task},
    maps::{EVENTS, count_loss},
};

#[btf_tracepoint(function = "sched_process_exec")]
pub fn sched_process_exec(ctx: BtfTracePointContext) -> i32 {
    if try_sched_process_exec(&ctx).is_err() {
        count_loss(kind::EXEC, loss::READ_FAILED);
    }
    0
}

fn try_sched_process_exec(ctx: &BtfTracePointContext) -> Result<(), ReadError> {
    // TP_PROTO(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
    let old_pid = ctx.arg::<u64>(1) as u32;
    let bprm = Binprm::from_ptr(ctx.arg::<*const u8>(2));
    let filename = bprm.filename_ptr()?;
    let mm = Task::current().mm()?;
    let (arg_start, arg_end) = (mm.arg_start()?, mm.arg_end()?);

    let Some(mut entry) = EVENTS.reserve::<ExecEvent>(0) else {
        count_loss(kind::EXEC, loss::RING_FULL);
        return Ok(());
    };
    let event = entry.as_mut_ptr();
    // SAFETY: `event` points at reserved, writable ring memory of the right
    // size; every field is written before submit.
    unsafe {
        fill_header(
            &mut (*event).header,
            kind::EXEC,
            core::mem::size_of::<ExecEvent>(),
        );
        (*event).old_pid = old_pid;
        (*event)._pad0 = 0;
        let mut flags = 0u32;

        let name = &mut (*event).filename;
        let name_len = match bpf_probe_read_kernel_str_bytes(filename, name) {
            Ok(bytes) => bytes.len(),
            Err(_) => 0,
        };
        if name_len >= FILENAME_LEN - 1 {
            flags |= exec_flags::FILENAME_TRUNCATED;
        }
        (*event).filename_len = name_len as u16;

        let mut args_len = arg_end.saturating_sub(arg_start) as usize;
        if args_len > ARGS_LEN {
            args_len = ARGS_LEN;
            flags |= exec_flags::ARGS_TRUNCATED;
        }
        // Keep the verifier's bound obvious: ARGS_LEN is a power of two.
        let copy = args_len & (2 * ARGS_LEN - 1);
        let copy = if copy > ARGS_LEN { ARGS_LEN } else { copy };
        let read = bpf_probe_read_user(
            (*event).args.as_mut_ptr().cast(),
            copy as u32,
            arg_start as *const core::ffi::c_void,
        );
        if read != 0 {
            flags |= exec_flags::ARGS_UNREADABLE;
            (*event).args_len = 0;
        } else {
            (*event).args_len = copy as u16;
        }
        (*event).flags = flags;
    }
    entry.submit(0);
    Ok(())
}
