//! Shared by the benchmark examples that drive the real agent binary.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// The agent binary: `explicit`, else the release `kestrel` beside this
/// example (examples live in `<target>/release/examples/`, the agent in
/// `<target>/release/`).
pub fn kestrel_binary(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let kestrel = match explicit {
        Some(path) => path,
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .context("locating the target directory")?
            .join("kestrel"),
    };
    if !kestrel.is_file() {
        bail!(
            "{} not found: build it with `cargo build --release --package kestrel` \
             (or pass --kestrel PATH)",
            kestrel.display()
        );
    }
    Ok(kestrel)
}
