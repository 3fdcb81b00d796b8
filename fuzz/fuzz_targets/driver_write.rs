//! The driver's handling of `write()`: premap-abi's `validate_records` (the same source the module
//! compiles) on arbitrary user bytes, then the producer protocol. Whatever validation accepts must
//! come out of the ring byte for byte (round trip), in order, or be counted as lost.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use premap_abi::control::{ControlMut, ControlPage};
use premap_abi::produce::{validate_records, Producer};
use premap_abi::raw::RawData;
use premap_abi::ring::{RecordIter, RingGeometry};

#[derive(Arbitrary, Debug)]
struct Input {
    start: u64,
    pages_log2: u8,
    writes: Vec<Vec<u8>>,
}

fuzz_target!(|input: Input| {
    let size = 256u64 << (input.pages_log2 % 5);
    let geom = RingGeometry::new(4096, size, 8, None).unwrap();
    let start = input.start & !7;
    let mut page = ControlPage::new_for_ring(4096, size);
    page.data_head = start;
    page.data_tail = start;
    // SAFETY: `page` is a live, aligned, writable control page (a local) for the whole run.
    let ctl = unsafe { ControlMut::new(core::ptr::NonNull::from(&mut page)) };
    let mut area = vec![0u8; size as usize];
    let mut producer = Producer::new(geom, false, start);
    for w in input.writes.iter().take(8) {
        let Ok(n) = validate_records(w, size as usize) else { continue };
        let mut expected = Vec::new();
        let mut written = 0;
        for rec in RecordIter::new(RawData::Single(w)) {
            let rec = rec.expect("validated records iterate");
            let bytes = rec.bytes.as_single().unwrap();
            if producer.emit(&mut area[..], &ctl, bytes) {
                expected.extend_from_slice(bytes);
                written += 1;
            }
        }
        assert!(written <= n);
        // Read back what was published and consume it.
        let head = ctl.load_data_head();
        let tail = ctl.load_data_tail();
        let (a, b) = geom.window(head, tail).unwrap();
        let got = RawData::from_parts(&area[a], &area[b]);
        let mut read = Vec::new();
        for rec in RecordIter::new(got) {
            let rec = rec.expect("the ring holds whole records");
            if rec.header.r#type != premap_abi::header::RECORD_LOST {
                read.extend(rec.bytes.bytes());
            }
        }
        assert_eq!(read, expected, "records come out as they went in");
        ctl.store_data_tail(head);
    }
});
