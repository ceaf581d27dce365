//! The syscall dispatcher on `raw_syscalls:sys_enter` / `sys_exit`.
//!
//! Attaching any syscall tracepoint puts every syscall on the kernel's slow
//! path, so the programs leave as early as they can: an uninteresting
//! syscall of a host task costs one array lookup (`SYSCALLS[nr]`) on enter
//! and one on exit. For tasks in containers the enter side also keeps the
//! per-cgroup syscall profile and reports a cgroup's first use of a syscall.
//!
//! On enter the arguments of an interesting syscall are stashed per thread;
//! on exit the record is built: arguments, result, the user strings and
//! socket address the arguments point to, and for fd-based syscalls the
//! kernel's view of the file or socket behind the fd.

use aya_ebpf::{
    helpers::{
        bpf_get_current_cgroup_id, bpf_get_current_pid_tgid, bpf_probe_read_user_str_bytes,
        generated::bpf_probe_read_user,
    },
    macros::{map, raw_tracepoint},
    maps::{Array, LruHashMap},
    programs::RawTracePointContext,
};
use kestrel_common::{
    ADDR_LEN, FirstSyscallEvent, MAX_SYSCALLS, PROFILE_WORDS, STR_LEN, SyscallEvent, kind, loss,
    sys_flags,
    syscalls::{FD_FROM_RET, SyscallSpec, spec_flags},
};

use super::fill_header;
use crate::{
    kernel::{
        ReadError,
        offsets::{offset, setting},
        path, read,
        task::Task,
    },
    maps::{EVENTS, count_loss},
};

/// What to capture per syscall number; written by userspace for the running
/// architecture (all-zero: not captured).
#[map(name = "SYSCALLS")]
static SYSCALLS: Array<SyscallSpec> = Array::with_max_entries(MAX_SYSCALLS, 0);

/// A syscall between enter and exit. `args` has 8 slots so an argument can
/// be picked by a masked index (`& 7`) the verifier accepts; 6 and 7 stay 0.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct InFlight {
    nr: u32,
    _pad: u32,
    args: [u64; 8],
}

/// Threads inside a captured syscall: 16k covers every thread of a busy
/// node blocked in accept/connect at once; LRU drops entries of threads
/// that died mid-syscall.
const INFLIGHT_ENTRIES: u32 = 16384;

#[map(name = "INFLIGHT")]
static INFLIGHT: LruHashMap<u64, InFlight> = LruHashMap::with_max_entries(INFLIGHT_ENTRIES, 0);

/// Syscalls used per cgroup (one bit per number); 4096 cgroups, LRU.
const PROFILE_ENTRIES: u32 = 4096;

#[map(name = "PROFILE")]
static PROFILE: LruHashMap<u64, [u64; PROFILE_WORDS]> =
    LruHashMap::with_max_entries(PROFILE_ENTRIES, 0);

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn sys_enter(ctx: RawTracePointContext) -> i32 {
    let _ = try_sys_enter(&ctx);
    0
}

fn try_sys_enter(ctx: &RawTracePointContext) -> Result<(), ReadError> {
    // TP_PROTO(struct pt_regs *regs, long id)
    let nr = ctx.arg::<u64>(1);
    if nr >= u64::from(MAX_SYSCALLS) {
        return Ok(());
    }
    let nr = nr as u32;
    let interesting = SYSCALLS.get(nr).is_some_and(|spec| spec.handler != 0);
    let profile = setting!(profile) != 0;
    let containers_only = setting!(containers_only) != 0;
    if !interesting && !profile {
        return Ok(());
    }
    let in_container = Task::current().in_container_pid_ns();
    if profile && in_container {
        record_use(nr);
    }
    if !interesting || (containers_only && !in_container) {
        return Ok(());
    }
    let regs = ctx.arg::<*const u8>(0);
    let mut entry = InFlight {
        nr,
        _pad: 0,
        args: [0; 8],
    };
    for (i, arg) in entry.args.iter_mut().take(6).enumerate() {
        *arg = read::<u64>(regs, offset!(regs_args[i])).unwrap_or(0);
    }
    let key = bpf_get_current_pid_tgid();
    let _ = INFLIGHT.insert(key, entry, 0);
    Ok(())
}

/// Set the cgroup's bit for `nr`; on the first use send a small record.
#[inline(always)]
fn record_use(nr: u32) {
    // SAFETY: the helper has no preconditions.
    let cgroup = unsafe { bpf_get_current_cgroup_id() };
    let word = ((nr / 64) as usize) % PROFILE_WORDS;
    let bit = 1u64 << (nr % 64);
    match PROFILE.get_ptr_mut(cgroup) {
        Some(bits) => {
            // SAFETY: valid map value pointer.
            let seen = unsafe { (*bits)[word] };
            if seen & bit != 0 {
                return;
            }
            // A racing CPU may set a neighbouring bit at the same time and
            // one of the two updates is lost; the next use sets it again and
            // a duplicate first-use record is harmless.
            // SAFETY: valid map value pointer.
            unsafe { (*bits)[word] = seen | bit };
        }
        None => {
            let mut bits = [0u64; PROFILE_WORDS];
            bits[word] = bit;
            let _ = PROFILE.insert(cgroup, bits, 0);
        }
    }
    let Some(mut entry) = EVENTS.reserve::<FirstSyscallEvent>(0) else {
        count_loss(kind::FIRST_SYSCALL, loss::RING_FULL);
        return;
    };
    let event = entry.as_mut_ptr();
    // SAFETY: reserved, writable ring memory of the right size.
    unsafe {
        fill_header(
            &mut (*event).header,
            kind::FIRST_SYSCALL,
            core::mem::size_of::<FirstSyscallEvent>(),
        );
        (*event).nr = nr;
        (*event)._pad0 = 0;
    }
    entry.submit(0);
}

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn sys_exit(ctx: RawTracePointContext) -> i32 {
    if try_sys_exit(&ctx).is_err() {
        count_loss(kind::SYSCALL, loss::READ_FAILED);
    }
    0
}

fn try_sys_exit(ctx: &RawTracePointContext) -> Result<(), ReadError> {
    // TP_PROTO(struct pt_regs *regs, long ret)
    let regs = ctx.arg::<*const u8>(0);
    let nr = read::<u64>(regs, offset!(regs_nr))?;
    if nr >= u64::from(MAX_SYSCALLS) {
        return Ok(());
    }
    let Some(spec) = SYSCALLS.get(nr as u32) else {
        return Ok(());
    };
    if spec.handler == 0 {
        return Ok(());
    }
    let spec = *spec;
    let key = bpf_get_current_pid_tgid();
    // SAFETY: the value stays valid (RCU) until the program ends; it is
    // removed only after its last use below.
    let Some(inflight) = (unsafe { INFLIGHT.get(key) }) else {
        return Ok(()); // filtered on enter, or enter ran before we attached
    };
    let ret = ctx.arg::<i64>(1);
    let wanted = inflight.nr == nr as u32 && (spec.flags & spec_flags::ERRORS_ONLY == 0 || ret < 0);
    if wanted {
        emit(&spec, inflight, ret);
    }
    let _ = INFLIGHT.remove(key);
    Ok(())
}

/// Argument `one_based` (1..=6; 0 means none and yields 0). The masked
/// index reads map memory, which the verifier allows at a bounded offset.
#[inline(always)]
fn arg(args: &[u64; 8], one_based: u8) -> u64 {
    args[usize::from(one_based).wrapping_sub(1) & 7]
}

/// Copy a NUL-terminated user string; returns (length, truncated, failed).
#[inline(always)]
fn user_str(ptr: u64, out: &mut [u8; STR_LEN]) -> (u16, bool, bool) {
    if ptr == 0 {
        return (0, false, false);
    }
    // SAFETY: the helper checks the user address and fails cleanly.
    match unsafe { bpf_probe_read_user_str_bytes(ptr as *const u8, out) } {
        Ok(s) => {
            let n = s.len();
            (n as u16, n >= STR_LEN - 1, false)
        }
        Err(_) => (0, false, true),
    }
}

fn emit(spec: &SyscallSpec, inflight: &InFlight, ret: i64) {
    let Some(mut entry) = EVENTS.reserve::<SyscallEvent>(0) else {
        count_loss(kind::SYSCALL, loss::RING_FULL);
        return;
    };
    let event = entry.as_mut_ptr();
    // SAFETY: `event` points at reserved, writable ring memory of the right
    // size; every field is written before submit.
    unsafe {
        let e = &mut *event;
        fill_header(
            &mut e.header,
            kind::SYSCALL,
            core::mem::size_of::<SyscallEvent>(),
        );
        e.nr = inflight.nr;
        e.handler = spec.handler;
        e.ret = ret;
        e.args = [
            inflight.args[0],
            inflight.args[1],
            inflight.args[2],
            inflight.args[3],
            inflight.args[4],
            inflight.args[5],
        ];
        e.tuple = Default::default();
        let mut flags = 0u16;

        let (n, cut, failed) = user_str(arg(&inflight.args, spec.str1), &mut e.str1);
        e.str1_len = n;
        if cut {
            flags |= sys_flags::STR1_TRUNCATED;
        }
        if failed {
            flags |= sys_flags::USER_READ_FAILED;
        }
        let (n, cut, failed) = user_str(arg(&inflight.args, spec.str2), &mut e.str2);
        e.str2_len = n;
        if cut {
            flags |= sys_flags::STR2_TRUNCATED;
        }
        if failed {
            flags |= sys_flags::USER_READ_FAILED;
        }

        e.addr_len = 0;
        let addr = arg(&inflight.args, spec.addr);
        if addr != 0 {
            if spec.flags & spec_flags::ADDR_IS_STR != 0 {
                // SAFETY: helper checks the user address.
                if let Ok(s) = bpf_probe_read_user_str_bytes(addr as *const u8, &mut e.addr) {
                    e.addr_len = s.len() as u16;
                    flags |= sys_flags::HAS_ADDR;
                }
            } else {
                let mut len = if spec.flags & spec_flags::ADDR_IS_BLOB != 0 {
                    24
                } else {
                    arg(&inflight.args, spec.addr_len) as usize
                };
                if len > ADDR_LEN {
                    len = ADDR_LEN;
                }
                let len = len & (ADDR_LEN * 2 - 1);
                let len = if len > ADDR_LEN { ADDR_LEN } else { len };
                if len > 0 {
                    let rc = bpf_probe_read_user(
                        e.addr.as_mut_ptr().cast(),
                        len as u32,
                        addr as *const core::ffi::c_void,
                    );
                    if rc == 0 {
                        e.addr_len = len as u16;
                        flags |= sys_flags::HAS_ADDR;
                    } else {
                        flags |= sys_flags::USER_READ_FAILED;
                    }
                }
            }
        }

        e.path_len = 0;
        e.path[0] = 0;
        let fd = match spec.fd {
            0 => None,
            FD_FROM_RET => (ret >= 0).then_some(ret as u64),
            i => Some(arg(&inflight.args, i)),
        };
        if let Some(fd) = fd {
            let task = Task::current();
            if let Ok(file) = task.file(fd) {
                let is_socket = file.inode().map(|i| i.is_socket()).unwrap_or(false);
                if is_socket {
                    flags |= sys_flags::FD_IS_SOCKET;
                    if let Ok(tuple) = file.socket().and_then(|s| s.tuple()) {
                        e.tuple = tuple;
                        flags |= sys_flags::HAS_TUPLE;
                    }
                } else if let Ok(fs) = task.fs()
                    && let Ok((n, cut)) = path::resolve(file.path(), fs.root(), &mut e.path)
                {
                    e.path_len = n;
                    flags |= sys_flags::HAS_PATH;
                    if cut {
                        flags |= sys_flags::PATH_TRUNCATED;
                    }
                }
            }
        }
        e.flags = flags;
    }
    entry.submit(0);
}
