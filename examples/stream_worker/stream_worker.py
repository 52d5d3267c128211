#!/usr/bin/python3
"""A worker of a Lima2 receiver's re-published stream that fills the frames (and results) it missed from the saved files.

DESY P06's 1 -> N -> 1 pattern: the receiver is the broker (receiver setting `publish`, socket push), workers PULL
frames from it, load-balanced; a receiver never waits for its workers, it drops the frames they are too slow for
(counted, see the receiver's `publish:` summary line or its nb_frames_publish_dropped attribute). At the end of the
series this worker reads the frames it did not get from the HDF5 files the receiver saved, which the end message
names, so that it ends with every frame.

    /usr/bin/python3 stream_worker.py tcp://receiver-host:5555 [--sub] [--out frames.h5] [--delay 0.01]

Both formats of the receiver are read: MAX IV's unified stream (JSON header part + blob: header, image, series_end)
and DECTRIS stream V2 (one CBOR message: start, image, end; the end's user_data holds the same fields). Every image
carries its global frame index (`frame` / `image_id`). The end says where frame k of the receiver's share (global
index first_frame + k * frame_step: rank and nb_receivers when frames are dealt round robin, 0 and 1 when every
receiver takes its modules of every frame) lies: row k % frames_per_file of files[k // frames_per_file], dataset `dataset`.
Reading bitshuffle/LZ4 files needs the HDF5 filter plugin (Debian: hdf5-filter-plugin).

Every image also carries the frame's results when the receiver makes them (MAX IV: the header's `results` key; V2:
the image's user_data, JSON `{"results": ...}`): `recv_idx` (the frame's index among the receiver's, as Lima2's
reduced-data rows give it), `roi_statistics`, one {min, max, avg, std, sum} per ROI (rectangles
then arcs, as popRoiStatistics), and `peaks` {nb_peaks, hit, x, y, intensity, snr} (the sparse file's CXI tables). For
a frame it missed, the worker makes them as the receiver did: the statistics over the pixel runs of each ROI that the
end message gives (`results.roi_statistics.regions`, masked pixels already out) on the frame read back, the peaks from
the sparse files it names (`results.peaks.files`, row of `peaks/frame_idx`), hit = nb_peaks >= min_nb_peaks.

A run with `fai.dense_skip_nohits` (the end's `results.peaks.dense_skip_nohits`) saves no pixels of a frame that is no
hit: the sparse files, which hold every frame, say which (nb_peaks < min_nb_peaks). Such a frame the worker missed is
not read back (its row reads 0): its peak results are made from the sparse files, its image and ROI statistics are
reported "not saved: no hit" (`not_saved_no_hit`), and it counts as accounted for.

The "work" here is a per-frame sum, printed with the counts as one JSON line at the end; --out writes every frame (in
frame order) to /frames of an HDF5 file and which ones came from the files to /filled; --results writes every frame's
results as JSON {frame index: results}. With --sub it connects as a viewer (SUB) to a publisher of socket pub. Exit
status 0 when every frame of the series (and its results) was received or filled.
"""
import argparse
import json
import math
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
    """(kind, fields, frame index, pixels, results) of a MAX IV or DECTRIS V2 message."""
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
            results = json.loads(body["user_data"]).get("results") if isinstance(body.get("user_data"), str) else None
            return kind, body, body["image_id"], pixels, results
        fields = json.loads(body["user_data"]) if kind == "series_end" and "user_data" in body else body
        return kind, fields, None, None, None
    header = json.loads(parts[0])
    if header["htype"] == "image":
        pixels = decode(parts[1], header["compression"], header["shape"], header["type"])
        return "image", header, header["frame"], pixels, header.get("results")
    return header["htype"], header, None, None, None


def f32(value):
    """A float32 result as a Python float (None stays None): what the receiver computed, whichever way it came."""
    return None if value is None else float(np.float32(value))


def normalized(results):
    """Results with every float32 value rounded as the receiver stores it, so that received and filled compare equal."""
    out = {"recv_idx": int(results["recv_idx"])}
    if "roi_statistics" in results:
        out["roi_statistics"] = [{k: (float(v) if k == "sum" else f32(v)) for k, v in roi.items()}
                                 for roi in results["roi_statistics"]]
    if "peaks" in results:
        p = results["peaks"]
        out["peaks"] = {"nb_peaks": int(p["nb_peaks"]), "hit": bool(p["hit"]),
                        **{k: [f32(v) for v in p[k]] for k in ("x", "y", "intensity", "snr")}}
    return out


def roi_statistics(frame, regions):
    """Lima1 RoiCounter statistics of each region (row runs [y, x, length]): population std, zeros when empty."""
    out = []
    for runs in regions:
        values = np.concatenate([frame[y, x:x + n] for y, x, n in runs]) if runs else np.empty(0, frame.dtype)
        n = values.size
        if n == 0:
            out.append({"min": 0.0, "max": 0.0, "avg": 0.0, "std": 0.0, "sum": 0.0})
            continue
        if values.dtype.kind in "ui":  # exact integer sums, as the receiver's
            v = values.astype(np.int64 if values.dtype.itemsize <= 2 else object)
            total, squares = int(v.sum()), int((v * v).sum())
            avg, std = total / n, math.sqrt(float(n * squares - total * total)) / n
        else:
            v = values.astype(np.float64)
            total = float(v.sum())
            avg = total / n
            std = float(np.sqrt(np.mean((v - avg) ** 2)))
        out.append({"min": f32(values.min()), "max": f32(values.max()), "avg": f32(avg), "std": f32(std), "sum": float(total)})
    return out


def peaks_from_files(peaks_end):
    """{frame index: peaks} of every frame in the sparse files the end message names."""
    found = {}
    for path in peaks_end["files"]:
        with h5py.File(path, "r") as f:
            entry = next(f[k] for k in f if isinstance(f[k], h5py.Group) and "peaks" in f[k])
            p = entry["peaks"]
            counts, indices = p["nPeaks"][()], p["frame_idx"][()]
            columns = {"x": p["peakXPosRaw"][()], "y": p["peakYPosRaw"][()], "intensity": p["peakTotalIntensity"][()],
                       "snr": p["peakSNR"][()]}
            for row, (index, n) in enumerate(zip(indices, counts)):
                found[int(index)] = {"nb_peaks": int(n), "hit": bool(n >= peaks_end["min_nb_peaks"]),
                                     **{k: [None if not math.isfinite(v) else f32(v) for v in c[row, :n]]
                                        for k, c in columns.items()}}
    return found


NOT_SAVED_NO_HIT = "not saved: no hit"


def not_saved_no_hits(end, peaks):
    """The frames the dense files left out as no hits (dense_skip_nohits): the sparse files' frames below min_nb_peaks."""
    wanted = (end.get("results") or {}).get("peaks") or {}
    return {index for index, p in peaks.items() if not p["hit"]} if wanted.get("dense_skip_nohits") else set()


def fill_results(end, frames, results, peaks, not_saved):
    """The results of the frames that came without them (missed ones), made from the frames and the files as the
    receiver made them (a missed frame not saved as a no hit: its peaks only); returns the frame indices whose results
    could not be made."""
    wanted = end.get("results") or {}
    missing = []
    for index, pixels in [*frames.items(), *((i, None) for i in not_saved if i not in frames)]:
        if index in results:
            continue
        made = {"recv_idx": (index - end["first_frame"]) // end["frame_step"]}
        if pixels is None:
            made["image"] = NOT_SAVED_NO_HIT
        if "roi_statistics" in wanted:
            made["roi_statistics"] = NOT_SAVED_NO_HIT if pixels is None else \
                roi_statistics(np.asarray(pixels), wanted["roi_statistics"]["regions"])
        if "peaks" in wanted:
            if index not in peaks:
                missing.append(index)
                continue
            made["peaks"] = peaks[index]
        results[index] = made
    return missing


def fill_from_files(end, received, not_saved):
    """The frames of the receiver's share that did not come, read from the files the end message names, but for those
    the files left out (`not_saved`)."""
    first, step, per_file = end["first_frame"], end["frame_step"], end["frames_per_file"]
    filled, missing = {}, []
    files = {}
    try:
        for k in range(end["receiver_frames"]):
            index = first + k * step
            if index in received or index in not_saved:
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
    parser.add_argument("--results", help="write every frame's results to this JSON file ({frame index: results})")
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

    received, sums, results, end = {}, {}, {}, None
    while end is None:
        if not socket.poll(int(args.timeout * 1000)):
            print(json.dumps({"error": f"no message for {args.timeout} s", "received": len(received)}), flush=True)
            return 2
        kind, fields, index, pixels, frame_results = read_message(socket.recv_multipart())
        if kind == "image":
            received[index] = pixels
            if frame_results is not None:
                results[index] = normalized(frame_results)
            sums[index] = int(pixels.astype(np.int64).sum())
            time.sleep(args.delay)
        elif kind == "series_end":
            end = fields

    wanted = end.get("results") or {}
    peaks = peaks_from_files(wanted["peaks"]) if "peaks" in wanted else {}
    not_saved = not_saved_no_hits(end, peaks) - received.keys()
    filled, missing = fill_from_files(end, received, not_saved)
    for index, pixels in filled.items():
        sums[index] = int(np.asarray(pixels).astype(np.int64).sum())
    frames = {**received, **filled}
    received_results = len(results)
    no_results = fill_results(end, frames, results, peaks, not_saved) if wanted else []
    if args.results:
        with open(args.results, "w") as f:
            json.dump({str(i): results[i] for i in sorted(results)}, f)
    if args.out and frames:
        order = sorted(frames)
        with h5py.File(args.out, "w") as f:
            f["frames"] = np.stack([frames[i] for i in order])
            f["frame_index"] = np.array(order)
            f["filled"] = np.array([i in filled for i in order])
            f["not_saved_no_hit"] = np.array(sorted(not_saved), dtype=np.int64)
    print(json.dumps({"received": len(received), "filled": len(filled), "missing": missing, "frames": len(frames),
                      "not_saved_no_hit": sorted(not_saved),
                      "results_received": received_results, "results_filled": len(results) - received_results,
                      "results_missing": no_results,
                      "publisher_dropped": end.get("dropped", {}), "error": end.get("error"),
                      "sum": sum(sums.values())}), flush=True)
    socket.close(0)
    context.term()
    return 0 if not missing and not no_results and end.get("error") is None else 1


if __name__ == "__main__":
    sys.exit(main())
