"""DECTRIS stream V2 with cbor2 and bitshuffle: decodes DIR/ours.cbor (image 7, uint16 bslz4) and checks it against
DIR/pixels.raw; writes DIR/theirs.cbor, image 3 of the same pixels, built the way the DECTRIS documentation describes."""
import pathlib
import struct
import sys

import bitshuffle
import cbor2
import numpy as np

folder, height, width = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
pixels = np.frombuffer((folder / "pixels.raw").read_bytes(), dtype="<u2").reshape(height, width)

raw = (folder / "ours.cbor").read_bytes()
assert raw[:3] == b"\xd9\xd9\xf7", raw[:3]
body = cbor2.loads(raw)  # cbor2 consumes the self-describe tag 55799 itself
assert next(iter(body)) == "type" and body["type"] == "image", list(body)[:2]
assert body["image_id"] == 7
array = body["data"]["threshold_1"]
assert array.tag == 40
(h, w), typed = array.value
assert (h, w) == (height, width), (h, w)
assert typed.tag == 69
algorithm, elem_size, chunk = typed.value.value
assert typed.value.tag == 56500 and algorithm == "bslz4" and elem_size == 2
total, block = struct.unpack(">QI", chunk[:12])
out = bitshuffle.decompress_lz4(np.frombuffer(chunk[12:], np.uint8), (h, w), np.dtype("<u2"), block // 2)
assert np.array_equal(out, pixels)
print("ours ok")

block = max(128, 8192 // 2 // 8 * 8)
chunk = struct.pack(">QI", pixels.nbytes, block * 2) + bitshuffle.compress_lz4(pixels, 0).tobytes()
image = {
    "type": "image", "series_id": 1, "series_unique_id": "01HX", "image_id": 3,
    "real_time": [1, 50000000], "start_time": [0, 50000000], "stop_time": [1, 50000000],
    "data": {"threshold_1": cbor2.CBORTag(40, [[height, width], cbor2.CBORTag(69, cbor2.CBORTag(56500, ["bslz4", 2, chunk]))])},
}
(folder / "theirs.cbor").write_bytes(cbor2.dumps(cbor2.CBORTag(55799, image)))
