#!/usr/bin/python3
"""lima2-run.py - run one acquisition on a Lima2 system the way Lima2's conductor drives it (PyTango only).

Sequence (lima2-client's conductor): ping, write acq_params to control and receivers and proc_params to receivers,
Prepare(uuid) on every device concurrently, find the processing devices in the DB, subscribe DATA_READY on
is_finished, Start everything, poll acq_state every 50 ms while popping reduced data until every receiver is idle and
every pipeline finished, pop until empty, Close the control, erase the pipelines.

  lima2-run.py --control id00/limacontrol/simulator --receivers id00/limareceiver/simulator@0,... \
               --acq acq.json --proc proc.json [--json summary.json] [--quiet]
"""
import argparse, json, sys, threading, time, uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tango

ROI = np.dtype([("frame_idx", "<i4"), ("recv_idx", "<i4"), ("min", "<f4"), ("max", "<f4"), ("avg", "<f4"), ("std", "<f4"), ("sum", "<f8")])
PEAKS = np.dtype([("frame_idx", "<i4"), ("recv_idx", "<i4"), ("nb_peaks", "<i4")])
FRAME_IDX = np.dtype([("recv_idx", "<i4"), ("frame_idx", "<i4")])
HEADER = 64


def structured(encoded, dtype):
    fmt, data = encoded
    assert fmt == "STRUCTURED_ARRAY", fmt
    return np.frombuffer(bytes(data)[HEADER:], dtype=dtype)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--control", required=True)
    ap.add_argument("--receivers", required=True)
    ap.add_argument("--acq", required=True, help="acq_params JSON file")
    ap.add_argument("--proc", required=True, help="proc_params JSON file")
    ap.add_argument("--json", help="write a summary here")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))

    ctrl = tango.DeviceProxy(args.control)
    recvs = [tango.DeviceProxy(n) for n in args.receivers.split(",")]
    devices = [ctrl] + recvs
    for d in devices:
        d.set_timeout_millis(30000)
        d.ping()
    acq = json.load(open(args.acq))
    proc = json.load(open(args.proc))
    nb_frames = acq["acq"]["nb_frames"]
    det_info = json.loads(ctrl.det_info)
    say(f"detector {det_info['plugin']} {det_info['dimensions']['x']}x{det_info['dimensions']['y']}, "
        f"{len(recvs)} receivers, {nb_frames} frames, pipeline {proc['class_name']}")

    run = str(uuid.uuid1())
    t0 = time.monotonic()

    def prepare_ctrl():
        ctrl.acq_params = json.dumps(acq)
        ctrl.Prepare(run)

    def prepare_recv(i, r):
        p = json.loads(json.dumps(proc))
        for k, v in p.items():
            if k.startswith("saving") and isinstance(v, dict):
                v["filename_rank"] = i
        # the Dectris plugin's raw-frame saving lives in acq_params: its files get the receiver's rank too
        a = json.loads(json.dumps(acq))
        if isinstance(a.get("saving"), dict):
            a["saving"]["filename_rank"] = i
        r.ping()
        r.acq_params = json.dumps(a)
        r.proc_params = json.dumps(p)
        r.Prepare(run)

    with ThreadPoolExecutor(len(devices)) as pool:
        futures = [pool.submit(prepare_ctrl)] + [pool.submit(prepare_recv, i, r) for i, r in enumerate(recvs)]
        for f in futures:
            f.result()
    t_prepared = time.monotonic()
    for r in recvs:
        assert run in (r.pipelines or []), f"{r.name()} does not list {run}"
    db = tango.Database()
    names = sorted(db.get_device_exported(f"*/limaprocessing/{run}*"), key=lambda n: int(n.split("@")[-1]))
    classes = {db.get_device_info(n).class_name for n in names}
    if len(classes) != 1:
        raise RuntimeError("Heterogeneous processing is not supported")
    procs = [tango.DeviceProxy(n) for n in names]
    finished = set()
    errors = {}
    lock = threading.Lock()

    def device_of(ev):  # tango://host:port/domain/family/member/attribute -> domain/family/member
        return "/".join(ev.attr_name.split("/")[-4:-1])

    def on_finished(ev):
        if not ev.err:
            with lock:
                finished.add(device_of(ev))

    def on_error(ev):
        if not ev.err:
            with lock:
                errors[device_of(ev)] = None

    subs = []
    for p in procs:
        subs.append((p, p.subscribe_event("is_finished", tango.EventType.DATA_READY_EVENT, on_finished)))
        subs.append((p, p.subscribe_event("last_error", tango.EventType.DATA_READY_EVENT, on_error)))
    say(f"prepared {run} in {t_prepared - t0:.2f} s: processing devices {', '.join(names)} ({classes.pop()})")

    with ThreadPoolExecutor(len(devices)) as pool:
        for f in [pool.submit(d.Start) for d in devices]:
            f.result()
    t_start = time.monotonic()

    labels = list(ctrl.get_attribute_config("acq_state").enum_labels)

    def state(d):
        return labels[int(d.acq_state)]

    rois, peaks, frame_idx = [], [], []
    cmds = [set(c.lower() for c in p.get_command_list()) for p in procs]

    def pop_all():
        n = 0
        for p, c in zip(procs, cmds):
            a = structured(p.popRoiStatistics(), ROI); rois.append(a); n += len(a)
            if "poppeakcounters" in c:
                a = structured(p.popPeakCounters(), PEAKS); peaks.append(a); n += len(a)
            a = structured(p.popFrameIdx(), FRAME_IDX); frame_idx.append(a); n += len(a)
        return n

    last_print = 0
    states = []
    t_idle = None
    while True:
        states = [state(r) for r in recvs]
        pop_all()
        now = time.monotonic()
        acquired = ctrl.nb_frames_acquired
        if now - last_print > 1.0 and not args.quiet:
            last_print = now
            xfer = sum(r.nb_frames_xferred for r in recvs)
            hits = sum(r.nb_hits for r in recvs)
            rate = xfer / max(now - t_start, 1e-6)
            say(f"  {xfer:6d}/{nb_frames} frames  {rate:8.0f} frames/s  hits {hits}  receivers {', '.join(states)}")
        if any(s == "fault" for s in states) or errors:
            break
        # The DATA_READY event says a pipeline finished; a subscription made just before Start can miss it (ZeroMQ
        # joins late), so once the receivers are idle the is_finished attribute itself decides.
        if all(s == "idle" for s in states) and (len(finished) == len(procs) or all(p.is_finished for p in procs)):
            t_idle = time.monotonic()
            break
        if now - t_start > args.timeout:
            raise TimeoutError(f"still {states} after {args.timeout} s")
        time.sleep(0.05)
    while pop_all():
        pass
    t_end = time.monotonic()

    failed = any(s == "fault" for s in states) or bool(errors)
    if failed:
        for d in devices:
            try:
                d.Stop()
            except tango.DevFailed:
                pass
    for name in errors:
        errors[name] = tango.DeviceProxy(name).last_error
    ctrl_state = state(ctrl)
    if not failed:
        ctrl.Close()
    counters = [json.loads(p.progress_counters) for p in procs]
    summary = {
        "uuid": run,
        "processing_devices": names,
        "failed": failed,
        "errors": {k: v for k, v in errors.items()} | {r.name(): r.last_error for r in recvs if state(r) == "fault"},
        "receiver_states": states,
        "control_state_before_close": ctrl_state,
        "control_state": state(ctrl),
        "nb_frames_acquired": int(ctrl.nb_frames_acquired),
        "nb_frames_xferred": [int(r.nb_frames_xferred) for r in recvs],
        "nb_frames_saved": [int(r.nb_frames_saved) for r in recvs],
        "nb_frames_not_saved_nohit": [int(r.nb_frames_not_saved_nohit) for r in recvs],
        "nb_frames_dropped": [int(r.nb_frames_dropped) for r in recvs],
        "receiver_status": [r.status() for r in recvs],
        "progress_counters": counters,
        "roi_rows": int(sum(len(a) for a in rois)),
        "roi_frames": sorted(set(int(x) for a in rois for x in a["frame_idx"])),
        "roi_sums": {int(f): float(s) for a in rois for f, s in zip(a["frame_idx"], a["sum"])},
        "peak_counters": {int(f): int(n) for a in peaks for f, n in zip(a["frame_idx"], a["nb_peaks"])},
        "frame_idx": sorted(int(x) for a in frame_idx for x in a["frame_idx"]),
        "recv_idx": [[int(r), int(f)] for a in frame_idx for r, f in zip(a["recv_idx"], a["frame_idx"])],
        "prepare_s": t_prepared - t0,
        "run_s": (t_idle or t_end) - t_start,
        "frames_per_s": sum(int(r.nb_frames_xferred) for r in recvs) / max((t_idle or t_end) - t_start, 1e-9),
    }
    for p, s in subs:
        p.unsubscribe_event(s)
    for r in recvs:
        for u in list(r.pipelines or []):
            r.erasePipeline(u)
    summary["pipelines_after_erase"] = [list(r.pipelines or []) for r in recvs]
    summary["processing_exported_after_erase"] = list(db.get_device_exported(f"*/limaprocessing/{run}*"))
    if args.json:
        json.dump(summary, open(args.json, "w"))
    if not args.quiet:
        hits = sum(c.get("nb_hits", 0) for c in counters)
        npk = sum(c.get("nb_peaks", 0) for c in counters)
        say(f"done: {summary['nb_frames_acquired']} frames in {summary['run_s']:.2f} s = {summary['frames_per_s']:.0f} frames/s, "
            f"saved {sum(summary['nb_frames_saved'])}, "
            + (f"not saved (no hit) {nohit}, " if (nohit := sum(summary['nb_frames_not_saved_nohit'])) else "")
            + f"dropped {sum(summary['nb_frames_dropped'])}")
        if peaks:
            say(f"peaks: {npk} in {len(summary['peak_counters'])} frames, {hits} hits ({100.0 * hits / max(1, len(summary['peak_counters'])):.1f} %)")
        if rois:
            say(f"ROI statistics: {summary['roi_rows']} rows for {len(summary['roi_frames'])} frames")
        if failed:
            say(f"FAILED: {summary['errors']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
