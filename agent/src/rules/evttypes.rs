//! The one table that says which Falco `evt.type` name maps to which kind of
//! Kestrel event, and which of those kinds the sensor captures today.
//!
//! Rules are indexed by [`Kind`] (a few dozen buckets, a bit set per rule),
//! but `evt.type` compares the event's *exact* name when it has one: a
//! syscall event is `openat` or `open`, not "some open". Events from the
//! scheduler (exec, fork) cannot tell `execve` from `execveat` or `clone`
//! from `vfork`; they match every name of their kind ([`TypeOf::exact`]).
//! When the sensor grows, add the new syscall's name to [`EVENT_TYPES`].

use std::sync::OnceLock;

use crate::event::{Event, EventBody};

/// Every kind of event a rule can ask for, captured today or not.
///
/// At most 64 kinds (a [`KindSet`] is a `u64` bit set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Kind {
    Exec,
    Fork,
    Exit,
    Open,
    Connect,
    Accept,
    Bind,
    Listen,
    Socket,
    SendRecv,
    Ptrace,
    Chmod,
    Chown,
    Link,
    Symlink,
    Unlink,
    Rename,
    Mkdir,
    MemfdCreate,
    Mount,
    Umount,
    Setns,
    Unshare,
    InitModule,
    DeleteModule,
    Userfaultfd,
    Dup,
    Setuid,
    Setgid,
    Bpf,
    Kill,
    Prctl,
    Mmap,
    Mprotect,
    Pipe,
    Io,
    Close,
    Chdir,
    Chroot,
    Capset,
    Truncate,
    Container,
    Other,
}

impl Kind {
    /// Every kind, in declaration order (`ALL[k as usize] == k`).
    pub const ALL: [Kind; 43] = [
        Kind::Exec,
        Kind::Fork,
        Kind::Exit,
        Kind::Open,
        Kind::Connect,
        Kind::Accept,
        Kind::Bind,
        Kind::Listen,
        Kind::Socket,
        Kind::SendRecv,
        Kind::Ptrace,
        Kind::Chmod,
        Kind::Chown,
        Kind::Link,
        Kind::Symlink,
        Kind::Unlink,
        Kind::Rename,
        Kind::Mkdir,
        Kind::MemfdCreate,
        Kind::Mount,
        Kind::Umount,
        Kind::Setns,
        Kind::Unshare,
        Kind::InitModule,
        Kind::DeleteModule,
        Kind::Userfaultfd,
        Kind::Dup,
        Kind::Setuid,
        Kind::Setgid,
        Kind::Bpf,
        Kind::Kill,
        Kind::Prctl,
        Kind::Mmap,
        Kind::Mprotect,
        Kind::Pipe,
        Kind::Io,
        Kind::Close,
        Kind::Chdir,
        Kind::Chroot,
        Kind::Capset,
        Kind::Truncate,
        Kind::Container,
        Kind::Other,
    ];

    /// Does the sensor capture events of this kind today? A kind is
    /// captured when one of its `evt.type` names is a syscall the sensor's
    /// dispatcher handles, or it is exec/fork/exit (scheduler tracepoints).
    /// **Extend here** when the sensor grows.
    pub fn is_captured(self) -> bool {
        matches!(self, Kind::Exec | Kind::Fork | Kind::Exit)
            || EVENT_TYPES.iter().any(|t| {
                t.kind == self
                    && kestrel_common::syscalls::NAMES
                        .iter()
                        .any(|(name, _)| *name == t.name)
            })
    }

    /// The kind of an event from the model: by the syscall's name for
    /// syscall events.
    pub fn of_event(event: &Event) -> Kind {
        TypeOf::of(event).kind
    }

    /// The Falco `evt.type` name shown for an event of this kind (the first
    /// name of the kind in [`EVENT_TYPES`]).
    pub fn primary_name(self) -> &'static str {
        EVENT_TYPES
            .iter()
            .find(|t| t.kind == self)
            .map_or("unknown", |t| t.name)
    }

    /// Falco's `evt.dir`: `<` for exit events, `>` for enter-only events.
    pub fn dir(self) -> &'static str {
        match self {
            Kind::Exit | Kind::Container => ">",
            _ => "<",
        }
    }

    /// Falco's `evt.category`.
    pub fn category(self) -> &'static str {
        match self {
            Kind::Exec | Kind::Fork | Kind::Exit | Kind::Kill | Kind::Prctl => "process",
            Kind::Open
            | Kind::Close
            | Kind::Io
            | Kind::Truncate
            | Kind::Chmod
            | Kind::Chown
            | Kind::Link
            | Kind::Symlink
            | Kind::Unlink
            | Kind::Rename
            | Kind::Mkdir
            | Kind::MemfdCreate
            | Kind::Dup => "file",
            Kind::Connect
            | Kind::Accept
            | Kind::Bind
            | Kind::Listen
            | Kind::Socket
            | Kind::SendRecv => "net",
            _ => "other",
        }
    }

    pub fn bit(self) -> u64 {
        1u64 << (self as u8)
    }
}

/// One Falco event-type name.
pub struct EvtTypeDef {
    pub name: &'static str,
    pub kind: Kind,
}

const fn t(name: &'static str, kind: Kind) -> EvtTypeDef {
    EvtTypeDef { name, kind }
}

/// Falco `evt.type` names → kinds. The first name of each kind is the one
/// `evt.type` renders for events of that kind.
pub static EVENT_TYPES: &[EvtTypeDef] = &[
    t("execve", Kind::Exec),
    t("execveat", Kind::Exec),
    t("clone", Kind::Fork),
    t("clone3", Kind::Fork),
    t("fork", Kind::Fork),
    t("vfork", Kind::Fork),
    t("procexit", Kind::Exit),
    t("open", Kind::Open),
    t("openat", Kind::Open),
    t("openat2", Kind::Open),
    t("creat", Kind::Open),
    t("open_by_handle_at", Kind::Open),
    t("connect", Kind::Connect),
    t("accept", Kind::Accept),
    t("accept4", Kind::Accept),
    t("bind", Kind::Bind),
    t("listen", Kind::Listen),
    t("socket", Kind::Socket),
    t("socketpair", Kind::Socket),
    t("sendto", Kind::SendRecv),
    t("sendmsg", Kind::SendRecv),
    t("sendmmsg", Kind::SendRecv),
    t("recvfrom", Kind::SendRecv),
    t("recvmsg", Kind::SendRecv),
    t("recvmmsg", Kind::SendRecv),
    t("ptrace", Kind::Ptrace),
    t("chmod", Kind::Chmod),
    t("fchmod", Kind::Chmod),
    t("fchmodat", Kind::Chmod),
    t("fchmodat2", Kind::Chmod),
    t("chown", Kind::Chown),
    t("fchown", Kind::Chown),
    t("fchownat", Kind::Chown),
    t("lchown", Kind::Chown),
    t("link", Kind::Link),
    t("linkat", Kind::Link),
    t("symlink", Kind::Symlink),
    t("symlinkat", Kind::Symlink),
    t("unlink", Kind::Unlink),
    t("unlinkat", Kind::Unlink),
    t("rmdir", Kind::Unlink),
    t("rename", Kind::Rename),
    t("renameat", Kind::Rename),
    t("renameat2", Kind::Rename),
    t("mkdir", Kind::Mkdir),
    t("mkdirat", Kind::Mkdir),
    t("memfd_create", Kind::MemfdCreate),
    t("mount", Kind::Mount),
    t("umount", Kind::Umount),
    t("umount2", Kind::Umount),
    t("setns", Kind::Setns),
    t("unshare", Kind::Unshare),
    t("init_module", Kind::InitModule),
    t("finit_module", Kind::InitModule),
    t("delete_module", Kind::DeleteModule),
    t("userfaultfd", Kind::Userfaultfd),
    t("dup", Kind::Dup),
    t("dup2", Kind::Dup),
    t("dup3", Kind::Dup),
    t("fcntl", Kind::Dup),
    t("setuid", Kind::Setuid),
    t("setreuid", Kind::Setuid),
    t("setresuid", Kind::Setuid),
    t("setfsuid", Kind::Setuid),
    t("setgid", Kind::Setgid),
    t("setregid", Kind::Setgid),
    t("setresgid", Kind::Setgid),
    t("setfsgid", Kind::Setgid),
    t("bpf", Kind::Bpf),
    t("kill", Kind::Kill),
    t("tkill", Kind::Kill),
    t("tgkill", Kind::Kill),
    t("prctl", Kind::Prctl),
    t("mmap", Kind::Mmap),
    t("mmap2", Kind::Mmap),
    t("mprotect", Kind::Mprotect),
    t("pipe", Kind::Pipe),
    t("pipe2", Kind::Pipe),
    t("read", Kind::Io),
    t("write", Kind::Io),
    t("pread", Kind::Io),
    t("pwrite", Kind::Io),
    t("readv", Kind::Io),
    t("writev", Kind::Io),
    t("sendfile", Kind::Io),
    t("close", Kind::Close),
    t("chdir", Kind::Chdir),
    t("fchdir", Kind::Chdir),
    t("chroot", Kind::Chroot),
    t("pivot_root", Kind::Chroot),
    t("capset", Kind::Capset),
    t("truncate", Kind::Truncate),
    t("ftruncate", Kind::Truncate),
    t("container", Kind::Container),
    t("switch", Kind::Other),
    t("signaldeliver", Kind::Other),
    t("page_fault", Kind::Other),
    t("ioctl", Kind::Other),
    t("select", Kind::Other),
    t("poll", Kind::Other),
    t("nanosleep", Kind::Other),
];

/// Looks a Falco event-type name up.
pub fn kind_of_name(name: &str) -> Option<Kind> {
    type_index(name).map(|i| EVENT_TYPES[usize::from(i)].kind)
}

/// The position of a name in [`EVENT_TYPES`]: one hash of the name and, as
/// a rule, one string compare (open addressing in a 256-slot table).
pub fn type_index(name: &str) -> Option<u16> {
    const SLOTS: usize = 256;
    const _: () = assert!(MAX_EVENT_TYPES * 2 <= SLOTS);
    fn hash(s: &str) -> usize {
        let mut h: u32 = 0x811c_9dc5;
        for &b in s.as_bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        h as usize
    }
    // Slot value: index + 1 (0: empty).
    static TABLE: OnceLock<[u16; SLOTS]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u16; SLOTS];
        for (i, ty) in EVENT_TYPES.iter().enumerate() {
            let mut h = hash(ty.name) % SLOTS;
            while t[h] != 0 {
                h = (h + 1) % SLOTS;
            }
            t[h] = i as u16 + 1;
        }
        t
    });
    let mut h = hash(name) % SLOTS;
    loop {
        let i = table[h].checked_sub(1)?;
        if EVENT_TYPES[usize::from(i)].name == name {
            return Some(i);
        }
        h = (h + 1) % SLOTS;
    }
}

/// How an event names its type, worked out once per event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeOf {
    pub kind: Kind,
    /// Index in [`EVENT_TYPES`] of the name `evt.type` renders (None: a
    /// syscall name the table does not know).
    pub idx: Option<u16>,
    /// The event carries its exact name (syscall events, `procexit`);
    /// otherwise it matches every name of its kind.
    pub exact: bool,
    /// Falco counts it as a system call (`syscall.type` has a value):
    /// syscall events and successful execs.
    pub syscall: bool,
}

impl TypeOf {
    pub fn of(event: &Event) -> TypeOf {
        static CANON: OnceLock<[Option<u16>; 4]> = OnceLock::new();
        let canon = CANON.get_or_init(|| {
            [
                type_index("execve"),
                type_index("clone"),
                type_index("procexit"),
                type_index("container"),
            ]
        });
        let kind_level = |kind, idx, exact, syscall| TypeOf {
            kind,
            idx,
            exact,
            syscall,
        };
        match &event.body {
            EventBody::Syscall(s) => {
                let idx = type_index(s.name);
                TypeOf {
                    kind: idx.map_or(Kind::Other, |i| EVENT_TYPES[usize::from(i)].kind),
                    idx,
                    exact: true,
                    syscall: true,
                }
            }
            EventBody::Exec(_) => kind_level(Kind::Exec, canon[0], false, true),
            EventBody::Fork(_) => kind_level(Kind::Fork, canon[1], false, false),
            EventBody::Exit(_) => kind_level(Kind::Exit, canon[2], true, false),
            EventBody::FirstSyscall(_) | EventBody::Cgroup(_) => {
                kind_level(Kind::Container, canon[3], false, false)
            }
        }
    }

    /// The `evt.type` text.
    pub fn name(&self) -> &'static str {
        self.idx
            .map_or("unknown", |i| EVENT_TYPES[usize::from(i)].name)
    }
}

/// A set of [`EVENT_TYPES`] indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NameSet([u64; 2]);

/// How many names a [`NameSet`] holds (test-checked against [`EVENT_TYPES`]).
pub const MAX_EVENT_TYPES: usize = 128;

impl NameSet {
    pub fn insert(&mut self, i: u16) {
        self.0[usize::from(i / 64)] |= 1u64 << (i % 64);
    }

    #[inline]
    pub fn contains(&self, i: u16) -> bool {
        self.0
            .get(usize::from(i / 64))
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }

    /// Kinds with at least one name in the set / all names in the set.
    pub fn kinds(&self) -> (KindSet, KindSet) {
        let (mut any, mut all) = (KindSet::EMPTY, KindSet::EMPTY);
        for k in Kind::ALL {
            let mut n = 0;
            let mut hit = 0;
            for (i, t) in EVENT_TYPES.iter().enumerate() {
                if t.kind == k {
                    n += 1;
                    if self.contains(i as u16) {
                        hit += 1;
                    }
                }
            }
            if hit > 0 {
                any = any.union(KindSet::one(k));
            }
            if n > 0 && hit == n {
                all = all.union(KindSet::one(k));
            }
        }
        (any, all)
    }
}

/// A set of [`Kind`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct KindSet(pub u64);

impl KindSet {
    pub const EMPTY: KindSet = KindSet(0);

    pub fn all() -> KindSet {
        KindSet(Kind::ALL.iter().fold(0, |m, k| m | k.bit()))
    }

    pub fn one(k: Kind) -> KindSet {
        KindSet(k.bit())
    }

    pub fn contains(self, k: Kind) -> bool {
        self.0 & k.bit() != 0
    }

    pub fn union(self, o: KindSet) -> KindSet {
        KindSet(self.0 | o.0)
    }

    pub fn intersect(self, o: KindSet) -> KindSet {
        KindSet(self.0 & o.0)
    }

    pub fn complement(self) -> KindSet {
        KindSet(KindSet::all().0 & !self.0)
    }

    pub fn is_all(self) -> bool {
        self == KindSet::all()
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Kind> {
        Kind::ALL.into_iter().filter(move |k| self.contains(*k))
    }

    /// Whether any kind in the set is captured by the sensor today.
    pub fn any_captured(self) -> bool {
        self.iter().any(Kind::is_captured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_all_is_in_declaration_order() {
        for (i, k) in Kind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i);
        }
    }

    #[test]
    fn every_captured_syscall_name_has_a_kind() {
        for (name, _) in kestrel_common::syscalls::NAMES {
            let kind = kind_of_name(name);
            assert!(kind.is_some_and(Kind::is_captured), "{name} → {kind:?}");
        }
    }

    #[test]
    fn event_types_fit_the_name_set() {
        assert!(EVENT_TYPES.len() <= MAX_EVENT_TYPES);
        for (i, t) in EVENT_TYPES.iter().enumerate() {
            assert_eq!(
                type_index(t.name),
                Some(i as u16),
                "{} listed twice?",
                t.name
            );
        }
    }

    #[test]
    fn exec_names_share_a_kind_and_render_as_execve() {
        assert_eq!(kind_of_name("execveat"), Some(Kind::Exec));
        assert_eq!(Kind::Exec.primary_name(), "execve");
        assert_eq!(Kind::Fork.primary_name(), "clone");
        assert_eq!(Kind::Exit.primary_name(), "procexit");
        assert_eq!(kind_of_name("nope"), None);
    }
}
