#!/bin/bash
# cpu-scaling.sh - issue 11.2/11.3's receive scaling on a many-core server: `lima2-bench` (bench/Lima2.Bench) over
# receivers x threads shapes, 4 Mpx uint16 DECTRIS V1 frames, bslz4 and raw, saved to tmpfs, then one shape saved to
# the disk beside it; each run also measures its limits (loopback wire into null receivers, memory copy, dd to disk
# and tmpfs), the codec and per-step costs, and the same-work Python peer at the same thread count.
# From the checkout's root with the bundle of scripts/device/pack-bench.sh beside it:  bash scripts/device/cpu-scaling.sh
# Writes under $OUT: log, bench-RxT-tmpfs.md / bench-RxT-disk.md (each run's markdown section) and their .err.
# Knobs (defaults = the real run, about 5 minutes on 16 cores): SHAPES ("1x16 4x4 2x8 1x8 1x4", most wanted first),
# DISK_SHAPE (1x16, run on the disk after the first tmpfs shape; "" = none), FRAMES (2000 per case, fewer if the
# tmpfs cannot hold them), BUDGET (480 s for everything: the run that reaches it is stopped, later ones skipped),
# TMPFS (/dev/shm/lima2-bench), DISK (/var/tmp/lima2-bench), DOTNET_DIR (/opt/dn).
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
# Debian's path). A server without them (no pyzmq, no Debian libraries; a venv's python3 with numpy and h5py) gets:
# the bundle's bitshuffle library at that path, and /usr/bin/python3 replaced, for this script's run only, by one that
# runs the venv's python with scripts/device/pyshim first on its path (zmq over the bundle's libzmq; h5py allowed to
# declare the bitshuffle filter its HDF5 lacks: the peer writes chunks direct).
BSHUF=/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins/libh5bshuf.so
[ -e "$BSHUF" ] || { mkdir -p "$(dirname "$BSHUF")" && cp "$NATIVE/plugins/libh5bshuf.so" "$BSHUF" && echo "peer: bitshuffle library from the bundle at $BSHUF"; }
restore_python=
peer_python() {
  if /usr/bin/python3 -c 'import numpy, h5py, zmq' 2>/dev/null; then echo "peer: /usr/bin/python3 as it is"; return; fi
  local py; py=$(command -v python3)
  if [ -z "$py" ] || ! "$py" -c 'import numpy, h5py' 2>/dev/null; then
    echo "peer: NO python3 with numpy and h5py here: the same-work peer cannot run, and lima2-bench stops at its first peer case"
    return
  fi
  local real site shim=/tmp/lima2-pyshim
  real=$(readlink -f "$py"); site=$("$py" -c 'import site; print(site.getsitepackages()[0])')
  rm -rf "$shim"; cp -r "$here/pyshim" "$shim"
  if [ -e /usr/bin/python3 ] || [ -L /usr/bin/python3 ]; then
    mv /usr/bin/python3 /usr/bin/python3.lima2-orig || { echo "peer: cannot replace /usr/bin/python3 (not root?)"; return; }
    restore_python="mv -f /usr/bin/python3.lima2-orig /usr/bin/python3"
    [ "$real" = /usr/bin/python3 ] && real=/usr/bin/python3.lima2-orig
  else
    restore_python="rm -f /usr/bin/python3"
  fi
  printf '#!/bin/sh\nZMQ_LIB=%s PYTHONPATH=%s:%s exec %s "$@"\n' "$NATIVE/libs/libzmq.so.5" "$shim" "$site" "$real" > /usr/bin/python3
  chmod +x /usr/bin/python3
  echo "peer: /usr/bin/python3 = $real with $shim (pyzmq stand-in) and $site, until this script ends"
  /usr/bin/python3 -c 'import numpy, h5py, zmq; print("peer python:", numpy.__version__, h5py.__version__, zmq.__file__)'
}
trap '[ -n "$restore_python" ] && $restore_python; mountpoint -q /mnt/lima2-tmpfs && umount /mnt/lima2-tmpfs' EXIT
peer_python

bench() { # SHAPE FOLDER NAME
  local r=${1%x*} t=${1#*x} left=$((deadline - SECONDS))
  if [ "$left" -lt 30 ]; then echo "== $1 on $3: skipped, ${left}s of the budget left"; return; fi
  echo "== $1 on $3 ($r receivers x $t threads, $FRAMES frames per case; load $(cut -d' ' -f1-3 /proc/loadavg))"
  local start=$SECONDS pid rc
  # its own process group, so that a run stopped at the budget takes its streamer and peers with it
  setsid env $LIBS "$G/cli/lima2-bench" --frames "$FRAMES" --receivers "$r" --threads "$t" --folder "$2" --tmpfs "$TMPFS" \
    > "$OUT/bench-$1-$3.md" 2> "$OUT/bench-$1-$3.err" &
  pid=$!
  if ! timeout "$left" tail --pid="$pid" -f /dev/null; then
    kill -TERM -- "-$pid"; sleep 5; kill -KILL -- "-$pid" 2>/dev/null
  fi
  wait "$pid"; rc=$?
  echo "exit $rc after $((SECONDS - start)) s$([ $((SECONDS - start)) -ge "$left" ] && echo ': stopped at the budget')"
  grep -E '^\| (lima2 receive|same-work|loopback|memory copy|dd )|^- V1' "$OUT/bench-$1-$3.md"
  [ $rc = 0 ] || tail -5 "$OUT/bench-$1-$3.err"
}
first=1
for shape in $SHAPES; do
  bench "$shape" "$TMPFS" tmpfs
  [ -n "$first" ] && [ -n "$DISK_SHAPE" ] && bench "$DISK_SHAPE" "$DISK" disk
  first=
done
rm -rf "$TMPFS" "$DISK"
date
