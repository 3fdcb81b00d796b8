#!/usr/bin/env bash
# End to end: `premap record` and `perf record` on the same workload (2 million fresh-page faults,
# `-e page-faults -c 1`) with the same ring sizes. For each: samples written, lost records, the
# recorder's own CPU time, the workload's CPU time, output size, and whether `perf script` reads the
# file.
#
# The recorder's own CPU time is (user+sys of the recorder and its children, from time(1)) minus the
# workload's own user+sys (getrusage(RUSAGE_SELF), which the workload writes out at exit). The
# workload's CPU time includes what the kernel spends in it writing samples and waking the recorder,
# so a recorder that asks for more wakeups shows up there. Medians of RUNS runs.
# Then the same at -m 8 with call graphs (-g) and with zstd compression (-z), premap against perf
# -B (no build-id pass at the end) against perf's -B: like for like.
# Usage: bench/recorder.sh [RUNS] (default 3). Needs perf (linux-perf) and a C compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O1 -o "$work/touch" workloads/touch.c
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

alone=$(for _ in $(seq "$runs"); do
    rm -f "$work/ru"
    "$work/touch" $pages $rounds "$work/ru"
    awk '{printf "%.3f\n", $1 + $2}' "$work/ru"
done | median)
echo "workload alone: $pages pages x $rounds rounds, cpu ${alone}s (median of $runs)"
printf '%-8s %4s %10s %8s %13s %13s %9s %s\n' recorder -m samples lost "recorder cpu" "workload cpu" \
    "size(MB)" "perf script"
for case in ${PREMAP_BENCH_CASES:-1 8 64 8:-g 8:-z}; do
    case=${case/:/ }
    read -r m opt <<<"$case"
    extra=(); [ -n "${opt:-}" ] && extra=("$opt")
    for tool in premap perf premap-B perf-B; do
        rows=()
        for i in $(seq "$runs"); do
            tag="$tool-$m${opt:-}-$i"
            out="$work/$tag.data"
            ru="$work/ru-$tag"
            rm -f "$ru"
            w=("$work/touch" $pages $rounds "$ru")
            case $tool in
                premap) cmd=("$premap" record -q "${extra[@]}" -e page-faults -c 1 -m "$m" -o "$out" -- "${w[@]}") ;;
                premap-B) cmd=("$premap" record -q -B "${extra[@]}" -e page-faults -c 1 -m "$m" -o "$out" -- "${w[@]}") ;;
                perf) cmd=(perf record -q "${extra[@]}" -e page-faults -c 1 -m "$m" -o "$out" -- "${w[@]}") ;;
                perf-B) cmd=(perf record -q -B --no-bpf-event "${extra[@]}" -e page-faults -c 1 -m "$m" -o "$out" -- "${w[@]}") ;;
            esac
            total=$(cpu_of "${cmd[@]}")
            wl=$(awk '{printf "%.3f", $1 + $2}' "$ru")
            own=$(awk -v a="$total" -v b="$wl" 'BEGIN {printf "%.3f", a - b}')
            stats=$(perf report --stats -i "$out" 2>/dev/null)
            samples=$(awk '/^ *SAMPLE events:/ {print $3; exit}' <<<"$stats")
            lostsum=$("$premap" dump --json "$out" 2>/dev/null | awk -F'"lost":' '/"type":"LOST"/ {split($2, a, /[,}]/); s += a[1]} END {print s + 0}')
            size=$(stat -c %s "$out" | awk '{printf "%.1f", $1 / 1e6}')
            script_ok=$(perf script -i "$out" >/dev/null 2>&1 && echo ok || echo FAIL)
            rows+=("$own $wl ${samples:-0} ${lostsum:-0} $size $script_ok")
            rm -f "$out"
        done
        # The median run by recorder CPU, and the median of each column on its own.
        col() { printf '%s\n' "${rows[@]}" | awk -v c="$1" '{print $c}' | median; }
        ok=$(printf '%s\n' "${rows[@]}" | awk '$6 != "ok" {bad = 1} END {print bad ? "FAIL" : "ok"}')
        printf '%-8s %4s %10s %8s %13s %13s %9s %s\n' "$tool${opt:+ $opt}" "$m" "$(col 3)" "$(col 4)" "$(col 1)" \
            "$(col 2)" "$(col 5)" "$ok"
        printf '    runs:'
        printf ' [%s]' "${rows[@]}"
        printf '\n'
    done
done
