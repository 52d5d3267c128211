"""endless_stop.py CONTROL RECEIVERS ACQ PROC MIN_FRAMES MASTER OUT.npy: an endless run stopped, as the conductor does it
(Stop on every device at once), once the control has MIN_FRAMES; then Close. Prints JSON: the receivers' saved counts,
the control's status, and whether the master file's VDS equals the receivers' own files frame by frame; the VDS
goes to OUT.npy."""
import json, os, sys
import h5py
import numpy as np
import tango
from stop_mid_run import stop_mid_run

control, receivers, acq_file, proc_file, min_frames, master, out = sys.argv[1:8]
ctrl = tango.DeviceProxy(control)
recvs = [tango.DeviceProxy(n) for n in receivers.split(",")]
acq, proc = json.load(open(acq_file)), json.load(open(proc_file))
labels = stop_mid_run(ctrl, recvs, acq, [proc | {"saving": proc["saving"] | {"filename_rank": rank}} for rank in range(len(recvs))],
                      lambda: ctrl.nb_frames_acquired >= int(min_frames), lambda: ctrl.nb_frames_acquired, timeout=60)
saved = [int(r.nb_frames_saved) for r in recvs]
result = {"saved": saved, "status": ctrl.status(), "state": labels[int(ctrl.acq_state)], "master": os.path.exists(master)}
if result["master"]:
    # receiver r's k-th saved frame is global frame r + k·n: the VDS must show exactly that, fill (0) elsewhere
    saving = proc["saving"]
    per_file = saving["nb_frames_per_file"]
    with h5py.File(master, "r") as f:
        vds = f["/entry_0000/instrument/detector/data"]
        assert vds.is_virtual
        data = vds[()]
    np.save(out, data)
    n = len(recvs)
    expected = np.zeros_like(data)
    for rank, count in enumerate(saved):
        for k in range(count):
            name = f"{saving['base_path']}/{saving['filename_prefix']}_{rank}_{k // per_file:05d}.h5"
            with h5py.File(name, "r") as f:
                expected[rank + k * n] = f["/entry_0000/instrument/detector/data"][k % per_file]
    result["frames"] = int(data.shape[0])
    result["equal_to_receivers_files"] = bool(np.array_equal(data, expected))
for r in recvs:
    for u in list(r.pipelines or []):
        r.erasePipeline(u)
print(json.dumps(result))
