//! The plan of premap's driver fuzzer: a seeded random generator and the operations it draws, with
//! hostile sizes and extremes. Pure Rust (tested on the host); `main.rs` carries the operations out
//! against `/dev/premap` in a guest.
//!
//! A run is reproducible from its seed: every worker (process x thread) draws its own sequence from
//! `seed` and its index, so the same seed replays the same operations (their interleaving across
//! workers is the scheduler's).

pub mod fault;

/// splitmix64: small, fast, and every seed gives a full-period sequence.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// The generator of worker `worker` of a run seeded with `seed`.
    pub fn new(seed: u64, worker: u64) -> Self {
        let mut r = Self(seed ^ worker.wrapping_mul(0xA076_1D64_78BD_642F));
        r.next_u64();
        r
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// True with probability 1/`n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    /// One of `items` (which must not be empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A 32-bit value biased toward the edges: 0, 1, powers of two and their neighbours, u32::MAX.
    pub fn hostile_u32(&mut self) -> u32 {
        match self.below(6) {
            0 => self.pick(&[0, 1, 2, 3, 0x7fff_ffff, 0x8000_0000, u32::MAX, u32::MAX - 1]),
            1 | 2 => {
                let p = 1u32 << self.below(32);
                match self.below(3) {
                    0 => p,
                    1 => p.wrapping_sub(1),
                    _ => p.wrapping_add(1),
                }
            }
            3 => self.below(64) as u32,
            _ => self.next_u64() as u32,
        }
    }

    /// A 64-bit value biased toward the edges.
    pub fn hostile_u64(&mut self) -> u64 {
        match self.below(5) {
            0 => self.pick(&[0, 1, u64::MAX, u64::MAX / 2, 1 << 63, (1 << 63) - 1]),
            1 | 2 => 1u64 << self.below(64),
            3 => u64::from(self.hostile_u32()),
            _ => self.next_u64(),
        }
    }
}

/// How many data pages a create asks for: mostly small valid rings, sometimes large or invalid.
pub fn data_pages(r: &mut Rng) -> u32 {
    match r.below(10) {
        0..=5 => 1 << r.below(5),
        6 => 0,
        7 => 1 << r.below(11),
        8 => 1 << r.below(21),
        _ => r.hostile_u32(),
    }
}

/// The operations the fuzzer draws (each field is the syscall argument or index of the same name). Indices (`fd`, `map`) pick among the worker's live objects modulo
/// their count; what they refer to is `main.rs`'s business.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // the fields: see the enum's doc
pub enum Op {
    /// open(/dev/premap).
    Open,
    /// close a descriptor (the driver sees release when the last reference goes).
    Close { fd: u32 },
    /// IOC_CREATE with possibly hostile fields.
    Create {
        fd: u32,
        size: u32,
        flags: u32,
        data_pages: u32,
        aux_pages: u32,
        watermark: u32,
        reserved: u64,
    },
    /// IOC_GENERATE with possibly hostile fields (count 0 stops).
    Generate {
        fd: u32,
        count: u64,
        period_ns: u64,
        batch: u32,
        sample_size: u32,
    },
    /// IOC_INFO / IOC_STATS / IOC_PAGE_INFO, or any request number, with a good or a bad pointer.
    Ioctl {
        fd: u32,
        which: u32,
        arg_kind: u32,
        pgoff: u32,
    },
    /// PERF_EVENT_IOC_PAUSE_OUTPUT.
    Pause { fd: u32, on: bool },
    /// write() of `records` valid 8..=256-byte records, or `len` random bytes, or from a mapping.
    Write {
        fd: u32,
        kind: u32,
        records: u32,
        len: u32,
        seed: u64,
    },
    /// poll() or epoll with a zero timeout.
    Poll { fd: u32, epoll: bool },
    /// mmap of `pages` pages at page offset `pgoff` with `prot` and `flags` bits.
    Mmap {
        fd: u32,
        pages: u32,
        pgoff: u32,
        prot: u32,
        shared: bool,
    },
    /// munmap of a whole mapping, or of part of it.
    Munmap { map: u32, part: bool },
    /// mremap of a mapping to `pages` (may move).
    Mremap { map: u32, pages: u32 },
    /// mprotect of a mapping.
    Mprotect { map: u32, prot: u32 },
    /// madvise of a mapping.
    Madvise { map: u32, advice: i32 },
    /// Reads of the mapping: control page fields and data bytes.
    Touch { map: u32, seed: u64 },
    /// In a forked child: map descriptor `fd` whole and write to page `page` of the mapping (the control
    /// page takes it; a data page answers SIGBUS).
    ChildWrite { fd: u32, page: u32 },
    /// fork; the child touches the mappings and exits.
    Fork,
    /// vmsplice from a mapping into a pipe (GUP).
    Vmsplice { map: u32 },
    /// process_vm_readv from a mapping of our own process (GUP of another mm's view).
    ProcessVmReadv { map: u32 },
    /// Arms the kernel's fail-nth for the next operation of this thread.
    FailNth { n: u32 },
}

/// madvise values worth trying on a ring mapping.
pub const ADVICE: [i32; 10] = [
    libc::MADV_NORMAL,
    libc::MADV_DONTNEED,
    libc::MADV_DONTFORK,
    libc::MADV_DOFORK,
    libc::MADV_WILLNEED,
    libc::MADV_REMOVE,
    libc::MADV_FREE,
    libc::MADV_PAGEOUT,
    libc::MADV_COLD,
    libc::MADV_POPULATE_READ,
];

impl Op {
    /// Whether the operation makes no allocation in user space, so that the kernel's fail-nth, armed
    /// before it, hits the driver's path and not the fuzzer's own malloc.
    pub fn fail_nth_safe(&self) -> bool {
        matches!(
            self,
            Op::Create { .. }
                | Op::Generate { .. }
                | Op::Ioctl { .. }
                | Op::Mmap { .. }
                | Op::Mremap { .. }
                | Op::Mprotect { .. }
                | Op::Madvise { .. }
                | Op::Poll { epoll: false, .. }
        )
    }

    /// Draws the next operation.
    pub fn random(r: &mut Rng) -> Op {
        let fd = r.below(8) as u32;
        let map = r.below(8) as u32;
        match r.below(100) {
            0..=7 => Op::Open,
            8..=11 => Op::Close { fd },
            12..=23 => Op::Create {
                fd,
                size: if r.one_in(8) { r.hostile_u32() } else { 32 },
                // Both strategies (CREATE_TYPED_PAGES, bit 1) and both modes, or anything.
                flags: if r.one_in(8) {
                    r.hostile_u32()
                } else {
                    r.below(4) as u32
                },
                data_pages: data_pages(r),
                aux_pages: if r.one_in(4) { data_pages(r) } else { 0 },
                watermark: if r.one_in(3) { r.hostile_u32() } else { 0 },
                reserved: if r.one_in(16) { r.hostile_u64() } else { 0 },
            },
            24..=29 => Op::Generate {
                fd,
                count: if r.one_in(6) { 0 } else { r.hostile_u64() },
                period_ns: if r.one_in(2) {
                    0
                } else {
                    r.hostile_u64() % 2_000_000_001
                },
                batch: if r.one_in(3) {
                    r.hostile_u32()
                } else {
                    1 + r.below(64) as u32
                },
                sample_size: if r.one_in(3) {
                    r.hostile_u32()
                } else {
                    40 + 8 * r.below(16) as u32
                },
            },
            30..=35 => Op::Ioctl {
                fd,
                which: r.below(6) as u32,
                arg_kind: r.below(4) as u32,
                pgoff: r.hostile_u32(),
            },
            36..=37 => Op::Pause {
                fd,
                on: r.one_in(2),
            },
            38..=47 => Op::Write {
                fd,
                kind: r.below(4) as u32,
                records: r.below(64) as u32,
                len: r.hostile_u32(),
                seed: r.next_u64(),
            },
            48..=52 => Op::Poll {
                fd,
                epoll: r.one_in(2),
            },
            53..=64 => Op::Mmap {
                fd,
                pages: match r.below(4) {
                    0 => r.hostile_u32() % (1 << 22),
                    _ => 1 + (1 << r.below(6)),
                },
                pgoff: if r.one_in(5) { r.hostile_u32() } else { 0 },
                prot: r.below(8) as u32,
                shared: !r.one_in(8),
            },
            65..=69 => Op::Munmap {
                map,
                part: r.one_in(3),
            },
            70..=73 => Op::Mremap {
                map,
                pages: 1 + r.below(70) as u32,
            },
            74..=77 => Op::Mprotect {
                map,
                prot: r.below(8) as u32,
            },
            78..=81 => Op::Madvise {
                map,
                advice: r.pick(&ADVICE),
            },
            82..=87 => Op::Touch {
                map,
                seed: r.next_u64(),
            },
            88..=89 => Op::ChildWrite {
                fd,
                page: r.below(3) as u32,
            },
            90..=91 => Op::Fork,
            92..=93 => Op::Vmsplice { map },
            94..=95 => Op::ProcessVmReadv { map },
            _ => Op::FailNth {
                n: 1 + r.below(24) as u32,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_replays_the_same_operations_and_workers_differ() {
        let draw = |seed, worker| {
            let mut r = Rng::new(seed, worker);
            (0..500).map(|_| Op::random(&mut r)).collect::<Vec<_>>()
        };
        assert_eq!(draw(42, 0), draw(42, 0));
        assert_ne!(draw(42, 0), draw(42, 1));
        assert_ne!(draw(42, 0), draw(43, 0));
    }

    #[test]
    fn every_kind_of_operation_is_drawn() {
        let mut r = Rng::new(7, 0);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20_000 {
            seen.insert(std::mem::discriminant(&Op::random(&mut r)));
        }
        assert_eq!(seen.len(), 19, "operation kinds drawn: {}", seen.len());
    }

    #[test]
    fn hostile_values_reach_the_edges() {
        let mut r = Rng::new(1, 2);
        let v: Vec<u32> = (0..10_000).map(|_| r.hostile_u32()).collect();
        for edge in [0, 1, u32::MAX, 0x8000_0000] {
            assert!(v.contains(&edge), "{edge:#x} never drawn");
        }
        let pages: Vec<u32> = (0..10_000).map(|_| data_pages(&mut r)).collect();
        assert!(
            pages.iter().any(|&p| p >= 1 << 16),
            "no large ring requested"
        );
        assert!(
            pages.iter().any(|&p| p != 0 && !p.is_power_of_two()),
            "no invalid size"
        );
    }
}
