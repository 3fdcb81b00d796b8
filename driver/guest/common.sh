# Sourced first by every guest init (busybox sh): the filesystems, and `tap`, which prints one
# machine-readable verdict per line for driver/vmtest to read (TAP, prefixed so that kernel messages
# on the same console cannot be mistaken for one):
#   PREMAP-TAP ok N - NAME
#   PREMAP-TAP not ok N - NAME # DETAIL
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
mount -t debugfs debugfs /sys/kernel/debug
echo "PREMAP-UNAME $(uname -r)"

tap_n=0
# tap RC NAME [DETAIL]: a verdict, ok when RC is 0.
tap() {
    tap_n=$((tap_n + 1))
    if [ "$1" = 0 ]; then
        echo "PREMAP-TAP ok $tap_n - $2"
    else
        echo "PREMAP-TAP not ok $tap_n - $2 # ${3:-exit status $1}"
    fi
}

# check_taps PREFIX FILE [TODO]: one verdict per behaviour of a `premap check` run's output (N/A is a
# TAP skip), named `PREFIX [STRATEGY] ID`; with TODO, a FAIL is an expected failure (TAP's TODO).
check_taps() {
    awk -v p="$1" -v n="$tap_n" -v todo="${3:-}" '
        /^strategy: / { s = " " $2 }
        /^(PASS|FAIL|N\/A) / {
            n++
            id = $2
            line = $0
            sub(/^(PASS|FAIL|N\/A) +/, "", line)
            if ($1 == "PASS") print "PREMAP-TAP ok " n " - " p s " " id
            else if ($1 == "FAIL" && todo != "") print "PREMAP-TAP not ok " n " - " p s " " id " # TODO " todo ": " line
            else if ($1 == "FAIL") print "PREMAP-TAP not ok " n " - " p s " " id " # " line
            else print "PREMAP-TAP ok " n " - " p s " " id " # SKIP " line
        }
        END { print n > "/tmp/tap_n" }' "$2"
    tap_n=$(cat /tmp/tap_n)
}

# test_taps PREFIX FILE: one verdict per test of a Rust test binary's output (`test NAME ... ok`).
test_taps() {
    awk -v p="$1" -v n="$tap_n" '
        /^test .* \.\.\. (ok|FAILED|ignored)$/ {
            n++
            if ($NF == "ok") print "PREMAP-TAP ok " n " - " p " " $2
            else if ($NF == "ignored") print "PREMAP-TAP ok " n " - " p " " $2 " # SKIP"
            else print "PREMAP-TAP not ok " n " - " p " " $2 " # FAILED"
        }
        END { print n > "/tmp/tap_n" }' "$2"
    tap_n=$(cat /tmp/tap_n)
}
