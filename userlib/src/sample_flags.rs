//! [`SampleFlags`]: `perf_event_attr.sample_type` as a typed set, so that what a sample carries is
//! spelled with names (`SampleFlags::IP | SampleFlags::TIME`) and printed with them.

use premap_abi::attr;
use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Sub};

/// A set of `PERF_SAMPLE_*` flags: what each sample carries, in the order perf lays them out.
///
/// [`crate::EventBuilder::sample_type`] takes it (or the raw `u64` bits of `premap::abi::attr`).
///
/// ```
/// use premap::SampleFlags;
/// let f = SampleFlags::IP | SampleFlags::TID | SampleFlags::TIME;
/// assert!(f.contains(SampleFlags::TID));
/// assert_eq!(f.bits(), premap::abi::attr::SAMPLE_IP | 2 | 4);
/// assert_eq!(format!("{f:?}"), "SampleFlags(IP | TID | TIME)");
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SampleFlags(u64);

impl SampleFlags {
    /// `PERF_SAMPLE_IP`.
    pub const IP: Self = Self(attr::SAMPLE_IP);
    /// `PERF_SAMPLE_TID`.
    pub const TID: Self = Self(attr::SAMPLE_TID);
    /// `PERF_SAMPLE_TIME`.
    pub const TIME: Self = Self(attr::SAMPLE_TIME);
    /// `PERF_SAMPLE_ADDR`.
    pub const ADDR: Self = Self(attr::SAMPLE_ADDR);
    /// `PERF_SAMPLE_READ`.
    pub const READ: Self = Self(attr::SAMPLE_READ);
    /// `PERF_SAMPLE_CALLCHAIN`.
    pub const CALLCHAIN: Self = Self(attr::SAMPLE_CALLCHAIN);
    /// `PERF_SAMPLE_ID`.
    pub const ID: Self = Self(attr::SAMPLE_ID);
    /// `PERF_SAMPLE_CPU`.
    pub const CPU: Self = Self(attr::SAMPLE_CPU);
    /// `PERF_SAMPLE_PERIOD`.
    pub const PERIOD: Self = Self(attr::SAMPLE_PERIOD);
    /// `PERF_SAMPLE_STREAM_ID`.
    pub const STREAM_ID: Self = Self(attr::SAMPLE_STREAM_ID);
    /// `PERF_SAMPLE_RAW`.
    pub const RAW: Self = Self(attr::SAMPLE_RAW);
    /// `PERF_SAMPLE_BRANCH_STACK`.
    pub const BRANCH_STACK: Self = Self(attr::SAMPLE_BRANCH_STACK);
    /// `PERF_SAMPLE_REGS_USER`.
    pub const REGS_USER: Self = Self(attr::SAMPLE_REGS_USER);
    /// `PERF_SAMPLE_STACK_USER`.
    pub const STACK_USER: Self = Self(attr::SAMPLE_STACK_USER);
    /// `PERF_SAMPLE_WEIGHT`.
    pub const WEIGHT: Self = Self(attr::SAMPLE_WEIGHT);
    /// `PERF_SAMPLE_DATA_SRC`.
    pub const DATA_SRC: Self = Self(attr::SAMPLE_DATA_SRC);
    /// `PERF_SAMPLE_IDENTIFIER`.
    pub const IDENTIFIER: Self = Self(attr::SAMPLE_IDENTIFIER);
    /// `PERF_SAMPLE_TRANSACTION`.
    pub const TRANSACTION: Self = Self(attr::SAMPLE_TRANSACTION);
    /// `PERF_SAMPLE_REGS_INTR`.
    pub const REGS_INTR: Self = Self(attr::SAMPLE_REGS_INTR);
    /// `PERF_SAMPLE_PHYS_ADDR`.
    pub const PHYS_ADDR: Self = Self(attr::SAMPLE_PHYS_ADDR);
    /// `PERF_SAMPLE_AUX`.
    pub const AUX: Self = Self(attr::SAMPLE_AUX);
    /// `PERF_SAMPLE_CGROUP`.
    pub const CGROUP: Self = Self(attr::SAMPLE_CGROUP);
    /// `PERF_SAMPLE_DATA_PAGE_SIZE`.
    pub const DATA_PAGE_SIZE: Self = Self(attr::SAMPLE_DATA_PAGE_SIZE);
    /// `PERF_SAMPLE_CODE_PAGE_SIZE`.
    pub const CODE_PAGE_SIZE: Self = Self(attr::SAMPLE_CODE_PAGE_SIZE);
    /// `PERF_SAMPLE_WEIGHT_STRUCT`.
    pub const WEIGHT_STRUCT: Self = Self(attr::SAMPLE_WEIGHT_STRUCT);

    /// No flag.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Every flag this crate knows (up to `PERF_SAMPLE_WEIGHT_STRUCT`).
    pub const fn all() -> Self {
        Self(attr::SAMPLE_MAX - 1)
    }

    /// The raw `sample_type` bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The set with exactly `bits`, or `None` when a bit is not a flag this crate knows.
    pub const fn from_bits(bits: u64) -> Option<Self> {
        if bits & !Self::all().0 == 0 {
            Some(Self(bits))
        } else {
            None
        }
    }

    /// The set with `bits`, unknown bits kept (a newer kernel's flags pass through).
    pub const fn from_bits_retain(bits: u64) -> Self {
        Self(bits)
    }

    /// Whether every flag of `other` is in the set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The union.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    const NAMES: [(Self, &'static str); 25] = [
        (Self::IP, "IP"),
        (Self::TID, "TID"),
        (Self::TIME, "TIME"),
        (Self::ADDR, "ADDR"),
        (Self::READ, "READ"),
        (Self::CALLCHAIN, "CALLCHAIN"),
        (Self::ID, "ID"),
        (Self::CPU, "CPU"),
        (Self::PERIOD, "PERIOD"),
        (Self::STREAM_ID, "STREAM_ID"),
        (Self::RAW, "RAW"),
        (Self::BRANCH_STACK, "BRANCH_STACK"),
        (Self::REGS_USER, "REGS_USER"),
        (Self::STACK_USER, "STACK_USER"),
        (Self::WEIGHT, "WEIGHT"),
        (Self::DATA_SRC, "DATA_SRC"),
        (Self::IDENTIFIER, "IDENTIFIER"),
        (Self::TRANSACTION, "TRANSACTION"),
        (Self::REGS_INTR, "REGS_INTR"),
        (Self::PHYS_ADDR, "PHYS_ADDR"),
        (Self::AUX, "AUX"),
        (Self::CGROUP, "CGROUP"),
        (Self::DATA_PAGE_SIZE, "DATA_PAGE_SIZE"),
        (Self::CODE_PAGE_SIZE, "CODE_PAGE_SIZE"),
        (Self::WEIGHT_STRUCT, "WEIGHT_STRUCT"),
    ];
}

impl BitOr for SampleFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

impl BitOrAssign for SampleFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for SampleFlags {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl Sub for SampleFlags {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Self(self.0 & !rhs.0)
    }
}

impl From<u64> for SampleFlags {
    /// The raw bits, unknown ones kept ([`SampleFlags::from_bits_retain`]).
    fn from(bits: u64) -> Self {
        Self(bits)
    }
}

impl From<SampleFlags> for u64 {
    fn from(f: SampleFlags) -> u64 {
        f.0
    }
}

impl fmt::Debug for SampleFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SampleFlags(")?;
        let mut first = true;
        let mut rest = self.0;
        for (flag, name) in Self::NAMES {
            if self.contains(flag) {
                f.write_str(if first { "" } else { " | " })?;
                f.write_str(name)?;
                first = false;
                rest &= !flag.0;
            }
        }
        if rest != 0 {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{rest:#x}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_is_its_abi_bit_and_named() {
        let mut all = SampleFlags::empty();
        for (flag, name) in SampleFlags::NAMES {
            assert_eq!(flag.bits().count_ones(), 1, "{name}");
            assert!(!all.contains(flag), "{name} twice");
            all |= flag;
        }
        assert_eq!(all, SampleFlags::all());
        assert_eq!(SampleFlags::from_bits(attr::SAMPLE_MAX), None);
        assert_eq!(
            format!(
                "{:?}",
                SampleFlags::from_bits_retain(attr::SAMPLE_CPU | 1 << 40)
            ),
            "SampleFlags(CPU | 0x10000000000)"
        );
        assert_eq!((all - SampleFlags::IP).bits(), all.bits() & !1);
    }
}
