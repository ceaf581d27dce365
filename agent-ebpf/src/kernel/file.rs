//! `file`, `path`, `dentry`, `inode`, `super_block` and `socket`/`sock`
//! accessors.

use kestrel_common::SockTuple;

use super::{ReadError, offsets::offset, read, read_ptr, task::btf_load};

const S_IFMT: u16 = 0o170000;
const S_IFSOCK: u16 = 0o140000;
const OVERLAYFS_SUPER_MAGIC: u64 = 0x794c_7630;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// A `struct path` embedded at some address (`{ vfsmount *mnt; dentry *dentry }`).
#[derive(Clone, Copy)]
pub struct PathRef {
    pub mnt: *const u8,
    pub dentry: *const u8,
}

impl PathRef {
    /// The `struct path` at `base + off`; NULL members when unreadable.
    #[inline(always)]
    pub fn at(base: *const u8, off: usize) -> PathRef {
        // `{ mnt; dentry }` in that order everywhere we know: one read.
        if offset!(path_mnt) == 0 && offset!(path_dentry) == 8 {
            let [mnt, dentry] = read::<[u64; 2]>(base, off).unwrap_or_default();
            return PathRef {
                mnt: mnt as *const u8,
                dentry: dentry as *const u8,
            };
        }
        PathRef {
            mnt: read::<*const u8>(base, off + offset!(path_mnt)).unwrap_or_default(),
            dentry: read::<*const u8>(base, off + offset!(path_dentry)).unwrap_or_default(),
        }
    }
}

/// A `struct file *`.
#[derive(Clone, Copy)]
pub struct File(*const u8);

impl File {
    #[inline(always)]
    pub fn from_ptr(ptr: *const u8) -> File {
        File(ptr)
    }

    /// The `struct file *` as an address.
    #[inline(always)]
    pub fn addr(&self) -> u64 {
        self.0 as u64
    }

    #[inline(always)]
    pub fn path(&self) -> PathRef {
        PathRef::at(self.0, offset!(file_f_path))
    }

    #[inline(always)]
    pub fn inode(&self) -> Result<Inode, ReadError> {
        read_ptr(self.0, offset!(file_f_inode)).map(Inode)
    }

    /// The socket behind a socket file.
    #[inline(always)]
    pub fn socket(&self) -> Result<Sock, ReadError> {
        let socket = read_ptr(self.0, offset!(file_private_data))?;
        read_ptr(socket, offset!(socket_sk)).map(Sock)
    }
}

/// A BTF-typed `struct file *`: fields are typed loads, not helper reads.
#[derive(Clone, Copy)]
pub struct TypedFile(*const u8);

impl TypedFile {
    #[inline(always)]
    pub fn from_ptr(ptr: *const u8) -> TypedFile {
        TypedFile(ptr)
    }

    #[inline(always)]
    pub fn path(&self) -> PathRef {
        let at = offset!(file_f_path);
        let mnt: u64 = btf_load(self.0, at + offset!(path_mnt));
        let dentry: u64 = btf_load(self.0, at + offset!(path_dentry));
        PathRef {
            mnt: mnt as *const u8,
            dentry: dentry as *const u8,
        }
    }

    #[inline(always)]
    pub fn inode(&self) -> Option<TypedInode> {
        let inode: *const u8 = btf_load(self.0, offset!(file_f_inode));
        (!inode.is_null()).then_some(TypedInode(inode))
    }
}

/// A BTF-typed `struct inode *`.
#[derive(Clone, Copy)]
pub struct TypedInode(*const u8);

impl TypedInode {
    #[inline(always)]
    pub fn ino(&self) -> u64 {
        btf_load(self.0, offset!(inode_ino))
    }

    #[inline(always)]
    pub fn nlink(&self) -> u32 {
        btf_load(self.0, offset!(inode_nlink))
    }

    #[inline(always)]
    pub fn ctime_ns(&self) -> u64 {
        typed_time_ns(self.0, offset!(inode_ctime_sec), offset!(inode_ctime_nsec))
    }

    #[inline(always)]
    pub fn mtime_ns(&self) -> u64 {
        typed_time_ns(self.0, offset!(inode_mtime_sec), offset!(inode_mtime_nsec))
    }

    #[inline(always)]
    pub fn is_overlay(&self) -> bool {
        let sb: *const u8 = btf_load(self.0, offset!(inode_sb));
        !sb.is_null() && btf_load::<u64>(sb, offset!(sb_magic)) == OVERLAYFS_SUPER_MAGIC
    }

    /// See [`Inode::ovl_has_upper`]: the field lies past `struct inode`
    /// (in the `ovl_inode` around it), out of reach of a typed load.
    #[inline(always)]
    pub fn ovl_has_upper(&self) -> bool {
        Inode(self.0).ovl_has_upper()
    }
}

#[inline(always)]
fn typed_time_ns(base: *const u8, sec_off: usize, nsec_off: usize) -> u64 {
    if sec_off == 0 {
        return 0;
    }
    let sec: i64 = btf_load(base, sec_off);
    // Multigrain timestamps keep a flag in the top bits of the ctime nsec.
    let nsec = btf_load::<u32>(base, nsec_off) & 0x3fff_ffff;
    (sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(u64::from(nsec))
}

/// A `struct inode *`.
#[derive(Clone, Copy)]
pub struct Inode(*const u8);

impl Inode {
    #[inline(always)]
    pub fn mode(&self) -> Result<u16, ReadError> {
        read::<u16>(self.0, offset!(inode_mode))
    }

    #[inline(always)]
    pub fn is_socket(&self) -> bool {
        self.mode().map(|m| m & S_IFMT == S_IFSOCK).unwrap_or(false)
    }

    /// For an overlayfs inode: does it have an upper (container-written)
    /// dentry? `ovl_inode.__upperdentry` follows the embedded `vfs_inode`.
    #[inline(always)]
    pub fn ovl_has_upper(&self) -> bool {
        match offset!(ovl_upper_from_inode) {
            0 => false,
            off => read::<*const u8>(self.0, off)
                .map(|p| !p.is_null())
                .unwrap_or(false),
        }
    }
}

/// A `struct dentry *`.
#[derive(Clone, Copy)]
pub struct Dentry(pub *const u8);

impl Dentry {
    #[inline(always)]
    pub fn parent(&self) -> Result<Dentry, ReadError> {
        read_ptr(self.0, offset!(dentry_parent)).map(Dentry)
    }

    /// The parent, `d_name.name` and `d_name.len` in one read when they lie
    /// within 32 bytes of each other (they are adjacent in every kernel we
    /// know), else in three.
    #[inline(always)]
    pub fn parent_and_name(&self) -> Result<(Dentry, *const u8, u32), ReadError> {
        let base = offset!(dentry_parent);
        let name_at = offset!(dentry_name) + offset!(qstr_name);
        let len_at = offset!(dentry_name) + offset!(qstr_len);
        if name_at >= base && len_at >= base && name_at + 8 <= base + 32 && len_at + 4 <= base + 32
        {
            let block = read::<[u64; 4]>(self.0, base)?;
            let parent = block[0] as *const u8;
            let name = word(&block, name_at - base) as *const u8;
            let len = word(&block, len_at - base) as u32;
            if parent.is_null() || name.is_null() {
                return Err(ReadError);
            }
            return Ok((Dentry(parent), name, len));
        }
        let parent = self.parent()?;
        let (name, len) = self.name()?;
        Ok((parent, name, len))
    }

    /// `d_name.name` and `d_name.len`.
    #[inline(always)]
    pub fn name(&self) -> Result<(*const u8, u32), ReadError> {
        let base = offset!(dentry_name);
        let name = read_ptr(self.0, base + offset!(qstr_name))?;
        let len = read::<u32>(self.0, base + offset!(qstr_len))?;
        Ok((name, len))
    }

    /// [`Dentry::is_memfd`] for a BTF-typed dentry: a name stored inline
    /// in the dentry is one typed load, a longer one a helper read.
    #[inline(always)]
    pub fn typed_is_memfd(&self) -> bool {
        let inline_name = offset!(dentry_inline_name);
        let name: u64 = btf_load(self.0, offset!(dentry_name) + offset!(qstr_name));
        if inline_name == 0 || name != self.0.wrapping_add(inline_name) as u64 {
            return self.is_memfd();
        }
        let head: u64 = btf_load(self.0, inline_name);
        head & 0xffff_ffff_ffff == u64::from_le_bytes(*b"memfd:\0\0")
    }

    /// Does the name start with `memfd:` (files made by `memfd_create`)?
    #[inline(always)]
    pub fn is_memfd(&self) -> bool {
        let Ok((name, _)) = self.name() else {
            return false;
        };
        matches!(read::<[u8; 6]>(name, 0), Ok(prefix) if &prefix == b"memfd:")
    }
}

/// The field at byte `at` (8- or 4-aligned) of `block`, for fields read in
/// one go: a whole word, or the upper half of one (the object is `bpfel`;
/// callers truncate 4-byte fields).
#[inline(always)]
fn word(block: &[u64; 4], at: usize) -> u64 {
    let w = block[(at / 8) & 3];
    if at.is_multiple_of(8) { w } else { w >> 32 }
}

/// A `struct sock *`.
#[derive(Clone, Copy)]
pub struct Sock(*const u8);

impl Sock {
    /// Family, type, protocol, local and remote address and port.
    #[inline(always)]
    pub fn tuple(&self) -> Result<SockTuple, ReadError> {
        let family = read::<u16>(self.0, offset!(sk_family))?;
        let mut t = SockTuple {
            family,
            ..SockTuple::default()
        };
        t.sock_type = read::<u16>(self.0, offset!(sk_type)).unwrap_or(0);
        t.protocol = read::<u16>(self.0, offset!(sk_protocol)).unwrap_or(0);
        t.sport = read::<u16>(self.0, offset!(sk_num)).unwrap_or(0);
        t.dport = u16::from_be(read::<u16>(self.0, offset!(sk_dport)).unwrap_or(0));
        if family == AF_INET {
            t.saddr[..4].copy_from_slice(&read::<[u8; 4]>(self.0, offset!(sk_rcv_saddr))?);
            t.daddr[..4].copy_from_slice(&read::<[u8; 4]>(self.0, offset!(sk_daddr))?);
        } else if family == AF_INET6 && offset!(sk_v6_daddr) != 0 {
            t.saddr = read::<[u8; 16]>(self.0, offset!(sk_v6_rcv_saddr))?;
            t.daddr = read::<[u8; 16]>(self.0, offset!(sk_v6_daddr))?;
        }
        Ok(t)
    }
}
