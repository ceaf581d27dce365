//! Resolve a `struct path` to a string, like the kernel's `d_path`: walk
//! dentries up to the task's root, crossing mount points, writing names
//! backwards into a per-CPU scratch buffer.
//!
//! The walk runs under `bpf_loop` (5.17+): the verifier checks one step
//! once instead of every unrolled iteration, which keeps programs that
//! resolve several paths (exec: exe and cwd) far below its limits.

use aya_ebpf::{
    helpers::generated::{bpf_loop, bpf_probe_read_kernel},
    macros::map,
    maps::{
        PerCpuArray,
        lpm_trie::{Key, LpmTrie},
    },
};
use kestrel_common::{
    STR_LEN,
    syscalls::{PATH_PREFIX_BYTES, PathHeads},
};

use super::{
    ReadError,
    file::{Dentry, PathRef},
    offsets::offset,
    rdonly_cast, read, read_ptr,
    task::{TypedTask, btf_load},
};

/// Half of the scratch buffer: names are written backwards ending here, so
/// any position is a masked index below `HALF` and a name (≤ 255 bytes)
/// always fits after it.
const HALF: usize = 4096;
/// Path components walked at most (deeper paths are cut at the top and
/// flagged as truncated).
const MAX_DEPTH: u32 = 64;

/// The walk's state and its output buffer. The state lives in map memory,
/// not on the stack: the verifier then treats its values as unknown scalars
/// and the loop's states converge after one step instead of exploding.
#[repr(C)]
pub struct Scratch {
    walk: Walk,
    buf: [u8; 2 * HALF],
}

/// One 8 KiB scratch buffer per CPU: too large for the 512-byte BPF stack.
#[map(name = "PATH_SCRATCH")]
static PATH_SCRATCH: PerCpuArray<Scratch> = PerCpuArray::with_max_entries(1, 0);

/// State of one walk, shared with the loop callback. Kernel addresses are
/// kept as integers: they are only compared and handed to read helpers.
#[repr(C)]
struct Walk {
    dentry: u64,
    vfsmnt: u64,
    mnt: u64,
    root_dentry: u64,
    root_mnt: u64,
    /// Root dentry of the mount being walked (`vfsmnt->mnt_root`).
    mnt_root: u64,
    pos: u64,
    /// 0 walking, 1 reached the root, 2 out of room, 3 read error.
    state: u64,
}

const WALKING: u64 = 0;
const DONE: u64 = 1;
const FULL: u64 = 2;
const FAILED: u64 = 3;

/// One step of the walk: one path component or one mount crossing.
/// Returns 1 to stop the loop.
#[inline(never)]
extern "C" fn walk_step(_index: u64, _ctx: *mut core::ffi::c_void) -> i64 {
    let Some(scratch) = PATH_SCRATCH.get_ptr_mut(0) else {
        return 1;
    };
    // SAFETY: valid per-CPU map value; no other program runs on this CPU
    // while we do (tracing programs do not nest on the same CPU).
    let s = unsafe { &mut *scratch };
    match step(&mut s.walk, &mut s.buf) {
        Ok(()) if s.walk.state == WALKING => 0,
        Ok(()) => 1,
        Err(ReadError) => {
            s.walk.state = FAILED;
            1
        }
    }
}

#[inline(always)]
fn step(w: &mut Walk, buf: &mut [u8; 2 * HALF]) -> Result<(), ReadError> {
    if w.dentry == w.root_dentry && w.vfsmnt == w.root_mnt {
        w.state = DONE;
        return Ok(());
    }
    if w.dentry == w.mnt_root {
        let mnt = w.mnt as *const u8;
        let parent = read_ptr(mnt, offset!(mount_parent))? as u64;
        if parent == w.mnt {
            w.state = DONE; // the global root
            return Ok(());
        }
        w.dentry = read_ptr(mnt, offset!(mount_mountpoint))? as u64;
        w.mnt = parent;
        w.vfsmnt = parent.wrapping_add(offset!(mount_mnt) as u64);
        w.mnt_root = read::<u64>(w.vfsmnt as *const u8, offset!(vfsmount_mnt_root))?;
        return Ok(());
    }
    let d = Dentry(w.dentry as *const u8);
    let (parent, name, len) = d.parent_and_name()?;
    let pseudo = parent.0 as u64 == w.dentry;
    if pseudo && w.pos != HALF as u64 {
        w.state = DONE;
        return Ok(());
    }
    let len = (len as u64).min(255);
    if w.pos < len + 1 {
        w.state = FULL;
        return Ok(());
    }
    w.pos -= len + 1;
    let at = (w.pos as usize) & (HALF - 1);
    // SAFETY: `at < HALF` and `len < 256`, so `at + 1 + len` stays inside
    // the 2 * HALF scratch buffer; the helper checks the source address.
    unsafe {
        let buf = buf.as_mut_ptr();
        bpf_probe_read_kernel(buf.add(at + 1).cast(), (len & 255) as u32, name.cast());
        *buf.add(at) = b'/';
    }
    if pseudo {
        // A file of an internal mount (memfd, anonymous inode) is its own
        // parent: its name is the whole path, as `d_path` shows it.
        w.state = DONE;
        return Ok(());
    }
    w.dentry = parent.0 as u64;
    Ok(())
}

/// Walk `path` up to `root` into this CPU's scratch buffer. Returns the
/// buffer, where the path starts in it (it ends at `HALF`; `HALF` itself
/// for the root) and whether the walk reached the root.
#[inline(always)]
fn walk(path: PathRef, root: PathRef) -> Result<(*mut Scratch, usize, bool), ReadError> {
    let scratch = PATH_SCRATCH.get_ptr_mut(0).ok_or(ReadError)?;
    let mnt_root = read::<u64>(path.mnt, offset!(vfsmount_mnt_root))?;
    let walk = Walk {
        dentry: path.dentry as u64,
        vfsmnt: path.mnt as u64,
        mnt: (path.mnt as u64).wrapping_sub(offset!(mount_mnt) as u64),
        root_dentry: root.dentry as u64,
        root_mnt: root.mnt as u64,
        mnt_root,
        pos: HALF as u64,
        state: WALKING,
    };
    // SAFETY: valid per-CPU map value pointer.
    unsafe { (*scratch).walk = walk };
    // SAFETY: the callback takes no context; it finds the walk in the
    // per-CPU map.
    unsafe {
        bpf_loop(
            MAX_DEPTH,
            walk_step as *mut core::ffi::c_void,
            core::ptr::null_mut(),
            0,
        );
    }
    // SAFETY: valid per-CPU map value pointer.
    let (state, pos) = unsafe { ((*scratch).walk.state, (*scratch).walk.pos) };
    if state == FAILED {
        return Err(ReadError);
    }
    Ok((scratch, (pos as usize).min(HALF), state == DONE))
}

/// Write `path`, relative to `root`, into `out` (NUL-terminated). Returns
/// the length written and whether the path was cut.
#[inline(always)]
pub fn resolve(
    path: PathRef,
    root: PathRef,
    out: &mut [u8; STR_LEN],
) -> Result<(u16, bool), ReadError> {
    let (scratch, pos, complete) = walk(path, root)?;
    let mut truncated = !complete;
    if pos == HALF {
        out[0] = b'/';
        out[1] = 0;
        return Ok((1, truncated));
    }
    let mut n = HALF - pos;
    if n > STR_LEN - 1 {
        n = STR_LEN - 1;
        truncated = true;
    }
    let at = pos & (HALF - 1);
    // SAFETY: `at < HALF`, `n < STR_LEN`: both ends are inside their buffers.
    unsafe {
        let buf = (*scratch).buf.as_ptr();
        bpf_probe_read_kernel(
            out.as_mut_ptr().cast(),
            (n & (STR_LEN - 1)) as u32,
            buf.add(at).cast(),
        );
    }
    out[n & (STR_LEN - 1)] = 0;
    Ok((n as u16, truncated))
}

/// Components [`typed_resolve`] follows at most.
const TYPED_RESOLVE_DEPTH: usize = 8;
/// Bytes an inline dentry name holds at most (`DNAME_INLINE_LEN - 1` on
/// 64-bit kernels): five 8-byte loads cover it.
const INLINE_NAME_MAX: u32 = 39;

/// [`resolve`] with typed loads and no helper call, for the common case: a
/// path on the task's root mount, at most `TYPED_RESOLVE_DEPTH`
/// components, every name stored inline in its dentry, short enough that
/// whole-word stores stay inside `out`. `None` for anything else: the
/// caller then walks the slow way. Two passes: up from the leaf to find
/// the components and the length, then down from the top writing each
/// name with word stores (the bytes past a name's end are masked to zero
/// and overwritten by the next component).
#[inline(always)]
pub fn typed_resolve(path: PathRef, root: PathRef, out: &mut [u8; STR_LEN]) -> Option<u16> {
    let inline_name = offset!(dentry_inline_name);
    let btf_id = offset!(btf_id_dentry) as u32;
    if inline_name == 0 || btf_id == 0 || path.mnt != root.mnt || path.dentry.is_null() {
        return None;
    }
    let name_ptr = offset!(dentry_name) + offset!(qstr_name);
    let name_len = offset!(dentry_name) + offset!(qstr_len);
    let root_dentry = root.dentry as u64;
    let mut dentries = [0u64; TYPED_RESOLVE_DEPTH];
    let mut lens = [0u32; TYPED_RESOLVE_DEPTH];
    let mut depth = 0usize;
    let mut total = 0u32;
    let mut dentry = path.dentry as u64;
    while dentry != root_dentry {
        if depth >= TYPED_RESOLVE_DEPTH {
            return None;
        }
        let d = rdonly_cast(dentry, btf_id);
        let parent: u64 = btf_load(d, offset!(dentry_parent));
        let name: u64 = btf_load(d, name_ptr);
        let len: u32 = btf_load(d, name_len);
        // The top of a filesystem is its own parent: the root was not met
        // (another root, or a path outside it).
        if parent == 0 || parent == dentry || len == 0 || len > INLINE_NAME_MAX {
            return None;
        }
        if name != dentry.wrapping_add(inline_name as u64) {
            return None; // a long name, stored elsewhere
        }
        dentries[depth] = dentry;
        lens[depth] = len;
        total += 1 + len;
        depth += 1;
        dentry = parent;
    }
    // Room for the last name's whole words and the NUL.
    if total as usize > STR_LEN - 48 {
        return None;
    }
    if depth == 0 {
        out[0] = b'/';
        out[1] = 0;
        return Some(1);
    }
    let mut pos = 0usize;
    while depth > 0 {
        depth -= 1;
        let at = pos & (STR_LEN - 1);
        if at > STR_LEN - 48 {
            return None;
        }
        let i = depth & (TYPED_RESOLVE_DEPTH - 1);
        let d = rdonly_cast(dentries[i], btf_id);
        let len = lens[i] as usize;
        out[at] = b'/';
        let words: [u64; 5] = [
            btf_load(d, inline_name),
            btf_load(d, inline_name + 8),
            btf_load(d, inline_name + 16),
            btf_load(d, inline_name + 24),
            btf_load(d, inline_name + 32),
        ];
        for (j, word) in words.iter().enumerate() {
            let start = 8 * j;
            if start >= len {
                break;
            }
            let left = len - start;
            let word = if left < 8 {
                word & ((1u64 << (8 * left)) - 1)
            } else {
                *word
            };
            // SAFETY: `at + 1 + 40 <= STR_LEN` (checked above), so the
            // 8 bytes at `at + 1 + start` (start <= 32) lie inside `out`.
            unsafe {
                core::ptr::write_unaligned(
                    out.as_mut_ptr().add(at + 1 + start).cast::<u64>(),
                    word,
                );
            }
        }
        pos = at + 1 + len;
    }
    out[pos & (STR_LEN - 1)] = 0;
    Some(pos as u16)
}

/// Does `path`, relative to `root`, start with one of the prefixes in
/// `prefixes` (an LPM trie keyed by path bytes; `heads` rejects most paths
/// before it)? Resolved in the scratch buffer only; nothing is copied out.
/// A path the walk could not finish counts as a match (the caller keeps
/// what it cannot judge).
#[inline(always)]
pub fn starts_with_any(
    path: PathRef,
    root: PathRef,
    heads: &PathHeads,
    prefixes: &LpmTrie<[u8; PATH_PREFIX_BYTES], u8>,
) -> Result<bool, ReadError> {
    let (scratch, pos, complete) = walk(path, root)?;
    if !complete {
        return Ok(true);
    }
    // The root is "/": the walk wrote nothing, put it before `HALF`.
    let pos = if pos == HALF { HALF - 1 } else { pos };
    if pos < 4 {
        return Ok(true);
    }
    let path_len = HALF - pos;
    // SAFETY: `pos < HALF`: the 8 bytes are inside the scratch buffer
    // (bytes past the path's end are masked off by `may_match`).
    let word = unsafe {
        let buf = (*scratch).buf.as_ptr();
        if pos == HALF - 1 {
            u64::from(b'/')
        } else {
            core::ptr::read_unaligned(buf.add(pos & (HALF - 1)).cast::<u64>())
        }
    };
    if !heads.may_match(word, path_len) {
        return Ok(false);
    }
    let len = path_len.min(PATH_PREFIX_BYTES);
    // The key is the 4-byte bit length followed by the path bytes, built in
    // place just before the path (the walk writes nothing below `pos`).
    let at = (pos - 4) & (HALF - 1);
    // SAFETY: `at < HALF`, so the 4 + PATH_PREFIX_BYTES bytes of the key
    // stay inside the 2 * HALF scratch buffer; `Key` is packed (align 1).
    unsafe {
        let buf = (*scratch).buf.as_mut_ptr();
        if pos == HALF - 1 {
            *buf.add(HALF - 1) = b'/';
        }
        core::ptr::write_unaligned(buf.add(at).cast::<u32>(), (len * 8) as u32);
        let key = &*buf.add(at).cast::<Key<[u8; PATH_PREFIX_BYTES]>>();
        Ok(prefixes.get(key).is_some())
    }
}

/// Path components the typed walk follows at most.
const TYPED_DEPTH: usize = 8;

/// Can the current task's file `fd` be ruled out by `heads` alone, with
/// one helper read (the fd slot) and BTF-typed loads for the rest (~1 ns
/// each)? For files on the task's root mount whose path has at most
/// `TYPED_DEPTH` components, each with its name stored inline in the
/// dentry: the walk builds the path's first 8 bytes and its length.
/// Anything else answers false (not ruled out): the caller then resolves
/// the path the slow way.
#[inline(always)]
pub fn typed_reject(task: TypedTask, fd: u64, heads: &PathHeads) -> bool {
    let inline_name = offset!(dentry_inline_name);
    let btf_id_file = offset!(btf_id_file) as u32;
    if inline_name == 0 || btf_id_file == 0 {
        return false;
    }
    let Ok(file) = task.file(fd) else {
        return false;
    };
    let file = rdonly_cast(file.addr(), btf_id_file);
    let task = task.as_ptr();
    let f_path = offset!(file_f_path);
    let mnt: *const u8 = btf_load(file, f_path + offset!(path_mnt));
    let mut dentry: *const u8 = btf_load(file, f_path + offset!(path_dentry));
    let fs: *const u8 = btf_load(task, offset!(task_fs));
    let root = offset!(fs_root);
    let root_mnt: u64 = btf_load(fs, root + offset!(path_mnt));
    let root_dentry: u64 = btf_load(fs, root + offset!(path_dentry));
    if file.is_null() || mnt.is_null() || mnt as u64 != root_mnt {
        return false; // another mount: crossing it needs `struct mount`
    }
    let mnt_root: u64 = btf_load(mnt, offset!(vfsmount_mnt_root));
    let name_ptr = offset!(dentry_name) + offset!(qstr_name);
    let name_len = offset!(dentry_name) + offset!(qstr_len);
    // The path is built from its end: each component is put in front.
    let mut word = 0u64;
    let mut len = 0usize;
    let mut done = false;
    for _ in 0..TYPED_DEPTH {
        if dentry as u64 == root_dentry {
            done = true;
            break;
        }
        if dentry as u64 == mnt_root {
            return false; // above the task's root on this mount
        }
        let parent: *const u8 = btf_load(dentry, offset!(dentry_parent));
        let name: u64 = btf_load(dentry, name_ptr);
        let n: u32 = btf_load(dentry, name_len);
        if parent.is_null() || parent == dentry || n == 0 {
            return false;
        }
        if name != dentry.wrapping_add(inline_name) as u64 {
            return false; // a long name, stored elsewhere
        }
        let head: u64 = btf_load(dentry, inline_name);
        (word, len) = PathHeads::prepend(word, len, head, n);
        dentry = parent;
    }
    if !done {
        return false;
    }
    if len == 0 {
        word = u64::from(b'/');
        len = 1;
    }
    !heads.may_match(word, len)
}
