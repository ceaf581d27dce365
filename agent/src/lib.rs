//! Kestrel's userspace agent, as a library so tests and tools can drive the
//! same rooms the `kestrel` binary uses.
//!
//! Data flows one way through the rooms: `sensor` (kernel programs, ring
//! buffer) → `event` (decode) → `pipeline` (the hot path that owns decode →
//! enrich → judge) → `output` (JSON lines, text). `config` and `cli` sit
//! beside the flow.

pub mod alert;
pub mod api;
pub mod cli;
pub mod config;
pub mod container;
pub mod context;
pub mod daemon;
pub mod event;
pub mod output;
pub mod pipeline;
pub mod process;
pub mod rules;
pub mod sensor;
