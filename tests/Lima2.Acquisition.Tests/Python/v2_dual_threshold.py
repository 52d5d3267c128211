"""A dual-threshold EIGER2 series in stream V2, sent the way the DECTRIS documentation describes with cbor2, pyzmq and
bitshuffle: binds a PUSH socket to ENDPOINT (tcp://127.0.0.1:* picks a port), prints "bound <endpoint>", then a start message with the detector's metadata and channels
[threshold_1, threshold_2], FRAMES uint16 HEIGHTxWIDTH images with a bslz4 entry per channel, and the end message.
Pixels of frame f, channel c: (f * 1000 + c * 7 + k) % 65536 for pixel k in row-major order."""
import struct
import sys

import bitshuffle
import cbor2
import numpy as np
import zmq

endpoint, frames, height, width = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
channels = ["threshold_1", "threshold_2"]


def message(body):
    return cbor2.dumps(cbor2.CBORTag(55799, body))


def bslz4(pixels):
    block = 8192 // pixels.itemsize // 8 * 8
    return struct.pack(">QI", pixels.nbytes, block * pixels.itemsize) + bitshuffle.compress_lz4(pixels, block).tobytes()


context = zmq.Context()
push = context.socket(zmq.PUSH)
push.setsockopt(zmq.LINGER, 5000)
push.bind(endpoint)
print("bound", push.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)  # a PUSH send waits for the receiver to connect
push.send(message({
    "type": "start", "series_id": 5, "series_unique_id": "01HXDUAL", "channels": channels,
    "image_size_x": width, "image_size_y": height, "image_dtype": "uint16", "number_of_images": frames,
    "pixel_size_x": 7.5e-05, "pixel_size_y": 7.5e-05, "detector_translation": [0.0, 0.0, 0.1875],
    "beam_center_x": 20.5, "beam_center_y": 11.25, "count_time": 0.0049, "frame_time": 0.005,
    "saturation_value": 65534, "sensor_material": "CdTe", "sensor_thickness": 0.00075,
    "threshold_energy": {"threshold_1": 6000.0, "threshold_2": 12000.0},
}))
k = np.arange(height * width, dtype=np.int64)
for f in range(frames):
    data = {}
    for c, name in enumerate(channels):
        pixels = ((f * 1000 + c * 7 + k) % 65536).astype("<u2").reshape(height, width)
        data[name] = cbor2.CBORTag(40, [[height, width], cbor2.CBORTag(69, cbor2.CBORTag(56500, ["bslz4", 2, bslz4(pixels)]))])
    push.send(message({
        "type": "image", "series_id": 5, "series_unique_id": "01HXDUAL", "image_id": f,
        "real_time": [249000, 50000000], "start_time": [f * 250000, 50000000], "stop_time": [f * 250000 + 249000, 50000000],
        "data": data,
    }))
push.send(message({"type": "end", "series_id": 5, "series_unique_id": "01HXDUAL"}))
push.close()
context.term()
print("sent")
