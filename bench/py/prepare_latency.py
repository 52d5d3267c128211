#!/usr/bin/python3
"""Prepare latency of one receiver right after its server started (kernel cache warm): ms per Prepare, 4 in a row.

Run from the repository root with the servers of config/beamline.yaml started (scripts/lima2-start.sh):
  /usr/bin/python3 bench/py/prepare_latency.py id00/limareceiver/simulator@0 config/demo/proc_params_smx.json
"""
import json, sys, time, uuid
import tango
recv = tango.DeviceProxy(sys.argv[1])
acq = json.load(open("config/demo/acq_params.json"))
proc = json.load(open(sys.argv[2]))
recv.set_timeout_millis(30000)
while "ready" not in recv.status() and "not built" not in recv.status():
    time.sleep(0.1)
print("status:", recv.status().replace("\n", " | "))
for i in range(4):
    recv.acq_params = json.dumps(acq)
    recv.proc_params = json.dumps(proc)
    run = str(uuid.uuid1())
    t = time.perf_counter()
    recv.Prepare(run)
    ms = (time.perf_counter() - t) * 1e3
    print(f"Prepare {i + 1} ({proc['class_name']}): {ms:.0f} ms")
    recv.Reset()
    recv.erasePipeline(run)
