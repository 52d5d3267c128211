"""Reads an HDF5 file with h5py (bitshuffle plugin from Debian's hdf5-filter-plugin) and reports what it sees.

h5_read.py FILE DATASET OUT_RAW: writes the dataset's decoded bytes to OUT_RAW and prints JSON with its shape,
dtype, filters, whether it is virtual, the NX_class of every group, the soft links and the string attributes.
"""
import json
import sys

import h5py
import numpy as np

path, dataset, out = sys.argv[1:4]
info = {"groups": {}, "links": {}, "attrs": {}}
with h5py.File(path, "r") as f:
    def walk(group, prefix):
        for key in group:
            link = group.get(key, getlink=True)
            full = f"{prefix}/{key}"
            if isinstance(link, h5py.SoftLink):
                info["links"][full] = link.path
                continue
            obj = group[key]
            for k, v in obj.attrs.items():
                info["attrs"][f"{full}@{k}"] = v.decode() if isinstance(v, bytes) else str(v)
            if isinstance(obj, h5py.Group):
                info["groups"][full] = obj.attrs.get("NX_class", "")
                walk(obj, full)
    for k, v in f.attrs.items():
        info["attrs"][f"/@{k}"] = v.decode() if isinstance(v, bytes) else str(v)
    walk(f, "")
    d = f[dataset]
    data = d[()]
    dcpl = d.id.get_create_plist()
    np.ascontiguousarray(data).tofile(out)
    info.update(shape=list(d.shape), dtype=d.dtype.str, virtual=d.is_virtual,
                filters=[dcpl.get_filter(i)[0] for i in range(dcpl.get_nfilters())],
                chunks=list(d.chunks) if d.chunks else None)
print(json.dumps(info))
