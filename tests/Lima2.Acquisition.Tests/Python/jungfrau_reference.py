"""numpy reference for the JUNGFRAU gain decoding, correction and pedestal maps (jungfrau_utils' formulas).

usage: jungfrau_reference.py [--track DARK_EVERY G0_BAND_KEV|- WINDOW] DIR FRAMES PIXELS PHOTON_KEV THRESHOLD_KEV [ROWS COLUMNS GAP_X GAP_Y]
reads DIR/raw.u16 (FRAMES x PIXELS), DIR/pedestal.f32 and DIR/gain.f32 (3 x PIXELS, stages G0, G1, G2);
writes DIR/energy.f32 and DIR/photons.i32 (FRAMES x PIXELS), DIR/dark_pedestal.f32 (3 x PIXELS, the mean ADC of the
raw frames taken as dark frames, per stage, 0 where a stage was never seen) and DIR/dark_count.i32.
With a module grid (PIXELS = ROWS x COLUMNS modules of 512 x 1024, module m at row m // COLUMNS, column m % COLUMNS,
GAP_X / GAP_Y pixels apart), also the assembled images DIR/assembled_raw.u16, DIR/assembled_energy.f32 and
DIR/assembled_photons.i32 (FRAMES x HEIGHT x WIDTH): 1030 x 514 modules, their 2 x 4 chips of 256 x 256 set 2 pixels
apart for the chip-border double pixels (jungfrau_utils' layout), every pixel no chip covers 0.
With --track, pedestal tracking: frame f is corrected with the maps as they are, then moves them: when DARK_EVERY > 0
and f % DARK_EVERY == 0 every pixel, else (G0_BAND_KEV given) the G0 pixels with |E| <= G0_BAND_KEV, each by
P[stage] += (ADC - P[stage]) / WINDOW in float32; the energies and photons are the tracked run's, and the maps at
the end are written to DIR/tracked_pedestal.f32 (3 x PIXELS). A frame whose byte in DIR/complete.u8 (FRAMES bytes, when
the file is there) is 0 had padded packets: it is corrected but moves no map.
"""
import sys
from pathlib import Path

import numpy as np

args = sys.argv[1:]
track = None
if args[0] == "--track":
    track = (int(args[1]), None if args[2] == "-" else np.float32(args[2]), np.float32(args[3]))
    args = args[4:]
sys.argv[1:] = args

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
if track is None:
    energy = (adc - pedestal[stage, columns]) / gain[stage, columns]
else:
    dark_every, band, window = track
    tracked = pedestal.copy()
    energy = np.empty((frames, pixels), np.float32)
    complete = np.fromfile(d / "complete.u8", np.uint8) if (d / "complete.u8").exists() else np.ones(frames, np.uint8)
    for f in range(frames):
        s, a = stage[f], adc[f]
        p = tracked[s, columns]
        energy[f] = (a - p) / gain[s, columns]
        if not complete[f]:
            continue
        if dark_every > 0 and f % dark_every == 0:
            dark = np.ones(pixels, bool)
        elif band is not None:
            dark = (s == 0) & (np.abs((a - p) / gain[0]) <= band)
        else:
            dark = np.zeros(pixels, bool)
        tracked[s[dark], columns[dark]] = p[dark] + (a[dark] - p[dark]) / window
    tracked.tofile(d / "tracked_pedestal.f32")
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

if len(sys.argv) > 6:
    rows, columns, gap_x, gap_y = (int(a) for a in sys.argv[6:10])
    module_w, module_h = 1024 + 3 * 2, 512 + 2
    width, height = columns * (module_w + gap_x) - gap_x, rows * (module_h + gap_y) - gap_y
    for name, values in (("raw.u16", raw), ("energy.f32", energy.astype(np.float32)), ("photons.i32", photons)):
        modules = values.reshape(frames, rows * columns, 512, 1024)
        image = np.zeros((frames, height, width), values.dtype)
        for m in range(rows * columns):
            x0, y0 = m % columns * (module_w + gap_x), m // columns * (module_h + gap_y)
            for chip_row in range(2):
                for chip in range(4):
                    y, x = y0 + chip_row * 258, x0 + chip * 258
                    image[:, y:y + 256, x:x + 256] = modules[:, m, chip_row * 256:(chip_row + 1) * 256, chip * 256:(chip + 1) * 256]
        image.tofile(d / ("assembled_" + name))
print("ok", frames, pixels)
