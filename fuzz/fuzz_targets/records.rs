//! A record stream parsed with an arbitrary sample_type / read_format / sample_id_all, contiguous and
//! split at an arbitrary point (as a ring's wrap splits it): both parses must agree, offsets must only
//! grow, and every record handed out must lie inside the input.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use premap_abi::raw::RawData;
use premap_abi::ring::RecordIter;
use premap_abi::sample::SampleFormat;

#[derive(Arbitrary, Debug)]
struct Input {
    sample_type: u64,
    read_format: u64,
    sample_id_all: bool,
    regs_user: u64,
    regs_intr: u64,
    branch_sample_type: u64,
    split: u16,
    data: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let format = SampleFormat {
        sample_type: input.sample_type,
        read_format: input.read_format,
        sample_id_all: input.sample_id_all,
        sample_regs_user: input.regs_user,
        sample_regs_intr: input.regs_intr,
        branch_sample_type: input.branch_sample_type,
    };
    let data = &input.data;
    let cut = usize::from(input.split) % (data.len() + 1);
    let (a, b) = data.split_at(cut);
    let whole = RecordIter::new(RawData::Single(data));
    let split = RecordIter::new(RawData::from_parts(a, b));
    let mut last = None;
    for (x, y) in whole.zip(split) {
        match (x, y) {
            (Ok(x), Ok(y)) => {
                assert_eq!(x.header, y.header);
                assert_eq!(x.offset, y.offset);
                assert!(x.bytes.len() == usize::from(x.header.size));
                assert!(x.offset as usize + x.bytes.len() <= data.len());
                if let Some(l) = last {
                    assert!(x.offset > l, "offsets only grow");
                }
                last = Some(x.offset);
                let px = x.parse(&format);
                let py = y.parse(&format);
                assert_eq!(px, py, "a split record parses like a whole one");
                if let Ok(p) = px {
                    let _ = format!("{p:?}");
                }
            }
            (Err(ex), Err(ey)) => {
                assert_eq!(ex, ey);
                break;
            }
            (x, y) => panic!("whole and split iteration disagree: {x:?} vs {y:?}"),
        }
    }
});
