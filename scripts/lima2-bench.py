#!/usr/bin/python3
"""lima2-bench.py CONTROL RECEIVERS [REPEAT]: dead times of a running Lima2 system, measured from one PyTango client.

  prepare: concurrent Prepare(uuid) on control + receivers (params written before), until every call returned
  start:   concurrent Start on every device, until every receiver reads acq_state running
  stop:    control.Stop() during an endless run (it stops every receiver), until every device reads idle
Prints one JSON line with the median and min of each, in ms.
"""
import json, statistics, sys, time, uuid
from concurrent.futures import ThreadPoolExecutor
import tango

ctrl = tango.DeviceProxy(sys.argv[1])
recvs = [tango.DeviceProxy(n) for n in sys.argv[2].split(",")]
repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 10
devices = [ctrl] + recvs
acq = json.dumps({"acq": {"nb_frames": 0, "expo_time": 1000}, "det": {"generator": {"width": 256, "height": 256}}})
proc = json.dumps({"class_name": "LimaProcessingLegacy"})
ctrl.acq_params = acq
for r in recvs:
    r.acq_params, r.proc_params = acq, proc
RUNNING, IDLE = 2, 0
pool = ThreadPoolExecutor(len(devices))
times = {"prepare": [], "start": [], "stop": []}


def all_(call, targets):
    for f in [pool.submit(call, d) for d in targets]:
        f.result()


for i in range(repeat + 1):
    run = str(uuid.uuid1())
    t0 = time.perf_counter()
    all_(lambda d: d.Prepare(run), devices)
    t1 = time.perf_counter()
    all_(lambda d: d.Start(), devices)
    while any(int(r.acq_state) != RUNNING for r in recvs):
        pass
    t2 = time.perf_counter()
    time.sleep(0.2)
    t3 = time.perf_counter()
    ctrl.Stop()
    while any(int(d.acq_state) != IDLE for d in devices):
        pass
    t4 = time.perf_counter()
    for r in recvs:
        r.erasePipeline(run)
    if i > 0:  # the first run warms up (JIT, connections)
        times["prepare"].append((t1 - t0) * 1e3)
        times["start"].append((t2 - t1) * 1e3)
        times["stop"].append((t4 - t3) * 1e3)
print(json.dumps({"receivers": len(recvs), "repeat": repeat,
                  **{k: {"median_ms": round(statistics.median(v), 1), "min_ms": round(min(v), 1)} for k, v in times.items()}}))
