//! Kernel struct field offsets the programs need, resolved from BTF.
//!
//! Rust BPF emits no CO-RE relocations, so the programs read kernel memory
//! through offsets userspace finds here at start; nothing is hard-coded for
//! one kernel. Required fields name the struct and field when missing;
//! optional ones (audit's `loginuid`, IPv6, overlayfs internals) turn the
//! feature that needs them off, with a warning.

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

/// Features turned off because their fields are missing from BTF.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MissingOptional(pub Vec<String>);

struct Resolver<'a> {
    btf: &'a Btf,
    missing: Vec<String>,
}

impl Resolver<'_> {
    fn get(&self, ty: &'static str, member: &'static str) -> Result<u32, Box<OffsetError>> {
        self.btf.member_offset(ty, member).map_err(|source| {
            Box::new(OffsetError {
                ty,
                member,
                source: Box::new(source),
            })
        })
    }

    /// The first of `candidates` that exists; 0 (feature off) if none.
    fn optional(&mut self, ty: &'static str, candidates: &[&'static str], what: &str) -> u32 {
        for member in candidates {
            if let Ok(Some(off)) = self.btf.try_member_offset(ty, member) {
                return off;
            }
        }
        self.missing
            .push(format!("{what} (no `{ty}.{}`)", candidates.join("|")));
        0
    }

    fn size(&self, ty: &'static str) -> Result<u32, Box<OffsetError>> {
        self.btf.struct_size(ty).map_err(|source| {
            Box::new(OffsetError {
                ty,
                member: "<size>",
                source: Box::new(source),
            })
        })
    }
}

/// `pt_regs` offsets of syscall arguments 0..5 as they stand when the
/// syscall returns, and of the syscall number.
fn regs_offsets(r: &Resolver<'_>) -> Result<([u32; 6], u32), Box<OffsetError>> {
    if cfg!(target_arch = "aarch64") {
        // The dispatcher reads arguments on exit, when `regs[0]` already
        // holds the result: the first argument is kept in `orig_x0`.
        let base = r.get("pt_regs", "regs")?;
        let mut args = [0u32; 6];
        for (i, arg) in args.iter_mut().enumerate() {
            *arg = base + 8 * i as u32;
        }
        args[0] = r.get("pt_regs", "orig_x0")?;
        Ok((args, r.get("pt_regs", "syscallno")?))
    } else {
        Ok((
            [
                r.get("pt_regs", "di")?,
                r.get("pt_regs", "si")?,
                r.get("pt_regs", "dx")?,
                r.get("pt_regs", "r10")?,
                r.get("pt_regs", "r8")?,
                r.get("pt_regs", "r9")?,
            ],
            r.get("pt_regs", "orig_ax")?,
        ))
    }
}

/// Every offset in [`Offsets`], resolved from `btf`, and the optional
/// features that had to be turned off.
pub fn resolve_offsets(btf: &Btf) -> Result<(Offsets, MissingOptional), Box<OffsetError>> {
    let mut r = Resolver {
        btf,
        missing: Vec::new(),
    };
    let (regs_args, regs_nr) = regs_offsets(&r)?;
    let pidtype = |name: &'static str| -> Result<u32, Box<OffsetError>> {
        btf.enum_value(name)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| {
                Box::new(OffsetError {
                    ty: "pid_type",
                    member: name,
                    source: Box::new(BtfError::NoSuchType {
                        name: name.to_string(),
                        origin: "/sys/kernel/btf/vmlinux".to_string(),
                    }),
                })
            })
    };
    let (ctime_sec, ctime_nsec) = inode_time(&mut r, "ctime");
    let (mtime_sec, mtime_nsec) = inode_time(&mut r, "mtime");
    let ovl_upper_from_inode = match (
        btf.try_member_offset("ovl_inode", "__upperdentry"),
        btf.try_member_offset("ovl_inode", "vfs_inode"),
    ) {
        (Ok(Some(upper)), Ok(Some(vfs))) if upper > vfs => upper - vfs,
        _ => {
            r.missing
                .push("overlayfs upper-layer detection (no `ovl_inode` in BTF)".into());
            0
        }
    };
    // A struct's BTF id for `bpf_rdonly_cast`; 0 (the typed paths that
    // need it off) when the kernel lacks the kfunc or the struct.
    let has_rdonly_cast = btf.func_id("bpf_rdonly_cast").is_some();
    let cast_id = |name: &str| {
        if has_rdonly_cast {
            btf.struct_id(name).unwrap_or(0)
        } else {
            0
        }
    };
    let offsets = Offsets {
        task_pid: r.get("task_struct", "pid")?,
        task_tgid: r.get("task_struct", "tgid")?,
        task_real_parent: r.get("task_struct", "real_parent")?,
        task_mm: r.get("task_struct", "mm")?,
        task_signal: r.get("task_struct", "signal")?,
        task_exit_code: r.get("task_struct", "exit_code")?,
        mm_arg_start: r.get("mm_struct", "arg_start")?,
        mm_arg_end: r.get("mm_struct", "arg_end")?,
        signal_live: r.get("signal_struct", "live")?,
        binprm_filename: r.get("linux_binprm", "filename")?,
        regs_args,
        regs_nr,
        task_cred: r.get("task_struct", "cred")?,
        cred_euid: r.get("cred", "euid")?,
        cred_egid: r.get("cred", "egid")?,
        cred_cap_effective: r.get("cred", "cap_effective")?,
        task_loginuid: r.optional("task_struct", &["loginuid"], "login uid"),
        task_thread_pid: r.get("task_struct", "thread_pid")?,
        pid_level: r.get("pid", "level")?,
        pid_numbers: r.get("pid", "numbers")?,
        upid_size: r.size("upid")?,
        upid_nr: r.get("upid", "nr")?,
        signal_pids: r.get("signal_struct", "pids")?,
        pidtype_pgid: pidtype("PIDTYPE_PGID")?,
        pidtype_sid: pidtype("PIDTYPE_SID")?,
        signal_tty: r.get("signal_struct", "tty")?,
        tty_index: r.get("tty_struct", "index")?,
        tty_driver: r.get("tty_struct", "driver")?,
        driver_major: r.get("tty_driver", "major")?,
        driver_minor_start: r.get("tty_driver", "minor_start")?,
        mm_exe_file: r.get("mm_struct", "exe_file")?,
        task_fs: r.get("task_struct", "fs")?,
        fs_root: r.get("fs_struct", "root")?,
        fs_pwd: r.get("fs_struct", "pwd")?,
        task_files: r.get("task_struct", "files")?,
        files_fdt: r.get("files_struct", "fdt")?,
        fdt_fd: r.get("fdtable", "fd")?,
        fdt_max_fds: r.get("fdtable", "max_fds")?,
        btf_id_file: cast_id("file"),
        file_f_path: r.get("file", "f_path")?,
        file_f_inode: r.get("file", "f_inode")?,
        file_private_data: r.get("file", "private_data")?,
        path_mnt: r.get("path", "mnt")?,
        path_dentry: r.get("path", "dentry")?,
        dentry_parent: r.get("dentry", "d_parent")?,
        dentry_name: r.get("dentry", "d_name")?,
        dentry_inode: r.get("dentry", "d_inode")?,
        dentry_inline_name: r.optional(
            "dentry",
            &["d_shortname", "d_iname"],
            "typed path walk for the host-open filter",
        ),
        qstr_name: r.get("qstr", "name")?,
        qstr_len: r.get("qstr", "len")?,
        vfsmount_mnt_root: r.get("vfsmount", "mnt_root")?,
        vfsmount_mnt_sb: r.get("vfsmount", "mnt_sb")?,
        mount_mnt: r.get("mount", "mnt")?,
        mount_parent: r.get("mount", "mnt_parent")?,
        mount_mountpoint: r.get("mount", "mnt_mountpoint")?,
        inode_mode: r.get("inode", "i_mode")?,
        inode_ino: r.get("inode", "i_ino")?,
        inode_nlink: r.get("inode", "i_nlink")?,
        inode_sb: r.get("inode", "i_sb")?,
        inode_ctime_sec: ctime_sec,
        inode_ctime_nsec: ctime_nsec,
        inode_mtime_sec: mtime_sec,
        inode_mtime_nsec: mtime_nsec,
        sb_magic: r.get("super_block", "s_magic")?,
        ovl_upper_from_inode,
        socket_sk: r.get("socket", "sk")?,
        sk_family: r.get("sock_common", "skc_family")?,
        sk_daddr: r.get("sock_common", "skc_daddr")?,
        sk_rcv_saddr: r.get("sock_common", "skc_rcv_saddr")?,
        sk_dport: r.get("sock_common", "skc_dport")?,
        sk_num: r.get("sock_common", "skc_num")?,
        sk_v6_daddr: r.optional("sock_common", &["skc_v6_daddr"], "IPv6 socket addresses"),
        sk_v6_rcv_saddr: r.optional(
            "sock_common",
            &["skc_v6_rcv_saddr"],
            "IPv6 socket addresses",
        ),
        sk_type: r.optional("sock", &["sk_type"], "socket type"),
        sk_protocol: r.optional("sock", &["sk_protocol"], "socket protocol"),
        cgroup_kn: r.get("cgroup", "kn")?,
        cgroup_root: r.get("cgroup", "root")?,
        kernfs_id: r.get("kernfs_node", "id")?,
        cgroup_root_hierarchy_id: r.get("cgroup_root", "hierarchy_id")?,
        task_comm: r.get("task_struct", "comm")?,
        cred_uid: r.get("cred", "uid")?,
        cred_gid: r.get("cred", "gid")?,
        task_cgroups: r.get("task_struct", "cgroups")?,
        css_set_dfl_cgrp: r.get("css_set", "dfl_cgrp")?,
        btf_id_dentry: cast_id("dentry"),
    };
    // `struct sock` starts with `struct sock_common __sk_common`.
    if let Ok(Some(off)) = btf.try_member_offset("sock", "__sk_common")
        && off != 0
    {
        r.missing.push(format!(
            "socket tuples (`sock.__sk_common` at {off}, expected 0)"
        ));
    }
    Ok((offsets, MissingOptional(r.missing)))
}

/// `inode.i_{which}_sec` / `_nsec` (6.11+), else the `timespec64` fields of
/// `__i_{which}` (6.6–6.10) or `i_{which}` (older).
fn inode_time(r: &mut Resolver<'_>, which: &str) -> (u32, u32) {
    let (sec, nsec): (&'static str, &'static str) = match which {
        "ctime" => ("i_ctime_sec", "i_ctime_nsec"),
        _ => ("i_mtime_sec", "i_mtime_nsec"),
    };
    if let (Ok(Some(s)), Ok(Some(n))) = (
        r.btf.try_member_offset("inode", sec),
        r.btf.try_member_offset("inode", nsec),
    ) {
        return (s, n);
    }
    let legacy: &[&'static str] = match which {
        "ctime" => &["__i_ctime", "i_ctime"],
        _ => &["__i_mtime", "i_mtime"],
    };
    for member in legacy {
        if let Ok(Some(base)) = r.btf.try_member_offset("inode", member) {
            let tv_sec = r.btf.member_offset("timespec64", "tv_sec").unwrap_or(0);
            let tv_nsec = r.btf.member_offset("timespec64", "tv_nsec").unwrap_or(8);
            return (base + tv_sec, base + tv_nsec);
        }
    }
    r.missing
        .push(format!("executable {which} (no inode time field)"));
    (0, 0)
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
        let (offsets, missing) = resolve_offsets(&btf).expect("every field exists on a BTF kernel");
        let task = btf.struct_size("task_struct").expect("task_struct");
        for (name, off) in [
            ("pid", offsets.task_pid),
            ("tgid", offsets.task_tgid),
            ("real_parent", offsets.task_real_parent),
            ("mm", offsets.task_mm),
            ("cred", offsets.task_cred),
            ("fs", offsets.task_fs),
            ("files", offsets.task_files),
        ] {
            assert!(
                off > 0 && off < task,
                "task_struct.{name} at {off} of {task}"
            );
        }
        assert_eq!(offsets.task_tgid, offsets.task_pid + 4, "tgid follows pid");
        assert_eq!(offsets.mm_arg_end, offsets.mm_arg_start + 8);
        assert_eq!(offsets.path_dentry, offsets.path_mnt + 8);
        assert_eq!(offsets.upid_size, 16);
        assert!(offsets.pidtype_sid > offsets.pidtype_pgid);
        // The arguments of a syscall are distinct registers.
        let mut regs = offsets.regs_args.to_vec();
        regs.sort_unstable();
        regs.dedup();
        assert_eq!(regs.len(), 6);
        assert!(
            missing.0.is_empty(),
            "features off on this kernel: {missing:?}"
        );
        assert_ne!(offsets.ovl_upper_from_inode, 0);
    }
}
