"""The MAX IV streaming-receiver way of saving a DECTRIS stream V1, for comparison with lima2 receive:
ZMQ PULL, the JSON parts parsed, every blob written as it came with h5py's write_direct_chunk into a dataset
(N, H, W) chunked (1, H, W) grown by one frame per image (filter 32008 declared for bslz4).

After each chunk it hands the written pages back to the kernel as lima2's sink does (start writeback, drop clean
pages): on a VM that returns freed memory to its host, a writer that keeps filling fresh page-cache pages pays a
hypervisor fault per page, and the comparison would measure which writer ran first, not the writers.

h5py_direct_chunk_writer.py ENDPOINT FILE: prints one JSON line {"frames", "seconds", "bytes"} at the end of the series.
"""
import ctypes
import json
import os
import sys
import time

import h5py
import zmq

endpoint, path = sys.argv[1:3]
socket = zmq.Context().socket(zmq.PULL)
socket.connect(endpoint)
f = h5py.File(path, "w")
libc = ctypes.CDLL(None, use_errno=True)
SYNC_FILE_RANGE_WRITE = 2
dataset, frames, size, start = None, 0, 0, None
print("ready", flush=True)
while True:
    parts = socket.recv_multipart(copy=True)
    header = json.loads(parts[0])
    if header["htype"] == "dheader-1.0":
        continue
    if header["htype"] == "dseries_end-1.0":
        break
    d = json.loads(parts[1])
    if dataset is None:
        start = time.perf_counter()
        width, height = d["shape"]
        options = dict(compression=32008, compression_opts=(0, 2)) if d["encoding"].startswith("bs") else {}
        dataset = f.create_dataset("/entry/instrument/detector/data", shape=(0, height, width),
                                   maxshape=(None, height, width), chunks=(1, height, width), dtype=d["type"], **options)
    dataset.resize(frames + 1, axis=0)
    dataset.id.write_direct_chunk((header["frame"], 0, 0), parts[2])
    fd = f.id.get_vfd_handle()
    libc.sync_file_range(fd, ctypes.c_longlong(0), ctypes.c_longlong(0), SYNC_FILE_RANGE_WRITE)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    frames += 1
    size += len(parts[2])
f.close()
fd = os.open(path, os.O_RDONLY)
os.fsync(fd)
os.close(fd)
print(json.dumps({"frames": frames, "seconds": time.perf_counter() - start, "bytes": size}), flush=True)
