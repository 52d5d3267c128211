#!/usr/bin/python3
"""A worker of a Lima2 receiver's re-published stream that fills the frames it missed from the saved files.

DESY P06's 1 -> N -> 1 pattern: the receiver is the broker (receiver setting `publish`, socket push), workers PULL
frames from it, load-balanced; a receiver never waits for its workers, it drops the frames they are too slow for
(counted, see the receiver's `publish:` summary line or its nb_frames_publish_dropped attribute). At the end of the
series this worker reads the frames it did not get from the HDF5 files the receiver saved, which the end message
names, so that it ends with every frame.

    /usr/bin/python3 stream_worker.py tcp://receiver-host:5555 [--sub] [--out frames.h5] [--delay 0.01]

Both formats of the receiver are read: MAX IV's unified stream (JSON header part + blob: header, image, series_end)
and DECTRIS stream V2 (one CBOR message: start, image, end; the end's user_data holds the same fields). Every image
carries its global frame index (`frame` / `image_id`). The end says where frame k of the receiver's share (global
index rank + k * nb_receivers) lies: row k % frames_per_file of files[k // frames_per_file], dataset `dataset`.
Reading bitshuffle/LZ4 files needs the HDF5 filter plugin (Debian: hdf5-filter-plugin).

The "work" here is a per-frame sum, printed with the counts as one JSON line at the end; --out writes every frame (in
frame order) to /frames of an HDF5 file and which ones came from the files to /filled. With --sub it connects as a
viewer (SUB) to a publisher of socket pub. Exit status 0 when every frame of the series was received or filled.
"""
import argparse
import json
import struct
import sys
import time

import bitshuffle
import cbor2
import h5py
import lz4.block
import numpy as np
import zmq


def decode(payload, compression, shape, dtype):
    """A payload as the receiver sends it: raw pixels, or an HDF5 bitshuffle/LZ4 or LZ4 chunk (12-byte header)."""
    dtype = np.dtype(dtype).newbyteorder("<")
    if compression == "none":
        return np.frombuffer(payload, dtype=dtype).reshape(shape).copy()
    total, block = struct.unpack(">QI", payload[:12])
    if compression == "bslz4":
        data = np.frombuffer(payload, dtype=np.uint8, offset=12)
        return bitshuffle.decompress_lz4(data, tuple(shape), dtype, block // dtype.itemsize)
    if compression == "lz4":
        out, offset = bytearray(), 12
        while len(out) < total:
            (length,) = struct.unpack(">I", payload[offset:offset + 4])
            size, data = min(block, total - len(out)), payload[offset + 4:offset + 4 + length]
            out += data if length == size else lz4.block.decompress(data, uncompressed_size=size)  # a block that would not shrink is stored raw
            offset += 4 + length
        return np.frombuffer(bytes(out), dtype=dtype).reshape(shape)
    raise ValueError(f"unknown compression {compression!r}")


V2_TYPES = {64: "u1", 69: "<u2", 70: "<u4", 72: "i1", 77: "<i2", 78: "<i4", 85: "<f4"}


def read_message(parts):
    """(kind, fields, frame index, pixels) of a MAX IV or DECTRIS V2 message."""
    if parts[0][:3] == b"\xd9\xd9\xf7":
        body = cbor2.loads(parts[0])
        kind = {"start": "header", "image": "image", "end": "series_end"}.get(body["type"], body["type"])
        if kind == "image":
            array = next(iter(body["data"].values()))  # tag 40: [[h, w], typed array]
            shape, typed = array.value
            content = typed.value
            if isinstance(content, cbor2.CBORTag):  # tag 56500: [algorithm, element size, chunk]
                algorithm, _, chunk = content.value
                pixels = decode(chunk, algorithm, shape, V2_TYPES[typed.tag])
            else:
                pixels = decode(content, "none", shape, V2_TYPES[typed.tag])
            return kind, body, body["image_id"], pixels
        fields = json.loads(body["user_data"]) if kind == "series_end" and "user_data" in body else body
        return kind, fields, None, None
    header = json.loads(parts[0])
    if header["htype"] == "image":
        return "image", header, header["frame"], decode(parts[1], header["compression"], header["shape"], header["type"])
    return header["htype"], header, None, None


def fill_from_files(end, received):
    """The frames of the receiver's share that did not come, read from the files the end message names."""
    rank, receivers, per_file = end["rank"], end["nb_receivers"], end["frames_per_file"]
    filled, missing = {}, []
    files = {}
    try:
        for k in range(end["receiver_frames"]):
            index = rank + k * receivers
            if index in received:
                continue
            if not end["files"] or per_file == 0 or k // per_file >= len(end["files"]):
                missing.append(index)
                continue
            path = end["files"][k // per_file]
            if path not in files:
                files[path] = h5py.File(path, "r")
            filled[index] = files[path][end["dataset"]][k % per_file]
    finally:
        for f in files.values():
            f.close()
    return filled, missing


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("endpoint", help="the receiver's publish endpoint, e.g. tcp://host:5555")
    parser.add_argument("--sub", action="store_true", help="connect as a viewer (SUB) to a PUB publisher")
    parser.add_argument("--out", help="write every frame, in frame order, to /frames of this HDF5 file")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds of (pretended) work per received frame")
    parser.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds without a message")
    parser.add_argument("--rcvhwm", type=int, default=0, help="messages queued ahead of this worker (ZMQ_RCVHWM; 0 = default)")
    args = parser.parse_args()

    context = zmq.Context()
    socket = context.socket(zmq.SUB if args.sub else zmq.PULL)
    if args.sub:
        socket.setsockopt(zmq.SUBSCRIBE, b"")
    if args.rcvhwm:
        socket.setsockopt(zmq.RCVHWM, args.rcvhwm)
        socket.setsockopt(zmq.RCVBUF, 65536)
    socket.connect(args.endpoint)
    print(json.dumps({"ready": args.endpoint}), flush=True)

    received, sums, end = {}, {}, None
    while end is None:
        if not socket.poll(int(args.timeout * 1000)):
            print(json.dumps({"error": f"no message for {args.timeout} s", "received": len(received)}), flush=True)
            return 2
        kind, fields, index, pixels = read_message(socket.recv_multipart())
        if kind == "image":
            received[index] = pixels
            sums[index] = int(pixels.astype(np.int64).sum())
            time.sleep(args.delay)
        elif kind == "series_end":
            end = fields

    filled, missing = fill_from_files(end, received)
    for index, pixels in filled.items():
        sums[index] = int(np.asarray(pixels).astype(np.int64).sum())
    frames = {**received, **filled}
    if args.out and frames:
        order = sorted(frames)
        with h5py.File(args.out, "w") as f:
            f["frames"] = np.stack([frames[i] for i in order])
            f["frame_index"] = np.array(order)
            f["filled"] = np.array([i in filled for i in order])
    print(json.dumps({"received": len(received), "filled": len(filled), "missing": missing, "frames": len(frames),
                      "publisher_dropped": end.get("dropped", {}), "error": end.get("error"),
                      "sum": sum(sums.values())}), flush=True)
    socket.close(0)
    context.term()
    return 0 if not missing and end.get("error") is None else 1


if __name__ == "__main__":
    sys.exit(main())
