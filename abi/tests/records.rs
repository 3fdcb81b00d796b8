//! Record parsing against real kernel output (a capture from this machine's kernel, checked in under
//! tests/fixtures/) and against hand-built bodies for every record type and every sample bit.

use premap_abi::attr::*;
use premap_abi::header::*;
use premap_abi::raw::RawData;
use premap_abi::records::{RecordBody, SampleId};
use premap_abi::ring::{RecordIter, RingGeometry};
use premap_abi::sample::{ReadValue, Sample, SampleFormat};
use premap_abi::{EventHeader, ParseError};
use std::fmt::Write;

struct Capture {
    attr: PerfEventAttr,
    data: Vec<u8>,
}

fn load_capture(name: &str) -> Capture {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"PMAPCAP1");
    let attr_len = u64::from_ne_bytes(bytes[8..16].try_into().unwrap()) as usize;
    let attr = PerfEventAttr::from_bytes(&bytes[16..16 + attr_len]).unwrap();
    let rest = &bytes[16 + attr_len..];
    let data_len = u64::from_ne_bytes(rest[..8].try_into().unwrap()) as usize;
    Capture {
        attr,
        data: rest[8..8 + data_len].to_vec(),
    }
}

/// One line per record: type name, misc, size, and the parsed body.
fn describe(data: RawData<'_>, format: &SampleFormat) -> String {
    let mut out = String::new();
    for rec in RecordIter::new(data) {
        let rec = rec.unwrap();
        let name = record_type_name(rec.header.r#type).unwrap_or("?");
        let parsed = rec.parse(format).unwrap();
        writeln!(
            out,
            "{name} misc={:#x} size={} {:?} {:?}",
            rec.header.misc, rec.header.size, parsed.body, parsed.sample_id
        )
        .unwrap();
    }
    out
}

#[test]
fn kernel_capture_parses_and_matches_snapshot() {
    let cap = load_capture("exec-true.bin");
    let format = cap.attr.sample_format();
    let text = describe(RawData::Single(&cap.data), &format);
    // The capture is of `/bin/true` run under a page-faults event with -c 1: the kernel wrote the exec
    // COMM, MMAP2s of the binary and its libraries, page-fault samples and the EXIT.
    assert!(text.contains("COMM misc=0x2000"), "exec COMM present");
    assert!(text.contains("b\"true\""));
    assert!(text.lines().filter(|l| l.starts_with("SAMPLE")).count() >= 10);
    assert!(text.lines().any(|l| l.starts_with("MMAP2")));
    assert!(text.lines().any(|l| l.starts_with("EXIT")));
    insta::assert_snapshot!("exec_true_records", text);
}

/// Lays `stream` into a ring of `ring_size` bytes so that it starts at `start` (wrapping at the end), then
/// reads it back through the window computation: every record must parse exactly as the unwrapped one.
#[test]
fn kernel_capture_parses_identically_at_every_wrap_position() {
    let cap = load_capture("exec-true.bin");
    let format = cap.attr.sample_format();
    let want = describe(RawData::Single(&cap.data), &format);
    let ring_size = cap.data.len().next_power_of_two();
    let geom = RingGeometry::new(4096, ring_size as u64, 8, None).unwrap();
    let mut ring = vec![0u8; ring_size];
    for start in (0..ring_size).step_by(8) {
        for (i, b) in cap.data.iter().enumerate() {
            ring[(start + i) % ring_size] = *b;
        }
        // Free-running positions far from zero, to cover the u64 wrap as well.
        let tail = (u64::MAX - (ring_size as u64) * 3 + 1).wrapping_add(start as u64);
        let head = tail.wrapping_add(cap.data.len() as u64);
        let (a, b) = geom.window(head, tail).unwrap();
        let data = RawData::from_parts(&ring[a], &ring[b]);
        assert_eq!(describe(data, &format), want, "start offset {start}");
    }
}

fn header(ty: u32, misc: u16, body_len: usize) -> Vec<u8> {
    EventHeader {
        r#type: ty,
        misc,
        size: (8 + body_len) as u16,
    }
    .to_bytes()
    .to_vec()
}

fn words(ws: &[u64]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_ne_bytes()).collect()
}

fn pair(a: u32, b: u32) -> u64 {
    u64::from_ne_bytes(
        [a.to_ne_bytes(), b.to_ne_bytes()]
            .concat()
            .try_into()
            .unwrap(),
    )
}

fn parse_one<'a>(
    bytes: &'a [u8],
    format: &SampleFormat,
) -> Result<premap_abi::records::ParsedRecord<'a>, ParseError> {
    let rec = RecordIter::new(RawData::Single(bytes)).next().unwrap()?;
    rec.parse(format)
}

/// Every sample bit at once, in `evsel__parse_sample` order, each field a distinct value.
#[test]
fn sample_with_every_bit_parses_in_perf_order() {
    let format = SampleFormat {
        sample_type: (SAMPLE_MAX - 1) & !SAMPLE_WEIGHT,
        read_format: FORMAT_GROUP
            | FORMAT_ID
            | FORMAT_LOST
            | FORMAT_TOTAL_TIME_ENABLED
            | FORMAT_TOTAL_TIME_RUNNING,
        sample_id_all: true,
        sample_regs_user: 0b1011,
        sample_regs_intr: 0b11,
        branch_sample_type: SAMPLE_BRANCH_HW_INDEX | SAMPLE_BRANCH_COUNTERS,
    };
    let mut body = words(&[
        0x1d,           // IDENTIFIER
        0x1e,           // IP
        pair(100, 101), // TID
        0x7e,           // TIME
        0xadd,          // ADDR
        0x1d,           // ID
        0x5,            // STREAM_ID
        pair(3, 0),     // CPU
        1000,           // PERIOD
        2,              // READ: nr
        11,             // time_enabled
        12,             // time_running
        21,
        0x1d,
        0, // value, id, lost
        22,
        0x2d,
        7,
        3, // CALLCHAIN nr
        0xffff_ffff_ffff_fe00,
        0x401000,
        0x401100,
    ]);
    body.extend_from_slice(&12u32.to_ne_bytes()); // RAW size
    body.extend_from_slice(b"raw-payload!");
    body.extend(words(&[
        1,  // BRANCH nr
        99, // hw_idx
        0xf0, 0xf1, 0xf2, // entry
        42,   // counter
        2,    // REGS_USER abi
        1, 2, 3,  // three regs (mask 0b1011)
        16, // STACK_USER size
    ]));
    body.extend_from_slice(b"0123456789abcdef");
    body.extend(words(&[
        8,    // dyn_size
        0x3e, // WEIGHT_STRUCT
        0xd5, // DATA_SRC
        0x7a, // TRANSACTION
        2,
        4,
        5,        // REGS_INTR abi + two regs
        0xabc000, // PHYS_ADDR
        0xc6,     // CGROUP
        4096,     // DATA_PAGE_SIZE
        2 << 20,  // CODE_PAGE_SIZE
        8,        // AUX size
    ]));
    body.extend_from_slice(b"auxdata!");
    let mut rec = header(RECORD_SAMPLE, RECORD_MISC_USER, body.len());
    rec.extend_from_slice(&body);
    let parsed = parse_one(&rec, &format).unwrap();
    assert_eq!(parsed.sample_id, None, "samples carry no trailer");
    let RecordBody::Sample(s) = parsed.body else {
        panic!("not a sample")
    };
    assert_eq!(
        (s.identifier, s.ip, s.pid, s.tid),
        (Some(0x1d), Some(0x1e), Some(100), Some(101))
    );
    assert_eq!(
        (s.time, s.addr, s.id, s.stream_id),
        (Some(0x7e), Some(0xadd), Some(0x1d), Some(5))
    );
    assert_eq!((s.cpu, s.period), (Some(3), Some(1000)));
    let read = s.read.unwrap();
    assert_eq!((read.time_enabled, read.time_running), (Some(11), Some(12)));
    let vals: Vec<ReadValue> = read.values.iter().collect();
    assert_eq!(
        vals,
        [
            ReadValue {
                value: 21,
                id: Some(0x1d),
                lost: Some(0)
            },
            ReadValue {
                value: 22,
                id: Some(0x2d),
                lost: Some(7)
            }
        ]
    );
    assert_eq!(
        s.callchain.unwrap().iter().collect::<Vec<_>>(),
        [0xffff_ffff_ffff_fe00, 0x401000, 0x401100]
    );
    assert!(s.raw.unwrap().eq_bytes(b"raw-payload!"));
    let br = s.branch_stack.unwrap();
    assert_eq!(br.hw_idx, Some(99));
    assert_eq!(
        br.iter()
            .map(|e| (e.from, e.to, e.flags))
            .collect::<Vec<_>>(),
        [(0xf0, 0xf1, 0xf2)]
    );
    assert_eq!(br.counters.unwrap().iter().collect::<Vec<_>>(), [42]);
    let ru = s.regs_user.unwrap();
    assert_eq!(
        (ru.abi, ru.regs.iter().collect::<Vec<_>>()),
        (2, vec![1, 2, 3])
    );
    let st = s.stack_user.unwrap();
    assert!(st.data.eq_bytes(b"0123456789abcdef"));
    assert_eq!(st.dyn_size, Some(8));
    assert_eq!(
        (s.weight, s.data_src, s.transaction),
        (Some(0x3e), Some(0xd5), Some(0x7a))
    );
    assert_eq!(s.regs_intr.unwrap().regs.iter().collect::<Vec<_>>(), [4, 5]);
    assert_eq!((s.phys_addr, s.cgroup), (Some(0xabc000), Some(0xc6)));
    assert_eq!(
        (s.data_page_size, s.code_page_size),
        (Some(4096), Some(2 << 20))
    );
    assert!(s.aux.unwrap().eq_bytes(b"auxdata!"));
    insta::assert_debug_snapshot!("sample_every_bit", s);

    // Every prefix of the body is a typed truncation error, never a panic.
    for cut in 0..body.len() {
        let short = Sample::parse(RawData::Single(&body[..cut]), &format);
        assert!(
            matches!(
                short,
                Err(ParseError::Truncated { .. } | ParseError::CountTooLarge { .. })
            ),
            "cut at {cut}: {short:?}"
        );
    }
}

#[test]
fn regs_with_abi_none_have_no_words() {
    let format = SampleFormat {
        sample_regs_user: u64::MAX,
        ..SampleFormat::new(SAMPLE_REGS_USER | SAMPLE_PERIOD)
    };
    let body = words(&[77, 0]);
    let s = Sample::parse(RawData::Single(&body), &format).unwrap();
    assert_eq!(s.regs_user.unwrap().regs.len(), 0);
    assert_eq!(s.period, Some(77));
}

#[test]
fn non_group_read_format_is_value_then_times_then_id_then_lost() {
    let format = SampleFormat {
        read_format: FORMAT_TOTAL_TIME_ENABLED | FORMAT_ID | FORMAT_LOST,
        ..SampleFormat::new(SAMPLE_READ)
    };
    let body = words(&[5, 6, 7, 8]);
    let s = Sample::parse(RawData::Single(&body), &format).unwrap();
    let r = s.read.unwrap();
    assert_eq!((r.time_enabled, r.time_running), (Some(6), None));
    assert_eq!(
        r.values.iter().collect::<Vec<_>>(),
        [ReadValue {
            value: 5,
            id: Some(7),
            lost: Some(8)
        }]
    );
}

/// Hand-built bodies for every kernel record type, parsed with a sample_id trailer.
#[test]
fn every_record_type_parses_with_its_trailer() {
    let format = SampleFormat {
        sample_id_all: true,
        ..SampleFormat::new(
            SAMPLE_TID
                | SAMPLE_TIME
                | SAMPLE_ID
                | SAMPLE_STREAM_ID
                | SAMPLE_CPU
                | SAMPLE_IDENTIFIER,
        )
    };
    let trailer = words(&[pair(7, 8), 900, 0x1d, 0x5, pair(1, 0), 0x1d]);
    let name16 = b"/usr/bin/true\0\0\0";
    let mut cases: Vec<(u32, u16, Vec<u8>)> = vec![
        (
            RECORD_MMAP,
            0,
            [words(&[pair(7, 8), 0x400000, 0x1000, 0]), name16.to_vec()].concat(),
        ),
        (RECORD_LOST, 0, words(&[0x1d, 12])),
        (
            RECORD_COMM,
            RECORD_MISC_COMM_EXEC,
            [words(&[pair(7, 8)]), b"true\0\0\0\0".to_vec()].concat(),
        ),
        (RECORD_EXIT, 0, words(&[pair(7, 1), pair(8, 1), 900])),
        (RECORD_THROTTLE, 0, words(&[900, 0x1d, 5])),
        (RECORD_UNTHROTTLE, 0, words(&[901, 0x1d, 5])),
        (RECORD_FORK, 0, words(&[pair(9, 7), pair(9, 8), 902])),
        (RECORD_READ, 0, words(&[pair(7, 8), 1234])),
        (
            RECORD_MMAP2,
            0,
            [
                words(&[
                    pair(7, 8),
                    0x400000,
                    0x1000,
                    0,
                    pair(8, 1),
                    4242,
                    1,
                    pair(5, 2),
                ]),
                name16.to_vec(),
            ]
            .concat(),
        ),
        (
            RECORD_MMAP2,
            RECORD_MISC_MMAP_BUILD_ID,
            [
                words(&[pair(7, 8), 0x400000, 0x1000, 0]),
                vec![20, 0, 0, 0],
                (1..=20).collect::<Vec<u8>>(),
                pair(5, 2).to_ne_bytes().to_vec(),
                name16.to_vec(),
            ]
            .concat(),
        ),
        (RECORD_AUX, 0, words(&[0, 4096, 1])),
        (RECORD_ITRACE_START, 0, words(&[pair(7, 8)])),
        (RECORD_LOST_SAMPLES, 0, words(&[33])),
        (RECORD_SWITCH, RECORD_MISC_SWITCH_OUT, vec![]),
        (RECORD_SWITCH_CPU_WIDE, 0, words(&[pair(10, 11)])),
        (RECORD_NAMESPACES, 0, words(&[pair(7, 8), 2, 1, 2, 3, 4])),
        (
            RECORD_KSYMBOL,
            0,
            [
                words(&[0xffff_ffff_c000_0000, pair(64, 1)]),
                b"bpf_prog_x\0\0\0\0\0\0".to_vec(),
            ]
            .concat(),
        ),
        (
            RECORD_BPF_EVENT,
            0,
            [words(&[pair(1, 17)]), b"tagtag12".to_vec()].concat(),
        ),
        (
            RECORD_CGROUP,
            0,
            [words(&[1]), b"/\0\0\0\0\0\0\0".to_vec()].concat(),
        ),
        (
            RECORD_TEXT_POKE,
            0,
            [
                words(&[0xffff_ffff_8100_0000]),
                vec![2, 0, 3, 0, 0x90, 0x90, 0xe9, 1, 2, 0, 0, 0, 0, 0, 0, 0],
            ]
            .concat(),
        ),
        (RECORD_AUX_OUTPUT_HW_ID, 0, words(&[3])),
        (
            RECORD_CALLCHAIN_DEFERRED,
            0,
            words(&[77, 2, 0x401000, 0x402000]),
        ),
        (40, 0, words(&[1, 2])),
    ];
    let mut text = String::new();
    for (ty, misc, body) in cases.drain(..) {
        let mut rec = header(ty, misc, body.len() + trailer.len());
        rec.extend_from_slice(&body);
        rec.extend_from_slice(&trailer);
        let parsed = parse_one(&rec, &format).unwrap();
        assert_eq!(
            parsed.sample_id,
            Some(SampleId {
                pid: Some(7),
                tid: Some(8),
                time: Some(900),
                id: Some(0x1d),
                stream_id: Some(5),
                cpu: Some(1),
                identifier: Some(0x1d)
            }),
            "type {ty}"
        );
        writeln!(
            text,
            "{} {:?}",
            record_type_name(ty).unwrap_or("unknown"),
            parsed.body
        )
        .unwrap();
        // A body one word short of its trailer is a typed error.
        let mut short = header(ty, misc, body.len() + trailer.len() - 8);
        short.extend_from_slice(&body);
        short.extend_from_slice(&trailer[8..]);
        if body.is_empty() || ty == 40 {
            continue;
        }
        let err = parse_one(&short, &format);
        assert!(
            err.is_err() || matches!(err, Ok(ref p) if p.sample_id != parsed.sample_id),
            "type {ty}"
        );
    }
    insta::assert_snapshot!("every_record_type", text);
}

#[test]
fn user_records_keep_their_bodies_and_carry_no_trailer() {
    let format = SampleFormat {
        sample_id_all: true,
        ..SampleFormat::new(SAMPLE_TIME)
    };
    let fr = header(RECORD_FINISHED_ROUND, 0, 0);
    assert_eq!(
        parse_one(&fr, &format).unwrap().body,
        RecordBody::FinishedRound
    );
    let mut attr = PerfEventAttr {
        size: ATTR_SIZE_VER7,
        sample_type: SAMPLE_TIME,
        ..Default::default()
    };
    attr.config = COUNT_SW_PAGE_FAULTS;
    let mut body = attr.to_bytes()[..128].to_vec();
    body.extend(words(&[41, 42]));
    let mut rec = header(RECORD_HEADER_ATTR, 0, body.len());
    rec.extend_from_slice(&body);
    let RecordBody::HeaderAttr(a) = parse_one(&rec, &format).unwrap().body else {
        panic!()
    };
    assert_eq!(a.attr.config, COUNT_SW_PAGE_FAULTS);
    assert_eq!(a.ids.iter().collect::<Vec<_>>(), [41, 42]);
    // An attr size that is not a multiple of 8 is rejected.
    let mut bad = rec.clone();
    bad[12..16].copy_from_slice(&100u32.to_ne_bytes());
    assert_eq!(
        parse_one(&bad, &format).unwrap_err(),
        ParseError::BadAttrSize { size: 100 }
    );
}

#[test]
fn huge_counts_are_errors_not_allocations_or_panics() {
    let format = SampleFormat::new(SAMPLE_CALLCHAIN);
    let body = words(&[u64::MAX, 1]);
    assert_eq!(
        Sample::parse(RawData::Single(&body), &format).unwrap_err(),
        ParseError::CountTooLarge {
            field: "callchain.nr",
            count: u64::MAX
        }
    );
    let format = SampleFormat {
        read_format: FORMAT_GROUP | FORMAT_ID,
        ..SampleFormat::new(SAMPLE_READ)
    };
    let body = words(&[1 << 60, 1]);
    assert!(matches!(
        Sample::parse(RawData::Single(&body), &format),
        Err(ParseError::CountTooLarge { .. })
    ));
}
