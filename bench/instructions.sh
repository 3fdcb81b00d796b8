#!/usr/bin/env bash
# Instructions per record of premap's readers, counted by callgrind (see src/bin/drain_count.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p premap-bench --bin drain_count
bin=target/release/drain_count
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
fill=$(count fill)
records=$("$bin" fill | awk '{print $2}')
echo "fill + discard: $fill instructions for $records records"
for mode in for_each next parse; do
    n=$(count "$mode")
    awk -v a="$n" -v b="$fill" -v n="$records" -v m="$mode" \
        'BEGIN {printf "%-9s %6.1f instructions per record\n", m, (a - b) / n}'
done
