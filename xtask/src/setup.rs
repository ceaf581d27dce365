//! Idempotent set-up: each step checks first, then installs only what is
//! missing, and says which it did.

use std::{
    path::Path,
    process::{Command, Stdio},
    sync::OnceLock,
};

use anyhow::{Context as _, bail};

use crate::step;

/// The nightly the eBPF object is known to build with (LLVM that
/// bpf-linker 0.10.3 reads). A plain `nightly` is used when it is this one.
const PINNED_NIGHTLY: &str = "nightly-2026-05-20";
const BPF_LINKER_VERSION: &str = "0.10.3";
/// Debian packages the live tests use.
const TEST_PACKAGES: &[&str] = &["runc", "podman", "busybox-static", "iproute2", "uidmap"];

/// The rustup toolchain the eBPF build uses, chosen by `build_tools`.
static BPF_TOOLCHAIN: OnceLock<String> = OnceLock::new();

fn quiet(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn run(what: &str, cmd: &mut Command) -> anyhow::Result<()> {
    step(what);
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{what}: {cmd:?} failed ({status})");
    }
    Ok(())
}

/// Pass the chosen eBPF toolchain to cargo (read by `agent/build.rs`).
pub fn apply_toolchain_env(cmd: &mut Command) {
    if let Some(toolchain) = BPF_TOOLCHAIN.get() {
        cmd.env("KESTREL_BPF_TOOLCHAIN", toolchain);
    }
}

/// Everything `cargo build` needs for the eBPF object.
pub fn build_tools() -> anyhow::Result<()> {
    let toolchain = nightly_toolchain()?;
    rust_src(&toolchain)?;
    bpf_linker()?;
    tracefs();
    let _ = BPF_TOOLCHAIN.set(toolchain);
    Ok(())
}

/// Use the installed `nightly` if it is the pinned one (or any nightly when
/// the pinned one cannot be installed); else install the pinned nightly.
fn nightly_toolchain() -> anyhow::Result<String> {
    if quiet(Command::new("rustup").args(["run", PINNED_NIGHTLY, "rustc", "--version"])) {
        step(&format!("{PINNED_NIGHTLY}: present"));
        return Ok(PINNED_NIGHTLY.into());
    }
    if let Some(version) = output(Command::new("rustup").args(["run", "nightly", "rustc", "-V"])) {
        let version = version.trim();
        step(&format!("nightly: present ({version})"));
        if !version.contains("2026-05-19") && !version.contains("2026-05-20") {
            step(&format!(
                "note: this nightly is not {PINNED_NIGHTLY}; if bpf-linker {BPF_LINKER_VERSION} \
                 cannot read its LLVM, run `rustup toolchain install {PINNED_NIGHTLY}`"
            ));
        }
        return Ok("nightly".into());
    }
    run(
        &format!("installing {PINNED_NIGHTLY} (for the eBPF build)"),
        Command::new("rustup").args([
            "toolchain",
            "install",
            PINNED_NIGHTLY,
            "--profile",
            "minimal",
            "--component",
            "rust-src",
        ]),
    )?;
    Ok(PINNED_NIGHTLY.into())
}

fn rust_src(toolchain: &str) -> anyhow::Result<()> {
    let installed = output(Command::new("rustup").args([
        "component",
        "list",
        "--installed",
        "--toolchain",
        toolchain,
    ]))
    .unwrap_or_default();
    if installed.lines().any(|l| l.starts_with("rust-src")) {
        step(&format!("rust-src for {toolchain}: present"));
        return Ok(());
    }
    run(
        &format!("installing rust-src for {toolchain} (needed by -Z build-std=core)"),
        Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", toolchain]),
    )
}

fn bpf_linker() -> anyhow::Result<()> {
    if let Some(version) = output(Command::new("bpf-linker").arg("--version")) {
        if version.contains(BPF_LINKER_VERSION) {
            step(&format!("bpf-linker {BPF_LINKER_VERSION}: present"));
            return Ok(());
        }
        step(&format!(
            "bpf-linker is {}, want {BPF_LINKER_VERSION}",
            version.trim()
        ));
    }
    run(
        &format!(
            "installing bpf-linker {BPF_LINKER_VERSION} (links the eBPF object; a few minutes)"
        ),
        Command::new("cargo").args([
            "install",
            &format!("bpf-linker@{BPF_LINKER_VERSION}"),
            "--locked",
        ]),
    )?;
    if output(Command::new("bpf-linker").arg("--version")).is_none() {
        bail!("bpf-linker was installed but is not on PATH; add ~/.cargo/bin to PATH");
    }
    Ok(())
}

/// Mount tracefs if it is not (classic tracepoints need it). A failure is a
/// warning: the tp_btf programs do not need it.
fn tracefs() {
    if Path::new("/sys/kernel/tracing/events").exists() {
        step("tracefs: mounted");
        return;
    }
    step("mounting tracefs on /sys/kernel/tracing");
    if !quiet(Command::new("mount").args(["-t", "tracefs", "tracefs", "/sys/kernel/tracing"])) {
        step("warning: could not mount tracefs (not root?); continuing");
    }
}

fn dpkg_installed(package: &str) -> bool {
    output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_some_and(|s| s.contains("install ok installed"))
}

/// Debian packages the live tests need (runc, podman, busybox).
pub fn test_packages() -> anyhow::Result<()> {
    let missing: Vec<&str> = TEST_PACKAGES
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if missing.is_empty() {
        step(&format!(
            "test packages: present ({})",
            TEST_PACKAGES.join(", ")
        ));
        return Ok(());
    }
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    run(
        "apt-get update",
        Command::new("apt-get").arg("update").envs(env),
    )?;
    run(
        &format!("installing test packages: {}", missing.join(", ")),
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing)
            .envs(env),
    )
}

/// Lint the kernel side for its real target (the host build of
/// `kestrel-ebpf` is only a stub).
pub fn clippy_ebpf() -> anyhow::Result<()> {
    let toolchain = BPF_TOOLCHAIN.get().map(String::as_str).unwrap_or("nightly");
    run(
        "clippy on the eBPF programs (bpfel-unknown-none)",
        Command::new("rustup")
            .args([
                "run",
                toolchain,
                "cargo",
                "clippy",
                "--package",
                "kestrel-ebpf",
            ])
            .args(["--target", "bpfel-unknown-none", "-Z", "build-std=core"])
            .args(["--target-dir", "target/ebpf-clippy", "--", "-D", "warnings"])
            .env_remove("RUSTC")
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .env_remove("CARGO"),
    )
}

// ---- cross-building for arm64, fuzzing ----

/// The arm64 target the agent is cross-built for.
pub const ARM64_TARGET: &str = "aarch64-unknown-linux-gnu";
/// Debian's cross gcc, used as the arm64 linker (and C compiler).
const ARM64_GCC: &str = "aarch64-linux-gnu-gcc";
/// Debian package that provides [`ARM64_GCC`].
const ARM64_GCC_PACKAGE: &str = "gcc-aarch64-linux-gnu";
/// The arm64 C library to link against (only "recommended" by the gcc
/// package, so `--no-install-recommends` would leave it out).
const ARM64_LIBC_PACKAGE: &str = "libc6-dev-arm64-cross";
/// The cargo-fuzz `xtask fuzz` installs when missing.
const CARGO_FUZZ: &str = "cargo-fuzz";

/// Install the Debian `packages` that are missing (apt-get), saying why
/// (`purpose`); say so and do nothing when all are present.
pub fn debian_packages(purpose: &str, packages: &[&str]) -> anyhow::Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if missing.is_empty() {
        step(&format!("{purpose}: present ({})", packages.join(", ")));
        return Ok(());
    }
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    run(
        "apt-get update",
        Command::new("apt-get").arg("update").envs(env),
    )?;
    run(
        &format!("installing {purpose}: {}", missing.join(", ")),
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing)
            .envs(env),
    )
}

/// What cross-building the agent for arm64 needs: the Rust standard library
/// for `aarch64-unknown-linux-gnu` (for the toolchain cargo runs with) and
/// Debian's aarch64 cross gcc as the linker. The eBPF object needs nothing
/// more: aya-build builds it for `bpfel-unknown-none` with
/// `bpf_target_arch` taken from the target being built.
pub fn cross_arm64() -> anyhow::Result<()> {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == ARM64_TARGET) {
        step(&format!("rust target {ARM64_TARGET}: present"));
    } else {
        run(
            &format!("installing the rust target {ARM64_TARGET}"),
            Command::new("rustup").args(["target", "add", ARM64_TARGET]),
        )?;
    }
    debian_packages(
        "the arm64 cross linker and C library",
        &[ARM64_GCC_PACKAGE, ARM64_LIBC_PACKAGE],
    )
}

/// Cross-build the agent (userspace and its embedded eBPF object) for arm64
/// in the debug profile, then check the binary really is an aarch64 ELF.
/// Set-up (`build_tools`, `cross_arm64`) must have run.
pub fn build_arm64() -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let target_env = ARM64_TARGET.to_uppercase().replace('-', "_");
    let args = ["build", "--package", "kestrel", "--target", ARM64_TARGET];
    step(&format!(
        "cargo {} (linker {ARM64_GCC}; eBPF object built with bpf_target_arch=\"aarch64\")",
        args.join(" ")
    ));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(args)
        .env(format!("CARGO_TARGET_{target_env}_LINKER"), ARM64_GCC)
        .env(format!("CC_{}", ARM64_TARGET.replace('-', "_")), ARM64_GCC);
    apply_toolchain_env(&mut cmd);
    let status = cmd.status().context("running cargo build for arm64")?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into());
    let binary = Path::new(&target_dir)
        .join(ARM64_TARGET)
        .join("debug")
        .join("kestrel");
    let machine = elf_machine(&binary)?;
    if machine != EM_AARCH64 {
        bail!(
            "{} is an ELF for machine {machine}, not aarch64 ({EM_AARCH64})",
            binary.display()
        );
    }
    step(&format!(
        "arm64 build: {} is an aarch64 ELF (e_machine {EM_AARCH64}); took {:.0} s",
        binary.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// ELF `e_machine` of AArch64.
const EM_AARCH64: u16 = 183;

/// The `e_machine` field of the (little-endian) ELF file at `path`.
fn elf_machine(path: &Path) -> anyhow::Result<u16> {
    use std::io::Read as _;
    let mut bytes = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut bytes))
        .with_context(|| format!("reading the ELF header of {}", path.display()))?;
    if &bytes[..4] != b"\x7fELF" || bytes[5] != 1 {
        bail!("{} is not a little-endian ELF file", path.display());
    }
    Ok(u16::from_le_bytes([bytes[18], bytes[19]]))
}

/// Install cargo-fuzz when `cargo fuzz` is missing.
pub fn cargo_fuzz() -> anyhow::Result<()> {
    if quiet(Command::new("cargo").args(["fuzz", "--version"])) {
        step(&format!("{CARGO_FUZZ}: present"));
        return Ok(());
    }
    run(
        &format!("installing {CARGO_FUZZ} (a few minutes)"),
        Command::new("cargo").args(["install", CARGO_FUZZ, "--locked"]),
    )
}
