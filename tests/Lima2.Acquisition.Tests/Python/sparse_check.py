"""Reads sparse peak files with h5py and densifies every frame with pyFAI 0.21.3's own densify.

sparse_check.py ENTRY OUT_DIR FILE...: for each FILE prints one JSON line with the datasets of
ENTRY/sparse_frames and ENTRY/peaks (shape, dtype), the NX_class of the groups, frame_ptr, frame_idx, nPeaks, the
used part of each peak table and whether its padding is zero, and the layout pyFAI's save_sparse writes for the
same frames; writes the densified frames (float32, frames x H x W) to OUT_DIR/<name>.dense.
pyFAI 0.21.3 has no reader for this layout (pyFAI.io.sparse_frame only writes), so the frames are rebuilt as
pyFAI SparseFrame objects from the datasets and pyFAI.opencl.peak_finder.densify does the rest.
"""
import json
import os
import sys
import tempfile

import h5py
import numpy as np
from pyFAI.containers import SparseFrame
from pyFAI.io.sparse_frame import save_sparse
from pyFAI.opencl.peak_finder import densify

entry, out_dir = sys.argv[1:3]


def layout(group):
    return {k: {"shape": list(group[k].shape), "dtype": group[k].dtype.str} for k in group
            if isinstance(group[k], h5py.Dataset)}


for path in sys.argv[3:]:
    with h5py.File(path, "r") as f:
        sparse, peaks = f[f"{entry}/sparse_frames"], f[f"{entry}/peaks"]
        info = {"file": os.path.basename(path),
                "groups": {k: f[k].attrs.get("NX_class", "") for k in (entry, f"{entry}/sparse_frames", f"{entry}/peaks")},
                "sparse": layout(sparse), "peaks": layout(peaks),
                "signal": sparse.attrs["signal"], "axes": [str(a) for a in sparse.attrs["axes"]],
                "default": f[entry].attrs["default"]}
        ptr = sparse["frame_ptr"][()]
        index, intensity = sparse["index"][()], sparse["intensity"][()]
        radius, mask, dummy = sparse["radius"][()], sparse["mask"][()], sparse["dummy"][()]
        avg, std = sparse["background_avg"][()], sparse["background_std"][()]
        info["frame_ptr"] = ptr.tolist()
        info["frame_idx"] = sparse["frame_idx"][()].tolist()
        n = peaks["nPeaks"][()]
        info["nPeaks"] = n.tolist()
        for name in ("peakTotalIntensity", "peakXPosRaw", "peakYPosRaw", "peakSNR"):
            table = peaks[name][()]
            info[name] = [table[i, :n[i]].tolist() for i in range(len(n))]
            info[name + "_padding_zero"] = all(not table[i, n[i]:].any() for i in range(len(n)))
        frames, dense = [], []
        for k in range(len(ptr) - 1):
            sf = SparseFrame(index[ptr[k]:ptr[k + 1]], intensity[ptr[k]:ptr[k + 1]])
            sf._shape, sf._dtype, sf._mask, sf._radius, sf._dummy = mask.shape, intensity.dtype, mask, radius, dummy
            sf._background_avg, sf._background_std = avg[k], std[k]
            frames.append(sf)
            dense.append(np.ascontiguousarray(densify(sf), np.float32))
        np.array(dense, np.float32).tofile(os.path.join(out_dir, os.path.basename(path) + ".dense"))
        if frames:
            with tempfile.TemporaryDirectory() as tmp:
                save_sparse(os.path.join(tmp, "pyfai.h5"), frames)
                with h5py.File(os.path.join(tmp, "pyfai.h5"), "r") as p:
                    group = next(g for g in p.values() if "sparse_frames" in g)["sparse_frames"]
                    info["pyfai_sparse"] = layout(group)
    print(json.dumps(info))
