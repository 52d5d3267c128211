#!/bin/bash
# cpu-scaling.sh - issue 11.2/11.3's receive scaling on a many-core server: `lima2-bench` (bench/Lima2.Bench) over
# receivers x threads shapes, 4 Mpx uint16 DECTRIS V1 frames, bslz4 and raw. Each run saves every lima2 and peer case
# to tmpfs (the headline) and to its --folder beside it, and measures its limits (loopback wire into null receivers,
# memory copy, dd to the folder and tmpfs), the codec and per-step costs, and the same-work Python peer at the same
# thread count. The disk is the same for every shape: DISK_SHAPE's run has --folder on the disk, the others a second
# tmpfs folder (their "to disk" rows are tmpfs too, which the log says), so that the budget goes to the shapes.
# From the checkout's root with the bundle of scripts/device/pack-bench.sh beside it:  bash scripts/device/cpu-scaling.sh
# Writes under $OUT: log, bench-RxT.md (each run's markdown section) and bench-RxT.err (its progress and errors).
# Knobs (defaults = the real run, about 5 minutes on 16 cores): SHAPES ("1x16 4x4 2x8 1x8 1x4", most wanted first),
# DISK_SHAPE (1x16; "" = none), FRAMES (2000 per case, fewer if the tmpfs cannot hold them), BUDGET (480 s for
# everything: the run that reaches it is stopped, later ones skipped), TMPFS (/dev/shm/lima2-bench),
# DISK (/var/tmp/lima2-bench), DOTNET_DIR (/opt/dn).
# A dry run: SHAPES="1x1 2x1" DISK_SHAPE=1x1 FRAMES=20 DOTNET_DIR=/tmp/dn bash scripts/device/cpu-scaling.sh
set -u
OUT=${OUT:-$PWD/cpu-scaling-out}; mkdir -p "$OUT"
exec > >(tee "$OUT/log") 2>&1
SHAPES=${SHAPES:-1x16 4x4 2x8 1x8 1x4}; DISK_SHAPE=${DISK_SHAPE-1x16}; FRAMES=${FRAMES:-2000}; BUDGET=${BUDGET:-480}
TMPFS=${TMPFS:-/dev/shm/lima2-bench}; DISK=${DISK:-/var/tmp/lima2-bench}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"
date; git log --oneline -1 2>/dev/null; nproc; grep -m1 'model name' /proc/cpuinfo; free -g | head -2
# a case's files (raw: 8.4 MB a frame) stay on the tmpfs until the case ends; a container's /dev/shm may be small:
# then a tmpfs of our own if we may mount one, else fewer frames
mkdir -p "$TMPFS" "$DISK"
room_mb() { df --output=avail -B1M "$1" | tail -1; }
need=$((FRAMES * 9 + 1100))
if [ "$(room_mb "$TMPFS")" -lt "$need" ] && mkdir -p /mnt/lima2-tmpfs && mount -t tmpfs -o size=${need}m tmpfs /mnt/lima2-tmpfs; then
  echo "$TMPFS has $(room_mb "$TMPFS") MB, the cases need $need: a tmpfs of our own at /mnt/lima2-tmpfs"
  rm -rf "$TMPFS"; TMPFS=/mnt/lima2-tmpfs/lima2-bench; mkdir -p "$TMPFS"
fi
room=$(( ($(room_mb "$TMPFS") - 1100) / 9 ))
[ "$room" -lt "$FRAMES" ] && { echo "the tmpfs holds $room raw frames: FRAMES $FRAMES -> $room"; FRAMES=$room; }
df -h "$TMPFS" "$DISK"

# The same-work peer is `/usr/bin/python3 same_work_receiver.py` (pyzmq, numpy, h5py and the C bitshuffle library at
# Debian's path). A server without them (no pyzmq, no Debian libraries; a venv's python3 with numpy and h5py) gets a
# wrapper, /tmp/lima2-python, that runs the venv's python with scripts/device/pyshim first on its path (zmq over the
# bundle's libzmq; h5py allowed to declare the bitshuffle filter its HDF5 lacks: the peer writes chunks direct), named
# to lima2-bench by LIMA2_BENCH_PYTHON, and the bundle's bitshuffle library named by LIMA2_BSHUF_LIB: nothing of the
# server's own files is touched.
peer_python() {
  if /usr/bin/python3 -c 'import numpy, h5py, zmq' 2>/dev/null && [ -e /usr/lib/x86_64-linux-gnu/hdf5/serial/plugins/libh5bshuf.so ]; then
    echo "peer: /usr/bin/python3 as it is"; return
  fi
  export LIMA2_BSHUF_LIB=$NATIVE/plugins/libh5bshuf.so
  local py; py=$(command -v python3)
  if [ -z "$py" ] || ! "$py" -c 'import numpy, h5py' 2>/dev/null; then
    echo "peer: NO python3 with numpy and h5py here: the same-work peer cannot run, and lima2-bench stops at its first peer case"
    return
  fi
  local real site shim=/tmp/lima2-pyshim
  real=$(readlink -f "$py"); site=$("$py" -c 'import site; print(site.getsitepackages()[0])')
  rm -rf "$shim"; cp -r "$here/pyshim" "$shim"
  printf '#!/bin/sh\nZMQ_LIB=%s PYTHONPATH=%s:%s exec %s "$@"\n' "$NATIVE/libs/libzmq.so.5" "$shim" "$site" "$real" > /tmp/lima2-python
  chmod +x /tmp/lima2-python
  export LIMA2_BENCH_PYTHON=/tmp/lima2-python
  echo "peer: $LIMA2_BENCH_PYTHON = $real with $shim (pyzmq stand-in) and $site; bitshuffle library $LIMA2_BSHUF_LIB"
  /tmp/lima2-python -c 'import numpy, h5py, zmq; print("peer python:", numpy.__version__, h5py.__version__, zmq.__file__)'
}
trap 'mountpoint -q /mnt/lima2-tmpfs && umount /mnt/lima2-tmpfs' EXIT
peer_python

bench() { # SHAPE FOLDER
  local r=${1%x*} t=${1#*x} left=$((deadline - SECONDS))
  if [ "$left" -lt 30 ]; then echo "== $1: skipped, ${left}s of the budget left"; return; fi
  echo "== $1 ($r receivers x $t threads, $FRAMES frames per case; --folder $2$([ "$2" = "$DISK" ] || echo ': its "to disk" rows are tmpfs');" \
    "load $(cut -d' ' -f1-3 /proc/loadavg))"
  local start=$SECONDS pid rc
  # its own process group, so that a run stopped at the budget takes its streamer and peers with it
  setsid env $LIBS "$G/cli/lima2-bench" --frames "$FRAMES" --receivers "$r" --threads "$t" --folder "$2" --tmpfs "$TMPFS" \
    > "$OUT/bench-$1.md" 2> "$OUT/bench-$1.err" &
  pid=$!
  if ! timeout "$left" tail --pid="$pid" -f /dev/null; then
    kill -TERM -- "-$pid"; sleep 5; kill -KILL -- "-$pid" 2>/dev/null
  fi
  wait "$pid"; rc=$?
  echo "exit $rc after $((SECONDS - start)) s$([ $((SECONDS - start)) -ge "$left" ] && echo ': stopped at the budget')"
  grep -E '^\| (lima2 receive|same-work|loopback|memory copy|dd )|^- V1' "$OUT/bench-$1.md"
  [ $rc = 0 ] || tail -5 "$OUT/bench-$1.err"
}
for shape in $SHAPES; do
  if [ "$shape" = "$DISK_SHAPE" ]; then bench "$shape" "$DISK"; else bench "$shape" "$TMPFS-as-disk"; fi
done
case " $SHAPES " in *" $DISK_SHAPE "*) ;; *) [ -n "$DISK_SHAPE" ] && bench "$DISK_SHAPE" "$DISK" ;; esac
rm -rf "$TMPFS" "$TMPFS-as-disk" "$DISK"
date
