#!/usr/bin/env bash
# premap's main job: record a workload's page faults with `premap record` and show the result.
# Usage: ./run.sh [COMMAND ARGS...]   (default: ls -lR /usr/share/doc)
set -euo pipefail
cd "$(dirname "$0")"
out=${PREMAP_OUT:-premap.data}
[ $# -gt 0 ] || set -- ls -lR /usr/share/doc
cargo build --release -q -p premap-tools
./target/release/premap record -e page-faults -c 1 -o "$out" -- "$@" > /dev/null
echo "--- premap dump $out (first records and the summary)"
./target/release/premap dump "$out" | grep -v '^#' | head -8
./target/release/premap dump "$out" | grep '^# [A-Z0-9_]*: [0-9]*$'
if command -v perf > /dev/null; then
    echo "--- perf report --stats -i $out"
    perf report --stats -i "$out" 2>&1 | sed -n '/Aggregated/,$p'
fi
