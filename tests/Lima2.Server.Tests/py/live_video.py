"""live_video.py CONTROL RECEIVER ACQ PROC: what a Lima1 client reads from a receiver's live attributes.

Once the run of ACQ/PROC (one receiver) is prepared (no frame yet), then after it, reads video_last_image and decodes it as BLISS'
lima image utilities do (struct !IHHqiiHHHH, magic VDEO, version 1, endianness 0, zero pads, header_size), and
live_image (IMAGE). Prints JSON {"before": {...}, "after": {...}}: each {"format", "header": [10 fields],
"pixels": flat list or None, "live_shape", "live": flat list, "live_dtype"}.
"""
import json, struct, sys, time, uuid
import numpy as np
import tango

VIDEO_HEADER_FORMAT = "!IHHqiiHHHH"
VIDEO_MODES = {0: np.uint8, 1: np.uint16, 2: np.uint32, 3: np.uint64}


def read_live(dev):
    fmt, raw = dev.video_last_image
    raw = bytes(raw)
    header = struct.unpack(VIDEO_HEADER_FORMAT, raw[:struct.calcsize(VIDEO_HEADER_FORMAT)])
    magic, version, mode, frame, width, height, endian, header_size, pad0, pad1 = header
    assert magic == 0x5644454F and version == 1 and endian == 0 and (pad0, pad1) == (0, 0), header
    pixels = None
    if frame >= 0:
        pixels = np.frombuffer(raw[header_size:], VIDEO_MODES[mode]).reshape(height, width)
    live = np.asarray(dev.live_image)
    return {"format": fmt, "header": list(header), "pixels": None if pixels is None else pixels.ravel().tolist(),
            "live_shape": list(live.shape), "live": live.ravel().tolist(), "live_dtype": str(live.dtype)}


ctrl = tango.DeviceProxy(sys.argv[1])
recv = tango.DeviceProxy(sys.argv[2])
acq, proc = open(sys.argv[3]).read(), open(sys.argv[4]).read()
labels = list(ctrl.get_attribute_config("acq_state").enum_labels)
run = str(uuid.uuid1())
ctrl.acq_params = acq
recv.acq_params, recv.proc_params = acq, proc
for d in (ctrl, recv):
    d.Prepare(run)
out = {"before": read_live(recv)}
for d in (recv, ctrl):
    d.Start()
deadline = time.monotonic() + 60
while labels[int(recv.acq_state)] != "idle":
    assert time.monotonic() < deadline, "the receiver did not finish"
    time.sleep(0.05)
ctrl.Close()
out["after"] = read_live(recv)
out["run"] = run
print(json.dumps(out))
