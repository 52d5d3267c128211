"""Cross-checks our bitshuffle/LZ4 chunks with Debian's python3-bitshuffle.

encode DIR: for each DIR/<name>.<dtype>.raw, writes DIR/<name>.py.chunk (12-byte header + compress_lz4 body).
decode DIR: for each DIR/<name>.<dtype>.chunk, decodes it and compares with DIR/<name>.<dtype>.raw.
"""
import pathlib
import struct
import sys

import bitshuffle
import numpy as np

mode, folder = sys.argv[1], pathlib.Path(sys.argv[2])
for raw in sorted(folder.glob("*.raw")):
    name, dtype = raw.name.split(".")[:2]
    data = np.frombuffer(raw.read_bytes(), dtype=dtype)
    if mode == "encode":
        block = max(128, 8192 // data.dtype.itemsize // 8 * 8)  # bitshuffle's automatic block size
        body = bitshuffle.compress_lz4(data, 0).tobytes()
        header = struct.pack(">QI", data.nbytes, block * data.dtype.itemsize)
        (folder / f"{name}.py.chunk").write_bytes(header + body)
    else:
        chunk = (folder / f"{name}.{dtype}.chunk").read_bytes()
        total, block = struct.unpack(">QI", chunk[:12])
        assert total == data.nbytes, (name, total, data.nbytes)
        body = np.frombuffer(chunk[12:], dtype=np.uint8)
        out = bitshuffle.decompress_lz4(body, data.shape, data.dtype, block // data.dtype.itemsize)
        assert np.array_equal(out, data), name
        print("ok", name)
