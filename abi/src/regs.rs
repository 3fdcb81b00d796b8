//! The register bits of `sample_regs_user` / `sample_regs_intr` (`PERF_REG_*` in each architecture's
//! `asm/perf_regs.h`) and their names as `perf script` prints them. A sample's registers come in the
//! order of the set bits of the mask, lowest first.

/// An architecture whose register bits premap names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegArch {
    /// x86-64 (`PERF_REG_X86_*`).
    X86_64,
    /// arm64 (`PERF_REG_ARM64_*`).
    Arm64,
}

const X86_64: [&str; 24] = [
    "AX", "BX", "CX", "DX", "SI", "DI", "BP", "SP", "IP", "FLAGS", "CS", "SS", "DS", "ES", "FS",
    "GS", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15",
];

/// `PERF_REG_X86_XMM0` .. `XMM15`: two bits (two u64 halves) per register, from bit 32.
const X86_64_XMM: [&str; 32] = [
    "XMM0", "XMM0h", "XMM1", "XMM1h", "XMM2", "XMM2h", "XMM3", "XMM3h", "XMM4", "XMM4h", "XMM5",
    "XMM5h", "XMM6", "XMM6h", "XMM7", "XMM7h", "XMM8", "XMM8h", "XMM9", "XMM9h", "XMM10", "XMM10h",
    "XMM11", "XMM11h", "XMM12", "XMM12h", "XMM13", "XMM13h", "XMM14", "XMM14h", "XMM15", "XMM15h",
];

const ARM64: [&str; 33] = [
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
    "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27",
    "x28", "x29", "lr", "sp", "pc",
];

/// `PERF_REG_ARM64_VG` (the SVE vector granule, Linux 6.1+).
const ARM64_VG: u32 = 46;

impl RegArch {
    /// The architecture of a machine name as `uname -m` and perf.data's ARCH feature spell it.
    pub fn from_machine(machine: &str) -> Option<Self> {
        match machine {
            "x86_64" | "amd64" => Some(Self::X86_64),
            "aarch64" | "arm64" => Some(Self::Arm64),
            _ => None,
        }
    }

    /// The name of register bit `bit`, or `None` for a bit this architecture does not define.
    pub fn name(self, bit: u32) -> Option<&'static str> {
        let bit = bit as usize;
        match self {
            Self::X86_64 => X86_64
                .get(bit)
                .or_else(|| X86_64_XMM.get(bit.checked_sub(32)?))
                .copied(),
            Self::Arm64 if bit == ARM64_VG as usize => Some("vg"),
            Self::Arm64 => ARM64.get(bit).copied(),
        }
    }

    /// `(name, value)` for each register of a sample: the set bits of `mask`, lowest first, paired
    /// with `values` in order (bits without a name are named `None`).
    pub fn named(
        self,
        mask: u64,
        values: impl Iterator<Item = u64>,
    ) -> impl Iterator<Item = (Option<&'static str>, u64)> {
        let bits = (0..64u32).filter(move |b| mask & (1u64 << b) != 0);
        bits.zip(values).map(move |(b, v)| (self.name(b), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_perf_regs_h() {
        let x = RegArch::X86_64;
        assert_eq!(
            (x.name(0), x.name(8), x.name(23)),
            (Some("AX"), Some("IP"), Some("R15"))
        );
        assert_eq!(
            (x.name(24), x.name(32), x.name(33)),
            (None, Some("XMM0"), Some("XMM0h"))
        );
        assert_eq!((x.name(63), x.name(64)), (Some("XMM15h"), None));
        let a = RegArch::Arm64;
        assert_eq!(
            (a.name(30), a.name(31), a.name(32)),
            (Some("lr"), Some("sp"), Some("pc"))
        );
        assert_eq!((a.name(33), a.name(46)), (None, Some("vg")));
        assert_eq!(RegArch::from_machine("aarch64"), Some(RegArch::Arm64));
        assert_eq!(RegArch::from_machine("riscv64"), None);
    }

    #[test]
    fn values_pair_with_the_set_bits_lowest_first() {
        let mask = (1 << 8) | (1 << 7) | 1; // IP, SP, AX
        let got: [(Option<&str>, u64); 3] = {
            let mut it = RegArch::X86_64.named(mask, [10, 20, 30].into_iter());
            [it.next().unwrap(), it.next().unwrap(), it.next().unwrap()]
        };
        assert_eq!(got, [(Some("AX"), 10), (Some("SP"), 20), (Some("IP"), 30)]);
    }
}
