//! The ring reader over a synthetic ring whose control page and data an attacker controls: arbitrary
//! data_head and data_tail, arbitrary bytes. The reader must return records or typed errors, never
//! read outside the window, never hang, and its consumed position must never move backwards.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use premap::synthetic::synthetic_ring;
use premap::{Consume, Overwrite, Ring, RingMode};

#[derive(Arbitrary, Debug)]
struct Input {
    head: u64,
    tail: u64,
    overwrite: bool,
    data: Vec<u8>,
    writes: Vec<Vec<u8>>,
}

fuzz_target!(|input: Input| {
    if input.overwrite {
        fuzz::<Overwrite>(&input, |ring, size, _round| {
            let Ok(mut batch) = ring.newest() else { return false };
            let mut n = 0;
            while let Some(r) = batch.next() {
                n += 1;
                assert!(n <= size / 8 + 1, "the reader did not terminate");
                if r.is_err() {
                    break;
                }
            }
            true
        });
    } else {
        fuzz::<Consume>(&input, |ring, size, round| {
            let Ok(mut batch) = ring.batch() else { return false };
            let mut n = 0;
            if round == 1 {
                let _ = batch.for_each(|rec| {
                    n += 1;
                    assert!(n <= size / 8 + 1, "the reader did not terminate");
                    assert_eq!(rec.bytes.len(), usize::from(rec.header.size));
                });
                return true;
            }
            while let Some(r) = batch.next() {
                n += 1;
                assert!(n <= size / 8 + 1, "the reader did not terminate");
                match r {
                    Ok(rec) => assert_eq!(rec.bytes.len(), usize::from(rec.header.size)),
                    Err(_) => break,
                }
            }
            true
        });
    }
});

/// One run in mode `M`: producer traffic, the attacker's bytes and positions, then three reads
/// (`read` returns false when the reader refused to start).
fn fuzz<M: RingMode>(input: &Input, mut read: impl FnMut(&mut Ring<M>, usize, usize) -> bool) {
    let Ok((mut producer, ring)) = synthetic_ring::<M>(1, input.tail) else { return };
    // Well-formed producer traffic first, then the attacker's scribbles and positions.
    for w in input.writes.iter().take(16) {
        let _ = producer.write(w);
    }
    // SAFETY: `ctl` is used only while `producer` lives; the positions are stored while no reader holds
    // records (the first reader is dropped before, the next created after).
    let ctl = unsafe { producer.control() };
    let data_off = ring.geometry().data_offset() as usize;
    let size = ring.geometry().data_size() as usize;
    let base = ctl.as_ptr().cast::<u8>();
    for (i, b) in input.data.iter().take(size).enumerate() {
        // SAFETY: `i < size`, inside the data area of the live synthetic mapping; no reader is active.
        unsafe { base.add(data_off + i).write_volatile(*b) };
    }
    drop(ring);
    ctl.store_data_head(input.head);
    ctl.store_data_tail(input.tail);
    let Ok(mut ring) = producer.new_reader() else { return };
    let mut consumed = 0u64;
    for round in 0..3 {
        if !read(&mut ring, size, round) {
            break;
        }
        let now = ring.stats().bytes;
        assert!(now >= consumed, "consumed position moved backwards");
        consumed = now;
    }
}
