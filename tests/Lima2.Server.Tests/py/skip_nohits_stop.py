"""skip_nohits_stop.py CONTROL RECEIVERS ACQ PROC MIN_XFERRED: an SMX run whose dense saving keeps the hits only
(fai.dense_skip_nohits), stopped as the conductor does it (Stop on every device at once) once every receiver's
nb_frames_xferred has reached MIN_XFERRED; then Close. Prints JSON: each receiver's counters and Status, the control's
Status, and what the dense master file's VDS holds against the receivers' own dense and sparse files."""
import glob, json, os, sys
import h5py
import numpy as np
import tango
from stop_mid_run import stop_mid_run

control, receivers, acq_file, proc_file, min_xferred = sys.argv[1:6]
ctrl = tango.DeviceProxy(control)
recvs = [tango.DeviceProxy(n) for n in receivers.split(",")]
for d in [ctrl] + recvs:
    d.set_timeout_millis(60000)  # a Prepare or Stop on a loaded machine takes seconds: only a hang fails
acq, proc = json.load(open(acq_file)), json.load(open(proc_file))
stop_mid_run(ctrl, recvs, acq, [proc | {c: proc[c] | {"filename_rank": rank} for c in ("saving_dense", "saving_sparse")} for rank in range(len(recvs))],
             lambda: all(int(r.nb_frames_xferred) >= int(min_xferred) for r in recvs),
             lambda: [int(r.nb_frames_xferred) for r in recvs], timeout=90)


def counter(r, name):
    return int(r.read_attribute(name).value) if name in r.get_attribute_list() else None


result = {
    "received": [counter(r, "nb_frames_received") for r in recvs],
    "processed": [counter(r, "nb_frames_processed") for r in recvs],
    "saved": [counter(r, "nb_frames_saved") for r in recvs],
    "dropped": [counter(r, "nb_frames_dropped") for r in recvs],
    "not_saved_nohit": [counter(r, "nb_frames_not_saved_nohit") for r in recvs],
    "status": [r.status() for r in recvs],
    "control_status": ctrl.status(),
}

dense, sparse = proc["saving_dense"], proc["saving_sparse"]
n, per_file = len(recvs), dense["nb_frames_per_file"]
master = f"{dense['base_path']}/{dense['filename_prefix']}_master.h5"
result["master"] = os.path.exists(master)
if result["master"]:
    with h5py.File(master, "r") as f:
        data = f["/entry_0000/instrument/detector/data"][()]
    result["frames"] = int(data.shape[0])
    # which global frames were hits: every frame a receiver searched has its row in its sparse files
    hit = {}
    for path in glob.glob(f"{sparse['base_path']}/{sparse['filename_prefix']}_*.h5"):
        with h5py.File(path, "r") as f:
            p = f["entry_0000/peaks"]
            hit.update({int(i): bool(k >= proc["fai"]["min_nb_peaks"]) for i, k in zip(p["frame_idx"][()], p["nPeaks"][()])})
    wrong, hits, unsearched = [], [0] * n, [0] * n
    for rank, received in enumerate(result["received"]):
        for k in range(received):
            g = rank + k * n  # round robin: receiver r's frame k is the acquisition's frame r + k·n
            unsearched[rank] += g not in hit  # dropped: received, never processed
            if g >= len(data):
                if k < result["processed"][rank]:
                    wrong.append(f"frame {g} (receiver {rank} frame {k}, processed) is not in the master")
            elif hit.get(g):
                hits[rank] += 1
                name = f"{dense['base_path']}/{dense['filename_prefix']}_{rank}_{k // per_file:05d}.h5"
                with h5py.File(name, "r") as f:
                    saved = f["/entry_0000/instrument/detector/data"][k % per_file]
                if not saved.any() or not np.array_equal(data[g], saved):
                    wrong.append(f"hit {g}: the master's frame is not receiver {rank}'s row {k}")
            elif data[g].any():
                wrong.append(f"frame {g}, a no hit or dropped, is not 0 in the master")
    result["hits"] = hits
    result["unsearched"] = unsearched
    result["wrong"] = wrong[:10]
for r in recvs:
    for u in list(r.pipelines or []):
        r.erasePipeline(u)
print(json.dumps(result))
