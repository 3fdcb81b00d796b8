#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (default 30 s each, or $1 / PREMAP_FUZZ_SECS) from the
# seed corpora, which make_corpus.py writes into corpus/ from the repository's fixtures first (they are
# generated, not checked in), failing on any crash, leak, timeout or out-of-memory.
# PREMAP_FUZZ_TARGETS="a b" limits the run to those targets.
# Uses the nightly toolchain with AddressSanitizer where the machine has one; on stable only, it builds
# with --sanitizer none and RUSTC_BOOTSTRAP=1 (cargo-fuzz needs unstable flags).
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-${PREMAP_FUZZ_SECS:-30}}
runs=${PREMAP_FUZZ_RUNS:--1}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
python3 make_corpus.py
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    tc=(+nightly); san=()
else
    tc=(); san=(--sanitizer none); export RUSTC_BOOTSTRAP=1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
passed=0
targets=${PREMAP_FUZZ_TARGETS:-$(cargo "${tc[@]}" fuzz list)}
for t in $targets; do
    mkdir -p "$work/$t"
    echo "== fuzz $t for ${secs}s"
    if cargo "${tc[@]}" fuzz run "${san[@]}" --release "$t" "$work/$t" "corpus/$t" -- \
        -max_total_time="$secs" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$work/$t.log" 2>&1; then
        passed=$((passed + 1))
        grep -E "stat::number_of_executed_units|stat::average_exec_per_sec" "$work/$t.log" | sed "s/^/   $t /"
    else
        failed=$((failed + 1))
        grep -E -A6 "panicked at|ERROR: AddressSanitizer|ERROR: libFuzzer" "$work/$t.log" | head -40
        tail -12 "$work/$t.log"
        echo "== fuzz $t FAILED (the crashing input is under fuzz/artifacts/$t/)"
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
