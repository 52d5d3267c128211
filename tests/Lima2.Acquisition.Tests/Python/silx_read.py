"""Opens a file with silx as its viewer does: the default NXdata of the root, its signal as an image stack.

usage: silx_read.py FILE
Prints one JSON line: the default NXdata's path, whether silx finds it valid, its interpretation, whether silx
plots it as an image (stack), the signal's path, shape and the SHA-256 of its pixels.
"""
import hashlib
import json
import sys

import numpy as np
import silx.io
from silx.io import nxdata

with silx.io.open(sys.argv[1]) as root:
    default = nxdata.get_default(root)
    if default is None:
        raise SystemExit("silx finds no default NXdata (root @default -> entry @default -> NXdata)")
    signal = default.signal
    pixels = np.ascontiguousarray(signal[()])
    print(json.dumps({
        "group": default.group.name, "valid": nxdata.is_valid_nxdata(default.group),
        "interpretation": default.interpretation, "is_image": bool(default.is_image),
        "signal": signal.name, "shape": list(pixels.shape), "sha256": hashlib.sha256(pixels.tobytes()).hexdigest(),
    }))
