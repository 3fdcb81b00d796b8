#!/usr/bin/env bash
# End to end: `premap record` and `perf record` on the same workload (2 million fresh-page faults,
# `-e page-faults -c 1`) with the same ring sizes. For each: samples written, lost records, the
# recorder's own CPU time, output size, and whether `perf script` reads the file.
#
# The recorder's own CPU time is (user+sys of recorder and workload) minus (user+sys of the workload
# run alone), medians of RUNS runs; the workload's own time varies little between runs.
# Usage: bench/recorder.sh [RUNS] (default 3). Needs perf (linux-perf) and a C compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O1 -o "$work/touch" tools/tests/workload/touch.c
cargo build --release -q -p premap-tools
premap=$PWD/target/release/premap
pages=100000
rounds=20
cpu_of() { # command... -> "user+sys seconds" of the command and its children
    local t
    t=$( { /usr/bin/env time -f "%U %S" "$@" >/dev/null 2>"$work/err"; } 2>&1; tail -1 "$work/err")
    awk '{printf "%.3f\n", $1 + $2}' <<<"$t"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

base=$(for _ in $(seq "$runs"); do cpu_of "$work/touch" $pages $rounds; done | median)
echo "workload alone: $pages pages x $rounds rounds, cpu ${base}s (median of $runs)"
printf '%-28s %4s %10s %8s %9s %9s %s\n' recorder -m samples lost "cpu(s)" "size(MB)" "perf script"
for m in 1 8 64; do
    for tool in premap perf perf-B; do
        rows=()
        for i in $(seq "$runs"); do
            out="$work/$tool-$m-$i.data"
            case $tool in
                premap) cmd=("$premap" record -e page-faults -c 1 -m "$m" -o "$out" -- "$work/touch" $pages $rounds) ;;
                perf) cmd=(perf record -q -e page-faults -c 1 -m "$m" -o "$out" -- "$work/touch" $pages $rounds) ;;
                perf-B) cmd=(perf record -q -B --no-bpf-event -e page-faults -c 1 -m "$m" -o "$out" -- "$work/touch" $pages $rounds) ;;
            esac
            cpu=$(cpu_of "${cmd[@]}")
            own=$(awk -v a="$cpu" -v b="$base" 'BEGIN {printf "%.3f", a - b}')
            stats=$(perf report --stats -i "$out" 2>/dev/null)
            samples=$(awk '/^ *SAMPLE events:/ {print $3; exit}' <<<"$stats")
            lostsum=$("$premap" dump --json "$out" 2>/dev/null | awk -F'"lost":' '/"type":"LOST"/ {split($2, a, /[,}]/); s += a[1]} END {print s + 0}')
            size=$(stat -c %s "$out" | awk '{printf "%.1f", $1 / 1e6}')
            script_ok=$(perf script -i "$out" >/dev/null 2>&1 && echo ok || echo FAIL)
            rows+=("$own ${samples:-0} ${lostsum:-0} $size $script_ok")
        done
        med=$(printf '%s\n' "${rows[@]}" | sort -n | awk -v n="${#rows[@]}" 'NR == int((n + 1) / 2)')
        read -r own samples lost size ok <<<"$med"
        printf '%-28s %4s %10s %8s %9s %9s %s\n' "$tool" "$m" "$samples" "$lost" "$own" "$size" "$ok"
    done
done
