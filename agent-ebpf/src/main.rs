//! Kestrel's kernel side.
//!
//! Small programs on scheduler tracepoints (`tp_btf`) turn process lifecycle
//! into fixed-layout records (see `kestrel-common`) in one BPF ring buffer.
//! Kernel struct layouts are never hard-coded: userspace resolves field
//! offsets from BTF and passes them in the `OFFSETS` global (see
//! [`kernel`]).
//!
//! Layout: `kernel/` wraps kernel memory in typed accessors, `maps.rs` holds
//! the maps shared by every probe, `probes/` has one file per probe family.
#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]
#![cfg_attr(target_arch = "bpf", feature(asm_experimental_arch))]

#[cfg(target_arch = "bpf")]
mod kernel;
#[cfg(target_arch = "bpf")]
mod maps;
#[cfg(target_arch = "bpf")]
mod probes;

#[cfg(target_arch = "bpf")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // SAFETY: the verifier rejects any program that could reach a panic, so
    // this is never executed.
    unsafe { core::hint::unreachable_unchecked() }
}

/// On the host this crate only exists so the workspace builds and lints; the
/// real object is built for `bpfel-unknown-none` by the agent's build script.
#[cfg(not(target_arch = "bpf"))]
fn main() {}

#[cfg(target_arch = "bpf")]
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
