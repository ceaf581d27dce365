//! Compiles the gRPC API from `proto/kestrel/v1/*.proto` and the CRI
//! subset `proto/cri/v1/api.proto` (protox: no system `protoc`) and builds
//! the eBPF object (`agent-ebpf`, for `bpfel-unknown-none`, with the
//! nightly toolchain, `-Z build-std=core` and `bpf-linker`) and leaves it in
//! `OUT_DIR/kestrel`, where `src/sensor/load.rs` embeds it with
//! `include_bytes_aligned!`. `cargo xtask` installs what this needs.
//!
//! `KESTREL_BPF_TOOLCHAIN` picks another rustup toolchain (default
//! `nightly`); `AYA_BUILD_SKIP=1` skips the eBPF build (lint-only runs).
use anyhow::{Context as _, anyhow};
use aya_build::Toolchain;

fn main() -> anyhow::Result<()> {
    compile_protos()?;
    build_ebpf()
}

/// The API is generated from the `.proto` files and nothing else.
fn compile_protos() -> anyhow::Result<()> {
    let files = [
        "../proto/kestrel/v1/common.proto",
        "../proto/kestrel/v1/alert.proto",
        "../proto/kestrel/v1/event.proto",
        "../proto/kestrel/v1/agent.proto",
        // Our read-only subset of the Kubernetes CRI (src/container/cri.rs).
        "../proto/cri/v1/api.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["../proto"])
        .context("compiling proto/kestrel/v1 and proto/cri/v1")?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .btree_map(".")
        // Hand-written (src/api/wire.rs) so an alert is encoded once for
        // every subscriber; the wire format is exactly the proto's.
        .extern_path(
            ".kestrel.v1.AlertStreamMessage",
            "crate::api::wire::AlertStreamMessage",
        )
        .compile_fds(fds)
        .context("generating gRPC code")?;
    Ok(())
}

fn build_ebpf() -> anyhow::Result<()> {
    println!("cargo:rerun-if-env-changed=KESTREL_BPF_TOOLCHAIN");
    let cargo_metadata::Metadata { packages, .. } = cargo_metadata::MetadataCommand::new()
        .no_deps()
        .exec()
        .context("cargo metadata")?;
    let ebpf = packages
        .iter()
        .find(|p| p.name.as_str() == "kestrel-ebpf")
        .ok_or_else(|| anyhow!("package kestrel-ebpf not found in the workspace"))?;
    let root_dir = ebpf
        .manifest_path
        .parent()
        .ok_or_else(|| anyhow!("no parent for {}", ebpf.manifest_path))?;
    let toolchain = std::env::var("KESTREL_BPF_TOOLCHAIN").ok();
    let toolchain = match toolchain.as_deref() {
        Some(name) if !name.is_empty() => Toolchain::Custom(name),
        _ => Toolchain::Nightly,
    };
    aya_build::build_ebpf(
        [aya_build::Package {
            name: ebpf.name.as_str(),
            root_dir: root_dir.as_str(),
            ..Default::default()
        }],
        toolchain,
    )
    .context(
        "building the eBPF object failed; run `cargo xtask setup` to install the nightly \
         toolchain's rust-src and bpf-linker 0.10.3",
    )
}
