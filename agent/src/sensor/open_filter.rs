//! Which host opens the kernel keeps: the path prefixes host rules test
//! `fd.name` against, written to the `HOST_OPEN_PREFIXES` LPM trie. The
//! dispatcher looks up the kernel's path of a host task's opened file
//! there and drops the open when no prefix matches (opens in containers
//! are always kept; container rules see every path).

use aya::maps::{
    Map, MapData, MapError,
    lpm_trie::{Key, LpmTrie},
};
use kestrel_common::syscalls::{MAX_PATH_PREFIXES, PATH_PREFIX_BYTES, handler};

use super::SensorError;

/// The syscalls the filter applies to.
pub const OPEN_HANDLERS: [u16; 4] = [
    handler::OPEN,
    handler::OPENAT,
    handler::OPENAT2,
    handler::CREAT,
];

type Trie<'a> = LpmTrie<&'a mut MapData, [u8; PATH_PREFIX_BYTES], u8>;

/// The trie key of `prefix`: its first `PATH_PREFIX_BYTES` bytes (a cut
/// prefix matches more paths, never fewer).
pub fn key(prefix: &str) -> Key<[u8; PATH_PREFIX_BYTES]> {
    let bytes = prefix.as_bytes();
    let n = bytes.len().min(PATH_PREFIX_BYTES);
    let mut data = [0u8; PATH_PREFIX_BYTES];
    data[..n].copy_from_slice(&bytes[..n]);
    Key::new((n * 8) as u32, data)
}

/// Is this prefix set usable as a filter? Too many prefixes, or one that
/// matches every path, turn the filter off.
pub fn usable(prefixes: &[String]) -> Result<(), String> {
    if prefixes.len() > MAX_PATH_PREFIXES as usize {
        return Err(format!(
            "{} path prefixes, the kernel filter holds {MAX_PATH_PREFIXES}",
            prefixes.len()
        ));
    }
    if prefixes.iter().any(String::is_empty) {
        return Err("an empty prefix matches every path".into());
    }
    Ok(())
}

/// Make the trie hold exactly `new`, which replaces `old`: new entries go
/// in before stale ones come out, so a path both sets keep is never
/// dropped in between.
pub fn replace(map: &mut Map, old: &[String], new: &[String]) -> Result<(), SensorError> {
    let err = |source: MapError| SensorError::Map {
        name: "HOST_OPEN_PREFIXES",
        source: Box::new(source),
    };
    let mut trie = Trie::try_from(map).map_err(err)?;
    for prefix in new {
        trie.insert(&key(prefix), 1, 0).map_err(err)?;
    }
    let keep: Vec<_> = new.iter().map(|p| key(p).data()).collect();
    for prefix in old {
        let k = key(prefix);
        if !keep.contains(&k.data()) {
            match trie.remove(&k) {
                Ok(()) | Err(MapError::KeyNotFound) => {}
                Err(e) => return Err(err(e)),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hold_the_prefix_bits_and_cut_long_prefixes() {
        let k = key("/etc/");
        assert_eq!(k.prefix_len(), 40);
        assert_eq!(&k.data()[..5], b"/etc/");
        assert!(k.data()[5..].iter().all(|&b| b == 0));
        let long = format!("/{}", "a".repeat(100));
        let k = key(&long);
        assert_eq!(k.prefix_len(), (PATH_PREFIX_BYTES * 8) as u32);
        assert_eq!(&k.data()[..], &long.as_bytes()[..PATH_PREFIX_BYTES]);
    }

    #[test]
    fn empty_or_too_many_prefixes_are_refused() {
        assert!(usable(&["/etc".into(), "/root".into()]).is_ok());
        assert!(usable(&["/etc".into(), String::new()]).is_err());
        let many: Vec<String> = (0..=MAX_PATH_PREFIXES).map(|i| format!("/d{i}")).collect();
        assert!(usable(&many).unwrap_err().contains("1025"));
    }
}
