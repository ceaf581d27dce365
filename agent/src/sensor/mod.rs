//! The sensor: loads Kestrel's eBPF object into the kernel, hands it the
//! kernel struct offsets resolved from BTF, attaches every program, and gives
//! the pipeline the ring buffer to read and the kernel's loss counters.
//!
//! Dropping a [`Sensor`] detaches every program and frees its maps.

pub mod btf;
mod kfunc;
mod loss;
mod offsets;
mod open_filter;
mod ring;

mod profile;
mod scope;
pub mod syscall_table;

use aya::{
    Btf, Ebpf, EbpfLoader,
    maps::{Array, HashMap, MapData, PerCpuArray, RingBuf},
    programs::BtfTracePoint,
};
use kestrel_common::{MAX_SYSCALLS, PROFILE_WORDS, Settings, kind, syscalls::SyscallSpec};

pub use loss::{LossCounters, LossReader};
pub use offsets::{MissingOptional, OffsetError, resolve_offsets};
pub use profile::ProfileReader;
pub use ring::{EventRing, RingReader};
pub use scope::HostCgroups;

use crate::config::SensorConfig;

/// The eBPF object built by `build.rs` and embedded in the binary.
static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/kestrel"));

/// `tp_btf` programs: (program name in the object, tracepoint).
const BTF_PROGRAMS: &[(&str, &str)] = &[
    ("sched_process_exec", "sched_process_exec"),
    ("sched_process_fork", "sched_process_fork"),
    ("sched_process_exit", "sched_process_exit"),
    ("cgroup_mkdir", "cgroup_mkdir"),
    ("cgroup_rmdir", "cgroup_rmdir"),
    ("cgroup_attach_task", "cgroup_attach_task"),
];

/// The syscall dispatcher (`tp_btf` too), attached when syscalls are
/// captured or profiled.
const DISPATCHER: (&str, &str) = ("sys_exit", "sys_exit");

/// Why the sensor could not start. Each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    #[error(
        "this kestrel binary was built without its eBPF object (AYA_BUILD_SKIP was set); \
         rebuild with `cargo build --release`"
    )]
    NoObject,
    #[error("reading kernel BTF: {0}")]
    Btf(#[from] Box<btf::BtfError>),
    #[error(transparent)]
    Offsets(#[from] Box<OffsetError>),
    #[error("loading kernel BTF for tp_btf programs: {0}")]
    AyaBtf(#[from] Box<aya::BtfError>),
    #[error(
        "loading the eBPF object: {0} (Kestrel needs root, or CAP_BPF + CAP_PERFMON, and a kernel with BTF)"
    )]
    Load(#[from] Box<aya::EbpfError>),
    #[error("program `{program}`: {source}")]
    Program {
        program: &'static str,
        #[source]
        source: Box<aya::programs::ProgramError>,
    },
    #[error("program `{0}` is missing from the eBPF object")]
    MissingProgram(&'static str),
    #[error("map `{name}`: {source}")]
    Map {
        name: &'static str,
        #[source]
        source: Box<aya::maps::MapError>,
    },
    #[error("map `{0}` is missing from the eBPF object")]
    MissingMap(&'static str),
    #[error("sensor configuration: {0}")]
    Config(String),
}

/// State of one attached program, for status reports.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProgramStatus {
    pub name: &'static str,
    pub attach: String,
    pub attached: bool,
}

/// A loaded and attached sensor.
pub struct Sensor {
    ebpf: Ebpf,
    programs: Vec<ProgramStatus>,
    missing: MissingOptional,
    captured: Vec<u16>,
    container_scoped: Vec<u16>,
    /// The prefixes in `HOST_OPEN_PREFIXES` while the host-open filter is
    /// on.
    host_open_prefixes: Option<Vec<String>>,
}

/// Write `SYSCALLS[nr]` for the running architecture: the spec of each
/// captured handler (flagged containers-only for those in `scoped`, opens
/// flagged for the host path filter when it is on), zero for every other
/// number.
fn write_syscall_specs(
    ebpf: &mut Ebpf,
    handlers: &[u16],
    scoped: &[u16],
    host_path_filter: bool,
) -> Result<(), SensorError> {
    let map = ebpf
        .map_mut("SYSCALLS")
        .ok_or(SensorError::MissingMap("SYSCALLS"))?;
    let mut array =
        Array::<&mut MapData, SyscallSpec>::try_from(map).map_err(|source| SensorError::Map {
            name: "SYSCALLS",
            source: Box::new(source),
        })?;
    let specs = syscall_table::specs_by_number(handlers, scoped, host_path_filter);
    for nr in 0..MAX_SYSCALLS {
        let spec = specs.get(nr as usize).copied().unwrap_or_default();
        array.set(nr, spec, 0).map_err(|source| SensorError::Map {
            name: "SYSCALLS",
            source: Box::new(source),
        })?;
    }
    Ok(())
}

impl Sensor {
    /// Load and attach everything. Warns (never fails) when the memlock
    /// limit cannot be raised: recent kernels account BPF memory to cgroups.
    pub fn start(config: &SensorConfig) -> Result<Sensor, SensorError> {
        if EBPF_OBJECT.is_empty() {
            return Err(SensorError::NoObject);
        }
        raise_memlock_limit();
        let kernel_btf = btf::Btf::from_sys_fs().map_err(Box::new)?;
        let (offsets, missing) = resolve_offsets(&kernel_btf)?;
        tracing::debug!(?offsets, "kernel struct offsets from BTF");
        for feature in &missing.0 {
            tracing::warn!(feature, "kernel lacks a field: feature off");
        }
        let settings = Settings {
            profile: u32::from(config.syscall_profile),
            wakeup_bytes: config.wakeup_bytes.min(config.ring_bytes / 2),
            exit_nr: syscall_table::exit_numbers().0,
            exit_group_nr: syscall_table::exit_numbers().1,
        };

        let (object, kfunc_calls) = kfunc::resolve(EBPF_OBJECT, &kernel_btf);
        tracing::debug!(kfunc_calls, "kfunc calls resolved against kernel BTF");
        let mut ebpf = EbpfLoader::new()
            .override_global("OFFSETS", &offsets, true)
            .override_global("SETTINGS", &settings, true)
            .map_max_entries("EVENTS", config.ring_bytes)
            .load(object.bytes())
            .map_err(Box::new)?;

        let capture = if config.syscalls {
            syscall_table::resolve_names(&config.capture).map_err(SensorError::Config)?
        } else {
            Vec::new()
        };
        let container_scoped = if config.containers_only {
            capture.clone()
        } else {
            syscall_table::resolve_names(&config.capture_in_containers_only)
                .map_err(SensorError::Config)?
        };
        write_syscall_specs(&mut ebpf, &capture, &container_scoped, false)?;

        let aya_btf = Btf::from_sys_fs().map_err(Box::new)?;
        let mut programs = Vec::new();
        let dispatcher = config.syscalls || config.syscall_profile;
        let wanted = BTF_PROGRAMS
            .iter()
            .chain(std::iter::once(&DISPATCHER).filter(|_| dispatcher));
        for &(name, tracepoint) in wanted {
            attach_btf(&mut ebpf, name, tracepoint, &aya_btf)?;
            programs.push(ProgramStatus {
                name,
                attach: format!("tp_btf/{tracepoint}"),
                attached: true,
            });
        }
        let mut sensor = Sensor {
            ebpf,
            programs,
            missing,
            captured: capture,
            container_scoped,
            host_open_prefixes: None,
        };
        sensor.set_host_open_prefixes(config.host_open_prefixes.as_deref())?;
        Ok(sensor)
    }

    /// Replace the set of captured syscalls (e.g. with what loaded rules
    /// need) while running; those in `scoped` only in containers.
    pub fn set_captured(&mut self, handlers: &[u16], scoped: &[u16]) -> Result<(), SensorError> {
        let filter = self.host_open_prefixes.is_some();
        write_syscall_specs(&mut self.ebpf, handlers, scoped, filter)?;
        self.captured = handlers.to_vec();
        self.container_scoped = scoped.to_vec();
        Ok(())
    }

    /// Keep host tasks' opens only of files whose path starts with one of
    /// `prefixes` (`None`: every open). A set the kernel filter cannot hold
    /// turns the filter off, with a warning.
    pub fn set_host_open_prefixes(
        &mut self,
        prefixes: Option<&[String]>,
    ) -> Result<(), SensorError> {
        let prefixes = prefixes.filter(|p| match open_filter::usable(p) {
            Ok(()) => true,
            Err(why) => {
                tracing::warn!(why, "host opens of every path are captured");
                false
            }
        });
        let old = self.host_open_prefixes.take().unwrap_or_default();
        match prefixes {
            Some(new) => {
                // Fill the filter before flagging the opens.
                open_filter::replace(&mut self.ebpf, &old, new)?;
                write_syscall_specs(&mut self.ebpf, &self.captured, &self.container_scoped, true)?;
                self.host_open_prefixes = Some(new.to_vec());
            }
            None => {
                // Unflag the opens before emptying the filter.
                let (captured, scoped) = (&self.captured, &self.container_scoped);
                write_syscall_specs(&mut self.ebpf, captured, scoped, false)?;
                open_filter::replace(&mut self.ebpf, &old, &[])?;
            }
        }
        Ok(())
    }

    /// The host-open path prefixes in force (`None`: the filter is off).
    pub fn host_open_prefixes(&self) -> Option<&[String]> {
        self.host_open_prefixes.as_deref()
    }

    /// Handlers ([`kestrel_common::syscalls::handler`]) being captured.
    pub fn captured(&self) -> &[u16] {
        &self.captured
    }

    /// Captured handlers skipped for tasks in host cgroups.
    pub fn container_scoped(&self) -> &[u16] {
        &self.container_scoped
    }

    /// Take the host-cgroup map (once) as a writer.
    pub fn host_cgroups(&mut self) -> Result<HostCgroups, SensorError> {
        let map = self
            .ebpf
            .take_map("HOST_CGROUPS")
            .ok_or(SensorError::MissingMap("HOST_CGROUPS"))?;
        let map =
            HashMap::<MapData, u64, u8>::try_from(map).map_err(|source| SensorError::Map {
                name: "HOST_CGROUPS",
                source: Box::new(source),
            })?;
        let generation = self
            .ebpf
            .take_map("CACHE_GEN")
            .ok_or(SensorError::MissingMap("CACHE_GEN"))?;
        let generation =
            Array::<MapData, u64>::try_from(generation).map_err(|source| SensorError::Map {
                name: "CACHE_GEN",
                source: Box::new(source),
            })?;
        Ok(HostCgroups::new(map, generation))
    }

    /// Features turned off because the kernel lacks their fields.
    pub fn missing_features(&self) -> &[String] {
        &self.missing.0
    }

    /// Take the per-cgroup syscall profile map (once) as a reader.
    pub fn profile_reader(&mut self) -> Result<ProfileReader, SensorError> {
        let map = self
            .ebpf
            .take_map("PROFILE")
            .ok_or(SensorError::MissingMap("PROFILE"))?;
        let map =
            HashMap::<MapData, u64, [u64; PROFILE_WORDS]>::try_from(map).map_err(|source| {
                SensorError::Map {
                    name: "PROFILE",
                    source: Box::new(source),
                }
            })?;
        Ok(ProfileReader::new(map))
    }

    /// Take the event ring buffer (once); wrap it in a [`RingReader`] on the
    /// runtime that reads it.
    pub fn take_ring(&mut self) -> Result<EventRing, SensorError> {
        let map = self
            .ebpf
            .take_map("EVENTS")
            .ok_or(SensorError::MissingMap("EVENTS"))?;
        let ring = RingBuf::<MapData>::try_from(map).map_err(|source| SensorError::Map {
            name: "EVENTS",
            source: Box::new(source),
        })?;
        Ok(EventRing(ring))
    }

    /// Take the kernel loss counters (once) as a reader.
    pub fn loss_reader(&mut self) -> Result<LossReader, SensorError> {
        let map = self
            .ebpf
            .take_map("LOSS")
            .ok_or(SensorError::MissingMap("LOSS"))?;
        let array =
            PerCpuArray::<MapData, u64>::try_from(map).map_err(|source| SensorError::Map {
                name: "LOSS",
                source: Box::new(source),
            })?;
        let map = self
            .ebpf
            .take_map("LOSS_BY_CGROUP")
            .ok_or(SensorError::MissingMap("LOSS_BY_CGROUP"))?;
        let by_cgroup = HashMap::<MapData, u64, [u64; kind::COUNT as usize]>::try_from(map)
            .map_err(|source| SensorError::Map {
                name: "LOSS_BY_CGROUP",
                source: Box::new(source),
            })?;
        Ok(LossReader::new(array, by_cgroup))
    }

    pub fn programs(&self) -> &[ProgramStatus] {
        &self.programs
    }
}

/// Only a no-op program on a syscall tracepoint, attached: the floor every
/// syscall hook pays, for benchmarks. Dropping it detaches the program.
pub struct EmptyProbe {
    _ebpf: Ebpf,
}

/// Where the empty probe hooks: `sys_enter` is the floor the sensor issue
/// measures against; `sys_exit` is the agent's own hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmptyHook {
    SysEnter,
    SysExit,
}

impl EmptyProbe {
    pub fn attach(hook: EmptyHook) -> Result<EmptyProbe, SensorError> {
        if EBPF_OBJECT.is_empty() {
            return Err(SensorError::NoObject);
        }
        raise_memlock_limit();
        let kernel_btf = btf::Btf::from_sys_fs().map_err(Box::new)?;
        let (offsets, _) = resolve_offsets(&kernel_btf)?;
        let (object, _) = kfunc::resolve(EBPF_OBJECT, &kernel_btf);
        let mut ebpf = EbpfLoader::new()
            .override_global("OFFSETS", &offsets, true)
            .override_global("SETTINGS", &Settings::DEFAULT, true)
            .map_max_entries("EVENTS", 4096)
            .load(object.bytes())
            .map_err(Box::new)?;
        let btf = Btf::from_sys_fs().map_err(Box::new)?;
        let (program, tracepoint) = match hook {
            EmptyHook::SysEnter => ("empty_sys_enter", "sys_enter"),
            EmptyHook::SysExit => ("empty_sys_exit", "sys_exit"),
        };
        attach_btf(&mut ebpf, program, tracepoint, &btf)?;
        Ok(EmptyProbe { _ebpf: ebpf })
    }
}

/// Load program `name` of the object and attach it to BTF tracepoint
/// `tracepoint`.
fn attach_btf(
    ebpf: &mut Ebpf,
    name: &'static str,
    tracepoint: &str,
    btf: &Btf,
) -> Result<(), SensorError> {
    let error = |source| SensorError::Program {
        program: name,
        source: Box::new(source),
    };
    let program: &mut BtfTracePoint = ebpf
        .program_mut(name)
        .ok_or(SensorError::MissingProgram(name))?
        .try_into()
        .map_err(error)?;
    program
        .load(tracepoint, btf)
        .and_then(|()| program.attach().map(drop))
        .map_err(error)
}

fn raise_memlock_limit() {
    let limit = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: `limit` is a valid rlimit for the duration of the call.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &limit) };
    if rc != 0 {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "could not raise RLIMIT_MEMLOCK; fine on kernels that charge BPF memory to cgroups (5.11+)"
        );
    }
}
