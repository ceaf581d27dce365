//! Syscall names ↔ Kestrel's handler ids ↔ numbers of the running
//! architecture (the per-arch tables live in `kestrel-common`).

use kestrel_common::{
    MAX_SYSCALLS,
    syscalls::{NAMES, SyscallSpec, name_of, native_table, spec_flags, spec_for},
};

/// Syscalls captured by default: everything above except the high-volume
/// data path (`sendto`/`recvfrom`), which only rules that need it turn on.
pub fn default_capture() -> Vec<String> {
    NAMES
        .iter()
        .filter(|(name, _)| !matches!(*name, "sendto" | "recvfrom"))
        .map(|(name, _)| (*name).to_string())
        .collect()
}

pub fn handler_of(name: &str) -> Option<u16> {
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, h)| *h)
}

/// Names → handler ids; `all` stands for the default set. Unknown names
/// are an error listing what is supported.
pub fn resolve_names(names: &[String]) -> Result<Vec<u16>, String> {
    let mut out = Vec::new();
    for name in names {
        if name == "all" {
            for n in default_capture() {
                if let Some(h) = handler_of(&n) {
                    out.push(h);
                }
            }
            continue;
        }
        match handler_of(name) {
            Some(h) => out.push(h),
            None => {
                let known: Vec<_> = NAMES.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "unknown syscall `{name}` in sensor.capture; supported: {}",
                    known.join(", ")
                ));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// `specs[nr]` for the running architecture, for the captured handlers;
/// those also in `container_scoped` are flagged to be skipped in host
/// cgroups, and with `host_path_filter` the opens are flagged to be kept
/// for host tasks only when the path matches the kernel's prefix set.
pub fn specs_by_number(
    handlers: &[u16],
    container_scoped: &[u16],
    host_path_filter: bool,
) -> Vec<SyscallSpec> {
    let mut specs = vec![SyscallSpec::default(); MAX_SYSCALLS as usize];
    for &(nr, h) in native_table() {
        if handlers.contains(&h)
            && let Some(slot) = specs.get_mut(nr as usize)
        {
            *slot = spec_for(h);
            if container_scoped.contains(&h) {
                slot.flags |= spec_flags::CONTAINERS_ONLY;
            } else if host_path_filter && super::open_filter::OPEN_HANDLERS.contains(&h) {
                slot.flags |= spec_flags::HOST_PATH_FILTER;
            }
        }
    }
    specs
}

/// The syscall name of number `nr` on the running architecture, for the
/// first-use records and the profile: ours for captured syscalls, the
/// `syscalls` crate's table for the rest, `syscall_<nr>` for unknown ones.
pub fn number_name(nr: u32) -> String {
    native_table()
        .iter()
        .find(|(n, _)| *n == nr)
        .map(|(_, h)| name_of(*h))
        .or_else(|| syscalls::Sysno::new(nr as usize).map(|s| s.name()))
        .map_or_else(|| format!("syscall_{nr}"), str::to_string)
}

/// Numbers of `exit` and `exit_group` on the running architecture: they
/// never return, so the dispatcher on `sys_exit` cannot see them; the
/// exit probe adds them to the cgroup's profile.
pub fn exit_numbers() -> (u32, u32) {
    (
        syscalls::Sysno::exit as u32,
        syscalls::Sysno::exit_group as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_common::syscalls::{AARCH64, X86_64, handler};

    #[test]
    fn every_table_entry_has_a_name_and_no_number_repeats() {
        for table in [X86_64, AARCH64] {
            let mut numbers: Vec<u32> = table.iter().map(|(nr, _)| *nr).collect();
            numbers.sort_unstable();
            let len = numbers.len();
            numbers.dedup();
            assert_eq!(numbers.len(), len, "a syscall number appears twice");
            for (nr, h) in table {
                assert!(*nr < MAX_SYSCALLS);
                assert_ne!(name_of(*h), "unknown", "handler {h} has no name");
            }
        }
    }

    #[test]
    fn default_capture_leaves_out_the_data_path() {
        let handlers = resolve_names(&["all".into()]).expect("all");
        assert!(handlers.contains(&handler::OPENAT));
        assert!(!handlers.contains(&handler::SENDTO));
    }

    #[test]
    fn unknown_syscall_name_is_an_error_listing_supported_ones() {
        let err = resolve_names(&["opne".into()]).unwrap_err();
        assert!(err.contains("opne") && err.contains("openat"), "{err}");
    }

    #[test]
    fn specs_are_placed_at_the_native_numbers() {
        let specs = specs_by_number(&[handler::OPENAT], &[], false);
        let nr = if cfg!(target_arch = "aarch64") {
            56
        } else {
            257
        };
        assert_eq!(specs[nr].handler, handler::OPENAT);
        assert_eq!(specs.iter().filter(|s| s.handler != 0).count(), 1);
    }
}
