//! The field catalog: the one table that says which field names exist, their
//! type and argument, whether the sensor can supply them today, and how each
//! reads its value from the event and the enrichment context.
//!
//! Extending: add a row to [`CATALOG`] (and, for syscall arguments, to
//! [`sysargs::ARG_LAYOUTS`]); a field the event model cannot supply yet
//! gets `Avail::NotYet` and the `none` getter, so rules using it load and
//! evaluate to "no value".

use std::cell::OnceCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::OnceLock;

use crate::context::{ContainerInfo, Context, ProcessInfo};
use crate::event::{Event, EventBody, Exec, Syscall, SyscallArgs};

use super::evttypes::{Kind, TypeOf};
use super::fdinfo::{self, FdType, FdView, Role};
use super::sysargs;

/// A field's value type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Str,
    Int,
    Bool,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Str => "string",
            Ty::Int => "number",
            Ty::Bool => "bool",
        }
    }
}

/// What argument a field takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgSpec {
    None,
    /// `[n]`, optional: without it the field is multi-valued ("any").
    OptIndex,
    /// `[key]` or `.key`, required.
    Key,
    /// `[key]` or `.key` or `[n]`, required (evt.arg).
    KeyOrIndex,
}

/// Whether the sensor supplies the field today.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Avail {
    Now,
    /// Needs event kinds or enrichment the sensor does not have yet.
    NotYet,
    /// Depends on the argument (evt.arg.*): see [`sysargs::ARG_LAYOUTS`].
    ByArg,
}

/// A parsed field argument.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FieldArg {
    None,
    Index(u32),
    Key(String),
}

/// Reads a field's value into `out`; writes nothing for "no value".
pub type Getter = fn(&Src<'_>, &FieldArg, &mut Out<'_>);

/// One row of the catalog.
#[derive(Debug)]
pub struct FieldDef {
    pub name: &'static str,
    pub ty: Ty,
    pub arg: ArgSpec,
    pub avail: Avail,
    pub desc: &'static str,
    pub get: Getter,
}

impl FieldDef {
    /// Whether this field (with this argument) has a value source today.
    pub fn captured(&self, arg: &FieldArg) -> bool {
        match self.avail {
            Avail::Now => true,
            Avail::NotYet => false,
            Avail::ByArg => match arg {
                FieldArg::Key(k) => sysargs::arg_captured(Some(k), None),
                FieldArg::Index(i) => sysargs::arg_captured(None, Some(*i)),
                FieldArg::None => true,
            },
        }
    }
}

/// The state of one extracted value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum State {
    #[default]
    Absent,
    Str,
    Int,
    Bool,
    /// Several strings (`list[..list_len]`): "any of" semantics.
    List,
    /// Several numbers (`ints`): "any of" semantics.
    IntList,
    /// One or two IP addresses (`ips`): "any of" semantics; text when
    /// compared as text.
    Ip,
}

/// An extracted value; buffers are reused from event to event.
#[derive(Clone, Debug, Default)]
pub struct Val {
    pub state: State,
    pub num: i64,
    pub s: String,
    pub list: Vec<String>,
    pub list_len: usize,
    pub ints: Vec<i64>,
    pub ips: [Option<IpAddr>; 2],
}

/// A stack buffer for formatting one address (no allocation).
struct IpText {
    buf: [u8; 48],
    len: usize,
}

impl std::fmt::Write for IpText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Calls `f` with the address as text.
pub(crate) fn with_ip_text<R>(ip: IpAddr, f: impl FnOnce(&str) -> R) -> R {
    let mut t = IpText {
        buf: [0; 48],
        len: 0,
    };
    match ip {
        IpAddr::V4(v4) => fdinfo::write_v4(&mut t, v4),
        IpAddr::V6(v6) => {
            let _ = write!(t, "{v6}");
        }
    }
    f(std::str::from_utf8(&t.buf[..t.len]).unwrap_or(""))
}

impl Val {
    pub fn reset(&mut self) {
        self.state = State::Absent;
        self.list_len = 0;
        self.ints.clear();
    }

    pub fn is_present(&self) -> bool {
        self.state != State::Absent
    }

    /// Whether `f` holds for any string value (numbers are not strings;
    /// addresses are, as text).
    #[inline]
    pub fn any_str(&self, mut f: impl FnMut(&str) -> bool) -> bool {
        match self.state {
            State::Str => f(&self.s),
            State::List => self.list[..self.list_len].iter().any(|s| f(s)),
            State::Ip => self
                .ips
                .iter()
                .flatten()
                .any(|ip| with_ip_text(*ip, &mut f)),
            _ => false,
        }
    }

    /// Whether `f` holds for any address value (text values are parsed).
    #[inline]
    pub fn any_ip(&self, mut f: impl FnMut(IpAddr) -> bool) -> bool {
        match self.state {
            State::Ip => self.ips.iter().flatten().any(|ip| f(*ip)),
            _ => self.any_str(|s| s.parse::<IpAddr>().is_ok_and(&mut f)),
        }
    }

    /// Whether `f` holds for any numeric value (bools are 0/1).
    #[inline]
    pub fn any_int(&self, mut f: impl FnMut(i64) -> bool) -> bool {
        match self.state {
            State::Int | State::Bool => f(self.num),
            State::IntList => self.ints.iter().any(|&n| f(n)),
            _ => false,
        }
    }

    /// The value as text for outputs (None: `<NA>`).
    pub fn render(&self) -> Option<String> {
        match self.state {
            State::Absent => None,
            State::Str => Some(self.s.clone()),
            State::Int => Some(self.num.to_string()),
            State::Bool => Some(if self.num != 0 { "true" } else { "false" }.to_string()),
            State::List => Some(self.list[..self.list_len].join(",")),
            State::IntList => Some(
                self.ints
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            State::Ip => Some(
                self.ips
                    .iter()
                    .flatten()
                    .map(IpAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        }
    }
}

/// Writer for a getter.
pub struct Out<'v> {
    pub v: &'v mut Val,
}

impl Out<'_> {
    pub fn str(&mut self, s: &str) {
        self.v.s.clear();
        self.v.s.push_str(s);
        self.v.state = State::Str;
    }

    /// Starts an empty string value to be written with `buf()`.
    pub fn buf(&mut self) -> &mut String {
        if self.v.state != State::Str {
            self.v.s.clear();
            self.v.state = State::Str;
        }
        &mut self.v.s
    }

    pub fn int(&mut self, n: i64) {
        self.v.num = n;
        self.v.state = State::Int;
    }

    pub fn boolean(&mut self, b: bool) {
        self.v.num = i64::from(b);
        self.v.state = State::Bool;
    }

    /// Adds one string to a multi-valued result.
    pub fn push(&mut self, s: &str) {
        let v = &mut *self.v;
        if v.state != State::List {
            v.state = State::List;
            v.list_len = 0;
        }
        if v.list_len < v.list.len() {
            v.list[v.list_len].clear();
            v.list[v.list_len].push_str(s);
        } else {
            v.list.push(s.to_string());
        }
        v.list_len += 1;
    }

    /// Adds one string, written by `f`, to a multi-valued result.
    pub fn push_with(&mut self, f: impl FnOnce(&mut String)) {
        let v = &mut *self.v;
        if v.state != State::List {
            v.state = State::List;
            v.list_len = 0;
        }
        if v.list_len == v.list.len() {
            v.list.push(String::new());
        }
        let b = &mut v.list[v.list_len];
        b.clear();
        f(b);
        v.list_len += 1;
    }

    /// Adds one address (at most two per value).
    pub fn ip(&mut self, ip: IpAddr) {
        let v = &mut *self.v;
        if v.state != State::Ip {
            v.state = State::Ip;
            v.ips = [None, None];
        }
        if let Some(slot) = v.ips.iter_mut().find(|s| s.is_none()) {
            *slot = Some(ip);
        }
    }

    /// Adds one number to a multi-valued result.
    pub fn push_int(&mut self, n: i64) {
        if self.v.state != State::IntList {
            self.v.state = State::IntList;
            self.v.ints.clear();
        }
        self.v.ints.push(n);
    }
}

/// How far ancestors are followed (guards against cycles in a broken table).
pub const MAX_ANCESTORS: u32 = 32;

/// What getters read: the event, the context, and lazily looked-up records.
pub struct Src<'a> {
    pub ev: &'a Event,
    pub ctx: &'a dyn Context,
    pub hostname: &'a str,
    pub kind: Kind,
    /// The event's type name and how `evt.type` compares it.
    pub ty: TypeOf,
    proc: OnceCell<Option<&'a ProcessInfo>>,
    parent: OnceCell<Option<&'a ProcessInfo>>,
    cont: OnceCell<Option<&'a ContainerInfo>>,
    fd: OnceCell<Option<FdView<'a>>>,
}

impl<'a> Src<'a> {
    pub fn new(ev: &'a Event, ctx: &'a dyn Context, hostname: &'a str) -> Src<'a> {
        let ty = TypeOf::of(ev);
        Src {
            ev,
            ctx,
            hostname,
            kind: ty.kind,
            ty,
            proc: OnceCell::new(),
            parent: OnceCell::new(),
            cont: OnceCell::new(),
            fd: OnceCell::new(),
        }
    }

    /// The fd the event is about (worked out once per event).
    pub fn fd(&self) -> Option<FdView<'a>> {
        *self.fd.get_or_init(|| fdinfo::view(self))
    }

    pub fn proc(&self) -> Option<&'a ProcessInfo> {
        *self
            .proc
            .get_or_init(|| self.ctx.process(self.ev.header.tgid))
    }

    pub fn ppid(&self) -> Option<u32> {
        match self.ev.header.ppid {
            0 => self.proc().map(|p| p.ppid),
            p => Some(p),
        }
    }

    pub fn parent(&self) -> Option<&'a ProcessInfo> {
        *self
            .parent
            .get_or_init(|| self.ppid().and_then(|p| self.ctx.process(p)))
    }

    pub fn container(&self) -> Option<&'a ContainerInfo> {
        *self
            .cont
            .get_or_init(|| self.ctx.container(self.ev.header.cgroup_id))
    }

    pub fn exec(&self) -> Option<&'a Exec> {
        match &self.ev.body {
            EventBody::Exec(e) => Some(e),
            _ => None,
        }
    }

    /// The syscall, for syscall events.
    pub fn sys(&self) -> Option<&'a Syscall> {
        match &self.ev.body {
            EventBody::Syscall(s) => Some(s),
            _ => None,
        }
    }

    /// A process fact: from the process table (the pipeline applies an
    /// exec to it before judging), else from the exec event itself.
    fn fact<T>(&self, from_exec: fn(&Exec) -> T, from_proc: fn(&ProcessInfo) -> T) -> Option<T> {
        self.proc()
            .map(from_proc)
            .or_else(|| self.exec().map(from_exec))
    }

    /// Ancestor `n` (1 = parent); `None` past the known chain.
    pub fn ancestor(&self, n: u32) -> Option<&'a ProcessInfo> {
        if n == 0 || n > MAX_ANCESTORS {
            return None;
        }
        let mut cur = self.parent()?;
        for _ in 1..n {
            if cur.ppid == 0 || cur.ppid == cur.pid {
                return None;
            }
            cur = self.ctx.process(cur.ppid)?;
        }
        Some(cur)
    }

    /// Calls `f` for each known ancestor, parent first.
    pub fn for_ancestors(&self, mut f: impl FnMut(&'a ProcessInfo)) {
        let Some(mut cur) = self.parent() else { return };
        for _ in 0..MAX_ANCESTORS {
            f(cur);
            if cur.ppid == 0 || cur.ppid == cur.pid {
                return;
            }
            match self.ctx.process(cur.ppid) {
                Some(p) => cur = p,
                None => return,
            }
        }
    }

    /// The process's own argv[1..] (the exec event's when this is an exec).
    pub(crate) fn write_args(&self, buf: &mut String) -> bool {
        if let Some(e) = self.exec() {
            join_into(buf, e.args.iter().skip(1));
            return true;
        }
        match self.proc() {
            Some(p) => {
                join_into(buf, p.args.iter());
                true
            }
            None => false,
        }
    }

    fn exepath(&self) -> Option<&'a str> {
        match self.exec() {
            Some(e) => Some(&e.filename),
            None => self.proc().map(|p| p.exe.as_str()),
        }
    }

    pub(crate) fn argv0(&self) -> Option<&'a str> {
        match self.exec() {
            Some(e) => e.args.first().map(String::as_str),
            None => self.proc().map(|p| p.argv0.as_str()),
        }
    }
}

fn join_into<'s>(buf: &mut String, it: impl Iterator<Item = &'s String>) {
    for (i, a) in it.enumerate() {
        if i > 0 {
            buf.push(' ');
        }
        buf.push_str(a);
    }
}

fn cmdline_of(p: &ProcessInfo, buf: &mut String) {
    buf.push_str(&p.name);
    for a in p.args.iter() {
        buf.push(' ');
        buf.push_str(a);
    }
}

/// Capability names by bit, for `thread.cap_*`.
pub static CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Writes capability names separated by spaces (Falco's rendering).
pub(crate) fn write_caps(buf: &mut String, caps: u64) {
    for (bit, name) in CAP_NAMES.iter().enumerate() {
        if caps & (1u64 << bit) != 0 {
            if !buf.is_empty() {
                buf.push(' ');
            }
            buf.push_str(name);
        }
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats a Unix-ns timestamp (UTC). `date`: with the date; `nanos`: with
/// the fraction; `iso`: ISO 8601 with `T` and `Z`.
pub fn write_time(buf: &mut String, ns: u64, date: bool, nanos: bool, iso: bool) {
    let secs = (ns / 1_000_000_000) as i64;
    let frac = ns % 1_000_000_000;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    if date {
        let (y, m, d) = civil_from_days(days);
        let _ = write!(buf, "{y:04}-{m:02}-{d:02}{}", if iso { 'T' } else { ' ' });
    }
    let _ = write!(
        buf,
        "{:02}:{:02}:{:02}",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    );
    if nanos {
        let _ = write!(buf, ".{frac:09}");
    }
    if iso {
        buf.push('Z');
    }
}

/// Splits `repo[:tag][@digest]` → (repository, tag).
pub fn split_image(image: &str) -> (&str, Option<&str>) {
    let no_digest = image.split('@').next().unwrap_or(image);
    let slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    match no_digest[slash..].rfind(':') {
        Some(c) => (&no_digest[..slash + c], Some(&no_digest[slash + c + 1..])),
        None => (no_digest, None),
    }
}

/// The parameter `evt.arg[...]` names on this event, if it has it.
fn arg_param(s: &Src<'_>, a: &FieldArg) -> Option<&'static str> {
    let l = sysargs::layout(s.ty.idx)?;
    let p = match a {
        FieldArg::Key(k) => l.params.iter().find(|p| p.name == k),
        FieldArg::Index(i) => l.params.get(*i as usize),
        FieldArg::None => None,
    }?;
    p.supplied.then_some(p.name)
}

fn evt_arg(s: &Src<'_>, a: &FieldArg, o: &mut Out<'_>) {
    if let Some(n) = arg_param(s, a) {
        sysargs::write_arg(s, n, false, o)
    }
}

fn evt_rawarg(s: &Src<'_>, a: &FieldArg, o: &mut Out<'_>) {
    if let Some(n) = arg_param(s, a) {
        sysargs::write_arg(s, n, true, o)
    }
}

/// `name=value` for every argument the event has (allocates; meant for
/// outputs).
fn evt_args(s: &Src<'_>, _: &FieldArg, o: &mut Out<'_>) {
    let Some(l) = sysargs::layout(s.ty.idx) else {
        return;
    };
    let mut tmp = Val::default();
    let mut buf = std::mem::take(o.buf());
    for p in l.params.iter().filter(|p| p.supplied) {
        tmp.reset();
        sysargs::write_arg(s, p.name, false, &mut Out { v: &mut tmp });
        if let Some(v) = tmp.render() {
            if !buf.is_empty() {
                buf.push(' ');
            }
            let _ = write!(buf, "{}={}", p.name, v);
        }
    }
    *o.buf() = buf;
}

/// The open flags and mode of an open-family event.
fn open_args(s: &Src<'_>) -> Option<(u64, u32, i64)> {
    match s.sys()? {
        Syscall {
            args: SyscallArgs::Open { flags, mode, .. },
            ret,
            ..
        } => Some((*flags, *mode, *ret)),
        _ => None,
    }
}

/// Writes a string from `f`, or no value when `f` says it cannot.
fn str_or_absent(o: &mut Out<'_>, f: impl FnOnce(&mut String) -> bool) {
    if !f(o.buf()) {
        o.v.state = State::Absent;
    }
}

fn fd_name(s: &Src<'_>, v: &FdView<'_>, o: &mut Out<'_>) {
    str_or_absent(o, |b| fdinfo::write_name(s, v, b));
}

/// A getter over the event's fd (no value for events without one).
fn with_fd(s: &Src<'_>, o: &mut Out<'_>, f: fn(&Src<'_>, &FdView<'_>, &mut Out<'_>)) {
    if let Some(v) = s.fd() {
        f(s, &v, o)
    }
}

fn write_ip(o: &mut Out<'_>, ep: Option<fdinfo::Endpoint>) {
    if let Some((ip, _)) = ep {
        o.ip(ip);
    }
}

fn write_port(o: &mut Out<'_>, ep: Option<fdinfo::Endpoint>) {
    if let Some((_, port)) = ep {
        o.int(i64::from(port));
    }
}

/// Local / remote endpoints of a socket fd.
fn local_remote(s: &Src<'_>) -> Option<(Option<fdinfo::Endpoint>, Option<fdinfo::Endpoint>)> {
    let v = s.fd()?;
    let sv = v.sock.filter(|_| v.ty.is_ip())?;
    Some((sv.local, sv.remote))
}

/// Client / server endpoints, when the event tells which is which.
fn client_server(s: &Src<'_>) -> Option<(Option<fdinfo::Endpoint>, Option<fdinfo::Endpoint>)> {
    let v = s.fd()?;
    let sv = v.sock.filter(|_| v.ty.is_ip())?;
    Some(sv.known_ends())
}

/// `fd.ip` / `fd.net`: both ends ("either" semantics).
fn both_ips(s: &Src<'_>, _: &FieldArg, o: &mut Out<'_>) {
    if let Some((l, r)) = local_remote(s) {
        for (ip, _) in [l, r].into_iter().flatten() {
            o.ip(ip);
        }
    }
}

fn fs_path(s: &Src<'_>, o: &mut Out<'_>, which: u8) {
    if let Some(fp) = s.sys().and_then(fdinfo::fs_paths) {
        str_or_absent(o, |b| fdinfo::write_fs_path(s, &fp, which, b));
    }
}

fn fs_path_raw(s: &Src<'_>, o: &mut Out<'_>, which: u8) {
    if let Some(fp) = s.sys().and_then(fdinfo::fs_paths) {
        let p = match which {
            0 => fp.name,
            1 => fp.source,
            _ => fp.target,
        };
        if let Some(p) = p {
            o.str(p)
        }
    }
}

/// Field names whose values are IP addresses compared as addresses.
pub const IP_FIELDS: &[&str] = &["fd.ip", "fd.cip", "fd.sip", "fd.lip", "fd.rip", "fd.dip"];
/// Field names whose values are compared against networks (CIDR).
pub const NET_FIELDS: &[&str] = &["fd.net", "fd.cnet", "fd.snet", "fd.lnet", "fd.rnet"];

fn none(_: &Src<'_>, _: &FieldArg, _: &mut Out<'_>) {}

use Avail::{NotYet, Now};
use Ty::{Bool, Int, Str};

const fn fd(
    name: &'static str,
    ty: Ty,
    arg: ArgSpec,
    avail: Avail,
    desc: &'static str,
    get: Getter,
) -> FieldDef {
    FieldDef {
        name,
        ty,
        arg,
        avail,
        desc,
        get,
    }
}

/// A field the sensor cannot supply yet.
const fn later(name: &'static str, ty: Ty, desc: &'static str) -> FieldDef {
    FieldDef {
        name,
        ty,
        arg: ArgSpec::None,
        avail: NotYet,
        desc,
        get: none,
    }
}

const fn later_arg(name: &'static str, ty: Ty, arg: ArgSpec, desc: &'static str) -> FieldDef {
    FieldDef {
        name,
        ty,
        arg,
        avail: NotYet,
        desc,
        get: none,
    }
}

fn anc_index(a: &FieldArg) -> Option<u32> {
    match a {
        FieldArg::Index(i) => Some(*i),
        _ => None,
    }
}

/// proc.aname-style getter: index 0 = the process, n = ancestor n, no
/// index = every ancestor.
fn ancestor_str(
    s: &Src<'_>,
    a: &FieldArg,
    o: &mut Out<'_>,
    own: fn(&Src<'_>, &mut Out<'_>),
    f: fn(&ProcessInfo, &mut String),
) {
    match anc_index(a) {
        Some(0) => own(s, o),
        Some(n) => {
            if let Some(p) = s.ancestor(n) {
                f(p, o.buf())
            }
        }
        None => s.for_ancestors(|p| o.push_with(|b| f(p, b))),
    }
}

fn key(a: &FieldArg) -> &str {
    match a {
        FieldArg::Key(k) => k,
        _ => "",
    }
}

/// The catalog.
pub static CATALOG: &[FieldDef] = &[
    // ---- evt.* ----
    fd(
        "evt.type",
        Str,
        ArgSpec::None,
        Now,
        "Event type: the syscall's name (openat, connect, ...), execve for execs, clone for forks, procexit.",
        |s, _, o| o.str(s.sys().map_or(s.ty.name(), |sc| sc.name)),
    ),
    fd(
        "evt.dir",
        Str,
        ArgSpec::None,
        Now,
        "Direction: `<` exit (all captured syscalls), `>` enter (procexit).",
        |s, _, o| o.str(s.kind.dir()),
    ),
    fd(
        "evt.category",
        Str,
        ArgSpec::None,
        Now,
        "Event category (process, file, net, other).",
        |s, _, o| o.str(s.kind.category()),
    ),
    fd(
        "evt.source",
        Str,
        ArgSpec::None,
        Now,
        "Event source: always `syscall`.",
        |_, _, o| o.str("syscall"),
    ),
    later("evt.num", Int, "Event sequence number."),
    fd(
        "evt.time",
        Str,
        ArgSpec::None,
        Now,
        "Event time, HH:MM:SS.nnnnnnnnn (UTC).",
        |s, _, o| write_time(o.buf(), s.ev.header.time_ns, false, true, false),
    ),
    fd(
        "evt.time.s",
        Str,
        ArgSpec::None,
        Now,
        "Event time, HH:MM:SS (UTC).",
        |s, _, o| write_time(o.buf(), s.ev.header.time_ns, false, false, false),
    ),
    fd(
        "evt.time.iso8601",
        Str,
        ArgSpec::None,
        Now,
        "Event time, ISO 8601 (UTC).",
        |s, _, o| write_time(o.buf(), s.ev.header.time_ns, true, true, true),
    ),
    fd(
        "evt.datetime",
        Str,
        ArgSpec::None,
        Now,
        "Event date and time, YYYY-MM-DD HH:MM:SS.nnnnnnnnn (UTC).",
        |s, _, o| write_time(o.buf(), s.ev.header.time_ns, true, true, false),
    ),
    fd(
        "evt.datetime.s",
        Str,
        ArgSpec::None,
        Now,
        "Event date and time, YYYY-MM-DD HH:MM:SS (UTC).",
        |s, _, o| write_time(o.buf(), s.ev.header.time_ns, true, false, false),
    ),
    fd(
        "evt.rawtime",
        Int,
        ArgSpec::None,
        Now,
        "Event time, ns since the epoch.",
        |s, _, o| o.int(s.ev.header.time_ns as i64),
    ),
    fd(
        "evt.rawtime.s",
        Int,
        ArgSpec::None,
        Now,
        "Event time, seconds since the epoch.",
        |s, _, o| o.int((s.ev.header.time_ns / 1_000_000_000) as i64),
    ),
    fd(
        "evt.rawtime.ns",
        Int,
        ArgSpec::None,
        Now,
        "Fractional part of the event time, ns.",
        |s, _, o| o.int((s.ev.header.time_ns % 1_000_000_000) as i64),
    ),
    fd(
        "evt.cpu",
        Int,
        ArgSpec::None,
        Now,
        "CPU the event happened on.",
        |s, _, o| o.int(i64::from(s.ev.header.cpu)),
    ),
    fd(
        "evt.hostname",
        Str,
        ArgSpec::None,
        Now,
        "Host name of the machine.",
        |s, _, o| o.str(s.hostname),
    ),
    fd(
        "evt.res",
        Str,
        ArgSpec::None,
        Now,
        "Result: SUCCESS, or the errno name of a failed syscall (ENOENT, EACCES, ...).",
        |s, _, o| match &s.ev.body {
            EventBody::Syscall(sc) => sysargs::write_res(o, sc.ret),
            EventBody::Exec(_) | EventBody::Fork(_) => o.str("SUCCESS"),
            _ => {}
        },
    ),
    fd(
        "evt.rawres",
        Int,
        ArgSpec::None,
        Now,
        "Raw result: the return value (-errno on failure; exec 0, fork: child pid).",
        |s, _, o| match &s.ev.body {
            EventBody::Fork(f) => o.int(i64::from(f.child_tgid)),
            EventBody::Syscall(sc) => o.int(sc.ret),
            EventBody::Exec(_) => o.int(0),
            _ => {}
        },
    ),
    fd(
        "evt.failed",
        Bool,
        ArgSpec::None,
        Now,
        "Whether the syscall failed (returned an error).",
        |s, _, o| match &s.ev.body {
            EventBody::Syscall(sc) => o.boolean(sc.ret < 0),
            EventBody::Exec(_) | EventBody::Fork(_) => o.boolean(false),
            _ => {}
        },
    ),
    fd(
        "evt.args",
        Str,
        ArgSpec::None,
        Now,
        "All arguments as name=value text.",
        evt_args,
    ),
    fd(
        "evt.arg",
        Str,
        ArgSpec::KeyOrIndex,
        Avail::ByArg,
        "One argument by name (evt.arg.flags) or index (evt.arg[0]).",
        evt_arg,
    ),
    fd(
        "evt.rawarg",
        Str,
        ArgSpec::KeyOrIndex,
        Avail::ByArg,
        "One argument, raw: the number behind a flag or enum.",
        evt_rawarg,
    ),
    fd(
        "evt.is_open_read",
        Bool,
        ArgSpec::None,
        Now,
        "Open for reading (O_RDONLY or O_RDWR).",
        |s, _, o| {
            if let Some((f, _, _)) = open_args(s) {
                o.boolean(matches!(
                    f & sysargs::O_ACCMODE,
                    sysargs::O_RDONLY | sysargs::O_RDWR
                ))
            }
        },
    ),
    fd(
        "evt.is_open_write",
        Bool,
        ArgSpec::None,
        Now,
        "Open for writing (O_WRONLY or O_RDWR; creat).",
        |s, _, o| {
            if let Some((f, _, _)) = open_args(s) {
                o.boolean(matches!(
                    f & sysargs::O_ACCMODE,
                    sysargs::O_WRONLY | sysargs::O_RDWR
                ))
            }
        },
    ),
    fd(
        "evt.is_open_exec",
        Bool,
        ArgSpec::None,
        Now,
        "Open that creates a file with an execute bit in its mode.",
        |s, _, o| {
            if let Some((f, m, _)) = open_args(s) {
                o.boolean(sysargs::creates(f) && m & sysargs::S_IXANY != 0)
            }
        },
    ),
    fd(
        "evt.is_open_create",
        Bool,
        ArgSpec::None,
        Now,
        "Successful open with O_CREAT/O_TMPFILE (the file may have existed already).",
        |s, _, o| {
            if let Some((f, _, ret)) = open_args(s) {
                o.boolean(sysargs::creates(f) && ret >= 0)
            }
        },
    ),
    later("evt.buffer", Str, "Data buffer of I/O events."),
    later("evt.buflen", Int, "Length of the data buffer."),
    later("evt.latency", Int, "Syscall latency, ns."),
    later("evt.is_io", Bool, "I/O event."),
    later("evt.is_io_read", Bool, "Reading I/O event."),
    later("evt.is_io_write", Bool, "Writing I/O event."),
    later("evt.is_syslog", Bool, "Write to /dev/log."),
    later("evt.count", Int, "Always 1 (counting aggregations)."),
    fd(
        "syscall.type",
        Str,
        ArgSpec::None,
        Now,
        "Syscall name (as evt.type); no value for non-syscall events (procexit, scheduler forks).",
        |s, _, o| {
            if s.ty.syscall {
                o.str(s.sys().map_or(s.ty.name(), |sc| sc.name))
            }
        },
    ),
    // ---- proc.* ----
    fd(
        "proc.pid",
        Int,
        ArgSpec::None,
        Now,
        "Process id (tgid).",
        |s, _, o| o.int(i64::from(s.ev.header.tgid)),
    ),
    fd(
        "proc.ppid",
        Int,
        ArgSpec::None,
        Now,
        "Parent process id.",
        |s, _, o| {
            if let Some(p) = s.ppid() {
                o.int(i64::from(p))
            }
        },
    ),
    fd(
        "proc.vpid",
        Int,
        ArgSpec::None,
        Now,
        "Process id as seen in its pid namespace (exec events only).",
        |s, _, o| {
            if let Some(e) = s.exec().filter(|e| e.vpid != 0) {
                o.int(i64::from(e.vpid))
            }
        },
    ),
    later("proc.pvpid", Int, "Parent id as seen in its pid namespace."),
    fd(
        "proc.name",
        Str,
        ArgSpec::None,
        Now,
        "Process name: the comm, at most 15 characters.",
        |s, _, o| o.str(s.ev.header.comm.as_str()),
    ),
    fd(
        "proc.exe",
        Str,
        ArgSpec::None,
        Now,
        "argv[0] of the process.",
        |s, _, o| {
            if let Some(a) = s.argv0() {
                o.str(a)
            }
        },
    ),
    fd(
        "proc.exepath",
        Str,
        ArgSpec::None,
        Now,
        "Full path of the executable.",
        |s, _, o| {
            if let Some(a) = s.exepath() {
                o.str(a)
            }
        },
    ),
    fd(
        "proc.args",
        Str,
        ArgSpec::None,
        Now,
        "Arguments (argv[1..]) joined by spaces.",
        |s, _, o| {
            if !s.write_args(o.buf()) {
                o.v.state = State::Absent;
            }
        },
    ),
    fd(
        "proc.cmdline",
        Str,
        ArgSpec::None,
        Now,
        "Process name and arguments (`proc.name proc.args`).",
        |s, _, o| {
            let b = o.buf();
            b.push_str(s.ev.header.comm.as_str());
            let mark = b.len();
            b.push(' ');
            if !s.write_args(b) || b.len() == mark + 1 {
                b.truncate(mark);
            }
        },
    ),
    fd(
        "proc.exeline",
        Str,
        ArgSpec::None,
        Now,
        "argv[0] and arguments.",
        |s, _, o| {
            let Some(a0) = s.argv0() else { return };
            let b = o.buf();
            b.push_str(a0);
            let mark = b.len();
            b.push(' ');
            if !s.write_args(b) || b.len() == mark + 1 {
                b.truncate(mark);
            }
        },
    ),
    fd(
        "proc.cwd",
        Str,
        ArgSpec::None,
        Now,
        "Current working directory (as of the last exec: chdir is not tracked).",
        |s, _, o| {
            let exec_cwd = s.exec().map(|e| e.cwd.as_str()).filter(|c| !c.is_empty());
            if let Some(c) = s.proc().and_then(|p| p.cwd.as_deref()).or(exec_cwd) {
                o.str(c)
            }
        },
    ),
    fd(
        "proc.tty",
        Int,
        ArgSpec::None,
        Now,
        "Controlling terminal (0: none).",
        |s, _, o| {
            if let Some(t) = s.fact(|e| e.tty, |p| p.tty) {
                o.int(i64::from(t))
            }
        },
    ),
    fd(
        "proc.sid",
        Int,
        ArgSpec::None,
        Now,
        "Session id.",
        |s, _, o| {
            if let Some(p) = s.proc() {
                o.int(i64::from(p.sid))
            }
        },
    ),
    fd(
        "proc.sname",
        Str,
        ArgSpec::None,
        Now,
        "Name of the session leader.",
        |s, _, o| {
            if let Some(l) = s.proc().and_then(|p| s.ctx.process(p.sid)) {
                o.str(&l.name)
            }
        },
    ),
    fd(
        "proc.is_sid_leader",
        Bool,
        ArgSpec::None,
        Now,
        "The process leads its session.",
        |s, _, o| {
            if let Some(p) = s.proc() {
                o.boolean(p.sid == p.pid)
            }
        },
    ),
    fd(
        "proc.vpgid",
        Int,
        ArgSpec::None,
        Now,
        "Process group id (host namespace; Falco: namespace-relative).",
        |s, _, o| {
            if let Some(p) = s.proc() {
                o.int(i64::from(p.pgid))
            }
        },
    ),
    fd(
        "proc.vpgid.name",
        Str,
        ArgSpec::None,
        Now,
        "Name of the process group leader.",
        |s, _, o| {
            if let Some(l) = s.proc().and_then(|p| s.ctx.process(p.pgid)) {
                o.str(&l.name)
            }
        },
    ),
    fd(
        "proc.vpgid.exe",
        Str,
        ArgSpec::None,
        Now,
        "argv[0] of the process group leader.",
        |s, _, o| {
            if let Some(l) = s.proc().and_then(|p| s.ctx.process(p.pgid)) {
                o.str(&l.argv0)
            }
        },
    ),
    fd(
        "proc.vpgid.exepath",
        Str,
        ArgSpec::None,
        Now,
        "Executable path of the process group leader.",
        |s, _, o| {
            if let Some(l) = s.proc().and_then(|p| s.ctx.process(p.pgid)) {
                o.str(&l.exe)
            }
        },
    ),
    fd(
        "proc.is_vpgid_leader",
        Bool,
        ArgSpec::None,
        Now,
        "The process leads its process group.",
        |s, _, o| {
            if let Some(p) = s.proc() {
                o.boolean(p.pgid == p.pid)
            }
        },
    ),
    later(
        "proc.loginshellid",
        Int,
        "Pid of the oldest shell ancestor.",
    ),
    fd(
        "proc.duration",
        Int,
        ArgSpec::None,
        Now,
        "ns since the process started.",
        |s, _, o| {
            if let Some(p) = s.proc().filter(|p| p.start_time_ns > 0) {
                o.int(s.ev.header.time_ns.saturating_sub(p.start_time_ns) as i64)
            }
        },
    ),
    fd(
        "proc.start_ts",
        Int,
        ArgSpec::None,
        Now,
        "Process start time, ns since the epoch (Kestrel).",
        |s, _, o| {
            if let Some(p) = s.proc().filter(|p| p.start_time_ns > 0) {
                o.int(p.start_time_ns as i64)
            }
        },
    ),
    fd(
        "proc.ppid.duration",
        Int,
        ArgSpec::None,
        Now,
        "ns since the parent started.",
        |s, _, o| {
            if let Some(p) = s.parent().filter(|p| p.start_time_ns > 0) {
                o.int(s.ev.header.time_ns.saturating_sub(p.start_time_ns) as i64)
            }
        },
    ),
    fd(
        "proc.ppid.ts",
        Int,
        ArgSpec::None,
        Now,
        "Parent start time, ns since the epoch.",
        |s, _, o| {
            if let Some(p) = s.parent().filter(|p| p.start_time_ns > 0) {
                o.int(p.start_time_ns as i64)
            }
        },
    ),
    fd(
        "proc.exe_ino",
        Int,
        ArgSpec::None,
        Now,
        "Inode of the executable.",
        |s, _, o| {
            if let Some(v) = s.fact(|e| e.exe_ino, |p| p.exe_ino).filter(|v| *v != 0) {
                o.int(v as i64)
            }
        },
    ),
    fd(
        "proc.exe_ino.ctime",
        Int,
        ArgSpec::None,
        Now,
        "ctime of the executable's inode, ns since the epoch.",
        |s, _, o| {
            if let Some(v) = s
                .fact(|e| e.exe_ctime_ns, |p| p.exe_ino_ctime_ns)
                .filter(|v| *v != 0)
            {
                o.int(v as i64)
            }
        },
    ),
    fd(
        "proc.exe_ino.mtime",
        Int,
        ArgSpec::None,
        Now,
        "mtime of the executable's inode, ns since the epoch.",
        |s, _, o| {
            if let Some(v) = s
                .fact(|e| e.exe_mtime_ns, |p| p.exe_ino_mtime_ns)
                .filter(|v| *v != 0)
            {
                o.int(v as i64)
            }
        },
    ),
    fd(
        "proc.exe_ino.ctime_duration_proc_start",
        Int,
        ArgSpec::None,
        Now,
        "ns between the executable's ctime and the process start.",
        |s, _, o| {
            let ctime = s.fact(|e| e.exe_ctime_ns, |p| p.exe_ino_ctime_ns);
            if let (Some(c), Some(p)) = (ctime.filter(|c| *c != 0), s.proc())
                && p.start_time_ns != 0
            {
                o.int(p.start_time_ns as i64 - c as i64)
            }
        },
    ),
    later(
        "proc.exe_ino.ctime_duration_pidns_start",
        Int,
        "ns between the executable's ctime and the pid namespace start.",
    ),
    fd(
        "proc.is_exe_upper_layer",
        Bool,
        ArgSpec::None,
        Now,
        "Executable lives in the container's writable (upper) layer.",
        |s, _, o| {
            if let Some(b) = s.fact(|e| e.exe_upper_layer, |p| p.exe_upper_layer) {
                o.boolean(b)
            }
        },
    ),
    fd(
        "proc.is_exe_from_memfd",
        Bool,
        ArgSpec::None,
        Now,
        "Executable is a memfd (fileless).",
        |s, _, o| {
            if let Some(b) = s.fact(|e| e.exe_from_memfd, |p| p.exe_from_memfd) {
                o.boolean(b)
            }
        },
    ),
    fd(
        "proc.is_exe_deleted",
        Bool,
        ArgSpec::None,
        Now,
        "Executable file was deleted (Kestrel extension).",
        |s, _, o| {
            if let Some(b) = s.fact(|e| e.exe_deleted, |p| p.exe_deleted) {
                o.boolean(b)
            }
        },
    ),
    later(
        "proc.is_exe_writable",
        Bool,
        "Executable is writable by the process's user.",
    ),
    later(
        "proc.env",
        Str,
        "Environment (proc.env[NAME] for one variable).",
    ),
    later("proc.nthreads", Int, "Number of threads."),
    later("proc.nchilds", Int, "Number of child threads."),
    later("proc.fdopencount", Int, "Open file descriptors."),
    later(
        "proc.stdin.type",
        Str,
        "Type of fd 0 (file, ipv4, ipv6, unix, pipe, ...).",
    ),
    later("proc.stdout.type", Str, "Type of fd 1."),
    later("proc.stderr.type", Str, "Type of fd 2."),
    later("proc.stdin.name", Str, "Name of fd 0."),
    later("proc.stdout.name", Str, "Name of fd 1."),
    later("proc.stderr.name", Str, "Name of fd 2."),
    later(
        "proc.is_container_healthcheck",
        Bool,
        "Process is a container health check.",
    ),
    later(
        "proc.is_container_liveness_probe",
        Bool,
        "Process is a liveness probe.",
    ),
    later(
        "proc.is_container_readiness_probe",
        Bool,
        "Process is a readiness probe.",
    ),
    fd(
        "proc.pname",
        Str,
        ArgSpec::None,
        Now,
        "Parent's name.",
        |s, _, o| {
            if let Some(p) = s.parent() {
                o.str(&p.name)
            }
        },
    ),
    fd(
        "proc.pexe",
        Str,
        ArgSpec::None,
        Now,
        "Parent's argv[0].",
        |s, _, o| {
            if let Some(p) = s.parent() {
                o.str(&p.argv0)
            }
        },
    ),
    fd(
        "proc.pexepath",
        Str,
        ArgSpec::None,
        Now,
        "Parent's executable path.",
        |s, _, o| {
            if let Some(p) = s.parent() {
                o.str(&p.exe)
            }
        },
    ),
    fd(
        "proc.pcmdline",
        Str,
        ArgSpec::None,
        Now,
        "Parent's name and arguments.",
        |s, _, o| {
            if let Some(p) = s.parent() {
                cmdline_of(p, o.buf())
            }
        },
    ),
    fd(
        "proc.aname",
        Str,
        ArgSpec::OptIndex,
        Now,
        "Ancestor name: [0] self, [1] parent, ...; without index: any ancestor.",
        |s, a, o| {
            ancestor_str(
                s,
                a,
                o,
                |s, o| o.str(s.ev.header.comm.as_str()),
                |p, b| b.push_str(&p.name),
            )
        },
    ),
    fd(
        "proc.aexe",
        Str,
        ArgSpec::OptIndex,
        Now,
        "Ancestor argv[0] ([n] as for proc.aname).",
        |s, a, o| {
            ancestor_str(
                s,
                a,
                o,
                |s, o| {
                    if let Some(x) = s.argv0() {
                        o.str(x)
                    }
                },
                |p, b| b.push_str(&p.argv0),
            )
        },
    ),
    fd(
        "proc.aexepath",
        Str,
        ArgSpec::OptIndex,
        Now,
        "Ancestor executable path ([n] as for proc.aname).",
        |s, a, o| {
            ancestor_str(
                s,
                a,
                o,
                |s, o| {
                    if let Some(x) = s.exepath() {
                        o.str(x)
                    }
                },
                |p, b| b.push_str(&p.exe),
            )
        },
    ),
    fd(
        "proc.acmdline",
        Str,
        ArgSpec::OptIndex,
        Now,
        "Ancestor command line ([n] as for proc.aname).",
        |s, a, o| {
            ancestor_str(
                s,
                a,
                o,
                |s, o| {
                    if let Some(p) = s.proc() {
                        cmdline_of(p, o.buf())
                    }
                },
                cmdline_of,
            )
        },
    ),
    fd(
        "proc.apid",
        Int,
        ArgSpec::OptIndex,
        Now,
        "Ancestor pid ([n] as for proc.aname).",
        |s, a, o| match anc_index(a) {
            Some(0) => o.int(i64::from(s.ev.header.tgid)),
            Some(n) => {
                if let Some(p) = s.ancestor(n) {
                    o.int(i64::from(p.pid))
                }
            }
            None => s.for_ancestors(|p| o.push_int(i64::from(p.pid))),
        },
    ),
    // ---- thread.* ----
    fd(
        "thread.tid",
        Int,
        ArgSpec::None,
        Now,
        "Thread id.",
        |s, _, o| o.int(i64::from(s.ev.header.pid)),
    ),
    fd(
        "thread.vtid",
        Int,
        ArgSpec::None,
        Now,
        "Thread id in its pid namespace (exec events only).",
        |s, _, o| {
            if let Some(e) = s
                .exec()
                .filter(|e| e.vpid != 0 && s.ev.header.pid == s.ev.header.tgid)
            {
                o.int(i64::from(e.vpid))
            }
        },
    ),
    fd(
        "thread.ismain",
        Bool,
        ArgSpec::None,
        Now,
        "The thread is the process's main thread.",
        |s, _, o| o.boolean(s.ev.header.pid == s.ev.header.tgid),
    ),
    fd(
        "thread.cap_effective",
        Str,
        ArgSpec::None,
        Now,
        "Effective capabilities, names separated by spaces (CAP_SYS_ADMIN ...).",
        |s, _, o| {
            if let Some(c) = s.fact(|e| e.cap_effective, |p| p.cap_effective) {
                write_caps(o.buf(), c)
            }
        },
    ),
    later("thread.cap_permitted", Str, "Permitted capabilities."),
    later("thread.cap_inheritable", Str, "Inheritable capabilities."),
    // ---- user.* / group.* ----
    fd(
        "user.uid",
        Int,
        ArgSpec::None,
        Now,
        "User id.",
        |s, _, o| o.int(i64::from(s.ev.header.uid)),
    ),
    fd(
        "user.name",
        Str,
        ArgSpec::None,
        Now,
        "User name.",
        |s, _, o| {
            if let Some(n) = s.proc().and_then(|p| p.user_name.as_deref()) {
                o.str(n)
            }
        },
    ),
    fd(
        "user.loginuid",
        Int,
        ArgSpec::None,
        Now,
        "Audit login uid (-1: unset).",
        |s, _, o| {
            if let Some(l) = s.fact(|e| e.loginuid, |p| p.loginuid) {
                o.int(match l {
                    None | Some(u32::MAX) => -1,
                    Some(u) => i64::from(u),
                })
            }
        },
    ),
    later("user.loginname", Str, "Name of the login user."),
    later("user.homedir", Str, "Home directory of the user."),
    later("user.shell", Str, "Login shell of the user."),
    fd(
        "group.gid",
        Int,
        ArgSpec::None,
        Now,
        "Group id.",
        |s, _, o| o.int(i64::from(s.ev.header.gid)),
    ),
    fd(
        "group.name",
        Str,
        ArgSpec::None,
        Now,
        "Group name.",
        |s, _, o| {
            if let Some(n) = s.proc().and_then(|p| p.group_name.as_deref()) {
                o.str(n)
            }
        },
    ),
    // ---- fd.* (the fd a syscall event is about) and fs.path.* ----
    fd(
        "fd.num",
        Int,
        ArgSpec::None,
        Now,
        "File descriptor number (-1 for a failed open).",
        |s, _, o| with_fd(s, o, |_, v, o| o.int(v.num)),
    ),
    fd(
        "fd.type",
        Str,
        ArgSpec::None,
        Now,
        "fd type: file, directory, ipv4, ipv6, unix, memfd, pipe, netlink, userfaultfd, bpf ...",
        |s, _, o| with_fd(s, o, |_, v, o| o.str(v.ty.name())),
    ),
    fd(
        "fd.typechar",
        Str,
        ArgSpec::None,
        Now,
        "fd type as one character (f, d, 4, 6, u, m, p, ...).",
        |s, _, o| with_fd(s, o, |_, v, o| o.str(v.ty.typechar())),
    ),
    fd(
        "fd.name",
        Str,
        ArgSpec::None,
        Now,
        "fd name: absolute path (files), client->server tuple (IP sockets), path (unix sockets).",
        |s, _, o| with_fd(s, o, fd_name),
    ),
    fd(
        "fd.nameraw",
        Str,
        ArgSpec::None,
        Now,
        "File path as passed to the syscall (not made absolute or normalised).",
        |s, _, o| {
            with_fd(s, o, |_, v, o| match (v.raw, v.path) {
                (Some(r), _) => o.str(r),
                (None, Some(fdinfo::PathSrc::Kernel(k))) => o.str(k),
                _ => {}
            })
        },
    ),
    fd(
        "fd.directory",
        Str,
        ArgSpec::None,
        Now,
        "Directory of a file fd (the directory itself for a directory fd).",
        |s, _, o| {
            with_fd(s, o, |s, v, o| {
                if !matches!(v.ty, FdType::File | FdType::Directory | FdType::Memfd) {
                    return;
                }
                let dir = v.ty == FdType::Directory;
                str_or_absent(o, |b| {
                    if !fdinfo::write_name(s, v, b) {
                        return false;
                    }
                    if !dir {
                        let cut = b.rfind('/').unwrap_or(0);
                        b.truncate(cut.max(1));
                    }
                    true
                })
            })
        },
    ),
    fd(
        "fd.filename",
        Str,
        ArgSpec::None,
        Now,
        "Base name of a file fd.",
        |s, _, o| {
            with_fd(s, o, |s, v, o| {
                if !matches!(v.ty, FdType::File | FdType::Memfd) {
                    return;
                }
                str_or_absent(o, |b| {
                    if !fdinfo::write_name(s, v, b) {
                        return false;
                    }
                    let cut = b.rfind('/').map_or(0, |i| i + 1);
                    b.drain(..cut);
                    true
                })
            })
        },
    ),
    later("fd.dev", Int, "Device number of a file fd."),
    later("fd.ino", Int, "Inode of a file fd."),
    later("fd.uid", Str, "Unique id of the fd."),
    fd(
        "fd.ip",
        Str,
        ArgSpec::None,
        Now,
        "Either IP of a connection (= matches if either end does; != if neither does).",
        both_ips,
    ),
    fd(
        "fd.cip",
        Str,
        ArgSpec::None,
        Now,
        "Client IP (connect/sendto: this process; accept/recvfrom: the peer).",
        |s, _, o| {
            if let Some((c, _)) = client_server(s) {
                write_ip(o, c)
            }
        },
    ),
    fd(
        "fd.sip",
        Str,
        ArgSpec::None,
        Now,
        "Server IP.",
        |s, _, o| {
            if let Some((_, sv)) = client_server(s) {
                write_ip(o, sv)
            }
        },
    ),
    fd(
        "fd.dip",
        Str,
        ArgSpec::None,
        Now,
        "Destination (server) IP: alias of fd.sip (Kestrel extension).",
        |s, _, o| {
            if let Some((_, sv)) = client_server(s) {
                write_ip(o, sv)
            }
        },
    ),
    fd("fd.lip", Str, ArgSpec::None, Now, "Local IP.", |s, _, o| {
        if let Some((l, _)) = local_remote(s) {
            write_ip(o, l)
        }
    }),
    fd(
        "fd.rip",
        Str,
        ArgSpec::None,
        Now,
        "Remote IP.",
        |s, _, o| {
            if let Some((_, r)) = local_remote(s) {
                write_ip(o, r)
            }
        },
    ),
    fd(
        "fd.port",
        Int,
        ArgSpec::None,
        Now,
        "Either port of a connection.",
        |s, _, o| {
            if let Some((l, r)) = local_remote(s) {
                for (_, p) in [l, r].into_iter().flatten() {
                    o.push_int(i64::from(p));
                }
            }
        },
    ),
    fd(
        "fd.cport",
        Int,
        ArgSpec::None,
        Now,
        "Client port.",
        |s, _, o| {
            if let Some((c, _)) = client_server(s) {
                write_port(o, c)
            }
        },
    ),
    fd(
        "fd.sport",
        Int,
        ArgSpec::None,
        Now,
        "Server port.",
        |s, _, o| {
            if let Some((_, sv)) = client_server(s) {
                write_port(o, sv)
            }
        },
    ),
    fd(
        "fd.dport",
        Int,
        ArgSpec::None,
        Now,
        "Destination (server) port: alias of fd.sport (Kestrel extension).",
        |s, _, o| {
            if let Some((_, sv)) = client_server(s) {
                write_port(o, sv)
            }
        },
    ),
    fd(
        "fd.lport",
        Int,
        ArgSpec::None,
        Now,
        "Local port.",
        |s, _, o| {
            if let Some((l, _)) = local_remote(s) {
                write_port(o, l)
            }
        },
    ),
    fd(
        "fd.rport",
        Int,
        ArgSpec::None,
        Now,
        "Remote port.",
        |s, _, o| {
            if let Some((_, r)) = local_remote(s) {
                write_port(o, r)
            }
        },
    ),
    fd(
        "fd.l4proto",
        Str,
        ArgSpec::None,
        Now,
        "Layer-4 protocol of an IP socket: tcp, udp, icmp, raw.",
        |s, _, o| {
            with_fd(s, o, |_, v, o| {
                if let Some(p) = v.sock.and_then(|sv| sv.proto) {
                    o.str(p)
                }
            })
        },
    ),
    fd(
        "fd.sockfamily",
        Str,
        ArgSpec::None,
        Now,
        "Socket family: ip, unix.",
        |s, _, o| {
            with_fd(s, o, |_, v, o| match v.ty {
                FdType::Ipv4 | FdType::Ipv6 => o.str("ip"),
                FdType::Unix => o.str("unix"),
                _ => {}
            })
        },
    ),
    fd(
        "fd.is_server",
        Bool,
        ArgSpec::None,
        Now,
        "The process holds the server end (accept, listen, bind, recvfrom).",
        |s, _, o| {
            with_fd(s, o, |_, v, o| match v.sock.map(|sv| sv.role) {
                Some(Role::Server) => o.boolean(true),
                Some(Role::Client) => o.boolean(false),
                _ => {}
            })
        },
    ),
    fd(
        "fd.net",
        Str,
        ArgSpec::None,
        Now,
        "Either IP, for CIDR comparison (fd.net = \"10.0.0.0/8\").",
        both_ips,
    ),
    fd(
        "fd.cnet",
        Str,
        ArgSpec::None,
        Now,
        "Client IP, for CIDR comparison.",
        |s, _, o| {
            if let Some((c, _)) = client_server(s) {
                write_ip(o, c)
            }
        },
    ),
    fd(
        "fd.snet",
        Str,
        ArgSpec::None,
        Now,
        "Server IP, for CIDR comparison.",
        |s, _, o| {
            if let Some((_, sv)) = client_server(s) {
                write_ip(o, sv)
            }
        },
    ),
    fd(
        "fd.lnet",
        Str,
        ArgSpec::None,
        Now,
        "Local IP, for CIDR comparison.",
        |s, _, o| {
            if let Some((l, _)) = local_remote(s) {
                write_ip(o, l)
            }
        },
    ),
    fd(
        "fd.rnet",
        Str,
        ArgSpec::None,
        Now,
        "Remote IP, for CIDR comparison.",
        |s, _, o| {
            if let Some((_, r)) = local_remote(s) {
                write_ip(o, r)
            }
        },
    ),
    later("fd.proto", Str, "Either protocol name (from the port)."),
    later("fd.cproto", Str, "Client protocol."),
    later("fd.sproto", Str, "Server protocol."),
    later("fd.lproto", Str, "Local protocol."),
    later("fd.rproto", Str, "Remote protocol."),
    fd(
        "fd.connected",
        Bool,
        ArgSpec::None,
        Now,
        "The socket is connected (connect/accept succeeded; sendto without a destination).",
        |s, _, o| {
            with_fd(s, o, |_, v, o| {
                if let Some(c) = v.sock.and_then(|sv| sv.connected) {
                    o.boolean(c)
                }
            })
        },
    ),
    fd(
        "fd.name_changed",
        Bool,
        ArgSpec::None,
        Now,
        "The fd's peer was set by this event (connect; sendto/recvfrom with an address).",
        |s, _, o| {
            with_fd(s, o, |_, v, o| {
                if let Some(c) = v.sock.and_then(|sv| sv.name_changed) {
                    o.boolean(c)
                }
            })
        },
    ),
    later(
        "fd.cip.name",
        Str,
        "Client domain name (no DNS resolution).",
    ),
    later(
        "fd.sip.name",
        Str,
        "Server domain name (no DNS resolution).",
    ),
    later("fd.lip.name", Str, "Local domain name (no DNS resolution)."),
    later(
        "fd.rip.name",
        Str,
        "Remote domain name (no DNS resolution).",
    ),
    fd(
        "fd.containername",
        Str,
        ArgSpec::None,
        Now,
        "Container id and fd name (id:name).",
        |s, _, o| {
            if s.container().is_none() {
                return;
            }
            with_fd(s, o, |s, v, o| {
                let id = s
                    .container()
                    .map_or("", |c| c.id.get(..12).unwrap_or(&c.id));
                str_or_absent(o, |b| {
                    b.push_str(id);
                    b.push(':');
                    fdinfo::write_name(s, v, b)
                })
            })
        },
    ),
    fd(
        "fd.containerdirectory",
        Str,
        ArgSpec::None,
        Now,
        "Container id and directory of a file fd (id:dir).",
        |s, _, o| {
            if s.container().is_none() {
                return;
            }
            with_fd(s, o, |s, v, o| {
                if !matches!(v.ty, FdType::File | FdType::Memfd) {
                    return;
                }
                let id = s
                    .container()
                    .map_or("", |c| c.id.get(..12).unwrap_or(&c.id));
                str_or_absent(o, |b| {
                    b.push_str(id);
                    b.push(':');
                    if !fdinfo::write_name(s, v, b) {
                        return false;
                    }
                    let cut = b.rfind('/').unwrap_or(0);
                    b.truncate(cut.max(id.len() + 2));
                    true
                })
            })
        },
    ),
    later_arg(
        "fd.types",
        Str,
        ArgSpec::OptIndex,
        "Types of the process's fds ([n]: fd n).",
    ),
    fd(
        "fs.path.name",
        Str,
        ArgSpec::None,
        Now,
        "Absolute path a file syscall operates on (open, chmod, mkdir, unlink, rmdir).",
        |s, _, o| fs_path(s, o, 0),
    ),
    fd(
        "fs.path.nameraw",
        Str,
        ArgSpec::None,
        Now,
        "Path a file syscall operates on, as passed.",
        |s, _, o| fs_path_raw(s, o, 0),
    ),
    fd(
        "fs.path.source",
        Str,
        ArgSpec::None,
        Now,
        "Source path, absolute (rename: old path; link: existing file; symlink: target).",
        |s, _, o| fs_path(s, o, 1),
    ),
    fd(
        "fs.path.sourceraw",
        Str,
        ArgSpec::None,
        Now,
        "Source path as passed.",
        |s, _, o| fs_path_raw(s, o, 1),
    ),
    fd(
        "fs.path.target",
        Str,
        ArgSpec::None,
        Now,
        "Target path, absolute (rename: new path; link/symlink: the new link).",
        |s, _, o| fs_path(s, o, 2),
    ),
    fd(
        "fs.path.targetraw",
        Str,
        ArgSpec::None,
        Now,
        "Target path as passed.",
        |s, _, o| fs_path_raw(s, o, 2),
    ),
    // ---- container.* ----
    fd(
        "container.id",
        Str,
        ArgSpec::None,
        Now,
        "Container id, 12 characters (`host` for host processes).",
        |s, _, o| {
            if let Some(c) = s.container() {
                o.str(c.id.get(..12).unwrap_or(&c.id))
            }
        },
    ),
    fd(
        "container.full_id",
        Str,
        ArgSpec::None,
        Now,
        "Full container id (`host` for host processes).",
        |s, _, o| {
            if let Some(c) = s.container() {
                o.str(&c.id)
            }
        },
    ),
    fd(
        "container.name",
        Str,
        ArgSpec::None,
        Now,
        "Container name (`host` for host processes).",
        |s, _, o| {
            if let Some(c) = s.container() {
                if c.id == "host" {
                    o.str("host")
                } else if let Some(n) = &c.name {
                    o.str(n)
                }
            }
        },
    ),
    fd(
        "container.image",
        Str,
        ArgSpec::None,
        Now,
        "Image, repository[:tag].",
        |s, _, o| {
            if let Some(i) = s.container().and_then(|c| c.image.as_deref()) {
                o.str(i)
            }
        },
    ),
    fd(
        "container.image.repository",
        Str,
        ArgSpec::None,
        Now,
        "Image repository.",
        |s, _, o| {
            if let Some(i) = s.container().and_then(|c| c.image.as_deref()) {
                o.str(split_image(i).0)
            }
        },
    ),
    fd(
        "container.image.tag",
        Str,
        ArgSpec::None,
        Now,
        "Image tag.",
        |s, _, o| {
            if let Some(t) = s
                .container()
                .and_then(|c| c.image.as_deref())
                .and_then(|i| split_image(i).1)
            {
                o.str(t)
            }
        },
    ),
    fd(
        "container.image.id",
        Str,
        ArgSpec::None,
        Now,
        "Image id.",
        |s, _, o| {
            if let Some(i) = s.container().and_then(|c| c.image_id.as_deref()) {
                o.str(i)
            }
        },
    ),
    fd(
        "container.image.digest",
        Str,
        ArgSpec::None,
        Now,
        "Image digest.",
        |s, _, o| {
            if let Some(i) = s.container().and_then(|c| c.image_digest.as_deref()) {
                o.str(i)
            }
        },
    ),
    fd(
        "container.type",
        Str,
        ArgSpec::None,
        Now,
        "Runtime: docker, containerd, cri-o, podman, host ...",
        |s, _, o| {
            if let Some(c) = s.container() {
                o.str(&c.runtime)
            }
        },
    ),
    fd(
        "container.privileged",
        Bool,
        ArgSpec::None,
        Now,
        "The container is privileged.",
        |s, _, o| {
            if let Some(c) = s.container().filter(|c| c.id != "host") {
                o.boolean(c.privileged)
            }
        },
    ),
    fd(
        "container.start_ts",
        Int,
        ArgSpec::None,
        Now,
        "Container start, ns since the epoch.",
        |s, _, o| {
            if let Some(t) = s.container().and_then(|c| c.started_at_ns) {
                o.int(t as i64)
            }
        },
    ),
    fd(
        "container.duration",
        Int,
        ArgSpec::None,
        Now,
        "ns since the container started.",
        |s, _, o| {
            if let Some(t) = s.container().and_then(|c| c.started_at_ns) {
                o.int(s.ev.header.time_ns.saturating_sub(t) as i64)
            }
        },
    ),
    fd(
        "container.label",
        Str,
        ArgSpec::Key,
        Now,
        "Container label (container.label[key] or container.label.key).",
        |s, a, o| {
            if let Some(v) = s.container().and_then(|c| c.labels.get(key(a))) {
                o.str(v)
            }
        },
    ),
    fd(
        "container.labels",
        Str,
        ArgSpec::None,
        Now,
        "All labels, key:value separated by commas.",
        |s, _, o| {
            if let Some(c) = s.container() {
                let b = o.buf();
                for (i, (k, v)) in c.labels.iter().enumerate() {
                    if i > 0 {
                        b.push(',');
                    }
                    let _ = write!(b, "{k}:{v}");
                }
            }
        },
    ),
    later("container.mounts", Str, "Mounts of the container."),
    later_arg(
        "container.mount",
        Str,
        ArgSpec::Key,
        "Mount by index or source path.",
    ),
    later_arg(
        "container.mount.source",
        Str,
        ArgSpec::Key,
        "Mount source by index or destination.",
    ),
    later_arg(
        "container.mount.dest",
        Str,
        ArgSpec::Key,
        "Mount destination by index or source.",
    ),
    later_arg("container.mount.mode", Str, ArgSpec::Key, "Mount mode."),
    later_arg(
        "container.mount.rdwr",
        Str,
        ArgSpec::Key,
        "Mount is read-write.",
    ),
    later_arg(
        "container.mount.propagation",
        Str,
        ArgSpec::Key,
        "Mount propagation.",
    ),
    later("container.ip", Str, "Container IP."),
    later("container.cni.json", Str, "CNI result."),
    later("container.healthcheck", Str, "Health check command."),
    later("container.liveness_probe", Str, "Liveness probe command."),
    later("container.readiness_probe", Str, "Readiness probe command."),
    later(
        "container.host_pid",
        Bool,
        "Shares the host's pid namespace.",
    ),
    later(
        "container.host_network",
        Bool,
        "Shares the host's network namespace.",
    ),
    later(
        "container.host_ipc",
        Bool,
        "Shares the host's IPC namespace.",
    ),
    later("container.user", Str, "User the container runs as."),
    // ---- k8s.* ----
    fd(
        "k8s.ns.name",
        Str,
        ArgSpec::None,
        Now,
        "Pod namespace.",
        |s, _, o| {
            if let Some(p) = s.container().and_then(|c| c.pod.as_ref()) {
                o.str(&p.namespace)
            }
        },
    ),
    fd(
        "k8s.pod.name",
        Str,
        ArgSpec::None,
        Now,
        "Pod name.",
        |s, _, o| {
            if let Some(p) = s.container().and_then(|c| c.pod.as_ref()) {
                o.str(&p.name)
            }
        },
    ),
    fd(
        "k8s.pod.uid",
        Str,
        ArgSpec::None,
        Now,
        "Pod uid.",
        |s, _, o| {
            if let Some(p) = s.container().and_then(|c| c.pod.as_ref()) {
                o.str(&p.uid)
            }
        },
    ),
    fd(
        "k8s.pod.id",
        Str,
        ArgSpec::None,
        Now,
        "Pod uid (alias).",
        |s, _, o| {
            if let Some(p) = s.container().and_then(|c| c.pod.as_ref()) {
                o.str(&p.uid)
            }
        },
    ),
    fd(
        "k8s.pod.label",
        Str,
        ArgSpec::Key,
        Now,
        "Pod label (k8s.pod.label[key] or k8s.pod.label.key).",
        |s, a, o| {
            if let Some(v) = s
                .container()
                .and_then(|c| c.pod.as_ref())
                .and_then(|p| p.labels.get(key(a)))
            {
                o.str(v)
            }
        },
    ),
    fd(
        "k8s.pod.labels",
        Str,
        ArgSpec::None,
        Now,
        "All pod labels, key:value separated by commas.",
        |s, _, o| {
            if let Some(p) = s.container().and_then(|c| c.pod.as_ref()) {
                let b = o.buf();
                for (i, (k, v)) in p.labels.iter().enumerate() {
                    if i > 0 {
                        b.push(',');
                    }
                    let _ = write!(b, "{k}:{v}");
                }
            }
        },
    ),
    later("k8s.pod.ip", Str, "Pod IP."),
    later("k8s.pod.cni.json", Str, "Pod CNI result."),
    later("k8s.pod.sandbox_id", Str, "Pod sandbox id."),
    later("k8s.ns.id", Str, "Namespace uid."),
    later_arg("k8s.ns.label", Str, ArgSpec::Key, "Namespace label."),
    later("k8s.rc.name", Str, "Replication controller name."),
    later("k8s.rs.name", Str, "Replica set name."),
    later("k8s.svc.name", Str, "Service name."),
    later("k8s.deployment.name", Str, "Deployment name."),
];

/// Name → row, built once.
fn index() -> &'static HashMap<&'static str, &'static FieldDef> {
    static IDX: OnceLock<HashMap<&'static str, &'static FieldDef>> = OnceLock::new();
    IDX.get_or_init(|| CATALOG.iter().map(|f| (f.name, f)).collect())
}

/// Why a field name was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum ResolveError {
    Unknown,
    BadArg(String),
}

/// Resolves a field as written (`name`, optional `[arg]`) to its row and
/// parsed argument. `evt.arg.flags`-style dotted keys are split here.
pub fn resolve(
    name: &str,
    bracket: Option<&str>,
) -> Result<(&'static FieldDef, FieldArg), ResolveError> {
    let idx = index();
    let (def, dotted) = match idx.get(name) {
        Some(d) => (*d, None),
        None => {
            // Longest catalog prefix followed by `.key`.
            let mut found = None;
            let mut cut = name.len();
            while let Some(dot) = name[..cut].rfind('.') {
                if let Some(d) = idx.get(&name[..dot])
                    && matches!(d.arg, ArgSpec::Key | ArgSpec::KeyOrIndex)
                {
                    found = Some((*d, Some(&name[dot + 1..])));
                    break;
                }
                cut = dot;
            }
            found.ok_or(ResolveError::Unknown)?
        }
    };
    let raw = match (dotted, bracket) {
        (Some(_), Some(_)) => {
            return Err(ResolveError::BadArg(format!(
                "`{name}` cannot take both a `.key` and a `[...]` argument"
            )));
        }
        (Some(k), None) => Some(k),
        (None, b) => b,
    };
    let arg = match (def.arg, raw) {
        (ArgSpec::None, None) => FieldArg::None,
        (ArgSpec::None, Some(_)) => {
            return Err(ResolveError::BadArg(format!(
                "`{}` takes no argument",
                def.name
            )));
        }
        (ArgSpec::OptIndex, None) => FieldArg::None,
        (ArgSpec::OptIndex, Some(a)) => match a.trim().parse::<u32>() {
            Ok(n) => FieldArg::Index(n),
            Err(_) => {
                return Err(ResolveError::BadArg(format!(
                    "`{}[...]` needs a number, got `{a}`",
                    def.name
                )));
            }
        },
        (ArgSpec::Key | ArgSpec::KeyOrIndex, None) => {
            return Err(ResolveError::BadArg(format!(
                "`{}` needs an argument, e.g. `{}[name]` or `{}.name`",
                def.name, def.name, def.name
            )));
        }
        (ArgSpec::KeyOrIndex, Some(a))
            if a.chars().all(|c| c.is_ascii_digit()) && !a.is_empty() =>
        {
            FieldArg::Index(a.parse().unwrap_or(u32::MAX))
        }
        (ArgSpec::Key | ArgSpec::KeyOrIndex, Some(a)) => FieldArg::Key(a.to_string()),
    };
    Ok((def, arg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_names_are_unique() {
        let mut names: Vec<_> = CATALOG.iter().map(|f| f.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len());
    }

    #[test]
    fn dotted_and_bracket_arguments_resolve() {
        let (d, a) = resolve("evt.arg.flags", None).unwrap();
        assert_eq!((d.name, a), ("evt.arg", FieldArg::Key("flags".into())));
        let (d, a) = resolve("evt.arg", Some("1")).unwrap();
        assert_eq!((d.name, a), ("evt.arg", FieldArg::Index(1)));
        let (d, a) = resolve("proc.aname", Some("2")).unwrap();
        assert_eq!((d.name, a), ("proc.aname", FieldArg::Index(2)));
        let (d, a) = resolve("container.label.io.kubernetes.pod.name", None).unwrap();
        assert_eq!(
            (d.name, a),
            (
                "container.label",
                FieldArg::Key("io.kubernetes.pod.name".into())
            )
        );
        assert_eq!(
            resolve("proc.foo", None).unwrap_err(),
            ResolveError::Unknown
        );
        assert!(matches!(
            resolve("proc.name", Some("1")),
            Err(ResolveError::BadArg(_))
        ));
        assert!(matches!(
            resolve("proc.aname", Some("x")),
            Err(ResolveError::BadArg(_))
        ));
    }

    #[test]
    fn image_split_handles_registry_ports_and_digests() {
        assert_eq!(split_image("nginx:1.25"), ("nginx", Some("1.25")));
        assert_eq!(
            split_image("reg:5000/team/app"),
            ("reg:5000/team/app", None)
        );
        assert_eq!(
            split_image("reg:5000/app:v1@sha256:ab"),
            ("reg:5000/app", Some("v1"))
        );
    }

    #[test]
    fn time_formats_in_utc() {
        let mut s = String::new();
        write_time(&mut s, 1_700_000_000_123_456_789, true, true, true);
        assert_eq!(s, "2023-11-14T22:13:20.123456789Z");
    }
}
