//! Reader for the kernel's BTF (BPF Type Format) blob, normally
//! `/sys/kernel/btf/vmlinux`.
//!
//! This module owns one job: turning kernel type information into the byte
//! offsets and sizes of struct/union members (and enumerator values), so that
//! our eBPF programs, which are written in Rust and therefore get no CO-RE
//! relocations, can be handed the right field offsets for the running kernel
//! at load time.
//!
//! It is hand-written from the format description in the kernel's
//! `Documentation/bpf/btf.rst` on purpose: the `btf-rs` crate is LGPL-2.1, and
//! aya-obj's public BTF API does not expose struct members. The parser is
//! little-endian only, never panics on any input (all reads are bounds-checked)
//! and bounds every walk over type references, so a corrupt blob yields an
//! error rather than a crash or a hang.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the running kernel exposes its own BTF.
const SYS_FS_VMLINUX: &str = "/sys/kernel/btf/vmlinux";

const MAGIC: u16 = 0xeb9f;
const MAGIC_SWAPPED: u16 = 0x9feb;
const HEADER_LEN: usize = 24;
const TYPE_HEADER_LEN: usize = 12;

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// Longest typedef/const/volatile/array chain we follow before calling the
/// blob cyclic.
const MAX_CHAIN: usize = 64;
/// Deepest nesting of anonymous struct/union members we search.
const MAX_ANON_DEPTH: usize = 32;
/// Total number of members one lookup may visit (guards against a crafted
/// blob whose anonymous members fan out exponentially).
const MAX_MEMBER_VISITS: usize = 1 << 20;

/// Errors from reading BTF or looking things up in it.
#[derive(Debug, thiserror::Error)]
pub enum BtfError {
    #[error("cannot read kernel BTF from {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("malformed BTF at byte {offset}: {what}")]
    Malformed { offset: usize, what: String },
    #[error("unsupported BTF: {what}")]
    Unsupported { what: String },
    #[error("kernel BTF has no struct or union `{name}` ({origin})")]
    NoSuchType { name: String, origin: String },
    #[error("kernel BTF has no member `{member}` in {kind} `{ty}` ({origin})")]
    NoSuchMember {
        ty: String,
        member: String,
        /// "struct" or "union".
        kind: &'static str,
        origin: String,
    },
    #[error(
        "member `{member}` of {kind} `{ty}` is a bitfield and has no byte offset or size ({origin})"
    )]
    Bitfield {
        ty: String,
        member: String,
        kind: &'static str,
        origin: String,
    },
    #[error("kernel BTF type `{name}` is a {kind}, not a struct or union ({origin})")]
    NotComposite {
        name: String,
        kind: &'static str,
        origin: String,
    },
    #[error("cannot determine the size of member `{member}` of {kind} `{ty}` ({origin})")]
    Unsized {
        ty: String,
        member: String,
        kind: &'static str,
        origin: String,
    },
}

fn malformed(offset: usize, what: impl Into<String>) -> BtfError {
    BtfError::Malformed {
        offset,
        what: what.into(),
    }
}

fn le_u16(data: &[u8], off: usize) -> Option<u16> {
    let end = off.checked_add(2)?;
    let b: [u8; 2] = data.get(off..end)?.try_into().ok()?;
    Some(u16::from_le_bytes(b))
}

fn le_u32(data: &[u8], off: usize) -> Option<u32> {
    let end = off.checked_add(4)?;
    let b: [u8; 4] = data.get(off..end)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// The NUL-terminated string at `off` in the string section `data[start..end]`
/// (without the NUL), or None when `off` is out of range. Offset 0 is "".
fn str_at_in(data: &[u8], start: usize, end: usize, off: u32) -> Option<&[u8]> {
    if off == 0 {
        return Some(b"");
    }
    let s = start.checked_add(off as usize)?;
    let tail = data.get(s..end)?;
    let nul = tail.iter().position(|&b| b == 0)?;
    tail.get(..nul)
}

fn kind_name(kind: u32) -> &'static str {
    match kind {
        KIND_INT => "int",
        KIND_PTR => "pointer",
        KIND_ARRAY => "array",
        KIND_STRUCT => "struct",
        KIND_UNION => "union",
        KIND_ENUM | KIND_ENUM64 => "enum",
        KIND_FWD => "forward declaration",
        KIND_TYPEDEF => "typedef",
        KIND_VOLATILE => "volatile",
        KIND_CONST => "const",
        KIND_RESTRICT => "restrict",
        KIND_FUNC => "function",
        KIND_FUNC_PROTO => "function prototype",
        KIND_VAR => "variable",
        KIND_DATASEC => "data section",
        KIND_FLOAT => "float",
        KIND_DECL_TAG => "decl tag",
        KIND_TYPE_TAG => "type tag",
        _ => "unknown kind",
    }
}

/// One entry of the type section, as read from the blob.
#[derive(Clone, Copy)]
struct RawType {
    info: u32,
    size_or_type: u32,
    /// Absolute offset in the blob of the kind-specific data that follows the
    /// 12-byte type header.
    data: usize,
}

impl RawType {
    fn kind(&self) -> u32 {
        (self.info >> 24) & 0x1f
    }
    fn vlen(&self) -> usize {
        (self.info & 0xffff) as usize
    }
    fn kflag(&self) -> bool {
        self.info >> 31 == 1
    }
    fn is_composite(&self) -> bool {
        matches!(self.kind(), KIND_STRUCT | KIND_UNION)
    }
    fn is_modifier_or_typedef(&self) -> bool {
        matches!(
            self.kind(),
            KIND_TYPEDEF | KIND_CONST | KIND_VOLATILE | KIND_RESTRICT | KIND_TYPE_TAG
        )
    }
}

/// Preference when one name is carried by several types: a struct/union with
/// members beats an empty one, which beats a typedef, which beats scalars,
/// which beat forward declarations.
fn name_rank(t: &RawType) -> Option<u8> {
    match t.kind() {
        KIND_STRUCT | KIND_UNION if t.vlen() > 0 => Some(5),
        KIND_STRUCT | KIND_UNION => Some(4),
        KIND_TYPEDEF => Some(3),
        KIND_ENUM | KIND_ENUM64 | KIND_INT | KIND_FLOAT => Some(2),
        KIND_FWD => Some(1),
        _ => None,
    }
}

/// A member found by [`Btf::find_member`].
struct Found {
    /// Offset in bits from the start of the outermost type.
    bit_offset: u64,
    /// Whether the member is encoded as a bitfield.
    bitfield: bool,
    type_id: u32,
}

enum Lookup {
    NoType,
    NoMember { kind: &'static str },
    Member { kind: &'static str, found: Found },
}

/// Parsed kernel BTF: the raw blob plus an index of type names and type
/// headers. Immutable after parsing; cheap to query.
pub struct Btf {
    data: Vec<u8>,
    str_start: usize,
    str_end: usize,
    /// `types[i]` is type id `i + 1` (id 0 is `void`).
    types: Vec<RawType>,
    /// Name -> (type id, preference rank), for struct/union/typedef/enum/
    /// int/float/fwd types.
    names: HashMap<Box<str>, (u32, u8)>,
    ptr_size: u32,
    origin: String,
}

impl fmt::Debug for Btf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Btf")
            .field("origin", &self.origin)
            .field("bytes", &self.data.len())
            .field("types", &self.types.len())
            .finish_non_exhaustive()
    }
}

impl Btf {
    /// Reads and parses the running kernel's BTF from `/sys/kernel/btf/vmlinux`.
    pub fn from_sys_fs() -> Result<Btf, BtfError> {
        Btf::from_path(Path::new(SYS_FS_VMLINUX))
    }

    /// Reads and parses a raw BTF blob from a file.
    pub fn from_path(path: &Path) -> Result<Btf, BtfError> {
        let data = std::fs::read(path).map_err(|source| BtfError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Btf::parse_owned(data, path.display().to_string()).map_err(|e| match e {
            BtfError::Malformed { offset, what } => BtfError::Malformed {
                offset,
                what: format!("{what} ({})", path.display()),
            },
            BtfError::Unsupported { what } => BtfError::Unsupported {
                what: format!("{what} ({})", path.display()),
            },
            other => other,
        })
    }

    /// Parses a raw BTF blob. Never panics, whatever the input.
    pub fn parse(bytes: &[u8]) -> Result<Btf, BtfError> {
        Btf::parse_owned(bytes.to_vec(), "in-memory BTF blob".to_string())
    }

    fn parse_owned(data: Vec<u8>, origin: String) -> Result<Btf, BtfError> {
        let magic = le_u16(&data, 0).ok_or_else(|| {
            malformed(
                0,
                format!(
                    "blob is only {} bytes, shorter than the BTF header",
                    data.len()
                ),
            )
        })?;
        if magic == MAGIC_SWAPPED {
            return Err(BtfError::Unsupported {
                what: "blob is big-endian (byte-swapped magic 0x9feb); only little-endian BTF is supported"
                    .to_string(),
            });
        }
        if magic != MAGIC {
            return Err(malformed(
                0,
                format!("bad magic {magic:#06x}, expected {MAGIC:#06x}"),
            ));
        }
        let version = *data
            .get(2)
            .ok_or_else(|| malformed(2, "truncated header"))?;
        if version != 1 {
            return Err(BtfError::Unsupported {
                what: format!("BTF version {version}, only version 1 is supported"),
            });
        }
        let field = |off: usize, name: &str| {
            le_u32(&data, off)
                .map(|v| v as usize)
                .ok_or_else(|| malformed(off, format!("header truncated before `{name}`")))
        };
        let hdr_len = field(4, "hdr_len")?;
        let type_off = field(8, "type_off")?;
        let type_len = field(12, "type_len")?;
        let str_off = field(16, "str_off")?;
        let str_len = field(20, "str_len")?;
        if hdr_len < HEADER_LEN {
            return Err(malformed(
                4,
                format!("hdr_len {hdr_len} is below {HEADER_LEN}"),
            ));
        }
        let section = |off: usize, len: usize, name: &str| {
            let start = hdr_len.checked_add(off);
            let end = start.and_then(|s| s.checked_add(len));
            match (start, end) {
                (Some(s), Some(e)) if e <= data.len() => Ok((s, e)),
                _ => Err(malformed(
                    4,
                    format!(
                        "{name} section (hdr_len {hdr_len} + offset {off}, length {len}) extends past the {}-byte blob",
                        data.len()
                    ),
                )),
            }
        };
        let (type_start, type_end) = section(type_off, type_len, "type")?;
        let (str_start, str_end) = section(str_off, str_len, "string")?;
        if str_end > str_start && data.get(str_end - 1) != Some(&0) {
            return Err(malformed(
                str_end.saturating_sub(1),
                "string section does not end with a NUL byte",
            ));
        }

        let mut types: Vec<RawType> = Vec::with_capacity(type_len / 16);
        let mut names: HashMap<Box<str>, (u32, u8)> = HashMap::new();
        let mut pos = type_start;
        while pos < type_end {
            let id = types.len() + 1;
            let hdr_end = pos + TYPE_HEADER_LEN; // pos < type_end <= data.len(): no overflow
            if hdr_end > type_end {
                return Err(malformed(
                    pos,
                    format!("type id {id}: header truncated by end of type section"),
                ));
            }
            let (Some(name_off), Some(info), Some(size_or_type)) = (
                le_u32(&data, pos),
                le_u32(&data, pos + 4),
                le_u32(&data, pos + 8),
            ) else {
                return Err(malformed(pos, format!("type id {id}: truncated header")));
            };
            let t = RawType {
                info,
                size_or_type,
                data: hdr_end,
            };
            let vlen = t.vlen();
            let extra = match t.kind() {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => vlen * 12,
                KIND_ENUM | KIND_FUNC_PROTO => vlen * 8,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
                k => {
                    return Err(malformed(
                        pos,
                        format!("type id {id}: unknown BTF kind {k}"),
                    ));
                }
            };
            let next = hdr_end + extra;
            if next > type_end {
                return Err(malformed(
                    pos,
                    format!(
                        "type id {id} ({}) with {vlen} entries extends past the end of the type section",
                        kind_name(t.kind())
                    ),
                ));
            }
            let name = str_at_in(&data, str_start, str_end, name_off).ok_or_else(|| {
                malformed(
                    pos,
                    format!("type id {id}: name offset {name_off} is outside the string section"),
                )
            })?;
            if let Some(rank) = name_rank(&t)
                && !name.is_empty()
                && let Ok(name) = std::str::from_utf8(name)
            {
                let id = u32::try_from(id).map_err(|_| malformed(pos, "too many types"))?;
                match names.get_mut(name) {
                    Some(slot) if rank > slot.1 => *slot = (id, rank),
                    Some(_) => {}
                    None => {
                        names.insert(name.into(), (id, rank));
                    }
                }
            }
            types.push(t);
            pos = next;
        }

        // Pointer size follows `long`, as libbpf guesses it; default 64-bit.
        let mut ptr_size = 8;
        for long in ["long int", "long unsigned int", "long", "unsigned long"] {
            if let Some(&(id, _)) = names.get(long)
                && let Some(t) = id.checked_sub(1).and_then(|i| types.get(i as usize))
                && t.kind() == KIND_INT
                && matches!(t.size_or_type, 4 | 8)
            {
                ptr_size = t.size_or_type;
                break;
            }
        }
        Ok(Btf {
            data,
            str_start,
            str_end,
            types,
            names,
            ptr_size,
            origin,
        })
    }

    /// Type id of the function (`FUNC`) named `name`, e.g. a kfunc.
    pub fn func_id(&self, name: &str) -> Option<u32> {
        self.types
            .iter()
            .position(|t| t.kind() == KIND_FUNC && self.type_name(t) == Some(name.as_bytes()))
            .and_then(|i| u32::try_from(i + 1).ok())
    }

    /// Type id of the struct named `name`.
    pub fn struct_id(&self, name: &str) -> Option<u32> {
        let &(id, _) = self.names.get(name)?;
        let t = self.types.get(id.checked_sub(1)? as usize)?;
        (t.kind() == KIND_STRUCT).then_some(id)
    }

    fn type_name(&self, t: &RawType) -> Option<&[u8]> {
        let at = t.data.checked_sub(TYPE_HEADER_LEN)?;
        let off = u32::from_le_bytes(self.data.get(at..at + 4)?.try_into().ok()?);
        str_at_in(&self.data, self.str_start, self.str_end, off)
    }

    /// Number of types in the blob, not counting the implicit `void` (id 0).
    pub fn type_count(&self) -> usize {
        self.types.len()
    }

    /// Byte offset of `member` in struct/union `ty`.
    ///
    /// Members of anonymous struct/union members are found transparently
    /// (their offsets are added). `member` may also be a dotted path through
    /// embedded (not pointed-to) structs/unions, e.g. `"f_path.dentry"` in
    /// `file`. `ty` may name a typedef (or const/volatile) of a struct/union.
    pub fn member_offset(&self, ty: &str, member: &str) -> Result<u32, BtfError> {
        self.try_member_offset(ty, member)?
            .ok_or_else(|| self.missing_error(ty, member))
    }

    /// Like [`Btf::member_offset`] but `Ok(None)` when the type or member does
    /// not exist (for fields that differ between kernel versions). Errors are
    /// kept for bitfields, non-struct types and malformed BTF.
    pub fn try_member_offset(&self, ty: &str, member: &str) -> Result<Option<u32>, BtfError> {
        match self.lookup(ty, member)? {
            Lookup::NoType | Lookup::NoMember { .. } => Ok(None),
            Lookup::Member { kind, found } => {
                if found.bitfield || found.bit_offset % 8 != 0 {
                    return Err(self.bitfield_error(ty, member, kind));
                }
                let bytes = u32::try_from(found.bit_offset / 8).map_err(|_| {
                    malformed(
                        0,
                        format!("offset of `{member}` in `{ty}` does not fit in 32 bits"),
                    )
                })?;
                Ok(Some(bytes))
            }
        }
    }

    /// Size in bytes of the type of `member` in struct/union `ty` (typedefs
    /// and const/volatile resolved; pointers have the size of `long`).
    pub fn member_size(&self, ty: &str, member: &str) -> Result<u32, BtfError> {
        match self.lookup(ty, member)? {
            Lookup::NoType | Lookup::NoMember { .. } => Err(self.missing_error(ty, member)),
            Lookup::Member { kind, found } => {
                if found.bitfield || found.bit_offset % 8 != 0 {
                    return Err(self.bitfield_error(ty, member, kind));
                }
                match self.type_size(found.type_id)? {
                    Some(size) => u32::try_from(size).map_err(|_| {
                        malformed(
                            0,
                            format!("size of `{ty}.{member}` does not fit in 32 bits"),
                        )
                    }),
                    None => Err(BtfError::Unsized {
                        ty: ty.to_string(),
                        member: member.to_string(),
                        kind,
                        origin: self.origin.clone(),
                    }),
                }
            }
        }
    }

    /// Size in bytes of struct/union `ty` (or of a typedef of one).
    pub fn struct_size(&self, ty: &str) -> Result<u32, BtfError> {
        match self.composite(ty)? {
            Some(t) => Ok(t.size_or_type),
            None => Err(self.no_such_type(ty)),
        }
    }

    /// Value of enumerator `enumerator` in any ENUM or ENUM64 type, e.g.
    /// `"BPF_MAP_TYPE_RINGBUF"`. Unsigned 64-bit values above `i64::MAX` are
    /// returned reinterpreted as `i64`.
    pub fn enum_value(&self, enumerator: &str) -> Option<i64> {
        let want = enumerator.as_bytes();
        if want.is_empty() {
            return None;
        }
        for t in &self.types {
            let (stride, is64) = match t.kind() {
                KIND_ENUM => (8, false),
                KIND_ENUM64 => (12, true),
                _ => continue,
            };
            for i in 0..t.vlen() {
                let at = t.data + i * stride;
                let Some(name_off) = le_u32(&self.data, at) else {
                    break;
                };
                if !self.str_eq(name_off, want) {
                    continue;
                }
                let lo = le_u32(&self.data, at + 4)?;
                return Some(if is64 {
                    let hi = le_u32(&self.data, at + 8)?;
                    ((u64::from(hi) << 32) | u64::from(lo)) as i64
                } else if t.kflag() {
                    i64::from(lo as i32)
                } else {
                    i64::from(lo)
                });
            }
        }
        None
    }

    // ---- internals -------------------------------------------------------

    fn entry(&self, id: u32) -> Option<&RawType> {
        let idx = usize::try_from(id.checked_sub(1)?).ok()?;
        self.types.get(idx)
    }

    fn entry_or_err(&self, id: u32, referrer: usize) -> Result<&RawType, BtfError> {
        self.entry(id).ok_or_else(|| {
            malformed(
                referrer,
                format!(
                    "reference to type id {id}, but the blob has only {} types",
                    self.types.len()
                ),
            )
        })
    }

    /// Whether the string at `off` equals `want` exactly.
    fn str_eq(&self, off: u32, want: &[u8]) -> bool {
        if off == 0 {
            return want.is_empty();
        }
        let Some(s) = self.str_start.checked_add(off as usize) else {
            return false;
        };
        let Some(e) = s.checked_add(want.len()) else {
            return false;
        };
        e < self.str_end && self.data.get(s..e) == Some(want) && self.data.get(e) == Some(&0)
    }

    /// Follows typedef/const/volatile/restrict/type_tag from `id`. Returns
    /// None for `void`.
    fn resolve(&self, mut id: u32, referrer: usize) -> Result<Option<(u32, RawType)>, BtfError> {
        for _ in 0..MAX_CHAIN {
            if id == 0 {
                return Ok(None);
            }
            let t = *self.entry_or_err(id, referrer)?;
            if !t.is_modifier_or_typedef() {
                return Ok(Some((id, t)));
            }
            id = t.size_or_type;
        }
        Err(malformed(
            referrer,
            format!("typedef/modifier chain longer than {MAX_CHAIN} (cycle?)"),
        ))
    }

    /// The struct/union named `name` (directly or via typedef). Ok(None) when
    /// there is no such name or only a forward declaration.
    fn composite(&self, name: &str) -> Result<Option<RawType>, BtfError> {
        let Some(&(id, _)) = self.names.get(name) else {
            return Ok(None);
        };
        let start = self.entry(id).map_or(0, |t| t.data - TYPE_HEADER_LEN);
        match self.resolve(id, start)? {
            None => Ok(None),
            Some((_, t)) if t.kind() == KIND_FWD => Ok(None),
            Some((_, t)) if t.is_composite() => Ok(Some(t)),
            Some((_, t)) => Err(BtfError::NotComposite {
                name: name.to_string(),
                kind: kind_name(t.kind()),
                origin: self.origin.clone(),
            }),
        }
    }

    fn lookup(&self, ty: &str, member: &str) -> Result<Lookup, BtfError> {
        let Some(t) = self.composite(ty)? else {
            return Ok(Lookup::NoType);
        };
        let kind = kind_name(t.kind());
        let mut container = t;
        let mut total: u64 = 0;
        let mut bitfield = false;
        let mut segments = member.split('.').peekable();
        let mut walked = String::new();
        let mut last_type = 0;
        while let Some(seg) = segments.next() {
            if seg.is_empty() {
                return Ok(Lookup::NoMember { kind });
            }
            let mut visits = 0;
            let Some(found) = self.find_member(&container, seg.as_bytes(), 0, &mut visits)? else {
                return Ok(Lookup::NoMember { kind });
            };
            total = total.saturating_add(found.bit_offset);
            bitfield |= found.bitfield;
            last_type = found.type_id;
            if !walked.is_empty() {
                walked.push('.');
            }
            walked.push_str(seg);
            if segments.peek().is_some() {
                match self.resolve(found.type_id, container.data)? {
                    Some((_, t)) if t.is_composite() => container = t,
                    other => {
                        return Err(BtfError::NotComposite {
                            name: format!("{ty}.{walked}"),
                            kind: other.map_or("void", |(_, t)| kind_name(t.kind())),
                            origin: self.origin.clone(),
                        });
                    }
                }
            }
        }
        Ok(Lookup::Member {
            kind,
            found: Found {
                bit_offset: total,
                bitfield,
                type_id: last_type,
            },
        })
    }

    /// Searches the members of struct/union `t` for `want`, descending into
    /// anonymous struct/union members.
    fn find_member(
        &self,
        t: &RawType,
        want: &[u8],
        depth: usize,
        visits: &mut usize,
    ) -> Result<Option<Found>, BtfError> {
        if depth > MAX_ANON_DEPTH {
            return Err(malformed(
                t.data,
                format!("anonymous members nested deeper than {MAX_ANON_DEPTH} (cycle?)"),
            ));
        }
        let str_len = self.str_end - self.str_start;
        for i in 0..t.vlen() {
            *visits += 1;
            if *visits > MAX_MEMBER_VISITS {
                return Err(malformed(
                    t.data,
                    "too many members visited while searching anonymous members",
                ));
            }
            let at = t.data + i * 12;
            let (Some(name_off), Some(type_id), Some(raw_off)) = (
                le_u32(&self.data, at),
                le_u32(&self.data, at + 4),
                le_u32(&self.data, at + 8),
            ) else {
                return Err(malformed(at, "member record truncated"));
            };
            if name_off != 0 && name_off as usize >= str_len {
                return Err(malformed(
                    at,
                    format!("member name offset {name_off} is outside the string section"),
                ));
            }
            let (bit_offset, bitfield_size) = if t.kflag() {
                (raw_off & 0x00ff_ffff, raw_off >> 24)
            } else {
                (raw_off, 0)
            };
            if self.str_eq(name_off, want) {
                let bitfield =
                    bitfield_size != 0 || (!t.kflag() && self.is_int_bitfield(type_id, at)?);
                return Ok(Some(Found {
                    bit_offset: u64::from(bit_offset),
                    bitfield,
                    type_id,
                }));
            }
            if !self.str_eq(name_off, b"") {
                continue;
            }
            // Anonymous member: look inside if it is a struct/union.
            if let Some((_, inner)) = self.resolve(type_id, at)?
                && inner.is_composite()
                && let Some(mut found) = self.find_member(&inner, want, depth + 1, visits)?
            {
                found.bit_offset = found.bit_offset.saturating_add(u64::from(bit_offset));
                found.bitfield |= bitfield_size != 0;
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Old-style bitfield encoding (struct kind_flag clear): the member's INT
    /// type carries a bit offset or a bit count narrower than its size.
    fn is_int_bitfield(&self, type_id: u32, referrer: usize) -> Result<bool, BtfError> {
        match self.resolve(type_id, referrer)? {
            Some((_, t)) if t.kind() == KIND_INT => {
                let enc = le_u32(&self.data, t.data)
                    .ok_or_else(|| malformed(t.data, "INT encoding truncated"))?;
                let bits = u64::from(enc & 0xff);
                let offset = (enc >> 16) & 0xff;
                Ok(offset != 0 || bits != u64::from(t.size_or_type) * 8)
            }
            _ => Ok(false),
        }
    }

    /// Size in bytes of type `id`, None when it has no size (void,
    /// function, forward declaration).
    fn type_size(&self, mut id: u32) -> Result<Option<u64>, BtfError> {
        let mut multiplier: u64 = 1;
        for _ in 0..MAX_CHAIN {
            let Some((_, t)) = self.resolve(id, 0)? else {
                return Ok(None);
            };
            let size = match t.kind() {
                KIND_INT | KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_FLOAT
                | KIND_DATASEC => u64::from(t.size_or_type),
                KIND_PTR => u64::from(self.ptr_size),
                KIND_ARRAY => {
                    let (Some(elem), Some(nelems)) =
                        (le_u32(&self.data, t.data), le_u32(&self.data, t.data + 8))
                    else {
                        return Err(malformed(t.data, "array record truncated"));
                    };
                    multiplier = multiplier
                        .checked_mul(u64::from(nelems))
                        .ok_or_else(|| malformed(t.data, "array size overflows"))?;
                    id = elem;
                    continue;
                }
                _ => return Ok(None),
            };
            return multiplier
                .checked_mul(size)
                .map(Some)
                .ok_or_else(|| malformed(t.data, "array size overflows"));
        }
        Err(malformed(
            0,
            format!("array nesting deeper than {MAX_CHAIN} (cycle?)"),
        ))
    }

    fn no_such_type(&self, ty: &str) -> BtfError {
        BtfError::NoSuchType {
            name: ty.to_string(),
            origin: self.origin.clone(),
        }
    }

    /// The error for a lookup that found nothing.
    fn missing_error(&self, ty: &str, member: &str) -> BtfError {
        match self.lookup(ty, member) {
            Ok(Lookup::NoMember { kind }) => BtfError::NoSuchMember {
                ty: ty.to_string(),
                member: member.to_string(),
                kind,
                origin: self.origin.clone(),
            },
            Err(e) => e,
            _ => self.no_such_type(ty),
        }
    }

    fn bitfield_error(&self, ty: &str, member: &str, kind: &'static str) -> BtfError {
        BtfError::Bitfield {
            ty: ty.to_string(),
            member: member.to_string(),
            kind,
            origin: self.origin.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Minimal writer of little-endian BTF blobs for tests.
    struct Builder {
        types: Vec<u8>,
        strs: Vec<u8>,
        count: u32,
    }

    impl Builder {
        fn new() -> Builder {
            Builder {
                types: Vec::new(),
                strs: vec![0],
                count: 0,
            }
        }

        fn s(&mut self, s: &str) -> u32 {
            if s.is_empty() {
                return 0;
            }
            let off = self.strs.len() as u32;
            self.strs.extend_from_slice(s.as_bytes());
            self.strs.push(0);
            off
        }

        fn u32(&mut self, v: u32) {
            self.types.extend_from_slice(&v.to_le_bytes());
        }

        fn head(
            &mut self,
            name: &str,
            kind: u32,
            vlen: u32,
            kflag: bool,
            size_or_type: u32,
        ) -> u32 {
            let name_off = self.s(name);
            self.u32(name_off);
            self.u32((u32::from(kflag) << 31) | (kind << 24) | vlen);
            self.u32(size_or_type);
            self.count += 1;
            self.count
        }

        fn int_enc(&mut self, name: &str, size: u32, bits: u32, bit_off: u32) -> u32 {
            let id = self.head(name, KIND_INT, 0, false, size);
            self.u32((bit_off << 16) | bits);
            id
        }

        fn int(&mut self, name: &str, size: u32) -> u32 {
            self.int_enc(name, size, size * 8, 0)
        }

        fn ptr(&mut self, to: u32) -> u32 {
            self.head("", KIND_PTR, 0, false, to)
        }

        fn typedef(&mut self, name: &str, to: u32) -> u32 {
            self.head(name, KIND_TYPEDEF, 0, false, to)
        }

        fn cnst(&mut self, to: u32) -> u32 {
            self.head("", KIND_CONST, 0, false, to)
        }

        fn fwd(&mut self, name: &str) -> u32 {
            self.head(name, KIND_FWD, 0, false, 0)
        }

        fn array(&mut self, elem: u32, index: u32, nelems: u32) -> u32 {
            let id = self.head("", KIND_ARRAY, 0, false, 0);
            self.u32(elem);
            self.u32(index);
            self.u32(nelems);
            id
        }

        /// `members`: (name, type id, offset field as stored).
        fn comp(
            &mut self,
            kind: u32,
            name: &str,
            size: u32,
            kflag: bool,
            members: &[(&str, u32, u32)],
        ) -> u32 {
            let id = self.head(name, kind, members.len() as u32, kflag, size);
            for &(m, ty, off) in members {
                let m = self.s(m);
                self.u32(m);
                self.u32(ty);
                self.u32(off);
            }
            id
        }

        fn strukt(&mut self, name: &str, size: u32, members: &[(&str, u32, u32)]) -> u32 {
            self.comp(KIND_STRUCT, name, size, false, members)
        }

        fn union(&mut self, name: &str, size: u32, members: &[(&str, u32, u32)]) -> u32 {
            self.comp(KIND_UNION, name, size, false, members)
        }

        fn enm(&mut self, name: &str, signed: bool, vals: &[(&str, u32)]) -> u32 {
            let id = self.head(name, KIND_ENUM, vals.len() as u32, signed, 4);
            for &(n, v) in vals {
                let n = self.s(n);
                self.u32(n);
                self.u32(v);
            }
            id
        }

        fn enum64(&mut self, name: &str, signed: bool, vals: &[(&str, u64)]) -> u32 {
            let id = self.head(name, KIND_ENUM64, vals.len() as u32, signed, 8);
            for &(n, v) in vals {
                let n = self.s(n);
                self.u32(n);
                self.u32(v as u32);
                self.u32((v >> 32) as u32);
            }
            id
        }

        fn build(&self) -> Vec<u8> {
            let mut out = Vec::new();
            out.extend_from_slice(&MAGIC.to_le_bytes());
            out.push(1); // version
            out.push(0); // flags
            for v in [
                HEADER_LEN as u32,
                0,
                self.types.len() as u32,
                self.types.len() as u32,
                self.strs.len() as u32,
            ] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&self.types);
            out.extend_from_slice(&self.strs);
            out
        }
    }

    /// A blob exercising every feature the API relies on.
    fn sample() -> Vec<u8> {
        let mut b = Builder::new();
        let int = b.int("int", 4);
        let long = b.int("long int", 8);
        let ch = b.int_enc("char", 1, 8, 0);
        let pint = b.ptr(int);
        let cint = b.cnst(int);
        let u32t = b.typedef("u32", cint);
        let arr = b.array(ch, int, 16);
        // struct plain { int a; long b; u32 c; char name[16]; int *p; }  size 48
        let plain_id = b.strukt(
            "plain",
            48,
            &[
                ("a", int, 0),
                ("b", long, 64),
                ("c", u32t, 128),
                ("name", arr, 160),
                ("p", pint, 320),
            ],
        );
        // struct outer { int x; union { int y; long z; }; struct { int p; struct { int q; }; }; }
        let inner2 = b.strukt("", 4, &[("q", int, 0)]);
        let inner = b.strukt("", 8, &[("p", int, 0), ("", inner2, 32)]);
        let un = b.union("", 8, &[("y", int, 0), ("z", long, 0)]);
        b.strukt(
            "outer",
            24,
            &[("x", int, 0), ("", un, 64), ("", inner, 128)],
        );
        // typedef struct { int a; int b; } anon_t;
        let anon = b.strukt("", 8, &[("a", int, 0), ("b", int, 32)]);
        b.typedef("anon_t", anon);
        // A FWD, an empty struct, a typedef and the real struct, all "dup".
        let fwd = b.fwd("dup");
        b.strukt("dup", 0, &[]);
        b.typedef("dup", fwd);
        b.strukt("dup", 16, &[("first", long, 0), ("second", long, 64)]);
        b.fwd("dup");
        // Only a forward declaration.
        b.fwd("only_fwd");
        // struct bits { int flags:3 (kflag encoding); int after; }
        b.comp(
            KIND_STRUCT,
            "bits",
            8,
            true,
            &[("flags", int, 3 << 24), ("after", int, 32)],
        );
        // Old-style bitfield: kind_flag clear, INT encodes 5 bits at bit offset 0.
        let int5 = b.int_enc("", 4, 5, 0);
        b.strukt("oldbits", 8, &[("five", int5, 0), ("mis", int, 12)]);
        // struct nest { struct plain pl; struct plain *pp; }
        let pplain = b.ptr(plain_id);
        b.strukt("nest", 56, &[("pl", plain_id, 0), ("pp", pplain, 384)]);
        b.enm("colour", false, &[("RED", 0), ("BIG", 0xffff_fff0)]);
        b.enm("sign", true, &[("MINUS_ONE", u32::MAX)]);
        b.enum64("wide", false, &[("HUGE", 1 << 40)]);
        b.typedef("myint", int);
        b.build()
    }

    fn btf() -> Btf {
        Btf::parse(&sample()).expect("sample blob parses")
    }

    #[test]
    fn plain_members() {
        let b = btf();
        assert_eq!(b.member_offset("plain", "a").unwrap(), 0);
        assert_eq!(b.member_offset("plain", "b").unwrap(), 8);
        assert_eq!(b.member_offset("plain", "c").unwrap(), 16);
        assert_eq!(b.member_offset("plain", "name").unwrap(), 20);
        assert_eq!(b.member_offset("plain", "p").unwrap(), 40);
        assert_eq!(b.member_size("plain", "a").unwrap(), 4);
        assert_eq!(b.member_size("plain", "b").unwrap(), 8);
        assert_eq!(
            b.member_size("plain", "c").unwrap(),
            4,
            "typedef -> const -> int"
        );
        assert_eq!(b.member_size("plain", "name").unwrap(), 16, "char[16]");
        assert_eq!(b.member_size("plain", "p").unwrap(), 8, "pointer");
        assert_eq!(b.struct_size("plain").unwrap(), 48);
        assert_eq!(b.try_member_offset("plain", "b").unwrap(), Some(8));
    }

    #[test]
    fn anonymous_members_are_searched() {
        let b = btf();
        assert_eq!(b.member_offset("outer", "x").unwrap(), 0);
        assert_eq!(b.member_offset("outer", "y").unwrap(), 8);
        assert_eq!(b.member_offset("outer", "z").unwrap(), 8);
        assert_eq!(b.member_offset("outer", "p").unwrap(), 16);
        assert_eq!(
            b.member_offset("outer", "q").unwrap(),
            20,
            "two levels deep"
        );
        assert_eq!(b.member_size("outer", "z").unwrap(), 8);
        assert_eq!(b.struct_size("outer").unwrap(), 24);
        // An anonymous member is not reachable by the empty name.
        assert!(b.try_member_offset("outer", "").unwrap().is_none());
    }

    #[test]
    fn typedef_of_struct() {
        let b = btf();
        assert_eq!(b.member_offset("anon_t", "b").unwrap(), 4);
        assert_eq!(b.struct_size("anon_t").unwrap(), 8);
    }

    #[test]
    fn duplicate_names_prefer_struct_with_members() {
        let b = btf();
        assert_eq!(b.member_offset("dup", "second").unwrap(), 8);
        assert_eq!(b.struct_size("dup").unwrap(), 16);
        let e = b.struct_size("only_fwd").unwrap_err();
        assert!(matches!(e, BtfError::NoSuchType { .. }), "{e}");
        assert_eq!(b.try_member_offset("only_fwd", "x").unwrap(), None);
    }

    #[test]
    fn dotted_path_through_embedded_struct() {
        let b = btf();
        assert_eq!(b.member_offset("nest", "pl.b").unwrap(), 8);
        assert_eq!(b.member_size("nest", "pl.name").unwrap(), 16);
        let e = b.member_offset("nest", "pp.b").unwrap_err();
        assert!(matches!(e, BtfError::NotComposite { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "kernel BTF type `nest.pp` is a pointer, not a struct or union (in-memory BTF blob)"
        );
        assert_eq!(b.try_member_offset("nest", "pl.nope").unwrap(), None);
    }

    #[test]
    fn bitfields_are_rejected() {
        let b = btf();
        let e = b.member_offset("bits", "flags").unwrap_err();
        assert!(matches!(e, BtfError::Bitfield { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "member `flags` of struct `bits` is a bitfield and has no byte offset or size (in-memory BTF blob)"
        );
        assert!(b.try_member_offset("bits", "flags").is_err());
        assert!(matches!(
            b.member_size("bits", "flags"),
            Err(BtfError::Bitfield { .. })
        ));
        assert_eq!(b.member_offset("bits", "after").unwrap(), 4);
        // Old encoding: narrow INT type, or a bit offset not on a byte boundary.
        assert!(matches!(
            b.member_offset("oldbits", "five"),
            Err(BtfError::Bitfield { .. })
        ));
        assert!(matches!(
            b.member_offset("oldbits", "mis"),
            Err(BtfError::Bitfield { .. })
        ));
    }

    #[test]
    fn missing_type_and_member_messages() {
        let b = btf();
        let e = b.member_offset("plain", "real_parent").unwrap_err();
        assert!(matches!(e, BtfError::NoSuchMember { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "kernel BTF has no member `real_parent` in struct `plain` (in-memory BTF blob)"
        );
        let e = b.member_offset("task_struct", "pid").unwrap_err();
        assert!(matches!(e, BtfError::NoSuchType { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "kernel BTF has no struct or union `task_struct` (in-memory BTF blob)"
        );
        assert!(matches!(
            b.member_size("plain", "zz"),
            Err(BtfError::NoSuchMember { .. })
        ));
        assert!(matches!(
            b.struct_size("nope"),
            Err(BtfError::NoSuchType { .. })
        ));
        assert_eq!(b.try_member_offset("plain", "real_parent").unwrap(), None);
        assert_eq!(b.try_member_offset("task_struct", "pid").unwrap(), None);
        let e = b.member_offset("myint", "x").unwrap_err();
        assert!(
            matches!(e, BtfError::NotComposite { kind: "int", .. }),
            "{e}"
        );
        let e = b.struct_size("colour").unwrap_err();
        assert!(
            matches!(e, BtfError::NotComposite { kind: "enum", .. }),
            "{e}"
        );
    }

    #[test]
    fn union_wording() {
        let mut bl = Builder::new();
        let int = bl.int("int", 4);
        bl.union("u", 4, &[("a", int, 0)]);
        let b = Btf::parse(&bl.build()).unwrap();
        assert_eq!(
            b.member_offset("u", "b").unwrap_err().to_string(),
            "kernel BTF has no member `b` in union `u` (in-memory BTF blob)"
        );
    }

    #[test]
    fn enum_values() {
        let b = btf();
        assert_eq!(b.enum_value("RED"), Some(0));
        assert_eq!(b.enum_value("BIG"), Some(0xffff_fff0));
        assert_eq!(b.enum_value("MINUS_ONE"), Some(-1));
        assert_eq!(b.enum_value("HUGE"), Some(1 << 40));
        assert_eq!(b.enum_value("RE"), None);
        assert_eq!(b.enum_value(""), None);
    }

    #[test]
    fn type_count_excludes_void() {
        let mut bl = Builder::new();
        bl.int("int", 4);
        bl.fwd("x");
        assert_eq!(Btf::parse(&bl.build()).unwrap().type_count(), 2);
        assert_eq!(Btf::parse(&Builder::new().build()).unwrap().type_count(), 0);
    }

    #[test]
    fn header_errors() {
        assert!(matches!(Btf::parse(&[]), Err(BtfError::Malformed { .. })));
        let good = sample();
        let mut swapped = good.clone();
        swapped.swap(0, 1);
        let e = Btf::parse(&swapped).unwrap_err();
        assert!(matches!(e, BtfError::Unsupported { .. }), "{e}");
        assert!(e.to_string().contains("big-endian"), "{e}");
        let mut bad_version = good.clone();
        bad_version[2] = 2;
        assert!(matches!(
            Btf::parse(&bad_version),
            Err(BtfError::Unsupported { .. })
        ));
        let mut bad_magic = good.clone();
        bad_magic[0] = 0;
        assert!(matches!(
            Btf::parse(&bad_magic),
            Err(BtfError::Malformed { .. })
        ));
        let e = Btf::parse(&good[..good.len() - 1]).unwrap_err();
        assert!(matches!(e, BtfError::Malformed { .. }), "{e}");
    }

    #[test]
    fn unknown_kind_and_overlong_vlen() {
        let mut bl = Builder::new();
        bl.head("x", 20, 0, false, 0);
        assert!(matches!(
            Btf::parse(&bl.build()),
            Err(BtfError::Malformed { .. })
        ));
        let mut bl = Builder::new();
        bl.head("x", KIND_STRUCT, 3, false, 0); // claims 3 members, has none
        assert!(matches!(
            Btf::parse(&bl.build()),
            Err(BtfError::Malformed { .. })
        ));
    }

    #[test]
    fn cycles_are_errors_not_hangs() {
        // typedef a -> typedef b -> typedef a
        let mut bl = Builder::new();
        bl.typedef("a", 2);
        bl.typedef("b", 1);
        let b = Btf::parse(&bl.build()).unwrap();
        assert!(matches!(
            b.struct_size("a"),
            Err(BtfError::Malformed { .. })
        ));
        // struct s { struct s; } via an anonymous member pointing at itself.
        let mut bl = Builder::new();
        bl.strukt("s", 4, &[("", 1, 0)]);
        let b = Btf::parse(&bl.build()).unwrap();
        assert!(matches!(
            b.member_offset("s", "x"),
            Err(BtfError::Malformed { .. })
        ));
        // Dangling member type id.
        let mut bl = Builder::new();
        bl.strukt("d", 4, &[("", 99, 0), ("m", 77, 0)]);
        let b = Btf::parse(&bl.build()).unwrap();
        assert!(matches!(
            b.member_offset("d", "x"),
            Err(BtfError::Malformed { .. })
        ));
    }

    #[test]
    fn io_error_names_path() {
        let e = Btf::from_path(Path::new("/nonexistent/btf/vmlinux")).unwrap_err();
        assert!(matches!(e, BtfError::Io { .. }));
        assert!(e.to_string().contains("/nonexistent/btf/vmlinux"), "{e}");
    }

    // ---- the running kernel ----------------------------------------------

    fn vmlinux() -> Option<Btf> {
        if !Path::new(SYS_FS_VMLINUX).exists() {
            eprintln!("note: {SYS_FS_VMLINUX} missing; skipping test against kernel BTF");
            return None;
        }
        Some(Btf::from_sys_fs().expect("kernel BTF parses"))
    }

    #[test]
    fn vmlinux_offsets_are_plausible() {
        let Some(b) = vmlinux() else { return };
        assert!(b.type_count() > 10_000, "{}", b.type_count());
        let check = |ty: &str, member: &str, nonzero: bool| -> u32 {
            let off = b.member_offset(ty, member).unwrap();
            let size = b.member_size(ty, member).unwrap();
            let total = b.struct_size(ty).unwrap();
            eprintln!("{ty}.{member}: offset {off} size {size} (struct size {total})");
            assert!(size > 0);
            assert!(off + size <= total, "{ty}.{member} outside struct");
            if nonzero {
                assert_ne!(off, 0, "{ty}.{member}");
            }
            off
        };
        check("task_struct", "real_parent", true);
        let pid = check("task_struct", "pid", true);
        let tgid = check("task_struct", "tgid", true);
        assert_eq!(tgid, pid + 4, "pid_t pid; pid_t tgid; are adjacent");
        check("task_struct", "mm", true);
        let start = check("mm_struct", "arg_start", true);
        let end = check("mm_struct", "arg_end", true);
        assert_eq!(end, start + 8);
        check("mm_struct", "exe_file", true);
        check("file", "f_inode", true);
        // f_path sits in an anonymous union in recent kernels; dotted path into it.
        let path = b.member_offset("file", "f_path").unwrap();
        let dentry = b.member_offset("path", "dentry").unwrap();
        assert_eq!(
            b.member_offset("file", "f_path.dentry").unwrap(),
            path + dentry
        );
        check("inode", "i_ino", true);
        check("linux_binprm", "filename", true);
        check("cred", "uid", true);
        assert_eq!(b.member_size("task_struct", "tgid").unwrap(), 4);
        assert_eq!(b.member_size("task_struct", "pid").unwrap(), 4);
        assert_eq!(b.member_size("task_struct", "mm").unwrap(), 8);
        assert_eq!(b.member_size("task_struct", "real_parent").unwrap(), 8);
        assert_eq!(b.member_size("mm_struct", "arg_start").unwrap(), 8);
        assert_eq!(b.member_size("inode", "i_ino").unwrap(), 8);
        assert_eq!(b.member_size("cred", "uid").unwrap(), 4, "kuid_t");
        // mm_struct.arg_start sits inside an anonymous struct: it must not be
        // a direct member of mm_struct.
        let mm = b.composite("mm_struct").unwrap().unwrap();
        let direct = (0..mm.vlen())
            .any(|i| le_u32(&b.data, mm.data + i * 12).is_some_and(|n| b.str_eq(n, b"arg_start")));
        assert!(
            !direct,
            "expected arg_start inside an anonymous struct of mm_struct"
        );
        assert!(b.enum_value("BPF_MAP_TYPE_RINGBUF").is_some_and(|v| v > 0));
        assert_eq!(
            b.try_member_offset("task_struct", "no_such_field").unwrap(),
            None
        );
        assert_eq!(
            b.member_offset("task_struct", "no_such_field")
                .unwrap_err()
                .to_string(),
            "kernel BTF has no member `no_such_field` in struct `task_struct` (/sys/kernel/btf/vmlinux)"
        );
    }

    #[test]
    fn vmlinux_parse_time() {
        if !Path::new(SYS_FS_VMLINUX).exists() {
            eprintln!("note: {SYS_FS_VMLINUX} missing; skipping");
            return;
        }
        let bytes = std::fs::read(SYS_FS_VMLINUX).unwrap();
        let mut best = std::time::Duration::MAX;
        for _ in 0..5 {
            let t = std::time::Instant::now();
            let b = Btf::parse(&bytes).unwrap();
            best = best.min(t.elapsed());
            std::hint::black_box(b);
        }
        let t = std::time::Instant::now();
        let b = Btf::from_sys_fs().unwrap();
        let with_read = t.elapsed();
        eprintln!(
            "vmlinux: {} bytes, {} types, parse best-of-5 {best:?}, read+parse {with_read:?}",
            bytes.len(),
            b.type_count()
        );
    }

    // ---- robustness ------------------------------------------------------

    /// Runs every query on names that exist in the sample, to shake out
    /// panics in the lookup paths of a corrupted blob.
    fn poke(b: &Btf) {
        for ty in [
            "plain", "outer", "anon_t", "dup", "bits", "oldbits", "nest", "myint", "u32", "x",
        ] {
            for m in [
                "a", "b", "c", "name", "p", "q", "z", "flags", "five", "mis", "pl.b", "pp.b", "",
            ] {
                let _ = b.member_offset(ty, m);
                let _ = b.try_member_offset(ty, m);
                let _ = b.member_size(ty, m);
            }
            let _ = b.struct_size(ty);
        }
        for e in ["RED", "BIG", "MINUS_ONE", "HUGE"] {
            let _ = b.enum_value(e);
        }
        let _ = b.type_count();
    }

    fn header(type_len: u32, str_len: u32) -> Vec<u8> {
        let mut out = vec![0x9f, 0xeb, 1, 0];
        for v in [24u32, 0, type_len, type_len, str_len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(b) = Btf::parse(&bytes) {
                poke(&b);
            }
        }

        #[test]
        fn arbitrary_body_with_valid_header_never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            split in 0usize..512,
        ) {
            let split = split.min(body.len());
            let mut blob = header(split as u32, (body.len() - split) as u32);
            blob.extend_from_slice(&body);
            if let Ok(b) = Btf::parse(&blob) {
                poke(&b);
            }
        }

        #[test]
        fn truncations_never_panic(cut in 0usize..2048) {
            let blob = sample();
            let cut = cut.min(blob.len());
            if let Ok(b) = Btf::parse(&blob[..cut]) {
                poke(&b);
            }
        }

        #[test]
        fn bit_flips_never_panic(flips in proptest::collection::vec((any::<usize>(), 0u8..8), 1..8)) {
            let mut blob = sample();
            let len = blob.len();
            for (at, bit) in flips {
                if let Some(byte) = blob.get_mut(at % len) {
                    *byte ^= 1 << bit;
                }
            }
            if let Ok(b) = Btf::parse(&blob) {
                poke(&b);
            }
        }
    }
}
