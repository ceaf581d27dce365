//! A no-op program on `sys_enter`, attached only by the sensor benchmark to
//! measure the floor: the cost of the kernel's syscall-tracepoint slow path
//! with a program that does nothing.

use aya_ebpf::{macros::btf_tracepoint, programs::BtfTracePointContext};

#[btf_tracepoint(function = "sys_enter")]
pub fn empty_sys_enter(_ctx: BtfTracePointContext) -> i32 {
    0
}
