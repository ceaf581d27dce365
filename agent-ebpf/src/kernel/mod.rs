//! Typed access to kernel memory.
//!
//! Probes never add raw offsets themselves: they call accessors such as
//! [`task::Task::real_parent`], which read the offset resolved from BTF by
//! userspace (the `OFFSETS` global) and do the checked kernel read.

pub mod offsets;
pub mod task;
