//! The gRPC API: protos, conversions, filters, the agent-control trait, the
//! event stream hub, the server, and the CLI client.

pub mod client;
pub mod control;
pub mod convert;
pub mod events;
pub mod filter;
pub mod proto;
pub mod server;
pub mod wire;
