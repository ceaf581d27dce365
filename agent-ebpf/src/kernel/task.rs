//! `task_struct`, `mm_struct`, `signal_struct`, `cred`, `pid` and
//! `linux_binprm` accessors.

use aya_ebpf::helpers::{bpf_get_current_task, generated::bpf_get_current_task_btf};
use kestrel_common::TaskContext;

use super::{
    ReadError,
    file::{File, PathRef},
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

impl Task {
    /// The task the program runs in.
    #[inline(always)]
    pub fn current() -> Task {
        // SAFETY: the helper has no preconditions.
        Task(unsafe { bpf_get_current_task() } as *const u8)
    }

    /// Wrap a task pointer handed to a tracepoint.
    #[inline(always)]
    pub fn from_ptr(ptr: *const u8) -> Task {
        Task(ptr)
    }

    #[inline(always)]
    pub fn pid(&self) -> Result<u32, ReadError> {
        read::<u32>(self.0, offset!(task_pid))
    }

    #[inline(always)]
    pub fn tgid(&self) -> Result<u32, ReadError> {
        read::<u32>(self.0, offset!(task_tgid))
    }

    #[inline(always)]
    pub fn real_parent(&self) -> Result<Task, ReadError> {
        read_ptr(self.0, offset!(task_real_parent)).map(Task)
    }

    #[inline(always)]
    pub fn exit_code(&self) -> Result<u32, ReadError> {
        read::<u32>(self.0, offset!(task_exit_code))
    }

    #[inline(always)]
    pub fn mm(&self) -> Result<Mm, ReadError> {
        read_ptr(self.0, offset!(task_mm)).map(Mm)
    }

    #[inline(always)]
    pub fn signal(&self) -> Result<Signal, ReadError> {
        read_ptr(self.0, offset!(task_signal)).map(Signal)
    }

    #[inline(always)]
    pub fn cred(&self) -> Result<Cred, ReadError> {
        read_ptr(self.0, offset!(task_cred)).map(Cred)
    }

    /// Audit login uid; `u32::MAX` when unset or not compiled in.
    #[inline(always)]
    pub fn loginuid(&self) -> u32 {
        match offset!(task_loginuid) {
            0 => u32::MAX,
            off => read::<u32>(self.0, off).unwrap_or(u32::MAX),
        }
    }

    /// The task's `struct pid` (its thread pid).
    #[inline(always)]
    pub fn thread_pid(&self) -> Result<Pid, ReadError> {
        read_ptr(self.0, offset!(task_thread_pid)).map(Pid)
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

    /// Credentials, session, terminal and namespace facts.
    #[inline(always)]
    pub fn context(&self) -> TaskContext {
        let mut ctx = TaskContext {
            loginuid: self.loginuid(),
            ..TaskContext::default()
        };
        if let Ok(cred) = self.cred() {
            ctx.euid = cred.euid().unwrap_or(0);
            ctx.egid = cred.egid().unwrap_or(0);
            ctx.cap_effective = cred.cap_effective().unwrap_or(0);
        }
        let mut level = 0;
        if let Ok(pid) = self.thread_pid() {
            level = pid.level().unwrap_or(0);
            ctx.pid_ns_level = level;
            ctx.vpid = pid.nr_at(level).unwrap_or(0);
        }
        if let Ok(signal) = self.signal() {
            ctx.sid = signal.pid_nr(offset!(pidtype_sid), level);
            ctx.pgid = signal.pid_nr(offset!(pidtype_pgid), level);
            ctx.tty = signal.tty_dev().unwrap_or(0);
        }
        ctx
    }
}

/// A `struct mm_struct *`.
#[derive(Clone, Copy)]
pub struct Mm(*const u8);

impl Mm {
    #[inline(always)]
    pub fn arg_start(&self) -> Result<u64, ReadError> {
        read::<u64>(self.0, offset!(mm_arg_start))
    }

    #[inline(always)]
    pub fn arg_end(&self) -> Result<u64, ReadError> {
        read::<u64>(self.0, offset!(mm_arg_end))
    }

    #[inline(always)]
    pub fn exe_file(&self) -> Result<File, ReadError> {
        read_ptr(self.0, offset!(mm_exe_file)).map(File::from_ptr)
    }
}

/// A `struct signal_struct *`.
#[derive(Clone, Copy)]
pub struct Signal(*const u8);

impl Signal {
    /// Live threads of the group (`signal->live`, an `atomic_t`).
    #[inline(always)]
    pub fn live(&self) -> Result<i32, ReadError> {
        read::<i32>(self.0, offset!(signal_live))
    }

    /// The number of `signal->pids[pid_type]` in the namespace at `level`
    /// (0 when it lives in an outer namespace or cannot be read).
    #[inline(always)]
    fn pid_nr(&self, pid_type: usize, level: u32) -> u32 {
        let Ok(pid) = read_ptr(self.0, offset!(signal_pids) + pid_type * 8) else {
            return 0;
        };
        let pid = Pid(pid);
        match pid.level() {
            Ok(l) if l >= level => pid.nr_at(level).unwrap_or(0),
            _ => 0,
        }
    }

    /// Controlling terminal as `major << 20 | minor`, 0 if none.
    #[inline(always)]
    fn tty_dev(&self) -> Result<u32, ReadError> {
        let tty = read::<*const u8>(self.0, offset!(signal_tty))?;
        if tty.is_null() {
            return Ok(0);
        }
        let index = read::<i32>(tty, offset!(tty_index))?;
        let driver = read_ptr(tty, offset!(tty_driver))?;
        let major = read::<i32>(driver, offset!(driver_major))?;
        let minor_start = read::<i32>(driver, offset!(driver_minor_start))?;
        Ok(((major as u32) << 20) | ((minor_start + index) as u32 & 0xfffff))
    }
}

/// A `struct pid *`.
#[derive(Clone, Copy)]
pub struct Pid(*const u8);

impl Pid {
    #[inline(always)]
    pub fn level(&self) -> Result<u32, ReadError> {
        read::<u32>(self.0, offset!(pid_level))
    }

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

/// A `const struct cred *`.
#[derive(Clone, Copy)]
pub struct Cred(*const u8);

impl Cred {
    #[inline(always)]
    pub fn euid(&self) -> Result<u32, ReadError> {
        read::<u32>(self.0, offset!(cred_euid))
    }

    #[inline(always)]
    pub fn egid(&self) -> Result<u32, ReadError> {
        read::<u32>(self.0, offset!(cred_egid))
    }

    /// `cap_effective` (a `u64` since 6.3, two `u32` before: same bytes).
    #[inline(always)]
    pub fn cap_effective(&self) -> Result<u64, ReadError> {
        read::<u64>(self.0, offset!(cred_cap_effective))
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

/// A `struct linux_binprm *`.
#[derive(Clone, Copy)]
pub struct Binprm(*const u8);

impl Binprm {
    #[inline(always)]
    pub fn from_ptr(ptr: *const u8) -> Binprm {
        Binprm(ptr)
    }

    /// The `const char *filename` being executed.
    #[inline(always)]
    pub fn filename_ptr(&self) -> Result<*const u8, ReadError> {
        read_ptr(self.0, offset!(binprm_filename))
    }
}
