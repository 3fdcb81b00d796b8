//! Branch stacks (`PERF_SAMPLE_BRANCH_STACK`): `struct perf_branch_entry` and its flag bitfield, as
//! include/uapi/linux/perf_event.h lays them out.

use crate::raw::{Cursor, RawData, U64Array};

/// A branch stack (`PERF_SAMPLE_BRANCH_STACK`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BranchStack<'a> {
    /// `hw_idx`, present when `branch_sample_type` has `SAMPLE_BRANCH_HW_INDEX`.
    pub hw_idx: Option<u64>,
    /// `nr` entries of `struct perf_branch_entry` {from, to, flags} (24 bytes each).
    pub entries: RawData<'a>,
    /// Per-branch counters (`SAMPLE_BRANCH_COUNTERS`), `nr` words.
    pub counters: Option<U64Array<'a>>,
}

/// One `struct perf_branch_entry`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BranchEntry {
    /// Source address.
    pub from: u64,
    /// Target address.
    pub to: u64,
    /// The flag bitfield word (mispred, predicted, in_tx, abort, cycles, type, ...).
    pub flags: u64,
}

impl<'a> BranchStack<'a> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len() / 24
    }

    /// Whether the stack is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterates over the entries.
    pub fn iter(&self) -> impl Iterator<Item = BranchEntry> + 'a {
        let mut c = Cursor::new(self.entries);
        core::iter::from_fn(move || {
            Some(BranchEntry {
                from: c.read_u64("branch.from").ok()?,
                to: c.read_u64("branch.to").ok()?,
                flags: c.read_u64("branch.flags").ok()?,
            })
        })
    }
}

/// The flag word's fields (`mispred:1, predicted:1, in_tx:1, abort:1, cycles:16, type:4, spec:2,
/// new_type:4, priv:3, reserved:31`, from bit 0 up).
impl BranchEntry {
    const fn bits(&self, shift: u32, width: u32) -> u64 {
        (self.flags >> shift) & ((1 << width) - 1)
    }
    /// The target was mispredicted.
    pub const fn mispred(&self) -> bool {
        self.bits(0, 1) != 0
    }
    /// The target was predicted.
    pub const fn predicted(&self) -> bool {
        self.bits(1, 1) != 0
    }
    /// The branch was in a transaction.
    pub const fn in_tx(&self) -> bool {
        self.bits(2, 1) != 0
    }
    /// The branch aborted a transaction.
    pub const fn abort(&self) -> bool {
        self.bits(3, 1) != 0
    }
    /// Cycles since the previous branch (0 when the hardware does not say).
    pub const fn cycles(&self) -> u16 {
        self.bits(4, 16) as u16
    }
    /// `PERF_BR_*`: the branch type (see [`branch_type_name`]).
    pub const fn branch_type(&self) -> u8 {
        self.bits(20, 4) as u8
    }
    /// `PERF_BR_SPEC_*`: speculation outcome (0 N/A, 1 wrong path, 2 correct path, 3 wrong path
    /// and committed).
    pub const fn spec(&self) -> u8 {
        self.bits(24, 2) as u8
    }
    /// `PERF_BR_NEW_*`: the extended type when [`BranchEntry::branch_type`] is `PERF_BR_EXTEND_ABI`.
    pub const fn new_type(&self) -> u8 {
        self.bits(26, 4) as u8
    }
    /// `PERF_BR_PRIV_*`: privilege level (0 unknown, 1 user, 2 kernel, 3 hypervisor).
    pub const fn privilege(&self) -> u8 {
        self.bits(30, 3) as u8
    }
}

/// `PERF_BR_EXTEND_ABI`: the type is in `new_type`.
pub const BRANCH_EXTEND_ABI: u8 = 15;

/// The name perf gives a branch type (`PERF_BR_*`).
pub const fn branch_type_name(ty: u8) -> &'static str {
    match ty {
        1 => "COND",
        2 => "UNCOND",
        3 => "IND",
        4 => "CALL",
        5 => "IND_CALL",
        6 => "RET",
        7 => "SYSCALL",
        8 => "SYSRET",
        9 => "COND_CALL",
        10 => "COND_RET",
        11 => "ERET",
        12 => "IRQ",
        13 => "SERROR",
        14 => "NO_TX",
        15 => "EXTEND_ABI",
        _ => "N/A",
    }
}

/// The name perf gives an extended branch type (`PERF_BR_NEW_*`).
pub const fn branch_new_type_name(ty: u8) -> &'static str {
    match ty {
        0 => "FAULT_ALGN",
        1 => "FAULT_DATA",
        2 => "FAULT_INST",
        3 => "ARCH_1",
        4 => "ARCH_2",
        5 => "ARCH_3",
        6 => "ARCH_4",
        7 => "ARCH_5",
        _ => "N/A",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_fields_sit_where_the_uapi_bitfield_puts_them() {
        // mispred, abort, cycles 0x1234, type RET (6), spec 2, new_type 3, priv kernel (2).
        let flags = 1 | (1 << 3) | (0x1234 << 4) | (6 << 20) | (2 << 24) | (3 << 26) | (2 << 30);
        let e = BranchEntry {
            from: 1,
            to: 2,
            flags,
        };
        assert!(e.mispred() && !e.predicted() && !e.in_tx() && e.abort());
        assert_eq!(
            (
                e.cycles(),
                e.branch_type(),
                e.spec(),
                e.new_type(),
                e.privilege()
            ),
            (0x1234, 6, 2, 3, 2)
        );
        assert_eq!(branch_type_name(e.branch_type()), "RET");
    }
}
