#!/usr/bin/env bash
# premap's main job: record a workload's page faults with `premap record` and show the result.
# Usage: ./run.sh [COMMAND ARGS...]   (default: ls -lR /usr/share/doc)
#
# Every listing is written to a file first and cut from there: a `... | head` under `set -o pipefail`
# fails whenever head exits before the producer has written everything (SIGPIPE, exit 141).
set -euo pipefail
cd "$(dirname "$0")"
out=${PREMAP_OUT:-premap.data}
[ $# -gt 0 ] || set -- ls -lR /usr/share/doc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo build --release -q -p premap-tools
echo "--- premap record -e page-faults -c 1 -o $out -- $*"
./target/release/premap record -e page-faults -c 1 -o "$out" -- "$@" > "$tmp/workload.out"
echo "(the workload printed $(wc -l < "$tmp/workload.out") lines, not shown)"
./target/release/premap dump "$out" > "$tmp/dump.txt"
echo "--- premap dump $out: the first records"
awk '!/^#/ && n < 8 { print; n++ }' "$tmp/dump.txt"
echo "--- premap dump $out: records by type"
grep '^# [A-Z0-9_]*: [0-9]*$' "$tmp/dump.txt" || true
if command -v perf > /dev/null; then
    echo "--- perf report --stats -i $out"
    perf report --stats -i "$out" > "$tmp/stats.txt" 2>&1 || true
    sed -n '/Aggregated/,$p' "$tmp/stats.txt"
    echo "--- perf report -i $out: where the page faults were (top 10 by comm, dso)"
    perf report --stdio --sort comm,dso -i "$out" > "$tmp/report.txt" 2>/dev/null || true
    grep -v '^#' "$tmp/report.txt" | grep -v '^$' | awk 'n < 10 { print; n++ }'
fi
