//! Kernel functions (kfuncs) the eBPF object calls. aya 0.14 cannot emit a
//! kfunc call, so the object carries raw call instructions with a marker
//! id; before loading, each is given the kernel's BTF id of the function,
//! or turned into `r0 = 0` when the kernel lacks it (the programs then take
//! their slow path: they check the matching load-time global first).

use kestrel_common::RDONLY_CAST_CALL;

use super::btf::Btf;

/// `r0 = 0` (`BPF_ALU64 | BPF_MOV | BPF_K`, dst r0).
const R0_ZERO: [u8; 8] = [0xb7, 0, 0, 0, 0, 0, 0, 0];

/// The object, 8-byte aligned (the ELF parser reads it in place), with
/// every `bpf_rdonly_cast` call resolved against `btf`. Returns it and the
/// number of calls patched.
pub fn resolve(object: &[u8], btf: &Btf) -> (AlignedObject, usize) {
    let id = btf.func_id("bpf_rdonly_cast");
    let mut out = AlignedObject::copy_of(object);
    let bytes = out.bytes_mut();
    let mut patched = 0;
    let mut at = 0;
    while at + 8 <= bytes.len() {
        if bytes[at..at + 8] == RDONLY_CAST_CALL {
            match id {
                Some(id) => bytes[at + 4..at + 8].copy_from_slice(&id.to_le_bytes()),
                None => bytes[at..at + 8].copy_from_slice(&R0_ZERO),
            }
            patched += 1;
            at += 8;
        } else {
            at += 1;
        }
    }
    (out, patched)
}

/// Bytes in 8-byte-aligned storage.
pub struct AlignedObject {
    words: Vec<u64>,
    len: usize,
}

impl AlignedObject {
    fn copy_of(bytes: &[u8]) -> AlignedObject {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        let mut out = AlignedObject {
            words: Vec::new(),
            len: bytes.len(),
        };
        // SAFETY: `words` holds at least `len` initialised bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                words.as_mut_ptr().cast::<u8>(),
                bytes.len(),
            );
        }
        out.words = words;
        out
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: `words` holds at least `len` initialised bytes; u8 has no
        // alignment requirement.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), self.len) }
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: as in `bytes_mut`.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_object_carries_the_marked_call_and_it_is_patched() {
        let object: &[u8] = super::super::EBPF_OBJECT;
        if object.is_empty() {
            return; // built with AYA_BUILD_SKIP
        }
        let Ok(btf) = Btf::from_sys_fs() else {
            return; // no kernel BTF on this machine
        };
        let (patched, n) = resolve(object, &btf);
        assert!(
            n >= 1,
            "the host-open filter's typed walk calls bpf_rdonly_cast"
        );
        assert_eq!(patched.bytes().len(), object.len());
        assert!(
            !patched.bytes().windows(8).any(|w| w == RDONLY_CAST_CALL),
            "no marker is left"
        );
    }
}
