//! Load-time globals: kernel struct field offsets from BTF (`OFFSETS`) and
//! the sensor's settings (`SETTINGS`).

use kestrel_common::{Offsets, Settings};

/// Replaced by userspace at load time (`EbpfLoader::override_global`). The
/// all-zero value compiled in here is never used by a loaded program.
#[unsafe(no_mangle)]
pub(crate) static OFFSETS: Offsets = Offsets::ZERO;

/// Sensor settings, replaced by userspace at load time.
#[unsafe(no_mangle)]
pub(crate) static SETTINGS: Settings = Settings::DEFAULT;

/// Read one offset. The volatile load keeps the compiler from folding the
/// compiled-in zero into the code; the verifier sees the frozen value.
macro_rules! offset {
    ($field:ident) => {
        // SAFETY: `OFFSETS` is a valid static; reading a field of it is sound.
        unsafe { core::ptr::read_volatile(&raw const $crate::kernel::offsets::OFFSETS.$field) }
            as usize
    };
    ($field:ident[$i:expr]) => {
        // SAFETY: as above; the index is a constant within the array.
        unsafe { core::ptr::read_volatile(&raw const $crate::kernel::offsets::OFFSETS.$field[$i]) }
            as usize
    };
}
pub(crate) use offset;

/// Read one setting (volatile, like [`offset!`]).
macro_rules! setting {
    ($field:ident) => {
        // SAFETY: `SETTINGS` is a valid static; reading a field of it is sound.
        unsafe { core::ptr::read_volatile(&raw const $crate::kernel::offsets::SETTINGS.$field) }
    };
}
pub(crate) use setting;
