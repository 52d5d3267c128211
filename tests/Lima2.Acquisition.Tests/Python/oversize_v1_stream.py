"""A DECTRIS stream V1 detector (pyzmq PUSH) that sends one oversize frame: 10 frames of 16x8 uint16 pixels (frame f
filled with f), frame 5 with a BYTES-byte blob instead. It gives up on the frames after it when the receiver has
dropped the connection (2 s each) and prints how many it sent.

oversize_v1_stream.py ENDPOINT BYTES
"""
import json
import os
import sys

import numpy as np
import zmq

endpoint, size = sys.argv[1], int(sys.argv[2])
socket = zmq.Context().socket(zmq.PUSH)
socket.bind(endpoint)
config = {"x_pixels_in_detector": 16, "y_pixels_in_detector": 8, "bit_depth_image": 16, "nimages": 10, "ntrigger": 1}


def image(frame, blob):
    d = {"htype": "dimage_d-1.0", "shape": [16, 8], "type": "uint16", "encoding": "<", "size": len(blob)}
    return [json.dumps({"htype": "dimage-1.0", "series": 1, "frame": frame, "hash": ""}).encode(), json.dumps(d).encode(),
            blob, json.dumps({"htype": "dconfig-1.0", "start_time": 0, "stop_time": 1, "real_time": 1}).encode()]


def frame(f):
    return image(f, np.full((8, 16), f, np.uint16).tobytes())


socket.send_multipart([json.dumps({"htype": "dheader-1.0", "series": 1, "header_detail": "basic"}).encode(), json.dumps(config).encode()])
for f in range(5):
    socket.send_multipart(frame(f))
socket.send_multipart(image(5, bytes(size)))
socket.setsockopt(zmq.SNDTIMEO, 2000)
sent = 0
try:
    for f in range(6, 10):
        socket.send_multipart(frame(f))
        sent += 1
    socket.send_multipart([json.dumps({"htype": "dseries_end-1.0", "series": 1}).encode()])
except zmq.Again:
    pass
print(f"sent {sent} frames after the oversize one", flush=True)
# no socket teardown: libzmq 4.3 may abort (session_base.cpp assertion) closing a session whose peer dropped it mid-message
os._exit(0)
