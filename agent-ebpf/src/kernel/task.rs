//! `task_struct`, `mm_struct`, `signal_struct` and `linux_binprm` accessors.

use aya_ebpf::helpers::{bpf_get_current_task, bpf_probe_read_kernel};

use super::offsets::offset;

/// A kernel read failed (bad pointer or missing page).
#[derive(Clone, Copy)]
pub struct ReadError;

/// Read a `T` at `base + off` from kernel memory.
#[inline(always)]
fn read<T>(base: *const u8, off: usize) -> Result<T, ReadError> {
    // SAFETY: bpf_probe_read_kernel checks the address and fails cleanly on a
    // bad one; we never dereference `base` directly.
    unsafe { bpf_probe_read_kernel(base.wrapping_add(off) as *const T) }.map_err(|_| ReadError)
}

/// A `struct task_struct *`.
#[derive(Clone, Copy)]
pub struct Task(*const u8);

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
        read::<*const u8>(self.0, offset!(task_real_parent)).map(Task)
    }

    #[inline(always)]
    pub fn exit_code(&self) -> Result<u32, ReadError> {
        read::<u32>(self.0, offset!(task_exit_code))
    }

    #[inline(always)]
    pub fn mm(&self) -> Result<Mm, ReadError> {
        read::<*const u8>(self.0, offset!(task_mm)).map(Mm)
    }

    #[inline(always)]
    pub fn signal(&self) -> Result<Signal, ReadError> {
        read::<*const u8>(self.0, offset!(task_signal)).map(Signal)
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
        read::<*const u8>(self.0, offset!(binprm_filename))
    }
}
