# Sourced by the guest inits: the kernel selftests copied into /selftests, each in turn (a 900 s bound),
# `PREMAP-SELFTEST <name> <exit status>` (judged by driver/vmtest against driver/kernel/selftests.baseline).
for t in /selftests/*; do
    [ -x "$t" ] || continue
    echo "PREMAP-STEP selftest $t"
    (cd /tmp && timeout 900 "$t" </dev/null); echo "PREMAP-SELFTEST $(basename "$t") $?"
done
