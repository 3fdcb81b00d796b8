//! Behaviours of the producer and the control page: the ordering protocol, LOST records, overwrite
//! mode, the in-kernel generator at full speed, the control page's fields, write() validation.

use super::probe;
use super::source::{
    sample, u64_at, Source, CAPABILITIES, DATA_HEAD, DATA_OFFSET, DATA_SIZE, LOST_AT, PAGE, SEQ_AT,
    SIZE,
};
use super::{ensure, fail, na, ok, tryv, Notes, Target, Verdict};
use nix::errno::Errno;
use premap::abi::control::ControlPage;
use premap::abi::header::{RECORD_LOST, RECORD_SAMPLE};
use premap::abi::uapi::*;
use premap::{Consume, Overwrite, Ring};
use std::time::{Duration, Instant};

pub(super) fn protocol(s: &Target, _: &mut Notes) -> Verdict {
    // Full ring: drops are reported by a LOST record with the right count once there is room.
    let src = tryv!(Source::open(s, 1, false));
    // SAFETY: the source's fd is a fresh perf event or device buffer, and this ring is its only reader.
    let mut ring = tryv!(unsafe { Ring::<Consume>::map(src.fd(), 1) });
    src.produce(if src.perf { 2000 } else { 100 }, 0);
    let mut samples = 0u64;
    let mut lost = 0u64;
    let mut last_seq = None;
    let mut in_order = true;
    let mut count = |r: premap::Record<'_>| match r.header.r#type {
        RECORD_SAMPLE => {
            samples += 1;
            if !src.perf {
                let seq = u64_at(r.bytes, SEQ_AT);
                in_order &= last_seq.map_or(true, |l: u64| seq > l);
                last_seq = Some(seq);
            }
        }
        RECORD_LOST => lost += u64_at(r.bytes, LOST_AT),
        _ => {}
    };
    tryv!(ring.drain(&mut count));
    src.produce(4, 1000);
    tryv!(ring.drain(&mut count));
    ensure!(in_order, "samples out of order");
    ensure!(lost > 0, "a full ring reported no LOST record");
    if let Some(st) = src.stats() {
        ensure!(
            st.lost == lost,
            "LOST records report {lost}, the producer dropped {}",
            st.lost
        );
        ensure!(
            samples + lost == 104,
            "{samples} samples + {lost} lost != 104 written"
        );
    }
    // Overwrite: pause, read from data_head, resume.
    let src = tryv!(Source::open(s, 1, true));
    // SAFETY: the source's fd is a fresh perf event or device buffer, and this ring is its only reader.
    let mut ring = tryv!(unsafe { Ring::<Overwrite>::map(src.fd(), 1) });
    src.produce(if src.perf { 2000 } else { 200 }, 0);
    let mut seqs = Vec::new();
    {
        let mut b = tryv!(ring.newest());
        while let Some(r) = b.next() {
            let r = tryv!(r);
            if r.header.r#type == RECORD_SAMPLE {
                seqs.push(u64_at(r.bytes, SEQ_AT));
            }
        }
    }
    ensure!(
        !seqs.is_empty(),
        "overwrite mode: nothing readable from data_head"
    );
    if !src.perf {
        ensure!(
            seqs.first() == Some(&199),
            "overwrite mode: newest record is {:?}, not 199",
            seqs.first()
        );
        ensure!(
            seqs.windows(2).all(|w| w[0] == w[1] + 1),
            "overwrite mode: records torn or out of order"
        );
    }
    ok(format!(
        "full ring: {samples} records + LOST({lost}); overwrite: {} newest records from data_head",
        seqs.len()
    ))
}

pub(super) fn concurrent(s: &Target, _: &mut Notes) -> Verdict {
    if s.is_perf() {
        return na("the in-kernel generator is the driver's");
    }
    let src = tryv!(Source::open(s, 8, false));
    // SAFETY: the source's fd is a fresh perf event or device buffer, and this ring is its only reader.
    let mut ring = tryv!(unsafe { Ring::<Consume>::map(src.fd(), 8) });
    const N: u64 = 200_000;
    let g = GenerateParams {
        count: N,
        period_ns: 0,
        batch: 64,
        sample_size: 48,
    };
    let Some(dev) = src.device() else {
        return na("the in-kernel generator is the driver's");
    };
    tryv!(dev.generate(&g));
    let (mut got, mut lost, mut next) = (0u64, 0u64, 0u64);
    let mut torn = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    while got + lost < N && Instant::now() < deadline {
        let r = ring.drain(|r| match r.header.r#type {
            RECORD_SAMPLE => {
                let seq = u64_at(r.bytes, SEQ_AT);
                if seq < next && torn.is_none() {
                    torn = Some(seq);
                }
                next = seq + 1;
                got += 1;
            }
            RECORD_LOST => lost += u64_at(r.bytes, LOST_AT),
            _ => {}
        });
        if let Err(e) = r {
            return fail(format!("corrupt record while the generator ran: {e}"));
        }
        std::thread::yield_now();
    }
    if got + lost < N {
        // The last drops are reported only with a later record: read the producer's count.
        lost = src.stats().map_or(lost, |s| s.lost);
    }
    ensure!(torn.is_none(), "sequence went backwards at {torn:?}");
    ensure!(
        got + lost == N,
        "{got} received + {lost} lost != {N} generated"
    );
    ok(format!(
        "generator at full speed: {got} records read intact, {lost} dropped and accounted"
    ))
}

pub(super) fn control_page(s: &Target, _: &mut Notes) -> Verdict {
    let (_src, m) = tryv!(Source::open_mapped(s, 8));
    let mut page = [0u8; 1088];
    for (i, b) in page.iter_mut().enumerate() {
        *b = m.read(i);
    }
    let size = u32::from_ne_bytes(page[SIZE..SIZE + 4].try_into().unwrap_or([0; 4]));
    let caps = u64_at(&page, CAPABILITIES);
    let data_offset = u64_at(&page, DATA_OFFSET);
    let data_size = u64_at(&page, DATA_SIZE);
    let cp = ControlPage {
        capabilities: caps,
        ..ControlPage::ZEROED
    };
    ensure!(
        cp.cap_bit0_is_deprecated(),
        "cap_bit0_is_deprecated is not set"
    );
    ensure!(
        caps & premap::abi::control::CAP_BIT0 == 0,
        "deprecated cap_bit0 is set"
    );
    ensure!(data_offset == PAGE as u64, "data_offset is {data_offset}");
    ensure!(
        data_size == 8 * PAGE as u64,
        "data_size is {data_size} for 8 pages"
    );
    ensure!(size >= 96, "size is {size}");
    ok(format!(
        "size {size}, data_offset {data_offset}, data_size {data_size}, cap_bit0_is_deprecated"
    ))
}

pub(super) fn write_validation(s: &Target, _: &mut Notes) -> Verdict {
    if s.is_perf() {
        return na("perf events take no records from write()");
    }
    let (src, m) = tryv!(Source::open_mapped(s, 1));
    let mut bad = sample(0);
    bad[6..8].copy_from_slice(&0u16.to_ne_bytes());
    let mut two = [0u8; 128];
    two[..64].copy_from_slice(&sample(1));
    two[64..].copy_from_slice(&bad);
    for (what, bytes) in [
        ("size 0", &bad[..]),
        ("a bad second record", &two[..]),
        ("a cut record", &sample(2)[..40]),
    ] {
        let r = probe::write_from(src.fd(), bytes.as_ptr(), bytes.len());
        ensure!(
            r == Err(Errno::EINVAL),
            "write() of {what}: {r:?}, not EINVAL"
        );
    }
    ensure!(
        m.read_u64(DATA_HEAD) == 0,
        "a rejected write() published data"
    );
    ensure!(
        probe::write_from(src.fd(), two.as_ptr(), 64) == Ok(64),
        "a good record was refused"
    );
    ensure!(
        m.read_u64(DATA_HEAD) == 64,
        "a good record was not published"
    );
    ok("malformed records are refused with EINVAL and nothing is published")
}
