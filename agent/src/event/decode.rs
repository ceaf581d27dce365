//! Raw ring-buffer record → [`Event`].

use std::mem::offset_of;

use compact_str::CompactString;

use kestrel_common::{
    ARGS_LEN, CgroupEvent, ExecEvent, ExitEvent, FILENAME_LEN, FirstSyscallEvent, ForkEvent,
    Header as RawHeader, MAX_ARGS, SyscallEvent, exe_flags, exec_flags, exit_flags, kind,
};

use super::model::{CgroupChange, Comm, Event, EventBody, Exec, Exit, FirstSyscall, Fork, Header};
use super::syscall::decode_syscall;

/// Why a record could not be decoded. Each is counted by the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record of {got} bytes is shorter than the {need}-byte header")]
    ShortHeader { need: usize, got: usize },
    #[error("unknown record kind {0}")]
    UnknownKind(u16),
    #[error("{kind} record is {got} bytes, expected {need}")]
    BadSize {
        kind: &'static str,
        need: usize,
        got: usize,
    },
    #[error("{kind} record header says {declared} bytes but {got} arrived")]
    SizeMismatch {
        kind: &'static str,
        declared: usize,
        got: usize,
    },
    #[error("{kind} record field `{field}` length {len} exceeds {max}")]
    BadLength {
        kind: &'static str,
        field: &'static str,
        len: usize,
        max: usize,
    },
}

impl DecodeError {
    /// A short, stable label for counters.
    pub fn label(&self) -> &'static str {
        match self {
            DecodeError::ShortHeader { .. } => "short_header",
            DecodeError::UnknownKind(_) => "unknown_kind",
            DecodeError::BadSize { .. } => "bad_size",
            DecodeError::SizeMismatch { .. } => "size_mismatch",
            DecodeError::BadLength { .. } => "bad_length",
        }
    }
}

/// Decodes records; holds the boot-time → wall-clock offset.
#[derive(Clone, Copy, Debug, Default)]
pub struct Decoder {
    /// Unix time in ns at boot: `time_ns = boot_unix_ns + ktime_ns`.
    pub boot_unix_ns: u64,
}

/// Read a plain-data `T` from the front of `bytes` if it is long enough.
fn read_pod<T: Copy>(bytes: &[u8]) -> Option<T> {
    if bytes.len() < std::mem::size_of::<T>() {
        return None;
    }
    // SAFETY: the length was checked; `T` is one of the `#[repr(C)]`
    // integer/byte-array records of `kestrel-common`, valid for every bit
    // pattern; `read_unaligned` tolerates any alignment.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// A record read in place: its leading fixed-size fields copied into
/// [`InPlace::head`], its byte arrays (filename, argv, paths: most of a
/// record of up to 2 KiB, mostly unused) left where they lie in the ring
/// and read only as far as their lengths say. Copying whole records read
/// every cache line of them, cold, for every event.
pub(super) struct InPlace<'a, T> {
    /// The fields before the first byte array; the arrays in it are zero
    /// (read them with [`InPlace::array`]).
    pub head: T,
    bytes: &'a [u8],
}

impl<'a, T: Copy> InPlace<'a, T> {
    /// `arrays_at`: offset of the record's first byte array; the fields
    /// before it are copied. None when `bytes` is shorter than a `T`.
    fn new(bytes: &'a [u8], arrays_at: usize) -> Option<InPlace<'a, T>> {
        let size = std::mem::size_of::<T>();
        if bytes.len() < size {
            return None;
        }
        let mut head = std::mem::MaybeUninit::<T>::zeroed();
        // SAFETY: `bytes` holds at least `size` ≥ `arrays_at.min(size)`
        // bytes and `head` has room for `size`; the regions are distinct.
        // `T` is one of the `#[repr(C)]` integer/byte-array records of
        // `kestrel-common`, valid for all-zero and for every bit pattern.
        let head = unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                head.as_mut_ptr().cast::<u8>(),
                arrays_at.min(size),
            );
            head.assume_init()
        };
        Some(InPlace { head, bytes })
    }

    /// The byte array that `field` picks out of a `T` (`|r| &r.path[..]`),
    /// as it lies in the record: nothing is read until the caller reads.
    /// Empty if `field` returns anything but a field of the record.
    pub fn array(&self, field: impl FnOnce(&T) -> &[u8]) -> &'a [u8] {
        let base = std::ptr::from_ref(&self.head) as usize;
        let array = field(&self.head);
        let size = std::mem::size_of::<T>();
        (array.as_ptr() as usize)
            .checked_sub(base)
            .and_then(|start| Some(start..start.checked_add(array.len())?))
            .filter(|range| range.end <= size)
            .and_then(|range| self.bytes.get(range))
            .unwrap_or(&[])
    }
}

impl Decoder {
    /// Measure the boot-time offset now (CLOCK_REALTIME − CLOCK_BOOTTIME).
    pub fn from_clocks() -> Decoder {
        let now = |clock| {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: `ts` is a valid out-pointer for clock_gettime.
            unsafe { libc::clock_gettime(clock, &mut ts) };
            (ts.tv_sec as i128) * 1_000_000_000 + ts.tv_nsec as i128
        };
        let real = now(libc::CLOCK_REALTIME);
        let boot = now(libc::CLOCK_BOOTTIME);
        Decoder {
            boot_unix_ns: u64::try_from(real - boot).unwrap_or(0),
        }
    }

    /// Decode one record. Never panics, whatever the bytes.
    pub fn decode(&self, bytes: &[u8]) -> Result<Event, DecodeError> {
        let raw: RawHeader = read_pod(bytes).ok_or(DecodeError::ShortHeader {
            need: std::mem::size_of::<RawHeader>(),
            got: bytes.len(),
        })?;
        let (name, need) = match raw.kind {
            kind::EXEC => ("exec", std::mem::size_of::<ExecEvent>()),
            kind::FORK => ("fork", std::mem::size_of::<ForkEvent>()),
            kind::EXIT => ("exit", std::mem::size_of::<ExitEvent>()),
            kind::SYSCALL => ("syscall", std::mem::size_of::<SyscallEvent>()),
            kind::FIRST_SYSCALL => ("first_syscall", std::mem::size_of::<FirstSyscallEvent>()),
            kind::CGROUP_MKDIR => ("cgroup_mkdir", std::mem::size_of::<CgroupEvent>()),
            kind::CGROUP_RMDIR => ("cgroup_rmdir", std::mem::size_of::<CgroupEvent>()),
            other => return Err(DecodeError::UnknownKind(other)),
        };
        if bytes.len() < need {
            return Err(DecodeError::BadSize {
                kind: name,
                need,
                got: bytes.len(),
            });
        }
        if usize::from(raw.size) != need {
            return Err(DecodeError::SizeMismatch {
                kind: name,
                declared: usize::from(raw.size),
                got: bytes.len(),
            });
        }
        let header = self.header(&raw);
        let short = DecodeError::BadSize {
            kind: name,
            need,
            got: bytes.len(),
        };
        let body = match raw.kind {
            kind::EXEC => EventBody::Exec(decode_exec(bytes)?),
            kind::SYSCALL => {
                let rec = InPlace::<SyscallEvent>::new(bytes, offset_of!(SyscallEvent, addr))
                    .ok_or(short)?;
                EventBody::Syscall(decode_syscall(&rec)?)
            }
            kind::CGROUP_MKDIR | kind::CGROUP_RMDIR => {
                let rec = InPlace::<CgroupEvent>::new(bytes, offset_of!(CgroupEvent, path))
                    .ok_or(short)?;
                EventBody::Cgroup(CgroupChange {
                    created: raw.kind == kind::CGROUP_MKDIR,
                    id: rec.head.cgroup_id,
                    path: bounded_str(rec.array(|r| &r.path[..]), rec.head.path_len, "path_len")?,
                })
            }
            kind::FIRST_SYSCALL => {
                let rec: FirstSyscallEvent = read_pod(bytes).ok_or(short)?;
                EventBody::FirstSyscall(FirstSyscall {
                    nr: rec.nr,
                    name: self.syscall_name(rec.nr),
                })
            }
            kind::FORK => {
                let rec: ForkEvent = read_pod(bytes).ok_or(DecodeError::BadSize {
                    kind: name,
                    need,
                    got: bytes.len(),
                })?;
                EventBody::Fork(Fork {
                    child_pid: rec.child_pid,
                    child_tgid: rec.child_tgid,
                })
            }
            _ => {
                let rec: ExitEvent = read_pod(bytes).ok_or(DecodeError::BadSize {
                    kind: name,
                    need,
                    got: bytes.len(),
                })?;
                let code = rec.exit_code;
                EventBody::Exit(Exit {
                    status: ((code >> 8) & 0xff) as i32,
                    signal: (code & 0x7f) as i32,
                    group_dead: rec.flags & exit_flags::GROUP_DEAD != 0,
                })
            }
        };
        Ok(Event { header, body })
    }

    /// Name of syscall number `nr` on this architecture.
    fn syscall_name(&self, nr: u32) -> String {
        crate::sensor::syscall_table::number_name(nr)
    }

    fn header(&self, raw: &RawHeader) -> Header {
        Header {
            time_ns: self.boot_unix_ns.saturating_add(raw.ktime_ns),
            ktime_ns: raw.ktime_ns,
            cpu: raw.cpu,
            pid: raw.pid,
            tgid: raw.tgid,
            ppid: raw.ppid,
            uid: raw.uid,
            gid: raw.gid,
            cgroup_id: raw.cgroup_id,
            comm: Comm::from_kernel(&raw.comm),
        }
    }
}

fn decode_exec(bytes: &[u8]) -> Result<Exec, DecodeError> {
    let rec = InPlace::<ExecEvent>::new(bytes, offset_of!(ExecEvent, filename)).ok_or(
        DecodeError::BadSize {
            kind: "exec",
            need: std::mem::size_of::<ExecEvent>(),
            got: bytes.len(),
        },
    )?;
    let head = &rec.head;
    let filename_len = usize::from(head.filename_len);
    if filename_len > FILENAME_LEN {
        return Err(DecodeError::BadLength {
            kind: "exec",
            field: "filename_len",
            len: filename_len,
            max: FILENAME_LEN,
        });
    }
    let args_len = usize::from(head.args_len);
    if args_len > ARGS_LEN {
        return Err(DecodeError::BadLength {
            kind: "exec",
            field: "args_len",
            len: args_len,
            max: ARGS_LEN,
        });
    }
    let name = rec.array(|r| &r.filename[..filename_len]);
    // The kernel's string read counts the NUL; drop it and anything after.
    let name = name.split(|&b| b == 0).next().unwrap_or(&[]);
    let (args, args_cut) = split_args(rec.array(|r| &r.args[..args_len]));
    let xf = head.exe_flags;
    let ctx = head.ctx;
    Ok(Exec {
        filename: CompactString::from_utf8_lossy(name),
        args,
        args_truncated: args_cut || head.flags & exec_flags::ARGS_TRUNCATED != 0,
        filename_truncated: head.flags & exec_flags::FILENAME_TRUNCATED != 0,
        old_pid: head.old_pid,
        exe_path: bounded_compact(
            rec.array(|r| &r.exe_path[..]),
            head.exe_path_len,
            "exe_path_len",
        )?,
        cwd: bounded_compact(rec.array(|r| &r.cwd[..]), head.cwd_len, "cwd_len")?,
        exe_ino: head.exe_ino,
        exe_ctime_ns: head.exe_ctime_ns,
        exe_mtime_ns: head.exe_mtime_ns,
        exe_on_overlay: xf & exe_flags::OVERLAY != 0,
        exe_upper_layer: xf & exe_flags::UPPER_LAYER != 0,
        exe_from_memfd: xf & exe_flags::MEMFD != 0,
        exe_deleted: xf & exe_flags::DELETED != 0,
        euid: ctx.euid,
        egid: ctx.egid,
        loginuid: (ctx.loginuid != u32::MAX).then_some(ctx.loginuid),
        sid: ctx.sid,
        pgid: ctx.pgid,
        tty: ctx.tty,
        cap_effective: ctx.cap_effective,
        pid_ns_level: ctx.pid_ns_level,
        vpid: ctx.vpid,
    })
}

/// The first `len` bytes of a fixed string field, up to a NUL; a length
/// beyond the field is a decode error.
pub(super) fn bounded_str(
    field: &[u8],
    len: u16,
    name: &'static str,
) -> Result<String, DecodeError> {
    bounded_bytes(field, len, name).map(|b| String::from_utf8_lossy(b).into_owned())
}

/// [`bounded_str`] for a short string kept inline (a path or name of up to
/// 24 bytes costs no allocation).
fn bounded_compact(
    field: &[u8],
    len: u16,
    name: &'static str,
) -> Result<CompactString, DecodeError> {
    bounded_bytes(field, len, name).map(CompactString::from_utf8_lossy)
}

/// The first `len` bytes of `field` up to the first NUL.
fn bounded_bytes<'a>(
    field: &'a [u8],
    len: u16,
    name: &'static str,
) -> Result<&'a [u8], DecodeError> {
    let len = usize::from(len);
    if len > field.len() {
        return Err(DecodeError::BadLength {
            kind: "record",
            field: name,
            len,
            max: field.len(),
        });
    }
    let bytes = &field[..len];
    Ok(bytes.split(|&b| b == 0).next().unwrap_or(&[]))
}

/// Split NUL-separated argv, keeping at most [`MAX_ARGS`]; reports whether
/// arguments were dropped.
fn split_args(raw: &[u8]) -> (Vec<String>, bool) {
    let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
    if raw.is_empty() {
        return (Vec::new(), false);
    }
    let mut args = Vec::with_capacity(4);
    let mut cut = false;
    for part in raw.split(|&b| b == 0) {
        if args.len() == MAX_ARGS {
            cut = true;
            break;
        }
        args.push(String::from_utf8_lossy(part).into_owned());
    }
    (args, cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_common::{COMM_LEN, STR_LEN, SyscallEvent};
    use proptest::prelude::*;

    fn as_bytes<T: Copy>(value: &T) -> Vec<u8> {
        // SAFETY: `T` is a plain `#[repr(C)]` record; viewing it as bytes is
        // sound for the length of the value.
        unsafe {
            std::slice::from_raw_parts((value as *const T).cast::<u8>(), std::mem::size_of::<T>())
        }
        .to_vec()
    }

    fn raw_header(kind: u16, size: usize) -> RawHeader {
        let mut comm = [0u8; COMM_LEN];
        comm[..4].copy_from_slice(b"bash");
        RawHeader {
            kind,
            size: size as u16,
            cpu: 1,
            ktime_ns: 1_000,
            pid: 42,
            tgid: 42,
            ppid: 7,
            uid: 1000,
            gid: 1001,
            _pad0: 0,
            cgroup_id: 4242,
            comm,
        }
    }

    fn exec_record(filename: &[u8], args: &[u8], flags: u32) -> ExecEvent {
        let mut rec = ExecEvent {
            header: raw_header(kind::EXEC, std::mem::size_of::<ExecEvent>()),
            flags,
            filename_len: filename.len() as u16,
            args_len: args.len() as u16,
            old_pid: 42,
            exe_flags: 0,
            ctx: Default::default(),
            exe_ino: 0,
            exe_ctime_ns: 0,
            exe_mtime_ns: 0,
            exe_path_len: 0,
            cwd_len: 0,
            _pad1: 0,
            filename: [0; FILENAME_LEN],
            args: [0; ARGS_LEN],
            exe_path: [0; STR_LEN],
            cwd: [0; STR_LEN],
        };
        rec.filename[..filename.len()].copy_from_slice(filename);
        rec.args[..args.len()].copy_from_slice(args);
        rec
    }

    #[test]
    fn exec_record_decodes_filename_argv_and_header() {
        let rec = exec_record(b"/bin/ls", b"ls\0-la\0/tmp\0", 0);
        let decoder = Decoder {
            boot_unix_ns: 1_700_000_000_000_000_000,
        };
        let event = decoder.decode(&as_bytes(&rec)).expect("decodes");
        assert_eq!(event.header.pid, 42);
        assert_eq!(event.header.ppid, 7);
        assert_eq!(event.header.uid, 1000);
        assert_eq!(event.header.gid, 1001);
        assert_eq!(event.header.cgroup_id, 4242);
        assert_eq!(event.header.comm.as_str(), "bash");
        assert_eq!(event.header.time_ns, 1_700_000_000_000_001_000);
        let EventBody::Exec(exec) = event.body else {
            panic!("not an exec: {event:?}")
        };
        assert_eq!(exec.filename, "/bin/ls");
        assert_eq!(exec.args, ["ls", "-la", "/tmp"]);
        assert!(!exec.args_truncated);
    }

    #[test]
    fn exec_with_more_than_max_args_is_cut_and_flagged() {
        let mut argv = Vec::new();
        for i in 0..(MAX_ARGS + 5) {
            argv.extend_from_slice(format!("a{i}\0").as_bytes());
        }
        let rec = exec_record(b"/bin/echo", &argv, 0);
        let event = Decoder::default().decode(&as_bytes(&rec)).expect("decodes");
        let EventBody::Exec(exec) = event.body else {
            panic!("not an exec")
        };
        assert_eq!(exec.args.len(), MAX_ARGS);
        assert_eq!(exec.args[0], "a0");
        assert!(exec.args_truncated);
    }

    #[test]
    fn kernel_truncation_flag_is_carried() {
        let rec = exec_record(b"/bin/echo", b"echo\0x", exec_flags::ARGS_TRUNCATED);
        let event = Decoder::default().decode(&as_bytes(&rec)).expect("decodes");
        let EventBody::Exec(exec) = event.body else {
            panic!("not an exec")
        };
        assert_eq!(exec.args, ["echo", "x"]);
        assert!(exec.args_truncated);
    }

    #[test]
    fn non_utf8_names_and_comm_are_replaced_not_rejected() {
        let mut rec = exec_record(b"/tmp/\xff\xfe", b"\xff\0", 0);
        rec.header.comm[..4].copy_from_slice(b"a\xffb\0");
        let event = Decoder::default().decode(&as_bytes(&rec)).expect("decodes");
        assert_eq!(event.header.comm.as_str(), "a?b");
        let EventBody::Exec(exec) = event.body else {
            panic!("not an exec")
        };
        assert!(exec.filename.starts_with("/tmp/"));
    }

    #[test]
    fn fork_and_exit_records_decode() {
        let fork = ForkEvent {
            header: raw_header(kind::FORK, std::mem::size_of::<ForkEvent>()),
            child_pid: 43,
            child_tgid: 43,
        };
        let event = Decoder::default().decode(&as_bytes(&fork)).expect("fork");
        assert_eq!(
            event.body,
            EventBody::Fork(Fork {
                child_pid: 43,
                child_tgid: 43
            })
        );

        let exit = ExitEvent {
            header: raw_header(kind::EXIT, std::mem::size_of::<ExitEvent>()),
            exit_code: 3 << 8,
            flags: exit_flags::GROUP_DEAD,
        };
        let event = Decoder::default().decode(&as_bytes(&exit)).expect("exit");
        assert_eq!(
            event.body,
            EventBody::Exit(Exit {
                status: 3,
                signal: 0,
                group_dead: true
            })
        );

        let killed = ExitEvent {
            exit_code: 9,
            ..exit
        };
        let event = Decoder::default().decode(&as_bytes(&killed)).expect("exit");
        let EventBody::Exit(e) = event.body else {
            panic!()
        };
        assert_eq!((e.status, e.signal), (0, 9));
    }

    #[test]
    fn short_record_is_an_error() {
        let err = Decoder::default().decode(&[1, 0, 0]).unwrap_err();
        assert_eq!(err, DecodeError::ShortHeader { need: 64, got: 3 });
        assert_eq!(err.label(), "short_header");
    }

    #[test]
    fn unknown_kind_is_an_error() {
        let rec = raw_header(999, 64);
        let err = Decoder::default().decode(&as_bytes(&rec)).unwrap_err();
        assert_eq!(err, DecodeError::UnknownKind(999));
    }

    #[test]
    fn truncated_exec_record_is_an_error() {
        let rec = exec_record(b"/bin/ls", b"ls\0", 0);
        let bytes = as_bytes(&rec);
        let err = Decoder::default().decode(&bytes[..100]).unwrap_err();
        assert!(
            matches!(err, DecodeError::BadSize { kind: "exec", .. }),
            "{err}"
        );
    }

    #[test]
    fn header_size_disagreeing_with_kind_is_an_error() {
        let mut rec = exec_record(b"/bin/ls", b"ls\0", 0);
        rec.header.size = 72;
        let err = Decoder::default().decode(&as_bytes(&rec)).unwrap_err();
        assert!(matches!(err, DecodeError::SizeMismatch { .. }), "{err}");
    }

    #[test]
    fn out_of_range_lengths_are_errors() {
        let mut rec = exec_record(b"/bin/ls", b"ls\0", 0);
        rec.args_len = (ARGS_LEN + 1) as u16;
        let err = Decoder::default().decode(&as_bytes(&rec)).unwrap_err();
        assert!(matches!(
            err,
            DecodeError::BadLength {
                field: "args_len",
                ..
            }
        ));
        let mut rec = exec_record(b"/bin/ls", b"ls\0", 0);
        rec.filename_len = u16::MAX;
        let err = Decoder::default().decode(&as_bytes(&rec)).unwrap_err();
        assert!(matches!(
            err,
            DecodeError::BadLength {
                field: "filename_len",
                ..
            }
        ));
    }

    fn syscall_record(handler: u16) -> SyscallEvent {
        SyscallEvent {
            header: raw_header(kind::SYSCALL, std::mem::size_of::<SyscallEvent>()),
            nr: 257,
            handler,
            flags: kestrel_common::sys_flags::HAS_PATH | kestrel_common::sys_flags::HAS_TUPLE,
            ret: 3,
            args: [u64::MAX - 99, 0x1000, 0o101, 0o644, 0, 0],
            str1_len: 7,
            str2_len: 0,
            path_len: 7,
            addr_len: 16,
            tuple: kestrel_common::SockTuple {
                family: 2,
                protocol: 6,
                sport: 4000,
                dport: 443,
                ..Default::default()
            },
            addr: [0; kestrel_common::ADDR_LEN],
            str1: {
                let mut s = [0u8; STR_LEN];
                s[..7].copy_from_slice(b"/etc/pw");
                s
            },
            str2: [0; STR_LEN],
            path: {
                let mut s = [0u8; STR_LEN];
                s[..7].copy_from_slice(b"/etc/pw");
                s
            },
        }
    }

    #[test]
    fn openat_record_decodes_path_flags_and_kernel_path() {
        let rec = syscall_record(kestrel_common::syscalls::handler::OPENAT);
        let event = Decoder::default().decode(&as_bytes(&rec)).expect("decodes");
        let EventBody::Syscall(s) = event.body else {
            panic!("not a syscall")
        };
        assert_eq!(s.name, "openat");
        assert_eq!(s.ret, 3);
        assert_eq!(s.fd_path.as_deref(), Some("/etc/pw"));
        let crate::event::SyscallArgs::Open {
            path, flags, dirfd, ..
        } = s.args
        else {
            panic!("not open args")
        };
        assert_eq!(path, "/etc/pw");
        assert_eq!(flags, 0o101);
        assert_eq!(dirfd, Some(-100));
    }

    #[test]
    fn unknown_syscall_handler_is_an_error() {
        let rec = syscall_record(999);
        let err = Decoder::default().decode(&as_bytes(&rec)).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::BadLength {
                    field: "handler",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn in_place_arrays_come_from_the_record_and_nothing_else() {
        let mut bytes = vec![0u8; std::mem::size_of::<CgroupEvent>()];
        let at = offset_of!(CgroupEvent, path);
        bytes[at..at + 3].copy_from_slice(b"/ab");
        let rec = InPlace::<CgroupEvent>::new(&bytes, at).unwrap();
        assert_eq!(rec.array(|r| &r.path[..3]), b"/ab");
        // The copied head leaves the arrays zero: they are read in place.
        assert_eq!(rec.head.path[..3], [0, 0, 0]);
        // A slice that is not a field of the record gives nothing.
        assert!(rec.array(|_| b"elsewhere").is_empty());
        assert!(InPlace::<CgroupEvent>::new(&bytes[..at], at).is_none());
    }

    proptest! {
        #[test]
        fn garbled_syscall_records_never_panic(
            handler in 0u16..70,
            flips in proptest::collection::vec((0usize..1100, any::<u8>()), 0..48),
            cut in 0usize..1200,
        ) {
            let rec = syscall_record(handler);
            let mut bytes = as_bytes(&rec);
            for (at, value) in flips {
                if let Some(b) = bytes.get_mut(at) {
                    *b = value;
                }
            }
            bytes.truncate(cut);
            let _ = Decoder::default().decode(&bytes);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = Decoder::default().decode(&bytes);
        }

        #[test]
        fn garbled_valid_records_never_panic(
            flips in proptest::collection::vec((0usize..2200, any::<u8>()), 0..32),
            cut in 0usize..2200,
        ) {
            let rec = exec_record(b"/bin/sh", b"sh\0-c\0true\0", 0);
            let mut bytes = as_bytes(&rec);
            for (at, value) in flips {
                if let Some(b) = bytes.get_mut(at) {
                    *b = value;
                }
            }
            bytes.truncate(cut);
            let _ = Decoder::default().decode(&bytes);
        }
    }
}
