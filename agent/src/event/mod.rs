//! The decoded event model and its decoder.
//!
//! `decode` turns the kernel's fixed-layout records (`kestrel-common`) into
//! owned, typed [`Event`]s. It trusts nothing in the bytes: every length is
//! checked, a short, garbled or unknown record is a [`DecodeError`] that the
//! caller counts; decoding never panics.

mod decode;
mod model;
mod syscall;

pub use decode::{DecodeError, Decoder};
pub use model::{
    CgroupChange, Comm, Event, EventBody, EventKind, Exec, Exit, FirstSyscall, Fork, Header,
    SockAddr, SockTuple, Syscall, SyscallArgs,
};
pub use syscall::parse_sockaddr;
