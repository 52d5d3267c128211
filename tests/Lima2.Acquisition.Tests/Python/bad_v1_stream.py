"""A misbehaving DECTRIS stream V1 detector (pyzmq PUSH): garbage, an unknown htype, a truncated blob, a duplicated
and a late frame around good frames of 16x8 uint16 pixels (frame f filled with f).

bad_v1_stream.py ENDPOINT
"""
import json
import sys

import numpy as np
import zmq

socket = zmq.Context().socket(zmq.PUSH)
socket.bind(sys.argv[1])
config = {"x_pixels_in_detector": 16, "y_pixels_in_detector": 8, "bit_depth_image": 16, "nimages": 6, "ntrigger": 1}


def image(frame, blob=None, size=None):
    blob = np.full((8, 16), frame, np.uint16).tobytes() if blob is None else blob
    d = {"htype": "dimage_d-1.0", "shape": [16, 8], "type": "uint16", "encoding": "<", "size": len(blob) if size is None else size}
    return [json.dumps({"htype": "dimage-1.0", "series": 1, "frame": frame, "hash": ""}).encode(), json.dumps(d).encode(),
            blob, json.dumps({"htype": "dconfig-1.0", "start_time": 0, "stop_time": 1, "real_time": 1}).encode()]


socket.send_multipart([json.dumps({"htype": "dheader-1.0", "series": 1, "header_detail": "basic"}).encode(), json.dumps(config).encode()])
socket.send_multipart([b"\x00\xff garbage"])
socket.send_multipart(image(0))
socket.send_multipart([json.dumps({"htype": "dimage-2.0", "series": 1}).encode()])
socket.send_multipart(image(1, blob=b"\x01" * 100, size=256))       # truncated: frame 1 lost
socket.send_multipart(image(2))
socket.send_multipart(image(2))                                       # duplicate
socket.send_multipart(image(4))                                       # frame 3 never came in time
socket.send_multipart(image(3))                                       # late
socket.send_multipart(image(5))
socket.send_multipart([json.dumps({"htype": "dseries_end-1.0", "series": 1}).encode()])
socket.close(linger=-1)  # until the receiver took every message: it may start after this script on a loaded machine
