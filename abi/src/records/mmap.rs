//! `PERF_RECORD_MMAP` and `PERF_RECORD_MMAP2`: executable (and, with `mmap_data`, data) mappings.

use super::fixed_cstr;
use crate::header::RECORD_MISC_MMAP_BUILD_ID;
use crate::raw::{Cursor, RawData};
use crate::ParseError;

/// `PERF_RECORD_MMAP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmapRecord<'a> {
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Start address.
    pub addr: u64,
    /// Length.
    pub len: u64,
    /// File offset.
    pub pgoff: u64,
    /// The file name, NUL padding removed.
    pub filename: RawData<'a>,
}

/// The identity of an MMAP2 mapping's file: device and inode, or a build id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mmap2FileId {
    /// `maj`, `min`, `ino`, `ino_generation`.
    Inode {
        /// Device major.
        maj: u32,
        /// Device minor.
        min: u32,
        /// Inode number.
        ino: u64,
        /// Inode generation.
        ino_generation: u64,
    },
    /// `RECORD_MISC_MMAP_BUILD_ID`: `build_id_size` bytes of `build_id[20]`.
    BuildId {
        /// Valid bytes in `build_id`.
        size: u8,
        /// The build id, zero padded.
        build_id: [u8; 20],
    },
}

/// `PERF_RECORD_MMAP2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mmap2Record<'a> {
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Start address.
    pub addr: u64,
    /// Length.
    pub len: u64,
    /// File offset.
    pub pgoff: u64,
    /// Device/inode or build id.
    pub file_id: Mmap2FileId,
    /// `PROT_*` bits.
    pub prot: u32,
    /// `MAP_*` bits.
    pub flags: u32,
    /// The file name, NUL padding removed.
    pub filename: RawData<'a>,
}

impl<'a> MmapRecord<'a> {
    pub(super) fn parse(c: &mut Cursor<'a>) -> Result<Self, ParseError> {
        Ok(Self {
            pid: c.read_u32("mmap.pid")?,
            tid: c.read_u32("mmap.tid")?,
            addr: c.read_u64("mmap.addr")?,
            len: c.read_u64("mmap.len")?,
            pgoff: c.read_u64("mmap.pgoff")?,
            filename: fixed_cstr(c),
        })
    }
}

impl<'a> Mmap2Record<'a> {
    /// `misc` says which file identity follows the offsets (`RECORD_MISC_MMAP_BUILD_ID`).
    pub(super) fn parse(c: &mut Cursor<'a>, misc: u16) -> Result<Self, ParseError> {
        let pid = c.read_u32("mmap2.pid")?;
        let tid = c.read_u32("mmap2.tid")?;
        let addr = c.read_u64("mmap2.addr")?;
        let len = c.read_u64("mmap2.len")?;
        let pgoff = c.read_u64("mmap2.pgoff")?;
        let file_id = if misc & RECORD_MISC_MMAP_BUILD_ID != 0 {
            let size = c.read_u8("mmap2.build_id_size")?;
            c.skip(3, "mmap2.reserved")?;
            let mut build_id = [0u8; 20];
            c.take(20, "mmap2.build_id")?
                .copy_prefix_to(&mut build_id)
                .ok_or(ParseError::Truncated {
                    field: "mmap2.build_id",
                    needed: 20,
                    available: 0,
                })?;
            Mmap2FileId::BuildId { size, build_id }
        } else {
            Mmap2FileId::Inode {
                maj: c.read_u32("mmap2.maj")?,
                min: c.read_u32("mmap2.min")?,
                ino: c.read_u64("mmap2.ino")?,
                ino_generation: c.read_u64("mmap2.ino_generation")?,
            }
        };
        Ok(Self {
            pid,
            tid,
            addr,
            len,
            pgoff,
            file_id,
            prot: c.read_u32("mmap2.prot")?,
            flags: c.read_u32("mmap2.flags")?,
            filename: fixed_cstr(c),
        })
    }
}
