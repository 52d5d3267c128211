"""Reads an NXmx file the way dxtbx does (its nxmx reader's rules), failing on the first rule broken.

usage: nxmx_read.py FILE FRAMES_OUT
Writes the frames' bytes (the NXdata signal, C order) to FRAMES_OUT and prints one JSON line: what a reader gets.

Rules, from dxtbx's NXmx documentation and reader (dials/nxmx): the NXmx entries are the root's NXentry children
whose `definition` is "NXmx"; an entry's NXdata, NXinstrument, NXsample and NXsource are found by NX_class among
its children; start_time (and end_time or end_time_estimated) are ISO 8601; the NXdata `@signal` names the frames
(nP, i, j); the instrument has a name, NXdetector(s) and an NXbeam (there or under the sample) with
incident_wavelength; the detector has sensor_material, sensor_thickness, a depends_on chain and NXdetector_modules
(a panel each) with data_origin/data_size (arrays, slow to fast, inside the frames; the whole frame when there is
one module) and fast/slow_pixel_direction axes, and a pixel_mask, when there
is one, is an integer image of the frames' shape (nonzero: masked); every axis has a
transformation_type, a 3-vector of unit length, units of its kind and a depends_on that leads, without a loop, to ".".
"""
import hashlib
import json
import sys

import dateutil.parser
import h5py
import numpy as np
import pint

ureg = pint.UnitRegistry()


def number(value):
    """JSON has no NaN: an unknown value (NaN in the file) is the string "nan"."""
    return None if value is None else "nan" if np.isnan(value) else float(value)


def fail(message):
    raise SystemExit(f"NXmx rule broken: {message}")


def text(value):
    if isinstance(value, np.ndarray):
        value = value[()] if value.ndim == 0 else value.flat[0]
    return value.decode() if isinstance(value, bytes) else str(value)


def children(group, nx_class):
    return [v for v in group.values() if v is not None and text(v.attrs.get("NX_class", "")) == nx_class]


def quantity(dataset, kind, default_units=None):
    units = dataset.attrs.get("units", default_units)
    if units is None:
        fail(f"{dataset.name} has no @units")
    value = ureg.Quantity(np.squeeze(dataset[()]), text(units))
    if not value.check(kind):
        fail(f"{dataset.name} is in {text(units)}, not a {kind}")
    return value


class Axis:
    def __init__(self, dataset):
        self.dataset = dataset
        attrs = dataset.attrs
        self.kind = text(attrs.get("transformation_type", ""))
        if self.kind not in ("translation", "rotation"):
            fail(f"{dataset.name} has no transformation_type translation/rotation")
        self.vector = np.asarray(attrs.get("vector"), dtype=float)
        if self.vector.shape != (3,) or not np.isclose(np.linalg.norm(self.vector), 1):
            fail(f"{dataset.name} @vector is not a unit 3-vector")
        self.value = quantity(dataset, "[length]" if self.kind == "translation" else "[]")
        offset = attrs.get("offset")
        self.offset = ureg.Quantity(np.zeros(3), "m") if offset is None else \
            ureg.Quantity(np.asarray(offset, dtype=float), text(attrs.get("offset_units", attrs.get("units"))))
        if "depends_on" not in attrs:
            fail(f"{dataset.name} has no @depends_on")
        self.depends_on = text(attrs["depends_on"])

    def next(self):
        return None if self.depends_on == "." else Axis(self.dataset.parent[self.depends_on])

    def matrix(self):
        """4x4 in metres: a translation by value·vector + offset (rotations are not used by a fixed detector)."""
        if self.kind != "translation":
            fail(f"{self.dataset.name}: a detector of ours has only translations")
        a = np.identity(4)
        a[:3, 3] = self.value.to("m").magnitude * self.vector + self.offset.to("m").magnitude
        return a


def chain(axis):
    """The axes from `axis` to the end ("."), checked for loops."""
    seen, axes = set(), []
    while axis is not None:
        if axis.dataset.name in seen:
            fail(f"depends_on loops at {axis.dataset.name}")
        seen.add(axis.dataset.name)
        axes.append(axis)
        axis = axis.next()
    return axes


def placed(axes):
    """The transformation of a chain: T = T_last ... T_first."""
    m = np.identity(4)
    for axis in axes:
        m = axis.matrix() @ m
    return m


def main(path, frames_out):
    with h5py.File(path, "r") as f:
        entries = [e for e in children(f, "NXentry") if "definition" in e and text(e["definition"][()]) == "NXmx"]
        if len(entries) != 1:
            fail(f"{len(entries)} NXentry with definition NXmx at the root")
        entry = entries[0]
        start = dateutil.parser.isoparse(text(entry["start_time"][()]))
        end_name = "end_time" if "end_time" in entry else "end_time_estimated"
        end = dateutil.parser.isoparse(text(entry[end_name][()]))
        for nx_class in ("NXdata", "NXinstrument", "NXsample", "NXsource"):
            if not children(entry, nx_class):
                fail(f"{entry.name} has no {nx_class}")
        source_name = text(children(entry, "NXsource")[0]["name"][()])

        data = children(entry, "NXdata")[0]
        signal = text(data.attrs["signal"])
        frames = data[signal]
        if frames.ndim != 3:
            fail(f"{frames.name} has {frames.ndim} dimensions, not (nP, i, j)")
        pixels = frames[()]
        with open(frames_out, "wb") as out:
            out.write(np.ascontiguousarray(pixels).tobytes())

        instrument = children(entry, "NXinstrument")[0]
        instrument_name = text(instrument["name"][()])
        detectors = children(instrument, "NXdetector")
        if len(detectors) != 1:
            fail(f"{instrument.name} has {len(detectors)} NXdetector")
        detector = detectors[0]
        sample = children(entry, "NXsample")[0]
        beams = children(instrument, "NXbeam") or children(sample, "NXbeam")
        if not beams:
            fail("no NXbeam in the instrument or the sample")
        wavelength = quantity(beams[0]["incident_wavelength"], "[length]").to("angstrom").magnitude
        if "depends_on" not in sample:
            fail(f"{sample.name} has no depends_on")
        sample_depends_on = text(sample["depends_on"][()])
        if sample_depends_on != ".":
            chain(Axis(sample[sample_depends_on]))

        material = text(detector["sensor_material"][()])
        thickness = quantity(detector["sensor_thickness"], "[length]").to("m").magnitude
        detector_axes = chain(Axis(detector[text(detector["depends_on"][()])]))
        modules = children(detector, "NXdetector_module")
        if not modules:
            fail(f"{detector.name} has no NXdetector_module")

        def panel(module):
            """dxtbx's panel of a module: its pixels in the frames, and where its chain puts them."""
            origin_index, size = module["data_origin"][()], module["data_size"][()]
            if np.ndim(origin_index) != 1 or np.ndim(size) != 1 or len(size) != 2 or len(origin_index) != 2:
                fail(f"{module.name}: data_origin and data_size are not arrays of 2 (slow, fast)")
            if min(origin_index) < 0 or any(o + n > m for o, n, m in zip(origin_index, size, pixels.shape[1:])):
                fail(f"{module.name}: data_origin {tuple(origin_index)} + data_size {tuple(size)} is beyond the frames' {pixels.shape[1:]}")
            fast, slow = Axis(module["fast_pixel_direction"]), Axis(module["slow_pixel_direction"])
            fast_axes, slow_axes = chain(fast), chain(slow)
            if fast_axes[-1].dataset.name != detector_axes[-1].dataset.name or slow_axes[-1].dataset.name != detector_axes[-1].dataset.name:
                fail(f"{module.name}: the pixel directions do not lead to the detector's chain")
            # the origin is where the module's chain (without the pixel step) puts (0, 0, 0); the axes are the pixel
            # directions' vectors turned by the chain (translations only: unchanged)
            origin = (placed(fast_axes[1:]) @ np.array([0, 0, 0, 1.0]))[:3]
            pixel_x, pixel_y = fast.value.to("m").magnitude, slow.value.to("m").magnitude
            normal = np.cross(fast.vector, slow.vector)
            distance = float(np.dot(origin, normal)) if np.dot(normal, [0, 0, 1]) > 0 else float(-np.dot(origin, normal))
            # where the beam (0, 0, 1) meets the module's plane, in the frames' pixels (the module's, moved by data_origin)
            hit = np.array([0, 0, np.dot(origin, normal) / normal[2]])
            beam_x = float(np.dot(hit - origin, fast.vector) / pixel_x) + int(origin_index[1])
            beam_y = float(np.dot(hit - origin, slow.vector) / pixel_y) + int(origin_index[0])
            return {
                "name": module.name, "data_origin": [int(v) for v in origin_index], "data_size": [int(v) for v in size],
                "origin": [number(v) for v in origin], "fast": list(fast.vector), "slow": list(slow.vector),
                "pixel_size": [number(pixel_x), number(pixel_y)], "distance": number(distance),
                "beam_center": [number(beam_x), number(beam_y)], "chain": [a.dataset.name for a in fast_axes],
            }

        panels = [panel(m) for m in sorted(modules, key=lambda m: m.name)]
        if len(panels) == 1 and tuple(panels[0]["data_size"]) != pixels.shape[1:]:
            fail(f"data_size {tuple(panels[0]['data_size'])} of the only module is not the frames' {pixels.shape[1:]}")
        first = panels[0]

        # dxtbx's mask: pixel_mask (an integer image of the frames' shape) != 0 is a masked pixel; NXmx's bits say why
        mask = None
        if "pixel_mask" in detector:
            values = detector["pixel_mask"][()]
            if values.dtype.kind not in "ui" or values.shape != pixels.shape[1:]:
                fail(f"pixel_mask is {values.dtype} {values.shape}, not integers of the frames' {pixels.shape[1:]}")
            for p in panels:  # dxtbx masks each panel with its slice of pixel_mask
                (y, x), (h, w) = p["data_origin"], p["data_size"]
                p["masked"] = int(np.count_nonzero(values[y:y + h, x:x + w]))
            mask = {
                "dtype": values.dtype.str, "masked": int(np.count_nonzero(values)),
                "applied": bool(detector["pixel_mask_applied"][()]) if "pixel_mask_applied" in detector else None,
                "sha256": hashlib.sha256(np.ascontiguousarray(values, dtype="<u4").tobytes()).hexdigest(),
            }

        def field(name, kind):
            return number(quantity(detector[name], kind).magnitude) if name in detector else None

        print(json.dumps({
            "entry": entry.name, "start_time": start.isoformat(), "end_time": end.isoformat(),
            "frames_path": frames.name, "shape": list(pixels.shape), "dtype": pixels.dtype.str,
            "sha256": hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest(),
            "instrument": instrument_name, "source": source_name, "sample": text(sample["name"][()]),
            "wavelength": number(wavelength), "sensor_material": material, "sensor_thickness": number(thickness),
            "pixel_size": first["pixel_size"], "distance": first["distance"], "beam_center": first["beam_center"],
            "x_pixel_size": field("x_pixel_size", "[length]"), "distance_field": field("distance", "[length]"),
            "beam_center_x": field("beam_center_x", "[printing_unit]"), "beam_center_y": field("beam_center_y", "[printing_unit]"),
            "chain": first["chain"], "pixel_mask": mask, "modules": panels,
        }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
