#!/usr/bin/env bash
# demo.sh - a real Lima2 acquisition on this machine, from scratch: installs what is missing (scripts/setup.sh),
# starts the embedded Tango DB, registers and starts a control and 2 receivers (config/beamline.yaml), runs 1,000
# simulated diffraction frames through the SMX pipeline (ROI statistics, Bragg-peak finding, HDF5 saving) the way
# Lima2's conductor drives it, prints what happened and where the data is, and stops the servers.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export ORBendPoint=giop:tcp:127.0.0.1:   # the demo stays on this machine
"$repo/scripts/setup.sh"
"$repo/scripts/tango-db.sh" up
eval "$("$repo/scripts/tango-db.sh" env)"
source "$repo/scripts/lima2-env.sh"
trap '"$repo/scripts/lima2-stop.sh"' EXIT
"$repo/scripts/lima2-register.sh" config/beamline.yaml
"$repo/scripts/lima2-start.sh" config/beamline.yaml
mkdir -p /tmp/lima2/demo

echo
echo "== acquisition: 2 receivers, simulator 512x512 gray16, SMX pipeline (ROI statistics, peak finding, bshuf_lz4 saving)"
/usr/bin/python3 "$repo/scripts/lima2-run.py" --control id00/limacontrol/simulator \
    --receivers id00/limareceiver/simulator@0,id00/limareceiver/simulator@1 \
    --acq config/demo/acq_params.json --proc config/demo/proc_params_smx.json --timeout 600

echo
echo "== files written"
ls -l /tmp/lima2/demo | sed 's/^/   /'
echo
echo "== the master file holds every frame in acquisition order (a virtual dataset over both receivers' files):"
/usr/bin/python3 - <<'PY'
import h5py, numpy as np
with h5py.File("/tmp/lima2/demo/demo_master.h5", "r") as f:
    d = f["/entry_0000/instrument/detector/data"]
    print(f"   /tmp/lima2/demo/demo_master.h5 {d.name}: shape {d.shape}, {d.dtype}, {len(d.virtual_sources())} virtual sources")
    frame = d[500]
    print(f"   frame 500: min {frame.min()}, max {frame.max()}, mean {frame.mean():.1f}")
PY
cat <<'TXT'

== open them
   /usr/bin/python3 -c "import h5py; d = h5py.File('/tmp/lima2/demo/demo_master.h5')['/entry_0000/measurement/data']; print(d.shape, d[0].max())"
   silx view /tmp/lima2/demo/demo_master.h5        (bitshuffle/LZ4 chunks: Debian's hdf5-filter-plugin decodes them)
   the devices: id00/limacontrol/simulator, id00/limareceiver/simulator@{0,1} (TANGO_HOST as scripts/tango-db.sh env says)
TXT
