//! Arbitrary bytes into the record decoder: it must return a record or a
//! `DecodeError`, never panic (whatever the kernel, or a corrupt trace file,
//! hands it).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kestrel::event::Decoder::default().decode(data);
});
