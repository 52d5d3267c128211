"""old_client.py CONTROL RECEIVERS ACQ PROC: the old lima2.client / BLISS Tango-direct sequence, by events.

Subscribes CHANGE_EVENT on every acq_state, writes params, Prepare on all devices in parallel, subscribes
DATA_READY on each receiver's nb_frames_xferred, Start on all, waits for every receiver's data-ready event, then
ctrl.Close(). Prints JSON: the acq_state labels each device went through, the xferred counters, the final states.
"""
import json, sys, threading, time, uuid
from concurrent.futures import ThreadPoolExecutor
import tango

ctrl = tango.DeviceProxy(sys.argv[1])
recvs = [tango.DeviceProxy(n) for n in sys.argv[2].split(",")]
acq, proc = open(sys.argv[3]).read(), open(sys.argv[4]).read()
devices = [ctrl] + recvs
labels = list(ctrl.get_attribute_config("acq_state").enum_labels)
seen = {d.name(): [] for d in devices}
xferred = {}
done = threading.Event()
lock = threading.Lock()


def on_state(name):
    def cb(ev):
        if not ev.err:
            with lock:
                seen[name].append(labels[int(ev.attr_value.value)])
    return cb


def on_xferred(ev):
    if not ev.err:
        with lock:
            xferred["/".join(ev.attr_name.split("/")[-4:-1])] = ev.ctr
            if len(xferred) == len(recvs):
                done.set()


subs = [(d, d.subscribe_event("acq_state", tango.EventType.CHANGE_EVENT, on_state(d.name()))) for d in devices]
ctrl.acq_params = acq
for r in recvs:
    r.acq_params, r.proc_params = acq, proc
run = str(uuid.uuid1())
with ThreadPoolExecutor(len(devices)) as pool:
    for f in [pool.submit(d.Prepare, run) for d in devices]:
        f.result()
subs += [(r, r.subscribe_event("nb_frames_xferred", tango.EventType.DATA_READY_EVENT, on_xferred)) for r in recvs]
with ThreadPoolExecutor(len(devices)) as pool:
    for f in [pool.submit(d.Start) for d in devices]:
        f.result()
ok = done.wait(60)
ctrl.Close()
final = [labels[int(d.acq_state)] for d in devices]
# the last change events come over other connections than the reads: wait for each device's to tell its final state
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    with lock:
        if all(seen[d.name()][-1:] == [state] for d, state in zip(devices, final)):
            break
    time.sleep(0.02)
for d, s in subs:
    d.unsubscribe_event(s)
for r in recvs:
    r.erasePipeline(run)
print(json.dumps({"all_xferred_events": ok, "xferred": xferred, "seen": seen, "final": final}))
