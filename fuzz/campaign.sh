#!/usr/bin/env bash
# A long fuzzing campaign: every target for PREMAP_FUZZ_RUNS executions (default 10 million), printing
# executions per second and total executions per target. Usage: fuzz/campaign.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")"
PREMAP_FUZZ_RUNS=${1:-${PREMAP_FUZZ_RUNS:-10000000}} exec ./smoke.sh 86400
