#!/usr/bin/env bash
# Instructions per record of premap's drain loop, counted by callgrind (see src/bin/drain_count.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p premap-bench --bin drain_count
bin=target/release/drain_count
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
fill=$(count fill)
drain=$(count drain)
records=$("$bin" drain | awk '{print $2}')
echo "fill only: $fill instructions; fill + drain: $drain; records drained: $records"
awk -v a="$drain" -v b="$fill" -v n="$records" 'BEGIN {printf "drain loop: %.1f instructions per record\n", (a - b) / n}'
