#!/bin/bash
# gpu-path.sh - issue 11.1's measure on a GPU server (not run on the 2-vCPU VM). From the checkout's root, with the
# bundle of scripts/device/pack-bench.sh beside it (.device-bundle/):   bash scripts/device/gpu-path.sh
# Writes everything under $OUT (log, receiver settings and outputs). About 3 minutes on the server (BUDGET).
#  1. lima2 peaks bench on jf4m (4.5 Mpx) and f1k (1 Mpx): latency and per-stage device times (--profile), then
#     frames/s of uint16 frames with 1..4 frames in flight per queue on 1 and 3 queues, beside the copy rates from
#     pageable, .NET-pinned and driver-pinned memory measured in the same run (issue 11's "≥ 70 % of the copy limit").
#  2. lima2 receive with an SMX pipeline on the GPU (frames from lima2 stream, raw and bslz4 4 Mpx gray16, sparse
#     frames and peaks saved to tmpfs): the receiver's rate on the same path.
# Knobs (defaults = the real run): PLATFORM / DEVICE (0 0: with OCL_ICD_VENDORS set below, NVIDIA's is the only
# platform), REPEAT (30, latency runs), FPS_SECONDS (3, each frames/s run), RX_FRAMES (4000, per receive case),
# RX_THREADS ("4 12", the receive cases' nb_threads), BUDGET (seconds for the whole script, default none: each step's
# timeout is cut to what is left), DOTNET_DIR (/opt/dn, where the bundle's runtime is unpacked).
# A dry run on PoCL: PLATFORM=0 REPEAT=2 FPS_SECONDS=0.5 RX_FRAMES=20 RX_THREADS=2 DOTNET_DIR=/tmp/dn bash scripts/device/gpu-path.sh
set -u
OUT=${OUT:-$PWD/gpu-path-out}; mkdir -p "$OUT"
exec > >(tee "$OUT/log") 2>&1
PLATFORM=${PLATFORM:-0}; DEVICE=${DEVICE:-0}; REPEAT=${REPEAT:-30}; FPS_SECONDS=${FPS_SECONDS:-3}; RX_FRAMES=${RX_FRAMES:-4000}
RX_THREADS=${RX_THREADS:-4 12}
source "$(dirname "$0")/env.sh"
date; git log --oneline -1 2>/dev/null; nproc
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,pcie.link.gen.current,pcie.link.width.current --format=csv
# NVIDIA's OpenCL driver is installed but not registered with an ICD loader: register it (alone) for ours. Without it
# (a dry run on a VM) the ICDs of /etc/OpenCL/vendors (PoCL) are used.
NV=$(ls /usr/lib/libnvidia-opencl.so.1 /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 2>/dev/null | head -1)
if [ -n "$NV" ]; then
  mkdir -p /tmp/vendors; echo "$NV" > /tmp/vendors/nvidia.icd; export OCL_ICD_VENDORS=/tmp/vendors
else
  echo "no NVIDIA OpenCL driver here: the platforms registered in /etc/OpenCL/vendors ($(ls /etc/OpenCL/vendors 2>/dev/null | tr '\n' ' '))"
fi
export LIMA2_OPENCL_CACHE=$OUT/opencl-cache
L="env $LIBS $G/cli/lima2"
$L peaks devices

D=$G/data
JF="$D/jf4m_frame_i32.bin.gz --shape 2167x2070 --dtype int32 --poni $D/jf4m.poni --mask $D/jf4m_mask_u8.bin.gz"
F1="$D/f1k_frame_i32.bin.gz --shape 1024x1024 --dtype int32 --poni $D/f1k.poni --mask $D/f1k_mask_u8.bin.gz"
COMMON="--params $D/fai_pf8_poisson_c4_p3_n3.json --no-pyfai --no-reference --no-cpu-fallback --platform $PLATFORM --device $DEVICE"

echo "== 1. peak finder: latency, per-stage device times, frames/s vs frames in flight and the copy limits"
timeout $(limit 90) $L peaks bench $JF $COMMON --repeat $REPEAT --profile
for q in 1 3; do
  timeout $(limit 120) $L peaks bench $JF $COMMON --repeat 3 --uint16 --fps-seconds $FPS_SECONDS --queues $q --in-flight 4 --threads 1 --profile
done
timeout $(limit 120) $L peaks bench $JF $COMMON --repeat 3 --uint16 --fps-seconds $FPS_SECONDS --queues 3 --in-flight 3 --threads 4
timeout $(limit 120) $L peaks bench $F1 $COMMON --repeat 3 --uint16 --fps-seconds $FPS_SECONDS --queues 3 --in-flight 4 --threads 2

echo "== 2. receiver: SMX pipeline on the GPU, frames from lima2 stream (4 Mpx gray16), sparse + peaks to tmpfs"
SAVE=/dev/shm/lima2-gpu-path; rm -rf "$SAVE"; mkdir -p "$SAVE"
for enc in raw bslz4; do
  for threads in $RX_THREADS; do
    [ $((deadline - SECONDS)) -lt 20 ] && { echo "receive $enc, nb_threads $threads: skipped, the budget is spent"; continue; }
    port=$((31000 + threads)); S=$OUT/receive-$enc-$threads.yaml
    cat > "$S" <<YAML
receiver:
  channel: { kind: dectris_v1, endpoints: [ "tcp://127.0.0.1:$port" ] }
  memory_cap: 4GiB
  saving_root: $SAVE
  peak_finder: opencl
acq_params:
  acq: { nb_frames: 0 }
proc_params:
  class_name: LimaProcessingSmx
  fifo: { nb_fifo_frames: 256, nb_threads: $threads }
  gpu: { platform_idx: $PLATFORM, device_idx: $DEVICE, ocl_cpu_fallback_enabled: false }
  fai: { error_model: poisson, cutoff_clip: 5, cycle: 5, cutoff_pick: 5, noise: 1, patch_size: 3, connected: 3, min_nb_peaks: 5 }
  saving_sparse: { enabled: true, base_path: $SAVE/$enc-$threads, filename_prefix: sparse, file_exists_policy: overwrite, nb_frames_per_file: 10000 }
YAML
    timeout $(limit 150) $L receive "$S" > "$OUT/receive-$enc-$threads.txt" 2>&1 &
    rx=$!
    sleep 3
    timeout $(limit 140) $L stream --version v1 --encoding $enc --endpoint tcp://127.0.0.1:$port --frames $RX_FRAMES --width 2048 --height 2048 \
      --pixel-type gray16 --generator diffraction --prefetch 8 --no-progress
    wait $rx; echo "receive $enc, nb_threads $threads: exit $?"; tail -15 "$OUT/receive-$enc-$threads.txt"
    rm -rf "$SAVE/$enc-$threads"
  done
done
rm -rf "$SAVE"
date
