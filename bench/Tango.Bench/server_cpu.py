#!/usr/bin/python3
"""Server CPU time per attribute read: TangoNetTest against Debian's C++ TangoTest, in one run.

Starts both servers without a database on loopback ports, reads the same attribute N times from one PyTango
DeviceProxy per server, and takes each server's CPU time around those reads from /proc: utime + stime of
/proc/<pid>/stat (clock ticks, threads that ended included) and the sum of /proc/<pid>/task/*/schedstat
(nanoseconds, live threads). Servers alternate within each round so that load changes hit both alike. The idle
CPU of each server over the same wall time is measured too (TangoTest polls in the background).

usage: server_cpu.py [LABEL=]TANGONETTEST_APPHOST... [--attr long_scalar] [--reads 20000] [--rounds 5]
(several apphosts, e.g. before=/tmp/old/TangoNetTest after=bin/Release/net10.0/TangoNetTest, compare builds)
Prints one JSON line per (round, server) and a summary table.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time

import tango

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name, argv, device):
    port = free_port()
    env = dict(os.environ)
    env.pop("ORBendPoint", None)  # the endpoint is the argument below
    env.pop("TANGO_HOST", None)
    p = subprocess.Popen(argv + ["cpu", "-nodb", "-dlist", device, "-ORBendPoint", f"giop:tcp:127.0.0.1:{port}"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    deadline = time.time() + 60
    for line in p.stdout:
        if "Ready to accept request" in line:
            break
        if time.time() > deadline:
            raise RuntimeError(f"{name} did not start")
    else:
        raise RuntimeError(f"{name} exited: {p.wait()}")
    return p, tango.DeviceProxy(f"tango://127.0.0.1:{port}/{device}#dbase=no")


def cpu(pid):
    """(ticks, ns): utime + stime of the process, and the sum of its live threads' time on CPU."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    ns = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns += int(f.read().split()[0])
        except FileNotFoundError:
            pass
    return ticks, ns


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tangonettest", nargs="+")
    ap.add_argument("--attr", default="long_scalar")
    ap.add_argument("--reads", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()

    servers = {}
    try:
        for i, spec in enumerate(a.tangonettest):
            label, _, path = spec.rpartition("=")
            label = label or ("TangoNetTest" if len(a.tangonettest) == 1 else f"TangoNetTest{i + 1}")
            servers[label] = start(label, [path], f"test/cpu/net{i + 1}")
        servers["TangoTest"] = start("TangoTest", ["/usr/lib/tango/TangoTest"], "test/cpu/cpp")
        for _, proxy in servers.values():
            for _ in range(2000):  # connection, JIT tiers and first-call costs stay out
                proxy.read_attribute(a.attr)
        results = {name: [] for name in servers}
        order = list(servers)
        for r in range(a.rounds):
            for name in order if r % 2 == 0 else order[::-1]:
                proc, proxy = servers[name]
                load = loadavg()
                t0, n0 = cpu(proc.pid)
                w0 = time.perf_counter()
                for _ in range(a.reads):
                    proxy.read_attribute(a.attr)
                wall = time.perf_counter() - w0
                t1, n1 = cpu(proc.pid)
                time.sleep(min(wall, 2.0))  # idle CPU over (up to) the same wall time
                t2, n2 = cpu(proc.pid)
                idle = min(wall, 2.0)
                row = dict(round=r + 1, server=name, attr=a.attr, reads=a.reads, load=load,
                           us_per_read_stat=(t1 - t0) / TICK * 1e6 / a.reads,
                           us_per_read_sched=(n1 - n0) / 1e3 / a.reads,
                           idle_us_per_s=(n2 - n1) / 1e3 / idle,
                           reads_per_s=a.reads / wall)
                results[name].append(row)
                print(json.dumps(row), flush=True)
        print(f"\n{a.attr}, {a.rounds} rounds of {a.reads} reads, load {loadavg():.2f} at the end")
        print("server | µs/read schedstat: median, min (rounds) | µs/read stat: median | idle µs/s | reads/s")
        for name, rows in results.items():
            med = lambda k: sorted(x[k] for x in rows)[len(rows) // 2]
            each = " / ".join(f"{x['us_per_read_sched']:.2f}" for x in rows)
            low = min(x["us_per_read_sched"] for x in rows)
            print(f"{name} | {med('us_per_read_sched'):.2f}, {low:.2f} ({each}) | {med('us_per_read_stat'):.2f} | "
                  f"{med('idle_us_per_s'):.0f} | {med('reads_per_s'):.0f}")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
