//! Walking a process's parent chain through the table, bounded so a ppid
//! cycle cannot hang the caller.

use super::ProcessTable;
use crate::context::ProcessInfo;

/// Iterator over a process's ancestors: parent first. Made by
/// [`ProcessTable::ancestors`].
#[derive(Debug)]
pub struct Ancestors<'a> {
    table: &'a ProcessTable,
    /// Pid of the next ancestor to yield; `None` when the chain ended.
    next: Option<u32>,
    remaining: usize,
}

impl<'a> Ancestors<'a> {
    pub(super) fn new(table: &'a ProcessTable, tgid: u32, max: usize) -> Ancestors<'a> {
        let next = table.get(tgid).and_then(parent_of);
        Ancestors {
            table,
            next,
            remaining: max,
        }
    }
}

/// The parent pid worth following: not 0 (no parent) nor the process itself.
fn parent_of(info: &ProcessInfo) -> Option<u32> {
    (info.ppid != 0 && info.ppid != info.pid).then_some(info.ppid)
}

impl<'a> Iterator for Ancestors<'a> {
    type Item = &'a ProcessInfo;

    fn next(&mut self) -> Option<&'a ProcessInfo> {
        if self.remaining == 0 {
            return None;
        }
        let pid = self.next.take()?;
        let Some(info) = self.table.get(pid) else {
            let counter = &self.table.unknown_parent;
            counter.set(counter.get() + 1);
            return None;
        };
        self.remaining -= 1;
        self.next = parent_of(info);
        Some(info)
    }
}
