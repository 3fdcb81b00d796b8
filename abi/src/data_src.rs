//! The sample words that pack several fields: `PERF_SAMPLE_DATA_SRC` (`union perf_mem_data_src`),
//! `PERF_SAMPLE_WEIGHT_STRUCT` (`union perf_sample_weight`) and `PERF_SAMPLE_TRANSACTION` (the
//! `PERF_TXN_*` flags and abort code), as include/uapi/linux/perf_event.h lays them out
//! (little-endian bit order, from bit 0 up).

/// `union perf_mem_data_src`: `mem_op:5, mem_lvl:14, mem_snoop:5, mem_lock:2, mem_dtlb:7,
/// mem_lvl_num:4, mem_remote:1, mem_snoopx:2, mem_blk:3, mem_hops:3, mem_rsvd:18`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataSrc(pub u64);

impl DataSrc {
    const fn bits(self, shift: u32, width: u32) -> u64 {
        (self.0 >> shift) & ((1 << width) - 1)
    }
    /// `mem_op`: `MEM_OP_*` bits.
    pub const fn op(self) -> u64 {
        self.bits(0, 5)
    }
    /// `mem_lvl`: `MEM_LVL_*` bits (the older level namespace).
    pub const fn lvl(self) -> u64 {
        self.bits(5, 14)
    }
    /// `mem_snoop`: `MEM_SNOOP_*` bits.
    pub const fn snoop(self) -> u64 {
        self.bits(19, 5)
    }
    /// `mem_lock`: `MEM_LOCK_*` bits.
    pub const fn lock(self) -> u64 {
        self.bits(24, 2)
    }
    /// `mem_dtlb`: `MEM_TLB_*` bits.
    pub const fn dtlb(self) -> u64 {
        self.bits(26, 7)
    }
    /// `mem_lvl_num`: a `MEM_LVLNUM_*` value.
    pub const fn lvl_num(self) -> u64 {
        self.bits(33, 4)
    }
    /// `mem_remote`: the level is remote.
    pub const fn remote(self) -> bool {
        self.bits(37, 1) != 0
    }
    /// `mem_snoopx`: `MEM_SNOOPX_*` bits.
    pub const fn snoopx(self) -> u64 {
        self.bits(38, 2)
    }
    /// `mem_blk`: `MEM_BLK_*` bits.
    pub const fn blk(self) -> u64 {
        self.bits(40, 3)
    }
    /// `mem_hops`: a `MEM_HOPS_*` value.
    pub const fn hops(self) -> u64 {
        self.bits(43, 3)
    }
}

/// `PERF_MEM_OP_NA`.
pub const MEM_OP_NA: u64 = 0x01;
/// `PERF_MEM_OP_LOAD`.
pub const MEM_OP_LOAD: u64 = 0x02;
/// `PERF_MEM_OP_STORE`.
pub const MEM_OP_STORE: u64 = 0x04;
/// `PERF_MEM_OP_PFETCH`.
pub const MEM_OP_PFETCH: u64 = 0x08;
/// `PERF_MEM_OP_EXEC`.
pub const MEM_OP_EXEC: u64 = 0x10;
/// `PERF_MEM_LVL_NA`.
pub const MEM_LVL_NA: u64 = 0x01;
/// `PERF_MEM_LVL_HIT`.
pub const MEM_LVL_HIT: u64 = 0x02;
/// `PERF_MEM_LVL_MISS`.
pub const MEM_LVL_MISS: u64 = 0x04;
/// `PERF_MEM_LVLNUM_NA`.
pub const MEM_LVLNUM_NA: u64 = 0x0f;
/// `PERF_MEM_SNOOP_NA`.
pub const MEM_SNOOP_NA: u64 = 0x01;
/// `PERF_MEM_LOCK_NA`.
pub const MEM_LOCK_NA: u64 = 0x01;
/// `PERF_MEM_LOCK_LOCKED`.
pub const MEM_LOCK_LOCKED: u64 = 0x02;
/// `PERF_MEM_TLB_NA`.
pub const MEM_TLB_NA: u64 = 0x01;
/// `PERF_MEM_TLB_HIT`.
pub const MEM_TLB_HIT: u64 = 0x02;
/// `PERF_MEM_TLB_MISS`.
pub const MEM_TLB_MISS: u64 = 0x04;
/// `PERF_MEM_BLK_NA`.
pub const MEM_BLK_NA: u64 = 0x01;
/// `PERF_MEM_BLK_DATA`.
pub const MEM_BLK_DATA: u64 = 0x02;
/// `PERF_MEM_BLK_ADDR`.
pub const MEM_BLK_ADDR: u64 = 0x04;

/// `union perf_sample_weight` (`PERF_SAMPLE_WEIGHT_STRUCT`): `var1_dw` in the low 32 bits, then
/// `var2_w` and `var3_w` (on x86 the instruction latency; on powerpc the pipeline stage cycles).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Weight {
    /// `var1_dw`: the weight (what `SAMPLE_WEIGHT` carries whole).
    pub var1_dw: u32,
    /// `var2_w`: x86 `ins_lat`, powerpc `p_stage_cyc`.
    pub var2_w: u16,
    /// `var3_w`.
    pub var3_w: u16,
}

impl Weight {
    /// Splits the sample's weight word.
    pub const fn from_word(w: u64) -> Self {
        Self {
            var1_dw: w as u32,
            var2_w: (w >> 32) as u16,
            var3_w: (w >> 48) as u16,
        }
    }
}

/// `PERF_TXN_*` flags of a `PERF_SAMPLE_TRANSACTION` word (low 32 bits; the high 32 are the abort
/// code), with the names perf gives them.
pub const TXN_FLAGS: [(u64, &str); 8] = [
    (1 << 0, "ELISION"),
    (1 << 1, "TRANSACTION"),
    (1 << 2, "SYNC"),
    (1 << 3, "ASYNC"),
    (1 << 4, "RETRY"),
    (1 << 5, "CONFLICT"),
    (1 << 6, "CAPACITY_WRITE"),
    (1 << 7, "CAPACITY_READ"),
];
/// `PERF_TXN_ABORT_SHIFT`: the abort code's position in the transaction word.
pub const TXN_ABORT_SHIFT: u32 = 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_software_events_data_src_is_every_field_not_available() {
        // What the kernel stores for events without a memory source (PERF_MEM_NA).
        let d = DataSrc(0x1e05080021);
        assert_eq!(
            (d.op(), d.lvl(), d.snoop(), d.lock(), d.dtlb(), d.lvl_num()),
            (
                MEM_OP_NA,
                MEM_LVL_NA,
                MEM_SNOOP_NA,
                MEM_LOCK_NA,
                MEM_TLB_NA,
                MEM_LVLNUM_NA
            )
        );
        assert!(!d.remote());
        assert_eq!((d.snoopx(), d.blk(), d.hops()), (0, 0, 0));
        let w = Weight::from_word(0x0003_0002_0000_0001);
        assert_eq!((w.var1_dw, w.var2_w, w.var3_w), (1, 2, 3));
    }
}
