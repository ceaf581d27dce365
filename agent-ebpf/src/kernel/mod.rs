//! Typed access to kernel memory.
//!
//! Probes never add raw offsets themselves: they call accessors such as
//! [`task::Task::mm`], which read the offset resolved from BTF by
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

/// `bpf_rdonly_cast(addr, btf_id)`: the kfunc that makes a kernel address
/// a read-only BTF-typed pointer (the verifier turns the call into a plain
/// move), so fields behind it are read with typed loads, not helper calls.
/// aya cannot emit kfunc calls: this is the raw call instruction
/// (`kestrel_common::RDONLY_CAST_CALL`) whose id userspace patches in
/// before loading. `btf_id` must be a constant to the verifier (a frozen
/// load-time global).
#[inline(always)]
pub fn rdonly_cast(addr: u64, btf_id: u32) -> *const u8 {
    let out: u64;
    // SAFETY: a kfunc call: arguments in r1/r2, result in r0, r1-r5
    // clobbered as by any call; no memory is touched.
    unsafe {
        core::arch::asm!(
            ".quad 0x7ead000100002085",
            inlateout("r1") addr => _,
            inlateout("r2") u64::from(btf_id) => _,
            lateout("r0") out,
            lateout("r3") _,
            lateout("r4") _,
            lateout("r5") _,
            options(nostack),
        );
    }
    out as *const u8
}
