"""numpy reference for the JUNGFRAU gain decoding, correction and pedestal maps (jungfrau_utils' formulas).

usage: jungfrau_reference.py DIR FRAMES PIXELS PHOTON_KEV THRESHOLD_KEV
reads DIR/raw.u16 (FRAMES x PIXELS), DIR/pedestal.f32 and DIR/gain.f32 (3 x PIXELS, stages G0, G1, G2);
writes DIR/energy.f32 and DIR/photons.i32 (FRAMES x PIXELS), DIR/dark_pedestal.f32 (3 x PIXELS, the mean ADC of the
raw frames taken as dark frames, per stage, 0 where a stage was never seen) and DIR/dark_count.i32.
"""
import sys
from pathlib import Path

import numpy as np

d = Path(sys.argv[1])
frames, pixels = int(sys.argv[2]), int(sys.argv[3])
photon_kev, threshold_kev = np.float32(sys.argv[4]), np.float32(sys.argv[5])

raw = np.fromfile(d / "raw.u16", np.uint16).reshape(frames, pixels)
pedestal = np.fromfile(d / "pedestal.f32", np.float32).reshape(3, pixels)
gain = np.fromfile(d / "gain.f32", np.float32).reshape(3, pixels)

code = raw >> 14
stage = np.where(code == 3, 2, code)  # 00 G0, 01 G1, 11 G2; the invalid 10 is G2 as well
adc = (raw & 0x3FFF).astype(np.float32)
columns = np.arange(pixels)
energy = (adc - pedestal[stage, columns]) / gain[stage, columns]
photons = np.where(energy < threshold_kev, 0, np.rint(energy / photon_kev)).astype(np.int32)
energy.astype(np.float32).tofile(d / "energy.f32")
photons.tofile(d / "photons.i32")

dark_pedestal = np.zeros((3, pixels), np.float32)
dark_count = np.zeros((3, pixels), np.int32)
for g in range(3):
    seen = stage == g
    count = seen.sum(axis=0)
    total = np.where(seen, adc.astype(np.float64), 0).sum(axis=0)
    dark_pedestal[g] = np.where(count > 0, total / np.maximum(count, 1), 0).astype(np.float32)
    dark_count[g] = count
dark_pedestal.tofile(d / "dark_pedestal.f32")
dark_count.tofile(d / "dark_count.i32")
print("ok", frames, pixels)
