//! No-op programs on `sys_enter` and `sys_exit`, attached only by the
//! benchmarks to measure the floor: the cost of the kernel's
//! syscall-tracepoint slow path with a program that does nothing.

use aya_ebpf::{macros::btf_tracepoint, programs::BtfTracePointContext};

#[btf_tracepoint(function = "sys_enter")]
pub fn empty_sys_enter(_ctx: BtfTracePointContext) -> i32 {
    0
}

#[btf_tracepoint(function = "sys_exit")]
pub fn empty_sys_exit(_ctx: BtfTracePointContext) -> i32 {
    0
}
