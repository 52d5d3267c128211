"""A run stopped mid-way as Lima2's conductor does it, for the stop scripts: acq_params to every device, each receiver's
proc_params, Prepare on all, Start (receivers first), then, once `reached()` holds, Stop on every device at once, wait
until all are idle, and Close. Returns the acq_state labels."""
import json, time, uuid
from concurrent.futures import ThreadPoolExecutor


def stop_mid_run(ctrl, recvs, acq, procs, reached, progress, timeout):
    """procs: each receiver's proc_params in rank order; progress(): what the run reached, for the timeout's message."""
    devices = [ctrl] + recvs
    run = str(uuid.uuid1())
    ctrl.acq_params = json.dumps(acq)
    for r, proc in zip(recvs, procs):
        r.acq_params = json.dumps(acq)
        r.proc_params = json.dumps(proc)
    for d in devices:
        d.Prepare(run)
    for d in recvs + [ctrl]:
        d.Start()
    deadline = time.monotonic() + timeout
    while not reached():
        assert time.monotonic() < deadline, f"only {progress()} frames after {timeout} s"
        time.sleep(0.02)
    with ThreadPoolExecutor(len(devices)) as pool:
        for f in [pool.submit(d.Stop) for d in devices]:
            f.result()
    labels = list(ctrl.get_attribute_config("acq_state").enum_labels)
    while any(labels[int(d.acq_state)] != "idle" for d in devices):
        assert time.monotonic() < deadline, "not idle after the Stop"
        time.sleep(0.02)
    ctrl.Close()
    return labels
