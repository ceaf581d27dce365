//! The `OFFSETS` load-time global: kernel struct field offsets from BTF.

use kestrel_common::Offsets;

/// Replaced by userspace at load time (`EbpfLoader::set_global`). The
/// all-zero value compiled in here is never used by a loaded program.
#[unsafe(no_mangle)]
pub(crate) static OFFSETS: Offsets = Offsets::ZERO;

/// Read one offset. The volatile load keeps the compiler from folding the
/// compiled-in zero into the code; the verifier sees the frozen value.
macro_rules! offset {
    ($field:ident) => {
        // SAFETY: `OFFSETS` is a valid static; reading a field of it is sound.
        unsafe { core::ptr::read_volatile(&raw const $crate::kernel::offsets::OFFSETS.$field) }
            as usize
    };
}
pub(crate) use offset;
