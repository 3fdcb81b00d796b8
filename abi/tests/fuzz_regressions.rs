//! Inputs the fuzzers found, replayed as plain tests (see fuzz/regressions/ for the raw inputs).

use premap_abi::produce::validate_records;
use premap_abi::ParseError;

/// fuzz/regressions/driver_write/crash-96729fe4: user space wrote a PERF_RECORD_LOST through the
/// driver's write(); the producer published it and every reader counted a loss that never happened.
/// Only the producer may write LOST records.
#[test]
fn driver_write_rejects_a_forged_lost_record() {
    let forged: [u8; 32] = [
        2, 0, 0, 0, 0, 0, 32, 0, 2, 2, 0, 255, 255, 223, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 217, 255, 255, 255, 255, 255, 113, 38, 113,
    ];
    assert_eq!(
        validate_records(&forged, 4096),
        Err(ParseError::ForbiddenType { r#type: 2 })
    );
}
