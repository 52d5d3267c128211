"""vds_dump.py MASTER DATASET OUT.npy: the master file's virtual dataset as one array, read with h5py."""
import sys
import h5py
import numpy as np

with h5py.File(sys.argv[1], "r") as f:
    d = f[sys.argv[2]]
    assert d.is_virtual, "the master dataset is not a VDS"
    np.save(sys.argv[3], d[()])
    print(d.shape, d.dtype, len(d.virtual_sources()))
