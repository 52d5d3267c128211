"""A DECTRIS stream V1 detector (pyzmq PUSH) that stops mid-series: a header for 6 frames of 16x8 uint16 pixels, frames
0 to 2 (frame f filled with f), then nothing, with the connection kept open until the test ends (it closes this
process's stdin or kills it): however long a loaded machine makes the receiver take to time out.

stalled_v1_stream.py ENDPOINT
"""
import json
import sys

import numpy as np
import zmq

socket = zmq.Context().socket(zmq.PUSH)
socket.bind(sys.argv[1])
config = {"x_pixels_in_detector": 16, "y_pixels_in_detector": 8, "bit_depth_image": 16, "nimages": 6, "ntrigger": 1}
socket.send_multipart([json.dumps({"htype": "dheader-1.0", "series": 1, "header_detail": "basic"}).encode(), json.dumps(config).encode()])
for frame in range(3):
    blob = np.full((8, 16), frame, np.uint16).tobytes()
    d = {"htype": "dimage_d-1.0", "shape": [16, 8], "type": "uint16", "encoding": "<", "size": len(blob)}
    socket.send_multipart([json.dumps({"htype": "dimage-1.0", "series": 1, "frame": frame, "hash": ""}).encode(), json.dumps(d).encode(),
                           blob, json.dumps({"htype": "dconfig-1.0", "start_time": 0, "stop_time": 1, "real_time": 1}).encode()])
sys.stdin.read()
socket.close(linger=0)
