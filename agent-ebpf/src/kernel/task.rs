//! `task_struct`, `mm_struct`, `signal_struct`, `cred`, `pid` and
//! `linux_binprm` accessors.

use aya_ebpf::helpers::{bpf_get_current_task, generated::bpf_get_current_task_btf};
use kestrel_common::TaskContext;

use super::{
    ReadError,
    file::{File, PathRef, TypedFile},
    offsets::offset,
    read, read_ptr,
};

/// A `struct task_struct *`.
#[derive(Clone, Copy)]
pub struct Task(*const u8);

/// Load a `T` at `base + off` where `base` is a BTF-typed kernel pointer
/// (a `tp_btf` argument, the current task from `bpf_get_current_task_btf`,
/// or a pointer loaded from one). The offset is a frozen load-time global,
/// a constant to the verifier, which turns this into one fault-handled load
/// (a bad pointer reads as 0) instead of a helper call, and rejects the
/// program if `off` is not a field of the type.
#[inline(always)]
pub fn btf_load<T: Copy>(base: *const u8, off: usize) -> T {
    // SAFETY: see above: the verifier checks the access against BTF and the
    // JIT makes it fault-safe; the value is only used as data.
    unsafe { core::ptr::read_volatile(base.wrapping_add(off) as *const T) }
}

/// The current task as a BTF-typed pointer, for tracing programs on a hot
/// path: what it reads through [`btf_load`] costs a load, not a helper
/// call (~15 ns each here).
#[derive(Clone, Copy)]
pub struct TypedTask(*const u8);

impl TypedTask {
    #[inline(always)]
    pub fn current() -> TypedTask {
        // SAFETY: the helper has no preconditions.
        TypedTask(unsafe { bpf_get_current_task_btf() } as *const u8)
    }

    /// The BTF-typed `struct task_struct *` itself.
    #[inline(always)]
    pub fn as_ptr(&self) -> *const u8 {
        self.0
    }

    /// Wrap a `struct task_struct *` handed to a `tp_btf` program (typed
    /// by the tracepoint's BTF prototype).
    #[inline(always)]
    pub fn from_arg(ptr: *const u8) -> TypedTask {
        TypedTask(ptr)
    }

    #[inline(always)]
    pub fn pid(&self) -> u32 {
        btf_load(self.0, offset!(task_pid))
    }

    #[inline(always)]
    pub fn tgid(&self) -> u32 {
        btf_load(self.0, offset!(task_tgid))
    }

    #[inline(always)]
    pub fn exit_code(&self) -> u32 {
        btf_load(self.0, offset!(task_exit_code))
    }

    /// The parent's process id (0 if the parent cannot be read: a NULL
    /// pointer loads as 0 and so does every field behind it).
    #[inline(always)]
    pub fn parent_tgid(&self) -> u32 {
        let parent: *const u8 = btf_load(self.0, offset!(task_real_parent));
        btf_load(parent, offset!(task_tgid))
    }

    /// The task's `comm` (NUL-padded, as `bpf_get_current_comm` gives it).
    #[inline(always)]
    pub fn comm(&self) -> [u8; 16] {
        let lo: u64 = btf_load(self.0, offset!(task_comm));
        let hi: u64 = btf_load(self.0, offset!(task_comm) + 8);
        let mut comm = [0u8; 16];
        comm[..8].copy_from_slice(&lo.to_le_bytes());
        comm[8..].copy_from_slice(&hi.to_le_bytes());
        comm
    }

    /// Real uid and gid (`cred->uid`, `cred->gid`).
    #[inline(always)]
    pub fn uid_gid(&self) -> (u32, u32) {
        let cred: *const u8 = btf_load(self.0, offset!(task_cred));
        (
            btf_load(cred, offset!(cred_uid)),
            btf_load(cred, offset!(cred_gid)),
        )
    }

    /// The id of the task's cgroup2 cgroup (`cgroups->dfl_cgrp->kn->id`),
    /// what `bpf_get_current_cgroup_id` returns for the current task.
    #[inline(always)]
    pub fn cgroup_id(&self) -> u64 {
        let css_set: *const u8 = btf_load(self.0, offset!(task_cgroups));
        let cgroup: *const u8 = btf_load(css_set, offset!(css_set_dfl_cgrp));
        let kn: *const u8 = btf_load(cgroup, offset!(cgroup_kn));
        btf_load(kn, offset!(kernfs_id))
    }

    /// Live threads of the group (`signal->live`); `None` without a
    /// signal struct.
    #[inline(always)]
    pub fn live_threads(&self) -> Option<i32> {
        let signal: *const u8 = btf_load(self.0, offset!(task_signal));
        if signal.is_null() {
            return None;
        }
        Some(btf_load(signal, offset!(signal_live)))
    }

    /// The open file behind `fd`: typed loads down to the fd array (a
    /// pointer to pointers, which BTF loads only as a number), one read
    /// for the slot.
    #[inline(always)]
    pub fn file(&self, fd: u64) -> Result<File, ReadError> {
        let files: *const u8 = btf_load(self.0, offset!(task_files));
        let fdt: *const u8 = btf_load(files, offset!(files_fdt));
        let max: u32 = btf_load(fdt, offset!(fdt_max_fds));
        if fdt.is_null() || fd >= u64::from(max) {
            return Err(ReadError);
        }
        let array: u64 = btf_load(fdt, offset!(fdt_fd));
        read_ptr(array as *const u8, (fd as usize) * 8).map(File::from_ptr)
    }

    /// The task's root directory (`fs->root`).
    #[inline(always)]
    pub fn root(&self) -> Result<PathRef, ReadError> {
        self.fs_path(offset!(fs_root))
    }

    /// The task's working directory (`fs->pwd`).
    #[inline(always)]
    pub fn pwd(&self) -> Result<PathRef, ReadError> {
        self.fs_path(offset!(fs_pwd))
    }

    /// The task's address space; `None` for a kernel thread.
    #[inline(always)]
    pub fn mm(&self) -> Option<TypedMm> {
        let mm: *const u8 = btf_load(self.0, offset!(task_mm));
        (!mm.is_null()).then_some(TypedMm(mm))
    }

    /// Credentials, session, terminal and namespace facts, all typed loads
    /// but one helper read for a pid number in a nested pid namespace (its
    /// index is not a constant).
    #[inline(always)]
    pub fn context(&self) -> TaskContext {
        let loginuid = match offset!(task_loginuid) {
            0 => u32::MAX,
            off => btf_load(self.0, off),
        };
        let cred: *const u8 = btf_load(self.0, offset!(task_cred));
        let mut ctx = TaskContext {
            loginuid,
            euid: btf_load(cred, offset!(cred_euid)),
            egid: btf_load(cred, offset!(cred_egid)),
            cap_effective: btf_load(cred, offset!(cred_cap_effective)),
            ..TaskContext::default()
        };
        let pid: *const u8 = btf_load(self.0, offset!(task_thread_pid));
        let level = if pid.is_null() {
            0
        } else {
            btf_load::<u32>(pid, offset!(pid_level))
        };
        ctx.pid_ns_level = level;
        ctx.vpid = typed_nr_at(pid, level);
        let signal: *const u8 = btf_load(self.0, offset!(task_signal));
        if !signal.is_null() {
            ctx.sid = typed_session_nr(signal, offset!(pidtype_sid), level);
            ctx.pgid = typed_session_nr(signal, offset!(pidtype_pgid), level);
            ctx.tty = typed_tty_dev(signal);
        }
        ctx
    }

    #[inline(always)]
    fn fs_path(&self, at: usize) -> Result<PathRef, ReadError> {
        let fs: *const u8 = btf_load(self.0, offset!(task_fs));
        if fs.is_null() {
            return Err(ReadError);
        }
        let mnt: u64 = btf_load(fs, at + offset!(path_mnt));
        let dentry: u64 = btf_load(fs, at + offset!(path_dentry));
        Ok(PathRef {
            mnt: mnt as *const u8,
            dentry: dentry as *const u8,
        })
    }
}

/// `pid->numbers[level].nr` (0 for a NULL `pid`). Level 0 (the initial
/// namespace) is a constant offset, a typed load; a deeper level is a
/// variable one, which the verifier only allows through a helper read.
#[inline(always)]
fn typed_nr_at(pid: *const u8, level: u32) -> u32 {
    if pid.is_null() {
        return 0;
    }
    if level == 0 {
        return btf_load(pid, offset!(pid_numbers) + offset!(upid_nr));
    }
    Pid(pid).nr_at(level).unwrap_or(0)
}

/// The number of `signal->pids[pid_type]` in the namespace at `level` (0
/// when it lives in an outer namespace or is unset).
#[inline(always)]
fn typed_session_nr(signal: *const u8, pid_type: usize, level: u32) -> u32 {
    let pid: *const u8 = btf_load(signal, offset!(signal_pids) + pid_type * 8);
    if pid.is_null() {
        return 0;
    }
    let pid_level: u32 = btf_load(pid, offset!(pid_level));
    if pid_level < level {
        return 0;
    }
    typed_nr_at(pid, level)
}

/// Controlling terminal as `major << 20 | minor`, 0 if none.
#[inline(always)]
fn typed_tty_dev(signal: *const u8) -> u32 {
    let tty: *const u8 = btf_load(signal, offset!(signal_tty));
    if tty.is_null() {
        return 0;
    }
    let index: i32 = btf_load(tty, offset!(tty_index));
    let driver: *const u8 = btf_load(tty, offset!(tty_driver));
    if driver.is_null() {
        return 0;
    }
    let major: i32 = btf_load(driver, offset!(driver_major));
    let minor_start: i32 = btf_load(driver, offset!(driver_minor_start));
    ((major as u32) << 20) | ((minor_start + index) as u32 & 0xfffff)
}

/// A BTF-typed `struct mm_struct *`.
#[derive(Clone, Copy)]
pub struct TypedMm(*const u8);

impl TypedMm {
    /// Start and end of the argument strings in the new image's memory.
    #[inline(always)]
    pub fn args(&self) -> (u64, u64) {
        (
            btf_load(self.0, offset!(mm_arg_start)),
            btf_load(self.0, offset!(mm_arg_end)),
        )
    }

    /// The executable (`mm->exe_file`).
    #[inline(always)]
    pub fn exe_file(&self) -> Option<TypedFile> {
        let file: *const u8 = btf_load(self.0, offset!(mm_exe_file));
        (!file.is_null()).then_some(TypedFile::from_ptr(file))
    }
}

impl Task {
    /// The task the program runs in.
    #[inline(always)]
    pub fn current() -> Task {
        // SAFETY: the helper has no preconditions.
        Task(unsafe { bpf_get_current_task() } as *const u8)
    }

    #[inline(always)]
    pub fn fs(&self) -> Result<Fs, ReadError> {
        read_ptr(self.0, offset!(task_fs)).map(Fs)
    }

    /// The open file behind `fd`, if any.
    #[inline(always)]
    pub fn file(&self, fd: u64) -> Result<File, ReadError> {
        let files = read_ptr(self.0, offset!(task_files))?;
        let fdt = read_ptr(files, offset!(files_fdt))?;
        let max = read::<u32>(fdt, offset!(fdt_max_fds))?;
        if fd >= u64::from(max) {
            return Err(ReadError);
        }
        let array = read_ptr(fdt, offset!(fdt_fd))?;
        read_ptr(array, (fd as usize) * 8).map(File::from_ptr)
    }
}

/// A `struct pid *`.
#[derive(Clone, Copy)]
pub struct Pid(*const u8);

impl Pid {
    /// `numbers[level].nr`.
    #[inline(always)]
    pub fn nr_at(&self, level: u32) -> Result<u32, ReadError> {
        let level = (level & 31) as usize;
        read::<u32>(
            self.0,
            offset!(pid_numbers) + level * offset!(upid_size) + offset!(upid_nr),
        )
    }
}

/// A `struct fs_struct *`.
#[derive(Clone, Copy)]
pub struct Fs(*const u8);

impl Fs {
    #[inline(always)]
    pub fn root(&self) -> PathRef {
        PathRef::at(self.0, offset!(fs_root))
    }

    #[inline(always)]
    pub fn pwd(&self) -> PathRef {
        PathRef::at(self.0, offset!(fs_pwd))
    }
}
