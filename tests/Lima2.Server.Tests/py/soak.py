"""soak.py CONTROL RECEIVERS ACQ PROC CHECKPOINTS PIDS: acquisitions back to back from this one client, in the
conductor's sequence (concurrent Prepare, DATA_READY subscriptions, Start, poll until idle, pops, Close,
unsubscribe, erasePipeline), up to the last of CHECKPOINTS (run numbers, comma-separated). After each checkpoint run
it samples each server pid (comma-separated): VmRSS (kB), Threads, open fds, and the exported <domain>/limaprocessing/*
devices. Prints one JSON summary."""
import json, os, sys, threading, time, uuid
from concurrent.futures import ThreadPoolExecutor

import tango

ctrl = tango.DeviceProxy(sys.argv[1])
domain = sys.argv[1].split("/")[0]  # this system's own: other test systems share the database
recvs = [tango.DeviceProxy(n) for n in sys.argv[2].split(",")]
acq, proc = json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
checkpoints = [int(c) for c in sys.argv[5].split(",")]
pids = [int(p) for p in sys.argv[6].split(",")]
devices = [ctrl] + recvs
db = tango.Database()
labels = list(ctrl.get_attribute_config("acq_state").enum_labels)
pool = ThreadPoolExecutor(len(devices))
HEADER, FRAME_IDX_ROW = 64, 8  # popFrameIdx: a 64-byte header, then (recv_idx, frame_idx) int32 rows


def status(pid):
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    return {"rss_kb": int(fields["VmRSS"].split()[0]), "threads": int(fields["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def sample():
    time.sleep(0.5)  # let the servers' per-run threads (pipeline, event channels) wind down the same way both times
    return {"processes": [status(p) for p in pids], "processing_exported": len(db.get_device_exported(f"{domain}/limaprocessing/*"))}


def parallel(calls):
    for f in [pool.submit(c) for c in calls]:
        f.result()


def one_run(i):
    run = str(uuid.uuid1())

    def prepare_recv(rank, r):
        p = json.loads(json.dumps(proc))
        for v in p.values():
            if isinstance(v, dict) and "filename_prefix" in v:
                v["filename_rank"] = rank
        r.acq_params = json.dumps(acq)
        r.proc_params = json.dumps(p)
        r.Prepare(run)

    ctrl.acq_params = json.dumps(acq)
    parallel([lambda: ctrl.Prepare(run)] + [lambda rank=rank, r=r: prepare_recv(rank, r) for rank, r in enumerate(recvs)])
    names = list(db.get_device_exported(f"*/limaprocessing/{run}*"))
    procs = [tango.DeviceProxy(n) for n in names]
    finished, lock = set(), threading.Lock()

    def on_finished(ev):
        if not ev.err:
            with lock:
                finished.add(ev.attr_name)

    subs = [(p, p.subscribe_event("is_finished", tango.EventType.DATA_READY_EVENT, on_finished)) for p in procs]
    parallel([d.Start for d in devices])
    popped = 0
    deadline = time.monotonic() + 30
    while True:
        states = [labels[int(r.acq_state)] for r in recvs]
        popped += sum((len(p.popFrameIdx()[1]) - HEADER) // FRAME_IDX_ROW for p in procs)
        if "fault" in states:
            raise RuntimeError(f"run {i}: receivers {states}: {[r.last_error for r in recvs]}")
        if states == ["idle"] * len(recvs):
            with lock:
                late = len(procs) - len(finished)
            # once in ~3000 runs an is_finished DATA_READY sent milliseconds after subscribing never came (a ZMQ
            # subscription reaches the publisher asynchronously): the attribute decides, the events not there are counted
            if late == 0 or all(p.is_finished for p in procs):
                missing = late
                break
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {i}: still {states} after 30 s")
        time.sleep(0.02)
    ctrl.Close()
    popped += sum((len(p.popFrameIdx()[1]) - HEADER) // FRAME_IDX_ROW for p in procs)
    result = {"acquired": int(ctrl.nb_frames_acquired), "xferred": sum(int(r.nb_frames_xferred) for r in recvs),
              "saved": sum(int(r.nb_frames_saved) for r in recvs), "popped": popped, "processing_devices": len(procs),
              "missing_finished_events": missing}
    for p, s in subs:
        p.unsubscribe_event(s)
    for r in recvs:
        r.erasePipeline(run)
    return result


t0 = time.monotonic()
results, samples = [], {}
for i in range(1, checkpoints[-1] + 1):
    results.append(one_run(i))
    if i in checkpoints:
        samples[i] = sample()
print(json.dumps({"runs": results, "samples": samples, "seconds": time.monotonic() - t0}))
