//! The byte-order swap walks a file the same way in both directions: writing any file in the other
//! order and reading it back gives the same bytes, for premap's and perf's fixtures and for every
//! file of the shared corpus (../shared/perfdata-corpus, when it is there); and a file written in
//! the other order reads as the original.

use premap_perfdata::swap::{is_other_order, to_native, to_other_order};
use premap_perfdata::PerfFile;
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/tests/fixtures");
    [
        "premap-touch8.data",
        "perf-touch8.data",
        "perf-pipe-touch8.data",
    ]
    .iter()
    .map(|f| root.join(f))
    .collect()
}

fn corpus() -> Vec<PathBuf> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/perfdata-corpus");
    match std::fs::read_dir(&corpus) {
        Ok(dir) => {
            let mut v: Vec<PathBuf> = dir
                .filter_map(|e| Some(e.ok()?.path()))
                .filter(|p| p.extension().map_or(true, |e| e != "md"))
                .collect();
            v.sort();
            v
        }
        Err(_) => {
            eprintln!(
                "{}: absent, only the fixtures are swapped",
                corpus.display()
            );
            Vec::new()
        }
    }
}

#[test]
fn swapping_twice_gives_the_same_bytes() {
    let mut swapped = 0;
    for f in fixtures().into_iter().chain(corpus()) {
        let original = std::fs::read(&f).unwrap();
        let mut b = original.clone();
        // Files that are not native perf.data files (a damaged magic) are refused, not swapped.
        if to_other_order(&mut b).is_err() {
            assert_eq!(b, original, "{f:?}: refused but changed");
            continue;
        }
        assert!(is_other_order(&b), "{f:?}");
        to_native(&mut b).unwrap();
        assert!(b == original, "{f:?}: not the same bytes after two swaps");
        swapped += 1;
    }
    assert!(swapped >= 3);
}

#[test]
fn a_file_of_the_other_order_reads_as_the_original() {
    for f in fixtures() {
        let original = std::fs::read(&f).unwrap();
        let mut b = original.clone();
        assert!(to_other_order(&mut b).unwrap().is_empty(), "{f:?}");
        let ours = PerfFile::from_bytes(original).unwrap();
        let theirs = PerfFile::from_bytes(b).unwrap();
        assert!(!ours.byte_swapped && theirs.byte_swapped);
        assert_eq!(theirs.features, ours.features, "{f:?}");
        assert_eq!(theirs.warnings, ours.warnings, "{f:?}");
        let recs = |p: &PerfFile| {
            p.records()
                .map(|r| {
                    let r = r.unwrap();
                    (r.offset, r.header, r.body.to_vec())
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(recs(&theirs), recs(&ours), "{f:?}");
    }
}

/// A compressed pipe stream of the other byte order: its compressed records' contents are swapped
/// once inflated. Made from perf's pipe fixture written in the other order, its data records then
/// zstd-compressed into COMPRESSED records (headers in the other order too), as `perf record -z -o -`
/// on such a machine writes them.
#[test]
fn compressed_data_of_the_other_order_is_swapped_once_inflated() {
    let native = std::fs::read(&fixtures()[2]).unwrap();
    let file = PerfFile::from_bytes(native.clone()).unwrap();
    // Where the data records start: after the attrs and features the pipe opens with.
    let first = file
        .records()
        .map(Result::unwrap)
        .find(|r| r.header.r#type < 64)
        .unwrap()
        .offset as usize;
    let mut other = native.clone();
    assert!(to_other_order(&mut other).unwrap().is_empty());
    let packed = zstd::stream::encode_all(&other[first..], 3).unwrap();
    let mut z = other[..first].to_vec();
    for chunk in packed.chunks(60_000) {
        // PERF_RECORD_COMPRESSED (81): header then the payload, unpadded; in the other order.
        z.extend_from_slice(&81u32.swap_bytes().to_ne_bytes());
        z.extend_from_slice(&0u16.to_ne_bytes());
        z.extend_from_slice(&((8 + chunk.len()) as u16).swap_bytes().to_ne_bytes());
        z.extend_from_slice(chunk);
    }
    let z_len = z.len();
    let theirs = PerfFile::from_bytes(z).unwrap();
    assert!(theirs.byte_swapped);
    assert_eq!(
        theirs.containers.values().sum::<u64>(),
        packed.chunks(60_000).count() as u64
    );
    // The inflated data (offsets past the file's end) holds the plain records before the first
    // compressed one, then the compressed ones' contents: those, against the native records from
    // `first` on.
    let recs = |p: &PerfFile, from: usize| {
        p.records()
            .map(Result::unwrap)
            .filter(|r| r.offset as usize >= from)
            .map(|r| (r.header, r.body.to_vec()))
            .collect::<Vec<_>>()
    };
    let (ours, swapped) = (recs(&file, first), recs(&theirs, z_len + first - 16));
    assert!(ours.len() > 8);
    assert_eq!(swapped.len(), ours.len());
    assert!(
        swapped == ours,
        "the inflated records differ from the originals"
    );
}
