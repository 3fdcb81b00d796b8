#!/usr/bin/env bash
# premap's main job: record a workload's page faults with `premap record` and show the result.
# Usage: ./run.sh [COMMAND ARGS...]   (default: ls -lR /usr/share/doc)
#
# It builds premap (cargo's own progress is shown: a cold build takes several minutes), records the
# command with `premap record -e page-faults -c 1` into premap.data (PREMAP_OUT; the previous one is
# kept as premap.data.old, as perf keeps perf.data.old; both are ignored by git), then shows the first
# records, the records by type, and perf's view of the file where perf is installed. The workload's
# own output goes to a file and is summarised; if the workload fails, its exit status and last lines
# are shown, and the recording up to then is still shown.
#
# Every listing is written to a file first and cut from there: a `... | head` under `set -o pipefail`
# fails whenever head exits before the producer has written everything (SIGPIPE, exit 141).
set -euo pipefail
cd "$(dirname "$0")"
out=${PREMAP_OUT:-premap.data}
[ $# -gt 0 ] || set -- ls -lR /usr/share/doc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "--- building premap (cargo build --release -p premap-tools)"
cargo build --release -p premap-tools
echo "--- premap record -e page-faults -c 1 -o $out -- $*"
status=0
./target/release/premap record -e page-faults -c 1 -o "$out" -- "$@" > "$tmp/workload.out" 2> "$tmp/record.err" \
    || status=$?
cat "$tmp/record.err" >&2
echo "(the workload printed $(wc -l < "$tmp/workload.out") lines to stdout, not shown)"
if [ "$status" != 0 ]; then
    echo "--- the recording exited with status $status (premap record exits with the workload's status);"
    echo "    the workload's last lines:"
    if [ -s "$tmp/workload.out" ]; then tail -5 "$tmp/workload.out" | sed 's/^/    /'; else echo "    (none)"; fi
    if [ ! -s "$out" ]; then
        echo "--- no $out was written: nothing to show"
        exit "$status"
    fi
fi
./target/release/premap dump "$out" > "$tmp/dump.txt" || true
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
exit "$status"
