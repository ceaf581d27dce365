//! Rebuild the eBPF object when the `bpf-linker` binary changes: cargo cannot
//! see that dependency on its own.
fn main() {
    println!("cargo:rerun-if-env-changed=PATH");
    if let Ok(linker) = which::which("bpf-linker") {
        println!("cargo:rerun-if-changed={}", linker.display());
    }
}
