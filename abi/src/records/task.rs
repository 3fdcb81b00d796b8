//! Tasks and their context: `COMM`, `FORK`/`EXIT`, `NAMESPACES`, `CGROUP`.

use super::fixed_cstr;
use crate::raw::{Cursor, RawData, U64Array};
use crate::ParseError;

/// `PERF_RECORD_COMM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommRecord<'a> {
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// The command name, NUL padding removed.
    pub comm: RawData<'a>,
}

/// `PERF_RECORD_FORK` and `PERF_RECORD_EXIT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskRecord {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Thread id.
    pub tid: u32,
    /// Parent thread id.
    pub ptid: u32,
    /// Timestamp.
    pub time: u64,
}

/// `PERF_RECORD_NAMESPACES`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamespacesRecord<'a> {
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// `nr_namespaces` pairs of `{dev, inode}` words.
    pub link_info: U64Array<'a>,
}

/// `PERF_RECORD_CGROUP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CgroupRecord<'a> {
    /// Cgroup id.
    pub id: u64,
    /// Cgroup path, NUL padding removed.
    pub path: RawData<'a>,
}

impl<'a> CommRecord<'a> {
    pub(super) fn parse(c: &mut Cursor<'a>) -> Result<Self, ParseError> {
        Ok(Self {
            pid: c.read_u32("comm.pid")?,
            tid: c.read_u32("comm.tid")?,
            comm: fixed_cstr(c),
        })
    }
}

impl TaskRecord {
    pub(super) fn parse(c: &mut Cursor<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            pid: c.read_u32("task.pid")?,
            ppid: c.read_u32("task.ppid")?,
            tid: c.read_u32("task.tid")?,
            ptid: c.read_u32("task.ptid")?,
            time: c.read_u64("task.time")?,
        })
    }
}

impl<'a> NamespacesRecord<'a> {
    pub(super) fn parse(c: &mut Cursor<'a>) -> Result<Self, ParseError> {
        let pid = c.read_u32("namespaces.pid")?;
        let tid = c.read_u32("namespaces.tid")?;
        let nr = c.read_u64("namespaces.nr_namespaces")?;
        let link_info = U64Array::new(c.take_array(nr, 16, "namespaces.nr_namespaces")?);
        Ok(Self {
            pid,
            tid,
            link_info,
        })
    }
}

impl<'a> CgroupRecord<'a> {
    pub(super) fn parse(c: &mut Cursor<'a>) -> Result<Self, ParseError> {
        Ok(Self {
            id: c.read_u64("cgroup.id")?,
            path: fixed_cstr(c),
        })
    }
}
