"""getters.py CONTROL RECEIVERS ACQ PROC INDEX GETTER...: one run, then from each processing device the frame of global
index INDEX (-1: the latest) through each frame GETTER (getFrame, getInputFrame, getSparseFrame), decoded as its tag
says, and what popFillFactors returns (XPCS).

Prints JSON: per rank {getter: frame, "fill_factors": [[frame_idx, recv_idx, fill_factor], ...]}; a DENSE_FRAME is
{format, idx, width, height, dtype, pixels}, a SPARSE_FRAME {format, idx, width, height, index, intensity}.
"""
import json, struct, sys, time, uuid
import numpy as np
import tango

DTYPES = ["<u1", "<u2", "<u4", "<u8", "<i1", "<i2", "<i4", "<i8", "<f4", "<f8"]


def decode(encoded):
    fmt, data = encoded
    data = bytes(data)
    if fmt == "SPARSE_FRAME":
        width, height, n, idx = struct.unpack_from("<HHII", data)
        index = np.frombuffer(data, "<i4", n, 12)
        intensity = np.frombuffer(data, "<u2", n, 12 + 4 * n)
        return {"format": fmt, "idx": idx, "width": width, "height": height,
                "index": index.tolist(), "intensity": intensity.tolist()}
    fields = struct.unpack_from("<IHHIIHHHHHHHHIIIIIIQ", data)
    header_size, data_type, width, height, idx = fields[2], fields[4], fields[7], fields[8], fields[-1]
    pixels = np.frombuffer(data, DTYPES[data_type], offset=header_size)
    return {"format": fmt, "idx": idx, "width": width, "height": height, "dtype": DTYPES[data_type],
            "pixels": pixels.tolist()}


def structured(encoded, dtype):
    fmt, data = encoded
    return np.frombuffer(bytes(data), dtype, offset=64).tolist()


ctrl = tango.DeviceProxy(sys.argv[1])
recvs = [tango.DeviceProxy(n) for n in sys.argv[2].split(",")]
acq, proc, index, getters = open(sys.argv[3]).read(), open(sys.argv[4]).read(), int(sys.argv[5]), sys.argv[6:]
labels = list(ctrl.get_attribute_config("acq_state").enum_labels)
run = str(uuid.uuid1())
ctrl.acq_params = acq
for r in recvs:
    r.acq_params, r.proc_params = acq, proc
for d in [ctrl] + recvs:
    d.Prepare(run)
for d in recvs + [ctrl]:
    d.Start()
deadline = time.monotonic() + 30
while any(labels[int(r.acq_state)] != "idle" for r in recvs):
    assert time.monotonic() < deadline, "the receivers did not finish"
    time.sleep(0.05)
domain = sys.argv[1].split("/")[0]
out = {}
for rank, r in enumerate(recvs):
    p = tango.DeviceProxy(f"{domain}/limaprocessing/{run}@{rank}")
    out[rank] = {g: decode(getattr(p, g)(index)) for g in getters}
    if "popfillfactors" in [c.lower() for c in p.get_command_list()]:
        out[rank]["fill_factors"] = structured(p.popFillFactors(), [("frame_idx", "<i4"), ("recv_idx", "<i4"), ("fill_factor", "<i4")])
ctrl.Close()
for r in recvs:
    r.erasePipeline(run)
print(json.dumps(out))
