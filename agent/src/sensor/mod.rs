//! The sensor: loads Kestrel's eBPF object into the kernel, hands it the
//! kernel struct offsets resolved from BTF, attaches every program, and gives
//! the pipeline the ring buffer to read and the kernel's loss counters.
//!
//! Dropping a [`Sensor`] detaches every program and frees its maps.

pub mod btf;
mod loss;
mod offsets;
mod ring;

use aya::{
    Btf, Ebpf, EbpfLoader,
    maps::{MapData, PerCpuArray, RingBuf},
    programs::BtfTracePoint,
};

pub use loss::{LossCounters, LossReader};
pub use offsets::{OffsetError, resolve_offsets};
pub use ring::{EventRing, RingReader};

use crate::config::SensorConfig;

/// The eBPF object built by `build.rs` and embedded in the binary.
static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/kestrel"));

/// Programs the sensor attaches: (program name in the object, tracepoint).
const PROGRAMS: &[(&str, &str)] = &[
    ("sched_process_exec", "sched_process_exec"),
    ("sched_process_fork", "sched_process_fork"),
    ("sched_process_exit", "sched_process_exit"),
];

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
        let offsets = resolve_offsets(&kernel_btf)?;
        tracing::debug!(?offsets, "kernel struct offsets from BTF");

        let mut ebpf = EbpfLoader::new()
            .override_global("OFFSETS", &offsets, true)
            .map_max_entries("EVENTS", config.ring_bytes)
            .load(EBPF_OBJECT)
            .map_err(Box::new)?;

        let aya_btf = Btf::from_sys_fs().map_err(Box::new)?;
        let mut programs = Vec::new();
        for &(name, tracepoint) in PROGRAMS {
            let program: &mut BtfTracePoint = ebpf
                .program_mut(name)
                .ok_or(SensorError::MissingProgram(name))?
                .try_into()
                .map_err(|source| SensorError::Program {
                    program: name,
                    source: Box::new(source),
                })?;
            program
                .load(tracepoint, &aya_btf)
                .and_then(|()| program.attach().map(drop))
                .map_err(|source| SensorError::Program {
                    program: name,
                    source: Box::new(source),
                })?;
            programs.push(ProgramStatus {
                name,
                attach: format!("tp_btf/{tracepoint}"),
                attached: true,
            });
        }
        Ok(Sensor { ebpf, programs })
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
        Ok(LossReader::new(array))
    }

    pub fn programs(&self) -> &[ProgramStatus] {
        &self.programs
    }
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
