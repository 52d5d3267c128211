"""Loaded by the Python the bench's same-work peer runs under on a server without Debian's h5py (pyshim on its
PYTHONPATH, see cpu-scaling.sh): that h5py's HDF5 lacks the bitshuffle filter (32008), and h5py refuses to declare a
filter it cannot run unless told allow_unknown_filter ("Unknown compression filter number: 32008"). The peer writes its
chunks with write_direct_chunk, never through the filter, so declaring it is all its work needs. Its bslz4 files there
lack the parameters the filter adds at creation (block size, element size) and cannot be read back; the bench only
times the peer and deletes them."""
try:
    from h5py._hl import filters as _filters
except ImportError:
    pass
else:
    _fill_dcpl = _filters.fill_dcpl

    def _fill_dcpl_declaring_unknown_filters(plist, shape, dtype, chunks, compression, compression_opts, shuffle,
                                             fletcher32, maxshape, scaleoffset, external, allow_unknown_filter=False,
                                             **more):
        return _fill_dcpl(plist, shape, dtype, chunks, compression, compression_opts, shuffle, fletcher32, maxshape,
                          scaleoffset, external, True, **more)

    _filters.fill_dcpl = _fill_dcpl_declaring_unknown_filters
