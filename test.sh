#!/usr/bin/env bash
# premap's whole test suite: the command the README names and .ci/run calls.
# It installs what it needs (Debian packages, cargo tools) so that it passes on a fresh machine.
# Stages: formatting and lints, the workspace tests (against this machine's kernel and perf), a fuzz
# smoke run of every target, the kernel series' checks (driver/kernel/series checkpatch and verify) and
# driver/vmtest (the module under QEMU). PREMAP_SKIP_VM=1 skips the VM
# stage and says so; CI never sets it.
set -euo pipefail
cd "$(dirname "$0")"
# Each stage's heading carries the minutes and seconds since the start, so that a run's log says where
# its time went (CI's budget: a cold run under 45 minutes).
started=$SECONDS
stage() { printf '== [%02d:%02d] %s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)) "$*"; }

need_pkgs=()
command -v cc >/dev/null || need_pkgs+=(gcc libc6-dev)
command -v c++ >/dev/null || need_pkgs+=(g++)
[ -f /usr/include/linux/perf_event.h ] || need_pkgs+=(linux-libc-dev)
command -v perf >/dev/null || need_pkgs+=(linux-perf)
command -v python3 >/dev/null || need_pkgs+=(python3) # fuzz/make_corpus.py
if [ ${#need_pkgs[@]} -gt 0 ]; then
    stage "installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
fi

# The guest kernels (cold: several minutes each) build in the background while the host stages run:
# Miri and the fuzz smoke use one core each, which leaves the other to the kernel build.
kernels_pid=
if [ "${PREMAP_SKIP_VM:-}" != 1 ]; then
    mkdir -p target
    stage "building the guest kernels in the background (driver/vmtest --kernel-only > target/vmtest-kernels.log)"
    setsid driver/vmtest --kernel-only >target/vmtest-kernels.log 2>&1 &
    kernels_pid=$!
    trap '[ -n "$kernels_pid" ] && kill -- -"$kernels_pid" 2>/dev/null; true' EXIT
fi

stage "cargo fmt --check"
cargo fmt --all --check
stage "rustfmt --check of the driver (the kernel's .rustfmt.toml: edition 2021, default widths)"
rustfmt --edition 2021 --check driver/*.rs driver/glue/*.rs
stage "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --features premap/tokio -- -D warnings
stage "cargo doc -D warnings (the crates' documentation builds clean)"
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps --features premap/tokio -p premap -p premap-abi -p premap-perfdata -p premap-tools -p premap-driver-fuzz
stage "cargo package: premap-abi, premap and premap-perfdata build from what they would publish"
# cargo unpacks the packaged crates from its temporary registry into $CARGO_HOME/registry/src/<hash of
# the registry's path>/ and never again: a second run from the same checkout would build the crates
# that depend on premap-abi against the first run's premap-abi. Remove those unpacked copies first.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/premap-*
cargo package -q -p premap-abi -p premap -p premap-perfdata --allow-dirty
stage "premap-abi without default features (the kernel's view: no external crate)"
cargo build -p premap-abi --no-default-features
stage "cargo test --workspace (with premap's tokio feature: the async reader's tests and example)"
cargo test --workspace --features premap/tokio
stage "Miri: premap-abi's unit tests and the synthetic-ring tests (the reader, the producer, two threads)"
if [ "${PREMAP_SKIP_MIRI:-}" = 1 ]; then
    stage "Miri SKIPPED (PREMAP_SKIP_MIRI=1)"
elif rustup run nightly rustc --version >/dev/null 2>&1 \
        && { rustup +nightly component list --installed 2>/dev/null | grep -q '^miri' \
             || rustup +nightly component add miri rust-src >/dev/null 2>&1; } \
        && cargo +nightly miri setup >/dev/null 2>&1; then
    cargo +nightly miri test -q -p premap-abi --lib
    PROPTEST_CASES=4 MIRIFLAGS=-Zmiri-disable-isolation cargo +nightly miri test -q -p premap --test synthetic
else
    stage "Miri SKIPPED: no nightly toolchain with the miri component here (rustup +nightly component add miri)"
fi
# CI's budget (a cold run under 45 minutes with two kernels) sets the smoke lengths: 20 s per fuzz
# target, 40 s of the driver fuzzer per kernel; fuzz/campaign.sh and driver/fuzz-campaign run long ones.
export PREMAP_FUZZ_SECS=${PREMAP_FUZZ_SECS:-20}
export PREMAP_DRIVER_FUZZ_SECS=${PREMAP_DRIVER_FUZZ_SECS:-40}
stage "fuzz smoke (every target, ${PREMAP_FUZZ_SECS} s each)"
fuzz/smoke.sh
if [ "${PREMAP_SKIP_VM:-}" = 1 ]; then
    stage "driver/vmtest and driver/kernel/series SKIPPED (PREMAP_SKIP_VM=1): the driver and the kernel series were not tested"
else
    stage "driver/vmtest (premap.ko in a Linux 6.12 LTS guest and a mainline guest under QEMU), with driver/tests/hostile.c, abi/examples/c/read_premap_device.c and driver/tests/mm_paths.c as --guest-run"
    if ! wait "$kernels_pid"; then
        kernels_pid=
        cat target/vmtest-kernels.log
        stage "the guest kernels did not build"
        exit 1
    fi
    kernels_pid=
    cat target/vmtest-kernels.log
    stage "the guest kernels are built"
    # The kernel series (driver/kernel/series): checkpatch --strict from the mainline source on every
    # patch (0 errors, 0 warnings), and the checked-in patches equal the export of their git branch
    # (imported from Debian's pristine source, one commit per patch, then exported again).
    stage "driver/kernel/series checkpatch and verify (mainline, 6.12)"
    driver/kernel/series checkpatch
    driver/kernel/series verify
    cc -std=c11 -Wall -Wextra -Werror -static -I abi/include driver/tests/hostile.c -o target/hostile
    # The C example that reads the driver's ring (both strategies) with premap_abi.h alone.
    cc -std=c11 -Wall -Wextra -Werror -pedantic -static -I abi/include abi/examples/c/read_premap_device.c \
        -o target/read_premap_device
    # Every mm path that can meet a typed ring page, on the driver's typed buffer and perf's own ring.
    cc -std=gnu11 -Wall -Wextra -Werror -static -I abi/include driver/tests/mm_paths.c -o target/mm_paths
    stage "driver/vmtest: the guests"
    driver/vmtest --guest-run target/hostile --guest-run target/read_premap_device --guest-run target/mm_paths
fi
