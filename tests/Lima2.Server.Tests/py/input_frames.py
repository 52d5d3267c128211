"""input_frames.py CONTROL RECEIVERS ACQ PROC INDEX: one run, then from each processing device the input and the
processed frame of global index INDEX (-1: the latest) through getInputFrame and getFrame, decoded from DENSE_FRAME.

Prints JSON: per rank {"input": frame, "processed": frame}, a frame being {format, idx, width, height, dtype, pixels}.
"""
import json, struct, sys, time, uuid
import numpy as np
import tango

DTYPES = ["<u1", "<u2", "<u4", "<u8", "<i1", "<i2", "<i4", "<i8", "<f4", "<f8"]


def dense(encoded):
    fmt, data = encoded
    data = bytes(data)
    fields = struct.unpack_from("<IHHIIHHHHHHHHIIIIIIQ", data)
    header_size, data_type, width, height, idx = fields[2], fields[4], fields[7], fields[8], fields[-1]
    pixels = np.frombuffer(data, DTYPES[data_type], offset=header_size)
    return {"format": fmt, "idx": idx, "width": width, "height": height, "dtype": DTYPES[data_type],
            "pixels": pixels.tolist()}


ctrl = tango.DeviceProxy(sys.argv[1])
recvs = [tango.DeviceProxy(n) for n in sys.argv[2].split(",")]
acq, proc, index = open(sys.argv[3]).read(), open(sys.argv[4]).read(), int(sys.argv[5])
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
    out[rank] = {"input": dense(p.getInputFrame(index)), "processed": dense(p.getFrame(index))}
ctrl.Close()
for r in recvs:
    r.erasePipeline(run)
print(json.dumps(out))
