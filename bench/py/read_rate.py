"""One PyTango client reading attributes as fast as it can, target after target (interleaved), one JSON line
per measurement: {"target", "attribute", "reads", "seconds"}.

Run: /usr/bin/python3 read_rate.py SECONDS ATTRIBUTE[,ATTRIBUTE...] NAME=URL [NAME=URL...]
"""
import json
import sys
import time

import tango


def measure(proxy, attribute, seconds):
    proxy.read_attribute(attribute)  # connection and first-call costs stay out of the measurement
    reads = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        proxy.read_attribute(attribute)
        reads += 1
    return reads, time.perf_counter() - start


def main():
    seconds = float(sys.argv[1])
    attributes = sys.argv[2].split(",")
    targets = [arg.split("=", 1) for arg in sys.argv[3:]]
    proxies = {name: tango.DeviceProxy(url) for name, url in targets}
    for attribute in attributes:
        for name, _ in targets:
            reads, elapsed = measure(proxies[name], attribute, seconds)
            print(json.dumps({"target": name, "attribute": attribute, "reads": reads, "seconds": elapsed}), flush=True)


if __name__ == "__main__":
    main()
