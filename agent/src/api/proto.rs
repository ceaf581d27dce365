//! Generated protobuf/gRPC code for `proto/kestrel/v1/*.proto` (package
//! `kestrel.v1`), compiled at build time by protox + tonic-prost-build.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

/// `kestrel.v1`.
pub mod v1 {
    tonic::include_proto!("kestrel.v1");
    // Mapped in with extern_path, see `api::wire`.
    pub use crate::api::wire::{AlertStreamMessage, alert_stream_message};
}

pub use v1::*;
