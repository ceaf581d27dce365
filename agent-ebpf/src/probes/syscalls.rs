//! The syscall dispatcher: one `tp_btf` program on `raw_syscalls:sys_exit`.
//!
//! Attaching any syscall tracepoint puts every syscall on the kernel's slow
//! path, and every attached program adds its own call on top, so there is
//! only one program, on exit: a completed syscall still has its arguments in
//! the saved user registers (`pt_regs`; on arm64 the first one in
//! `orig_x0`), and the result is the tracepoint's second argument. `tp_btf`
//! gives typed access to `pt_regs`, so the syscall number is one direct load
//! (no helper call). An uninteresting syscall then costs one array lookup
//! (`SYSCALLS[nr]`) plus, while the per-cgroup profile is on, the current
//! cgroup id and a per-CPU cache check.
//!
//! Syscalls that never return (`exit`, `exit_group`, a successful `execve`
//! continues in the new image) are reported by the scheduler tracepoints;
//! the child's return from `clone`/`fork` is skipped (the parent reports it).
//!
//! For an interesting syscall the record carries the arguments, the result,
//! the user strings and socket address the arguments point to, and for
//! fd-based syscalls the kernel's view of the file or socket behind the fd.

use aya_ebpf::{
    helpers::{
        bpf_get_current_cgroup_id, bpf_probe_read_user_str_bytes, generated::bpf_probe_read_user,
    },
    macros::{btf_tracepoint, map},
    maps::{Array, HashMap, LpmTrie, LruHashMap, PerCpuArray},
    programs::BtfTracePointContext,
};
use kestrel_common::{
    ADDR_LEN, FirstSyscallEvent, MAX_SYSCALLS, PROFILE_WORDS, STR_LEN, SyscallEvent, kind, loss,
    sys_flags,
    syscalls::{
        AT_CWD, FD_FROM_RET, MAX_PATH_PREFIXES, NOT_A_PATH, PATH_PREFIX_BYTES, PathHeads,
        SyscallSpec, spec_flags,
    },
};

use super::fill_header;
use crate::{
    kernel::{
        ReadError,
        offsets::{offset, setting},
        path,
        task::{Task, TypedTask},
    },
    maps::{CACHE_GEN, EVENTS, SET_GEN, TASK_GEN, count_loss, submit_flags},
};

/// What to capture per syscall number; written by userspace for the running
/// architecture (all-zero: not captured).
#[map(name = "SYSCALLS")]
static SYSCALLS: Array<SyscallSpec> = Array::with_max_entries(MAX_SYSCALLS, 0);

/// Syscalls used per cgroup (one bit per number); 4096 cgroups, LRU.
const PROFILE_ENTRIES: u32 = 4096;

#[map(name = "PROFILE")]
static PROFILE: LruHashMap<u64, [u64; PROFILE_WORDS]> =
    LruHashMap::with_max_entries(PROFILE_ENTRIES, 0);

/// Host cgroups (id → 1), written by userspace: every cgroup it knows is
/// not a container's. A cgroup not (yet) in here counts as a container, so
/// a syscall is never skipped for a container userspace has not seen.
const HOST_CGROUP_ENTRIES: u32 = 16384;

#[map(name = "HOST_CGROUPS")]
static HOST_CGROUPS: HashMap<u64, u8> = HashMap::with_max_entries(HOST_CGROUP_ENTRIES, 0);

/// Path prefixes of the files host rules may care about when a host task
/// opens one (`HOST_PATH_FILTER`), written by userspace from the rules.
#[map(name = "HOST_OPEN_PREFIXES")]
static HOST_OPEN_PREFIXES: LpmTrie<[u8; PATH_PREFIX_BYTES], u8> =
    LpmTrie::with_max_entries(MAX_PATH_PREFIXES, 0);

/// The heads of those prefixes, tested before the trie.
#[map(name = "HOST_OPEN_HEADS")]
static HOST_OPEN_HEADS: Array<PathHeads> = Array::with_max_entries(1, 0);

/// What this CPU knows of the task that last made a syscall on it, keyed
/// by the address of its saved user registers (fixed for a task's life, so
/// no helper call is needed to recognise it): its cgroup, whether that is a
/// host cgroup, and the cgroup's profile bits. A task makes many syscalls
/// between context switches, so almost every syscall is answered here
/// without touching a shared map. A new task may get a dead one's stack,
/// and with it the same `pt_regs` address, so a fork (or a cgroup attach)
/// bumps the task generation and the next syscall on every CPU re-reads
/// its cgroup id; the cgroup's facts are reloaded only when that id, or
/// the host set (the set generation), changed.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CgroupCache {
    regs: u64,
    task_gen: u64,
    set_gen: u64,
    cgroup: u64,
    host: u64,
    bits: [u64; PROFILE_WORDS],
}

#[map(name = "CGROUP_CACHE")]
static CGROUP_CACHE: PerCpuArray<CgroupCache> = PerCpuArray::with_max_entries(1, 0);

/// The two generations ([`SET_GEN`], [`TASK_GEN`]).
#[inline(always)]
fn generations() -> (u64, u64) {
    (
        CACHE_GEN.get(SET_GEN).copied().unwrap_or(0),
        CACHE_GEN.get(TASK_GEN).copied().unwrap_or(0),
    )
}

/// This CPU's cache, refreshed for the current task.
#[inline(always)]
fn current_cgroup(regs: *const u8) -> Option<&'static mut CgroupCache> {
    let (set_gen, task_gen) = generations();
    let cache = CGROUP_CACHE.get_ptr_mut(0)?;
    // SAFETY: valid per-CPU map value pointer; only this CPU uses it, and a
    // tracing program does not nest into itself on one CPU.
    let cache = unsafe { &mut *cache };
    if cache.regs == regs as u64 && cache.task_gen == task_gen && cache.set_gen == set_gen {
        return Some(cache);
    }
    // SAFETY: the helper has no preconditions.
    let cgroup = unsafe { bpf_get_current_cgroup_id() };
    cache.regs = regs as u64;
    cache.task_gen = task_gen;
    if cache.cgroup != cgroup || cache.set_gen != set_gen {
        cache.cgroup = cgroup;
        cache.set_gen = set_gen;
        // SAFETY: the values are copied out at once.
        cache.host = u64::from(unsafe { HOST_CGROUPS.get(cgroup) }.is_some());
        // SAFETY: as above.
        cache.bits = unsafe { PROFILE.get(cgroup) }
            .copied()
            .unwrap_or([0; PROFILE_WORDS]);
    }
    Some(cache)
}

/// Load a `T` at `off` from the `pt_regs` the tracepoint hands us. The
/// offset is a frozen load-time global, a constant to the verifier, which
/// checks the access against the kernel's `struct pt_regs`.
#[inline(always)]
fn regs_load<T: Copy>(regs: *const u8, off: usize) -> T {
    // SAFETY: `regs` is the tracepoint's typed (BTF) `struct pt_regs *`;
    // the verifier turns this load into a fault-handled kernel read and
    // rejects the program if `off` is not a field of `pt_regs`.
    unsafe { core::ptr::read_volatile(regs.wrapping_add(off) as *const T) }
}

#[btf_tracepoint(function = "sys_exit")]
pub fn sys_exit(ctx: BtfTracePointContext) -> i32 {
    // TP_PROTO(struct pt_regs *regs, long ret)
    let regs = ctx.arg::<*const u8>(0);
    // The low 32 bits hold the number on both architectures (x86_64's
    // `orig_ax` is 8 bytes, arm64's `syscallno` 4).
    let nr = regs_load::<u32>(regs, offset!(regs_nr));
    if nr >= MAX_SYSCALLS {
        return 0;
    }
    let Some(spec) = SYSCALLS.get(nr) else {
        return 0;
    };
    let profile = setting!(profile) != 0;
    if !profile && spec.handler == 0 {
        return 0;
    }
    let Some(cache) = current_cgroup(regs) else {
        return 0;
    };
    if profile {
        record_use(cache, nr);
    }
    if spec.handler == 0 {
        return 0;
    }
    let spec = *spec;
    let ret = ctx.arg::<i64>(1);
    if spec.flags & spec_flags::ERRORS_ONLY != 0 && ret >= 0 {
        return 0;
    }
    if spec.flags & spec_flags::PARENT_ONLY != 0 && ret == 0 {
        return 0;
    }
    if spec.flags & spec_flags::CONTAINERS_ONLY != 0 && cache.host != 0 {
        return 0;
    }
    if spec.flags & spec_flags::HOST_PATH_FILTER != 0
        && cache.host != 0
        && ret >= 0
        && !host_rules_want(ret as u64)
    {
        return 0;
    }
    let args = [
        regs_load::<u64>(regs, offset!(regs_args[0])),
        regs_load::<u64>(regs, offset!(regs_args[1])),
        regs_load::<u64>(regs, offset!(regs_args[2])),
        regs_load::<u64>(regs, offset!(regs_args[3])),
        regs_load::<u64>(regs, offset!(regs_args[4])),
        regs_load::<u64>(regs, offset!(regs_args[5])),
    ];
    emit(nr, &spec, &args, ret);
    0
}

/// A host task opened `fd`: does its path start with a prefix some host
/// rule tests? The path is the kernel's (symlinks and `..` resolved, as
/// `fd.name` shows it); whatever cannot be resolved is kept.
#[inline(always)]
fn host_rules_want(fd: u64) -> bool {
    let Some(heads) = HOST_OPEN_HEADS.get(0) else {
        return true;
    };
    let task = TypedTask::current();
    if path::typed_reject(task, fd, heads) {
        return false;
    }
    let (Ok(file), Ok(root)) = (task.file(fd), task.root()) else {
        return true;
    };
    path::starts_with_any(file.path(), root, heads, &HOST_OPEN_PREFIXES).unwrap_or(true)
}

/// Set the current cgroup's bit for `nr`; on its first use send a small
/// record. The per-CPU cache answers repeat uses; only a miss touches the
/// shared map.
#[inline(always)]
fn record_use(cache: &mut CgroupCache, nr: u32) {
    let word = ((nr / 64) as usize) % PROFILE_WORDS;
    let bit = 1u64 << (nr % 64);
    if cache.bits[word] & bit != 0 {
        return;
    }
    cache.bits[word] |= bit;
    note_use(cache.cgroup, nr);
}

/// The current task, in `cgroup`, used `nr` where the dispatcher cannot
/// see it (a call that never returns, seen by the exit tracepoint): this
/// CPU's cache answers when it holds that cgroup, else the shared map does.
#[inline(always)]
pub fn note_use_current(cgroup: u64, nr: u32) {
    let (set_gen, _) = generations();
    if let Some(cache) = CGROUP_CACHE.get_ptr_mut(0) {
        // SAFETY: valid per-CPU map value pointer, used by this CPU only.
        let cache = unsafe { &mut *cache };
        if cache.cgroup == cgroup && cache.set_gen == set_gen {
            record_use(cache, nr);
            return;
        }
    }
    note_use(cgroup, nr);
}

/// Add `nr` to `cgroup`'s profile; on its first use send a small record.
#[inline(always)]
fn note_use(cgroup: u64, nr: u32) {
    let word = ((nr / 64) as usize) % PROFILE_WORDS;
    let bit = 1u64 << (nr % 64);
    if !set_profile_bit(cgroup, word, bit) {
        return; // seen before (perhaps just now on another CPU)
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
            TypedTask::current(),
        );
        (*event).nr = nr;
        (*event)._pad0 = 0;
    }
    entry.submit(submit_flags(core::mem::size_of::<FirstSyscallEvent>()));
}

/// Set the bit in the shared profile; false when it was already set.
#[inline(always)]
fn set_profile_bit(cgroup: u64, word: usize, bit: u64) -> bool {
    match PROFILE.get_ptr_mut(cgroup) {
        Some(bits) => {
            // SAFETY: valid map value pointer.
            let seen = unsafe { (*bits)[word] };
            if seen & bit != 0 {
                return false;
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
    true
}

/// Argument `one_based` (1..=6; 0 means none and yields 0).
#[inline(always)]
fn arg(args: &[u64; 6], one_based: u8) -> u64 {
    match one_based {
        1 => args[0],
        2 => args[1],
        3 => args[2],
        4 => args[3],
        5 => args[4],
        6 => args[5],
        _ => 0,
    }
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

/// `AT_FDCWD` as the kernel sees it in an `int` argument.
const AT_FDCWD: i32 = -100;

/// The directory fd a relative path of the call is relative to.
#[inline(always)]
fn dir_fd(args: &[u64; 6], dir: u8) -> i32 {
    if dir == AT_CWD {
        AT_FDCWD
    } else {
        arg(args, dir) as i32
    }
}

/// Resolve the working directory (`AT_FDCWD`) or the directory behind
/// `dirfd` into `out`.
#[inline(always)]
fn resolve_dir(dirfd: i32, out: &mut [u8; STR_LEN]) -> Result<(u16, bool), ReadError> {
    let task = Task::current();
    let fs = task.fs()?;
    if dirfd == AT_FDCWD {
        path::resolve(fs.pwd(), fs.root(), out)
    } else {
        let file = task.file(dirfd as u32 as u64)?;
        path::resolve(file.path(), fs.root(), out)
    }
}

fn emit(nr: u32, spec: &SyscallSpec, args: &[u64; 6], ret: i64) {
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
            TypedTask::current(),
        );
        e.nr = nr;
        e.handler = spec.handler;
        e.ret = ret;
        e.args = *args;
        e.tuple = Default::default();
        let mut flags = 0u16;

        let (n, cut, failed) = user_str(arg(args, spec.str1), &mut e.str1);
        e.str1_len = n;
        if cut {
            flags |= sys_flags::STR1_TRUNCATED;
        }
        if failed {
            flags |= sys_flags::USER_READ_FAILED;
        }
        let (n, cut, failed) = user_str(arg(args, spec.str2), &mut e.str2);
        e.str2_len = n;
        if cut {
            flags |= sys_flags::STR2_TRUNCATED;
        }
        if failed {
            flags |= sys_flags::USER_READ_FAILED;
        }

        e.addr_len = 0;
        let addr = arg(args, spec.addr);
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
                    arg(args, spec.addr_len) as usize
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
            i => Some(arg(args, i)),
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
        // A relative path: resolve the directory it is relative to now,
        // as the call saw it (the working directory after any chdir, or
        // the `*at` call's directory fd).
        if flags & sys_flags::HAS_PATH == 0 {
            let rel1 = spec.dir1 != NOT_A_PATH && e.str1_len > 0 && e.str1[0] != b'/';
            let rel2 = spec.dir2 != NOT_A_PATH && e.str2_len > 0 && e.str2[0] != b'/';
            if rel1 || rel2 {
                let d1 = dir_fd(args, spec.dir1);
                let d2 = dir_fd(args, spec.dir2);
                let base = if rel1 { d1 } else { d2 };
                if let Ok((n, cut)) = resolve_dir(base, &mut e.path) {
                    e.path_len = n;
                    if rel1 {
                        flags |= sys_flags::DIR_FOR_STR1;
                    }
                    if rel2 && (!rel1 || d2 == d1) {
                        flags |= sys_flags::DIR_FOR_STR2;
                    }
                    if cut {
                        flags |= sys_flags::PATH_TRUNCATED;
                    }
                }
            }
        }
        e.flags = flags;
    }
    entry.submit(submit_flags(core::mem::size_of::<SyscallEvent>()));
}
