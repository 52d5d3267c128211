"""Runs pyFAI's OCL_PeakFinder (peakfinder8) on frames, for cross-checks and benchmarks of Lima2's finder.

Usage: pyfai_peakfinder.py FRAMES.npy PONI NPT PARAMS_JSON [--mask M.npy] [--repeat N] [--platform P --device D]
       [--sparsify]
FRAMES.npy holds one frame (2-D) or a stack (3-D). Prints one JSON document: per frame the peaks (index, pos0,
pos1, intensity, sigma) or, with --sparsify, the sorted sparse pixel indices; the pyFAI version, the device, the
set-up time and per-frame times (ms, H->D copy included) of the repeated runs on the first frame.
"""
import argparse
import json
import sys
import time

import numpy
import pyopencl
import pyFAI
from pyFAI.opencl.peak_finder import OCL_PeakFinder


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("frames")
    ap.add_argument("poni")
    ap.add_argument("npt", type=int)
    ap.add_argument("params")
    ap.add_argument("--mask")
    ap.add_argument("--repeat", type=int, default=0)
    ap.add_argument("--platform", type=int)
    ap.add_argument("--device", type=int, default=0)
    ap.add_argument("--sparsify", action="store_true")
    a = ap.parse_args()

    frames = numpy.load(a.frames)
    if frames.ndim == 2:
        frames = frames[None]
    shape = frames.shape[1:]
    mask = numpy.load(a.mask).astype(numpy.int8) if a.mask else None
    p = json.loads(a.params)
    if a.platform is None:
        ctx = pyopencl.create_some_context(interactive=False)
    else:
        ctx = pyopencl.Context([pyopencl.get_platforms()[a.platform].get_devices()[a.device]])

    t0 = time.perf_counter()
    ai = pyFAI.load(a.poni)
    r2d = ai.array_from_unit(shape, "center", "r_m", scale=False)
    eng = ai.setup_CSR(shape, a.npt, mask=mask, split="no", unit="r_m", scale=False)
    pf = OCL_PeakFinder(eng.lut, frames[0].size, unit="r_m", radius=r2d, bin_centers=eng.bin_centers, mask=mask, ctx=ctx)
    setup_s = time.perf_counter() - t0

    kw = dict(dummy=p.get("dummy"), delta_dummy=p.get("delta_dummy"), error_model=p.get("error_model", "poisson"),
              cutoff_clip=p.get("cutoff_clip", 5.0), cycle=p.get("cycle", 5), noise=p.get("noise", 1.0),
              cutoff_pick=p.get("cutoff_pick", 3.0))

    def run(img):
        if a.sparsify:
            return pf.sparsify(img, **kw)
        return pf.peakfinder8(img, patch_size=p.get("patch_size", 3), connected=p.get("connected", 3), **kw)

    out = []
    for img in frames:
        r = run(img)
        if a.sparsify:
            out.append({"sparse": sorted(int(i) for i in r.index)})
        else:
            out.append({"peaks": [[int(x["index"]), float(x["pos0"]), float(x["pos1"]), float(x["intensity"]), float(x["sigma"])]
                                  for x in numpy.sort(r, order="index")]})
    times = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        run(frames[0])
        times.append((time.perf_counter() - t) * 1e3)
    json.dump({"pyfai": pyFAI.version, "device": pf.ctx.devices[0].name, "setup_s": setup_s, "frames": out,
               "times_ms": times}, sys.stdout)


if __name__ == "__main__":
    main()
