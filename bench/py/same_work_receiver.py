"""The same-work peer of lima2 receive, the MAX IV streaming-receiver way in Python: ZMQ PULL of a DECTRIS stream V1,
each bslz4 blob decoded with the C bitshuffle library (Debian's hdf5-filter-plugin exports bshuf_decompress_lz4),
numpy ROI statistics (sum, min, max, mean, std) over the ROIs lima2 bench uses (200x200 at (100, 100) and the whole
frame), and the blob written as it came with h5py's write_direct_chunk (bslz4 chunks declared filter 32008, raw
frames uncompressed), as lima2's receiver does. One thread (the GIL; MAX IV scales with processes).

same_work_receiver.py ENDPOINT FILE: prints one JSON line {"frames", "seconds", "cpu_seconds", "bytes", "complete"} at
the end (complete false: no end-of-series message came within 30 s of the last frame).
cpu_seconds is this process's CPU time (user + system) from the first frame to the end of the series.
"""
import ctypes
import json
import os
import sys
import time

import h5py
import numpy
import zmq

# Debian's hdf5-filter-plugin, or the copy LIMA2_BSHUF_LIB names (a server without Debian's libraries)
PLUGIN = os.environ.get("LIMA2_BSHUF_LIB", "/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins/libh5bshuf.so")
bshuf = ctypes.CDLL(PLUGIN)
bshuf.bshuf_decompress_lz4.restype = ctypes.c_int64
bshuf.bshuf_decompress_lz4.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t]

endpoint, path = sys.argv[1:3]
socket = zmq.Context().socket(zmq.PULL)
socket.setsockopt(zmq.RCVTIMEO, 30000)  # a series that stops short ends the measure (said in the result)
socket.connect(endpoint)
f = h5py.File(path, "w")
dataset, frames, size, start, cpu_start, image = None, 0, 0, None, None, None
rows = []
complete = False
print("ready", flush=True)
while True:
    try:
        parts = socket.recv_multipart(copy=False)
    except zmq.Again:
        break
    header = json.loads(parts[0].bytes)
    if header["htype"] == "dheader-1.0":
        continue
    if header["htype"] == "dseries_end-1.0":
        complete = True
        break
    d = json.loads(parts[1].bytes)
    blob = parts[2].buffer
    if dataset is None:
        start, cpu_start = time.perf_counter(), time.process_time()
        width, height = d["shape"]
        bslz4 = d["encoding"].startswith("bs")
        options = dict(compression=32008, compression_opts=(0, 2)) if bslz4 else {}
        dataset = f.create_dataset("/entry/instrument/detector/data", shape=(0, height, width),
                                   maxshape=(None, height, width), chunks=(1, height, width), dtype=d["type"], **options)
        image = numpy.empty((height, width), dtype=d["type"])
    if bslz4:
        # chunk = 8-byte big-endian decoded size, 4-byte big-endian block size (bytes), then the blocks
        source = numpy.frombuffer(blob, dtype=numpy.uint8)
        block = int.from_bytes(bytes(source[8:12]), "big") // image.itemsize
        if bshuf.bshuf_decompress_lz4(source[12:].ctypes.data, image.ctypes.data, image.size, image.itemsize, block) < 0:
            raise RuntimeError(f"frame {header['frame']}: bslz4 decode failed")
        pixels = image
    else:
        pixels = numpy.frombuffer(blob, dtype=d["type"]).reshape(image.shape)
    for roi in (pixels[100:300, 100:300], pixels):
        rows.append((header["frame"], int(roi.sum(dtype=numpy.uint64)), roi.min(), roi.max(), roi.mean(dtype=numpy.float64),
                     roi.std(dtype=numpy.float64)))
    dataset.resize(frames + 1, axis=0)
    dataset.id.write_direct_chunk((frames, 0, 0), blob)  # its share of the series, in arrival order (as a lima2 rank)
    frames += 1
    size += len(blob)
f.close()
fd = os.open(path, os.O_RDONLY)
os.fsync(fd)
os.close(fd)
end = time.perf_counter() - (0 if complete else 30)
print(json.dumps({"frames": frames, "seconds": end - start, "cpu_seconds": time.process_time() - cpu_start,
                  "bytes": size, "roi_rows": len(rows), "complete": complete}), flush=True)
