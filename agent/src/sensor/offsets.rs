//! Kernel struct field offsets the programs need, resolved from BTF.
//!
//! Rust BPF emits no CO-RE relocations, so the programs read kernel memory
//! through offsets userspace finds here at start; nothing is hard-coded for
//! one kernel. Each entry names the struct and field, so a kernel that lacks
//! one fails start-up with a message naming it.

use kestrel_common::Offsets;

use super::btf::{Btf, BtfError};

/// A field the programs need is not in this kernel's BTF.
#[derive(Debug, thiserror::Error)]
#[error(
    "kernel BTF lacks `{ty}.{member}`, which Kestrel's programs read ({source}); \
     this kernel is not supported yet"
)]
pub struct OffsetError {
    pub ty: &'static str,
    pub member: &'static str,
    #[source]
    pub source: Box<BtfError>,
}

/// Every offset in [`Offsets`], resolved from `btf`.
pub fn resolve_offsets(btf: &Btf) -> Result<Offsets, Box<OffsetError>> {
    let get = |ty: &'static str, member: &'static str| {
        btf.member_offset(ty, member)
            .map_err(|source| OffsetError {
                ty,
                member,
                source: Box::new(source),
            })
            .map_err(Box::new)
    };
    Ok(Offsets {
        task_pid: get("task_struct", "pid")?,
        task_tgid: get("task_struct", "tgid")?,
        task_real_parent: get("task_struct", "real_parent")?,
        task_mm: get("task_struct", "mm")?,
        task_signal: get("task_struct", "signal")?,
        task_exit_code: get("task_struct", "exit_code")?,
        mm_arg_start: get("mm_struct", "arg_start")?,
        mm_arg_end: get("mm_struct", "arg_end")?,
        signal_live: get("signal_struct", "live")?,
        binprm_filename: get("linux_binprm", "filename")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_resolve_on_this_kernel() {
        let btf = match Btf::from_sys_fs() {
            Ok(btf) => btf,
            Err(err) => {
                eprintln!("skipped: no kernel BTF here ({err})");
                return;
            }
        };
        let offsets = resolve_offsets(&btf).expect("every field exists on a BTF kernel");
        let task = btf.struct_size("task_struct").expect("task_struct");
        for (name, off) in [
            ("pid", offsets.task_pid),
            ("tgid", offsets.task_tgid),
            ("real_parent", offsets.task_real_parent),
            ("mm", offsets.task_mm),
        ] {
            assert!(
                off > 0 && off < task,
                "task_struct.{name} at {off} of {task}"
            );
        }
        assert_eq!(offsets.task_tgid, offsets.task_pid + 4, "tgid follows pid");
        assert!(offsets.mm_arg_end > offsets.mm_arg_start);
    }
}
