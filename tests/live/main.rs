//! Live tests: the real eBPF programs loaded into this kernel, real
//! processes and real containers. They need root (see
//! `support::require_root`).

#[path = "../support/mod.rs"]
mod support;

mod agent_cli;
mod cri;
mod enrichment;
mod lifecycle;
mod runc_container;
mod syscalls;
