//! `Context` for the rule engine over the process table, with container
//! lookups delegated to whoever owns the container registry.

use super::ProcessTable;
use crate::context::{ContainerInfo, Context, ProcessInfo};

/// The table plus a container lookup by cgroup id, as a [`Context`].
pub struct ProcessContext<'a, F> {
    table: &'a ProcessTable,
    containers: F,
}

impl<'a, F> ProcessContext<'a, F>
where
    F: Fn(u64) -> Option<&'a ContainerInfo>,
{
    pub fn new(table: &'a ProcessTable, containers: F) -> Self {
        ProcessContext { table, containers }
    }
}

impl<'a> ProcessContext<'a, fn(u64) -> Option<&'a ContainerInfo>> {
    /// Processes only: every container lookup answers `None`.
    pub fn without_containers(table: &'a ProcessTable) -> Self {
        ProcessContext {
            table,
            containers: |_| None,
        }
    }
}

impl<'a, F> Context for ProcessContext<'a, F>
where
    F: Fn(u64) -> Option<&'a ContainerInfo>,
{
    fn process(&self, tgid: u32) -> Option<&ProcessInfo> {
        self.table.get(tgid)
    }

    fn container(&self, cgroup_id: u64) -> Option<&ContainerInfo> {
        (self.containers)(cgroup_id)
    }
}
