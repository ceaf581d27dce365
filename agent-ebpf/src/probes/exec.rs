//! `sched_process_exec`: a successful exec, with the filename, a bounded
//! argv read from the new image's memory, and the process context read from
//! the task: credentials, session, terminal, the executable's inode, times,
//! path and origin (overlay upper layer, memfd, deleted), and the cwd.

use aya_ebpf::{
    helpers::{bpf_probe_read_kernel_str_bytes, generated::bpf_probe_read_user},
    macros::btf_tracepoint,
    programs::BtfTracePointContext,
};
use kestrel_common::{ARGS_LEN, ExecEvent, FILENAME_LEN, exe_flags, exec_flags, kind, loss};

use super::fill_header;
use crate::{
    kernel::{
        ReadError,
        file::Dentry,
        offsets::offset,
        path,
        task::{TypedTask, btf_load},
    },
    maps::{EVENTS, count_loss, submit_flags},
};

#[btf_tracepoint(function = "sched_process_exec")]
pub fn sched_process_exec(ctx: BtfTracePointContext) -> i32 {
    if try_sched_process_exec(&ctx).is_err() {
        count_loss(kind::EXEC, loss::READ_FAILED);
    }
    0
}

fn try_sched_process_exec(ctx: &BtfTracePointContext) -> Result<(), ReadError> {
    // TP_PROTO(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm):
    // `p` is the current task; `p` and `bprm` are BTF-typed, so what is
    // read behind them is typed loads, not helper calls.
    let task = TypedTask::from_arg(ctx.arg::<*const u8>(0));
    let old_pid = ctx.arg::<u64>(1) as u32;
    let bprm = ctx.arg::<*const u8>(2);
    let filename: u64 = btf_load(bprm, offset!(binprm_filename));
    let mm = task.mm().ok_or(ReadError)?;
    let (arg_start, arg_end) = mm.args();

    let Some(mut entry) = EVENTS.reserve::<ExecEvent>(0) else {
        count_loss(kind::EXEC, loss::RING_FULL);
        return Ok(());
    };
    let event = entry.as_mut_ptr();
    // SAFETY: `event` points at reserved, writable ring memory of the right
    // size; every field is written before submit.
    unsafe {
        let e = &mut *event;
        fill_header(
            &mut e.header,
            kind::EXEC,
            core::mem::size_of::<ExecEvent>(),
            task,
        );
        e.old_pid = old_pid;
        e._pad1 = 0;
        let mut flags = 0u32;

        let name_len = match bpf_probe_read_kernel_str_bytes(filename as *const u8, &mut e.filename)
        {
            Ok(bytes) => bytes.len(),
            Err(_) => 0,
        };
        if name_len >= FILENAME_LEN - 1 {
            flags |= exec_flags::FILENAME_TRUNCATED;
        }
        e.filename_len = name_len as u16;

        let mut args_len = arg_end.saturating_sub(arg_start) as usize;
        if args_len > ARGS_LEN {
            args_len = ARGS_LEN;
            flags |= exec_flags::ARGS_TRUNCATED;
        }
        // Keep the verifier's bound obvious: ARGS_LEN is a power of two.
        let copy = args_len & (2 * ARGS_LEN - 1);
        let copy = if copy > ARGS_LEN { ARGS_LEN } else { copy };
        let read = bpf_probe_read_user(
            e.args.as_mut_ptr().cast(),
            copy as u32,
            arg_start as *const core::ffi::c_void,
        );
        if read != 0 {
            flags |= exec_flags::ARGS_UNREADABLE;
            e.args_len = 0;
        } else {
            e.args_len = copy as u16;
        }
        e.flags = flags;

        e.ctx = task.context();
        let mut xf = 0u32;
        if e.ctx.pid_ns_level > 0 {
            xf |= exe_flags::IN_PID_NS;
        }
        e.exe_ino = 0;
        e.exe_ctime_ns = 0;
        e.exe_mtime_ns = 0;
        e.exe_path_len = 0;
        e.exe_path[0] = 0;
        e.cwd_len = 0;
        e.cwd[0] = 0;
        if let Ok(root) = task.root() {
            if let Some(exe) = mm.exe_file() {
                let exe_path = exe.path();
                if let Some(inode) = exe.inode() {
                    e.exe_ino = inode.ino();
                    e.exe_ctime_ns = inode.ctime_ns();
                    e.exe_mtime_ns = inode.mtime_ns();
                    if inode.nlink() == 0 {
                        xf |= exe_flags::DELETED;
                    }
                    if inode.is_overlay() {
                        xf |= exe_flags::OVERLAY;
                        if inode.ovl_has_upper() {
                            xf |= exe_flags::UPPER_LAYER;
                        }
                    }
                }
                if !exe_path.dentry.is_null() && Dentry(exe_path.dentry).typed_is_memfd() {
                    xf |= exe_flags::MEMFD;
                }
                if let Some(n) = path::typed_resolve(exe_path, root, &mut e.exe_path) {
                    e.exe_path_len = n;
                } else if let Ok((n, cut)) = path::resolve(exe_path, root, &mut e.exe_path) {
                    e.exe_path_len = n;
                    if cut {
                        xf |= exe_flags::PATH_TRUNCATED;
                    }
                }
            }
            if let Ok(pwd) = task.pwd() {
                if let Some(n) = path::typed_resolve(pwd, root, &mut e.cwd) {
                    e.cwd_len = n;
                } else if let Ok((n, cut)) = path::resolve(pwd, root, &mut e.cwd) {
                    e.cwd_len = n;
                    if cut {
                        xf |= exe_flags::CWD_TRUNCATED;
                    }
                }
            }
        }
        e.exe_flags = xf;
    }
    entry.submit(submit_flags(core::mem::size_of::<ExecEvent>()));
    Ok(())
}
