"""starter_run.py STARTER SERVER... : DevStart each server through Starter, wait until Starter lists it running and
its admin device answers; with --stop, DevStop each and wait until Starter lists it stopped. Prints JSON: the servers
running, and Starter's Servers rows for them as Astor reads them (name, state, controlled, level, processes)."""
import json, sys, time
import tango

stop = "--stop" in sys.argv
args = [a for a in sys.argv[1:] if a != "--stop"]
servers = args[1:]
t0 = time.monotonic()
while True:  # Starter answers some seconds after it starts (sleeps in its init)
    try:
        starter = tango.DeviceProxy(args[0])
        starter.ping()
        break
    except tango.DevFailed:
        if time.monotonic() - t0 > 90:
            raise
        time.sleep(0.2)
starter.set_timeout_millis(10000)
for s in servers:
    (starter.DevStop if stop else starter.DevStart)(s)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        starter.UpdateServersInfo()
        running = set(starter.RunningServers or [])
    except tango.DevFailed:  # Starter busy (it serialises its commands): ask again
        time.sleep(0.5)
        continue
    if stop and not running & set(servers):
        break
    if not stop and set(servers) <= running:
        ok = True
        for s in servers:
            try:
                tango.DeviceProxy(f"dserver/{s}").ping()
            except tango.DevFailed:
                ok = False
        if ok:
            break
    time.sleep(0.2)
running = set(starter.RunningServers or [])
rows = [row.split("\t") for row in starter.Servers or [] if row.split("\t")[0] in servers]
print(json.dumps({"running": sorted(running & set(servers)), "servers": rows, "seconds": time.monotonic() - t0}))
