#!/usr/bin/python3
"""Round-trip latency of one attribute read, per server: servers started without a database on loopback ports, one
PyTango DeviceProxy each, BATCH reads per server in turn (the order reverses every alternation), µs/read per batch.

On 2 cores the latency is bimodal (~20-35 µs when the serving thread runs on the client's core, ~65-70 µs when not)
and the placement follows the position in the sequence, not the server: compare servers pinned (SRVCPU=0 with the
client under `taskset -c 0` for same-core, SRVCPU=1 for cross-core), or unpinned with ALL=1 to see the batches.

usage: [BATCH=2000] [ALT=12] [ATTR=long_scalar] [SRVCPU=cpus] [ALL=1] read_latency.py LABEL=EXECUTABLE[|VAR=v,VAR=v]...
e.g. read_latency.py NET=bin/Release/net10.0/TangoNetTest CPP=/usr/lib/tango/TangoTest
     "KNOBS=bin/Release/net10.0/TangoNetTest|DOTNET_TieredCompilation=0" (environment for that server only)
"""
import os
import socket
import statistics
import subprocess
import sys
import time

import tango

BATCH = int(os.environ.get("BATCH", 2000))
ALT = int(os.environ.get("ALT", 12))
ATTR = os.environ.get("ATTR", "long_scalar")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(label, spec):
    path, _, extra = spec.partition("|")
    port = free_port()
    device = "test/lat/" + label.lower()
    env = dict(os.environ)
    env.update(kv.split("=", 1) for kv in extra.split(",") if kv)
    env.pop("TANGO_HOST", None)
    env.pop("ORBendPoint", None)  # the -ORBendPoint argument below keeps it on loopback
    cpus = os.environ.get("SRVCPU")
    argv = (["taskset", "-c", cpus] if cpus else []) + [path, "lat", "-nodb", "-dlist", device,
                                                        "-ORBendPoint", f"giop:tcp:127.0.0.1:{port}"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    for line in p.stdout:
        if "Ready to accept request" in line:
            break
    else:
        raise RuntimeError(f"{label} exited: {p.wait()}")
    return p, tango.DeviceProxy(f"tango://127.0.0.1:{port}/{device}#dbase=no")


def main():
    servers = []
    try:
        for arg in sys.argv[1:]:
            label, spec = arg.split("=", 1)
            servers.append((label, *start(label, spec)))
        for _, _, d in servers:
            for _ in range(3000):
                d.read_attribute(ATTR)
        batches = {label: [] for label, _, _ in servers}
        for a in range(ALT):
            for label, _, d in (servers if a % 2 == 0 else servers[::-1]):
                read = d.read_attribute
                t0 = time.perf_counter()
                for _ in range(BATCH):
                    read(ATTR)
                batches[label].append((time.perf_counter() - t0) / BATCH * 1e6)
        for label, v in batches.items():
            if os.environ.get("ALL"):
                print(label, " ".join(f"{x:.0f}" for x in v))
            q = statistics.quantiles(v, n=10)
            print(f"{label:14s} median {statistics.median(v):6.2f} us/read  p10 {q[0]:6.2f}  p90 {q[-1]:6.2f}  n={len(v)}")
    finally:
        for _, p, _ in servers:
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
