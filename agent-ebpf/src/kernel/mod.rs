//! Typed access to kernel memory.
//!
//! Probes never add raw offsets themselves: they call accessors such as
//! [`task::Task::real_parent`], which read the offset resolved from BTF by
//! userspace (the `OFFSETS` global) and do the checked kernel read.

pub mod file;
pub mod offsets;
pub mod path;
pub mod task;

/// A kernel read failed (bad pointer or missing page).
#[derive(Clone, Copy)]
pub struct ReadError;

/// Read a `T` at `base + off` from kernel memory.
#[inline(always)]
pub fn read<T>(base: *const u8, off: usize) -> Result<T, ReadError> {
    // SAFETY: bpf_probe_read_kernel checks the address and fails cleanly on a
    // bad one; we never dereference `base` directly.
    unsafe { aya_ebpf::helpers::bpf_probe_read_kernel(base.wrapping_add(off) as *const T) }
        .map_err(|_| ReadError)
}

/// Read a pointer field; a NULL pointer is an error.
#[inline(always)]
pub fn read_ptr(base: *const u8, off: usize) -> Result<*const u8, ReadError> {
    let ptr = read::<*const u8>(base, off)?;
    if ptr.is_null() {
        Err(ReadError)
    } else {
        Ok(ptr)
    }
}
