#!/bin/bash
# all.sh - the GPU server's whole measure in one `run` call (at most 10 minutes a command): gpu-path.sh, then
# cpu-scaling.sh with the time left, each under its own budget, everything under $OUT (gpu-path/, cpu-scaling/, and log:
# both scripts' output, also on standard output).
# From the checkout's root with .device-bundle/ (scripts/device/pack-bench.sh) carried along:
#   bash scripts/device/all.sh
# Knobs: TOTAL (560 s for both; a run call's limit is 600), GPU_BUDGET (230 s), and each script's own (FRAMES, ...).
set -u
OUT=${OUT:-$PWD/device-out}; mkdir -p "$OUT"
exec > >(tee "$OUT/log") 2>&1
here=$(cd "$(dirname "$0")" && pwd)
TOTAL=${TOTAL:-560}; GPU_BUDGET=${GPU_BUDGET:-230}
echo "== all.sh: gpu-path (${GPU_BUDGET} s) then cpu-scaling (the rest of ${TOTAL} s)"
OUT=$OUT/gpu-path BUDGET=$GPU_BUDGET bash "$here/gpu-path.sh"
echo "gpu-path: exit $? after $SECONDS s; its log: $OUT/gpu-path/log"
OUT=$OUT/cpu-scaling BUDGET=$((TOTAL - SECONDS)) bash "$here/cpu-scaling.sh"
echo "cpu-scaling: exit $? after $SECONDS s in all; its log: $OUT/cpu-scaling/log"
