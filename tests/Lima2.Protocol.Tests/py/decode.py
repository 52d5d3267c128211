"""Decodes a Lima2 DevEncoded payload with numpy, the way lima2-client does, and prints it as JSON.

usage: decode.py FORMAT FILE
"""
import json
import struct
import sys

import numpy as np

HEADER = struct.Struct("<IHHIIHHHHHHHHIIIIIIQ")  # the 64-byte "DTAY" header
DTYPES = ["u1", "u2", "u4", "u8", "i1", "i2", "i4", "i8", "f4", "f8"]
RECORDS = {
    "roi": np.dtype([("frame_idx", "<i4"), ("recv_idx", "<i4"), ("min", "<f4"), ("max", "<f4"),
                     ("avg", "<f4"), ("std", "<f4"), ("sum", "<f8")]),
    "peaks": np.dtype([("frame_idx", "<i4"), ("recv_idx", "<i4"), ("nb_peaks", "<i4")]),
    "frame_idx": np.dtype([("recv_idx", "<i4"), ("frame_idx", "<i4")]),
}


def dense(data):
    h = HEADER.unpack_from(data)
    magic, version, header_size, _category, data_type, endianness, nb_dim = (int(v) for v in h[:7])
    assert magic == 0x44544159 and version >= 1 and endianness == 0 and nb_dim == 3, h
    width, height, channels = (int(v) for v in h[7:10])
    pixels = np.frombuffer(data, DTYPES[data_type], offset=header_size).reshape(channels, height, width)
    return {"frame_idx": int(h[19]), "dtype": pixels.dtype.str, "shape": list(pixels.shape),
            "pixels": pixels.ravel().tolist()}


def structured(data, kind):
    h = HEADER.unpack_from(data)
    rows = np.frombuffer(data, RECORDS[kind], offset=int(h[2]))
    return {"rows": [[float(v) for v in row] for row in rows]}


def smx_sparse(data):
    width, height, nb_bins, nb_pixels, frame_idx = struct.unpack_from("<HHIII", data)
    at = 16
    index = np.frombuffer(data, "<i4", count=nb_pixels, offset=at); at += 4 * nb_pixels
    intensity = np.frombuffer(data, "<f4", count=nb_pixels, offset=at); at += 4 * nb_pixels
    avg = np.frombuffer(data, "<f4", count=nb_bins, offset=at); at += 4 * nb_bins
    std = np.frombuffer(data, "<f4", count=nb_bins, offset=at); at += 4 * nb_bins
    assert at == len(data)
    return {"shape": [int(height), int(width)], "frame_idx": int(frame_idx), "index": index.tolist(),
            "intensity": intensity.tolist(), "background_avg": avg.tolist(), "background_std": std.tolist()}


def sparse(data):
    width, height, nb_pixels, frame_idx = struct.unpack_from("<HHII", data)
    index = np.frombuffer(data, "<i4", count=nb_pixels, offset=12)
    intensity = np.frombuffer(data, "<u2", count=nb_pixels, offset=12 + 4 * nb_pixels)
    return {"shape": [int(height), int(width)], "frame_idx": int(frame_idx), "index": index.tolist(),
            "intensity": intensity.tolist()}


fmt, path = sys.argv[1], sys.argv[2]
payload = open(path, "rb").read()
decoders = {"DENSE_FRAME": dense, "SMX_SPARSE_FRAME": smx_sparse, "SPARSE_FRAME": sparse,
            "STRUCTURED_ARRAY:roi": lambda d: structured(d, "roi"),
            "STRUCTURED_ARRAY:peaks": lambda d: structured(d, "peaks"),
            "STRUCTURED_ARRAY:frame_idx": lambda d: structured(d, "frame_idx")}
print(json.dumps(decoders[fmt](payload)))
