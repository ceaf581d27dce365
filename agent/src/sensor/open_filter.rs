//! Which host opens the kernel keeps: the path prefixes host rules test
//! `fd.name` against, written to the `HOST_OPEN_PREFIXES` LPM trie. The
//! dispatcher looks up the kernel's path of a host task's opened file
//! there and drops the open when no prefix matches (opens in containers
//! are always kept; container rules see every path).

use aya::{
    Ebpf,
    maps::{
        Array, MapData, MapError,
        lpm_trie::{Key, LpmTrie},
    },
};
use kestrel_common::syscalls::{MAX_PATH_PREFIXES, PATH_PREFIX_BYTES, PathHeads, handler};

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

/// The head bits of `prefixes`.
pub fn heads<'a>(prefixes: impl IntoIterator<Item = &'a String>) -> PathHeads {
    let mut heads = PathHeads::EMPTY;
    for p in prefixes {
        heads.add(p.as_bytes());
    }
    heads
}

fn write_heads(ebpf: &mut Ebpf, heads: PathHeads) -> Result<(), SensorError> {
    let err = |source: MapError| SensorError::Map {
        name: "HOST_OPEN_HEADS",
        source: Box::new(source),
    };
    let map = ebpf
        .map_mut("HOST_OPEN_HEADS")
        .ok_or(SensorError::MissingMap("HOST_OPEN_HEADS"))?;
    let mut array = Array::<&mut MapData, PathHeads>::try_from(map).map_err(err)?;
    array.set(0, heads, 0).map_err(err)
}

/// Make the kernel's filter hold exactly `new`, which replaces `old`. New
/// entries go in before stale ones come out (heads of both sets, then the
/// trie, then the heads of `new` alone), so a path both sets keep is never
/// dropped in between.
pub fn replace(ebpf: &mut Ebpf, old: &[String], new: &[String]) -> Result<(), SensorError> {
    write_heads(ebpf, heads(old.iter().chain(new)))?;
    let err = |source: MapError| SensorError::Map {
        name: "HOST_OPEN_PREFIXES",
        source: Box::new(source),
    };
    let map = ebpf
        .map_mut("HOST_OPEN_PREFIXES")
        .ok_or(SensorError::MissingMap("HOST_OPEN_PREFIXES"))?;
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
    write_heads(ebpf, heads(new))
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
    fn heads_reject_paths_no_prefix_can_start_and_keep_those_one_can() {
        let prefixes: Vec<String> = ["/etc/shadow", "/home/", "/var/log/", "/a"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let heads = heads(&prefixes);
        let may = |path: &str| {
            let mut word = [0u8; 8];
            let n = path.len().min(8);
            word[..n].copy_from_slice(&path.as_bytes()[..n]);
            heads.may_match(u64::from_le_bytes(word), path.len())
        };
        // Every path a prefix starts must pass (no false negatives).
        for path in [
            "/etc/shadow",
            "/etc/shadow-",
            "/home/u/.ssh/id_rsa",
            "/var/log/syslog",
            "/a",
            "/ab/c",
        ] {
            assert!(may(path), "{path}");
        }
        // Paths none can start: rejected here but for hash collisions, of
        // which there are none among these.
        for path in [
            "/etc/hostname",
            "/usr/lib/libc.so.6",
            "/tmp/x",
            "/",
            "/proc/self/stat",
            "/var/lib/x",
        ] {
            assert!(!may(path), "{path}");
        }
        assert_eq!(heads.lengths, (1 << 8) | (1 << 6) | (1 << 2));
    }

    #[test]
    fn empty_or_too_many_prefixes_are_refused() {
        assert!(usable(&["/etc".into(), "/root".into()]).is_ok());
        assert!(usable(&["/etc".into(), String::new()]).is_err());
        let many: Vec<String> = (0..=MAX_PATH_PREFIXES).map(|i| format!("/d{i}")).collect();
        assert!(usable(&many).unwrap_err().contains("1025"));
    }
}
