"""lima2_client_sequence.py CONTROL RECEIVERS ROOT: the old lima2.client (Tango-direct, §5.2) against control + receivers.

The client's own sequence, call for call: the constructor pings every device, checks recv_rank, reads every acq_state
and subscribes CHANGE_EVENT on each; prepare writes ctrl.acq_params and each receiver's acq_params and proc_params,
then Prepare(uuid1()) on ALL devices at once (threads); start subscribes DATA_READY on the receivers'
nb_frames_xferred, then Start on ALL devices at once, and once every receiver's event fired sends ctrl.Close(); a
device in FAULT aborts (its last_error read, ctrl.Stop(), Stop on the running receivers, ctrl.Close()), reset_acq
(from FAULT only) sends Reset to all. The documents are built from the schemas in the Tango DB as the client's
params_default does, and validated with jsonschema.

Scenarios: a run of each pipeline (Legacy, Smx, Xpcs) on schema-built defaults; a failing pipeline (abort path, both
last_errors); a re-prepare from PREPARED; a software-triggered run of 2 receivers; a second client's Prepare refused
while running and a receiver moved to another run behind the control's back. Prints one JSON summary.
"""
import copy, json, struct, sys, threading, time, uuid
from concurrent.futures import ThreadPoolExecutor

import jsonschema
import numpy as np
import tango

CONTROL, RECEIVERS, ROOT = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
TIMEOUT = 60


def params_default(schema):
    """lima2.client's defaults: each property's `default`; an object without one is built from its properties."""
    if "default" in schema:
        return copy.deepcopy(schema["default"])
    if schema.get("type") == "object" or "properties" in schema:
        return {k: params_default(v) for k, v in schema.get("properties", {}).items() if "default" in v or "properties" in v}
    return None


def leaves_default(schema):
    """The other reading (jsonschema-default's recursion into objects first): objects always from their properties."""
    if "properties" in schema:
        return {k: leaves_default(v) for k, v in schema["properties"].items()}
    return copy.deepcopy(schema.get("default"))


def schema_of(db, cls, attribute):
    return json.loads(db.get_class_attribute_property(cls, [attribute])[attribute]["schema"][0])


class Client:
    """The state machine of lima2.client's Detector, reduced to what the servers see."""

    def __init__(self, control, receivers):
        self.ctrl = tango.DeviceProxy(control)
        self.recvs = [tango.DeviceProxy(r) for r in receivers]
        self.devices = [self.ctrl] + self.recvs
        self.lock = threading.Lock()
        self.faults = []  # (device, last_error) of every FAULT event
        self.aborted = threading.Event()
        for d in self.devices:
            d.set_timeout_millis(30000)
            d.ping()
        for rank, r in enumerate(self.recvs):
            assert r.recv_rank == rank, f"{r.name()}: recv_rank {r.recv_rank}, expected {rank}"
        self.labels = list(self.ctrl.get_attribute_config("acq_state").enum_labels)
        self.states = {d.name(): self.labels[int(d.acq_state)] for d in self.devices}
        self.subs = [(d, d.subscribe_event("acq_state", tango.EventType.CHANGE_EVENT, self._on_state(d)))
                     for d in self.devices]

    def _on_state(self, device):
        def on_event(ev):
            if ev.err:
                return
            state = self.labels[int(ev.attr_value.value)]
            with self.lock:
                self.states[device.name()] = state
            if state == "fault":
                # the client's FAULT handler: read last_error, then abort (once)
                with self.lock:
                    self.faults.append((device.name(), device.last_error))
                threading.Thread(target=self.abort).start()
        return on_event

    def abort(self):
        with self.lock:
            if self.aborted.is_set():
                return
            self.aborted.set()
        self.ctrl.Stop()
        for r in self.recvs:
            if self.labels[int(r.acq_state)] == "running":
                r.Stop()
        self.ctrl.Close()

    def prepare(self, acq, procs, run=None):
        run = run or str(uuid.uuid1())
        self.ctrl.acq_params = json.dumps(acq)
        for r, proc in zip(self.recvs, procs):
            r.acq_params = json.dumps(acq)
            r.proc_params = json.dumps(proc)
        with ThreadPoolExecutor(len(self.devices)) as pool:
            for f in [pool.submit(d.Prepare, run) for d in self.devices]:
                f.result()
        return run

    def start(self):
        xferred, done = {}, threading.Event()

        def on_xferred(ev):
            if ev.err:
                return
            with self.lock:
                xferred[ev.device.name()] = ev.ctr
                if len(xferred) == len(self.recvs):
                    done.set()
        subs = [(r, r.subscribe_event("nb_frames_xferred", tango.EventType.DATA_READY_EVENT, on_xferred)) for r in self.recvs]
        with ThreadPoolExecutor(len(self.devices)) as pool:
            for f in [pool.submit(d.Start) for d in self.devices]:
                f.result()
        return done, xferred, subs

    def finish(self, done, xferred, subs, trigger=None):
        if trigger:
            trigger()
        ok = done.wait(TIMEOUT)
        if ok and not self.aborted.is_set():
            self.ctrl.Close()
        for d, s in subs:
            d.unsubscribe_event(s)
        return ok, dict(xferred)

    def reset_acq(self):
        for d in self.devices:
            d.Reset()
        self.aborted.clear()
        with self.lock:
            self.faults.clear()

    def fault_of(self, devices):
        """Whether a FAULT event of one of these devices was heard."""
        names = {d.name() for d in devices}
        with self.lock:
            return any(name in names for name, _ in self.faults)

    def read_states(self):
        return [self.labels[int(d.acq_state)] for d in self.devices]

    def close(self):
        for d, s in self.subs:
            d.unsubscribe_event(s)


def run_summary(client, run, ok, xferred):
    return {
        "uuid": run, "all_xferred_events": ok, "xferred": sorted(xferred.values()),
        "states": client.read_states(), "nb_frames_acquired": int(client.ctrl.nb_frames_acquired),
        "current_pipeline": [r.current_pipeline for r in client.recvs],
        "ctrl_last_error": client.ctrl.last_error, "faults": list(client.faults),
    }


def erase(client, run):
    for r in client.recvs:
        if run in list(r.pipelines or []):
            r.erasePipeline(run)


def dense(encoded):
    """lima2.client's dense_frame.decode: the 64-byte DTAY header, then (channels, height, width) pixels."""
    fmt, data = encoded
    data = bytes(data)
    header = struct.unpack_from("<IHHIIHHHHHHHHIIIIIIQ", data)
    magic, _, header_size, _, data_type, _, nb_dim, width, height, channels = header[:10]
    assert fmt == "DENSE_FRAME" and magic == 0x44544159 and nb_dim == 3, (fmt, hex(magic), nb_dim)
    dtype = [np.uint8, np.uint16, np.uint32, np.uint64, np.int8, np.int16, np.int32, np.int64, np.float32, np.float64][data_type]
    return np.frombuffer(data[header_size:], dtype=dtype).reshape(channels, height, width)


def smx_radius(client, acq, procs_for):
    from pyFAI.azimuthalIntegrator import AzimuthalIntegrator
    width, height, bins = acq["det"]["generator"]["width"], acq["det"]["generator"]["height"], 16
    ai = AzimuthalIntegrator(dist=0.1, poni1=20.5 * 75e-6, poni2=30.25 * 75e-6,
                             pixel1=75e-6, pixel2=75e-6)
    radius = ai.array_from_unit((height, width), "center", "r_m", scale=False)
    mask = np.zeros((height, width), np.int8)
    mask[10:14, 5:25] = 1
    np.save(f"{ROOT}/radius2d.npy", radius)
    np.save(f"{ROOT}/mask.npy", mask)
    centers = ai.setup_CSR((height, width), bins, mask=mask, split="no", unit="r_m", scale=False).bin_centers

    def tweak(proc):
        proc["fai"].update(radius2d_path=f"{ROOT}/radius2d.npy", mask_path=f"{ROOT}/mask.npy", nb_bins=bins)
    run = client.prepare(acq, procs_for("LimaProcessingSmx", tweak))
    domain = RECEIVERS[0].split("/")[0]
    proc = tango.DeviceProxy(f"{domain}/limaprocessing/{run}@0")
    radius1d, radius2d = dense(proc.read_attribute("radius1d").value), dense(proc.read_attribute("radius2d_mask").value)
    done, xferred, subs = client.start()
    summary = run_summary(client, run, *client.finish(done, xferred, subs))
    erase(client, run)
    masked = np.isnan(radius2d[0])
    return {
        "run": summary,
        "radius1d_shape": list(radius1d.shape), "radius1d_dtype": str(radius1d.dtype),
        "radius1d_max_rel_error": float(np.max(np.abs(radius1d[0, 0] - centers) / centers)),
        "radius2d_shape": list(radius2d.shape), "radius2d_dtype": str(radius2d.dtype),
        "mask_matches": bool(np.array_equal(masked, mask.astype(bool))),
        "radius2d_max_rel_error": float(np.max(np.abs(radius2d[0][~masked] - radius[~masked]) / radius[~masked])),
    }


def main():
    db = tango.Database()
    client = Client(CONTROL, RECEIVERS)
    out = {"initial_states": client.read_states()}

    acq_schema = schema_of(db, "LimaControl", "acq_params")
    assert acq_schema == schema_of(db, "LimaReceiver", "acq_params")
    acq = params_default(acq_schema)
    jsonschema.validate(acq, acq_schema)
    jsonschema.validate(leaves_default(acq_schema), acq_schema)
    # what a scan sets (BLISS): the number of frames and the exposure; a small frame keeps the test light
    acq["acq"].update(nb_frames=12, expo_time=1000)
    acq["det"]["generator"].update(width=64, height=48)

    def procs_for(cls, tweak=None):
        schema = schema_of(db, cls, "proc_params")
        proc = params_default(schema)
        proc["class_name"] = cls
        jsonschema.validate(proc, schema)
        jsonschema.validate(dict(leaves_default(schema), class_name=cls), schema)
        if cls == "LimaProcessingSmx":
            # the clients' finalize_params: the accumulation counts are per receiver (a KeyError on an empty fai)
            for key in ("acc_nb_frames_reset", "acc_nb_frames_xfer"):
                assert proc["fai"][key] % len(RECEIVERS) == 0, (key, proc["fai"][key])
                proc["fai"][key] //= len(RECEIVERS)
        if tweak:
            tweak(proc)
        procs = []
        for rank in range(len(RECEIVERS)):
            p = copy.deepcopy(proc)
            for key, block in p.items():
                if key.startswith("saving") and isinstance(block, dict):
                    block.update(base_path=f"{ROOT}/{cls}", filename_rank=rank)
            procs.append(p)
        return procs

    # 1. each pipeline on the schema's defaults
    out["defaults"] = {}
    for cls in ["LimaProcessingLegacy", "LimaProcessingSmx", "LimaProcessingXpcs"]:
        run = client.prepare(acq, procs_for(cls))
        done, xferred, subs = client.start()
        out["defaults"][cls] = run_summary(client, run, *client.finish(done, xferred, subs))
        erase(client, run)

    # 1b. SMX radius1d and radius2d_mask against pyFAI: the radius map of a PONI geometry and a mask given as files
    out["smx_radius"] = smx_radius(client, acq, procs_for)

    # 2. a failing pipeline: FAULT, last_error of the receivers and the control, abort, reset_acq
    run = client.prepare(acq, procs_for("LimaProcessingFailing"))
    done, xferred, subs = client.start()
    client.aborted.wait(TIMEOUT)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and client.read_states()[0] != "fault":
        time.sleep(0.05)
    # the receivers' FAULT events come over other connections than the control's: wait for one of them
    while time.monotonic() < deadline and not client.fault_of(client.recvs):
        time.sleep(0.05)
    for d, s in subs:
        d.unsubscribe_event(s)
    fault = run_summary(client, run, client.aborted.is_set(), xferred)
    fault["recv_last_errors"] = [r.last_error for r in client.recvs]
    client.reset_acq()
    fault["after_reset"] = client.read_states()
    fault["ctrl_last_error_after_reset"] = client.ctrl.last_error
    out["fault"] = fault
    erase(client, run)

    # 3. re-prepare from PREPARED (an aborted scan), then run the new one
    legacy = procs_for("LimaProcessingLegacy")
    first = client.prepare(acq, legacy)
    second = client.prepare(acq, legacy)
    reprep = {"first": first, "states_prepared": client.read_states(),
              "pipelines": [list(r.pipelines or []) for r in client.recvs]}
    done, xferred, subs = client.start()
    reprep.update(run_summary(client, second, *client.finish(done, xferred, subs)))
    out["reprepare"] = reprep
    erase(client, second)

    # 4. software trigger with 2 receivers: every frame arrives, no FAULT
    soft = dict(acq, acq=dict(acq["acq"], trigger_mode="software", nb_frames=7, nb_frames_per_trigger=1))
    run = client.prepare(soft, legacy)

    def triggers():
        for i in range(7):
            client.ctrl.Trigger()
            deadline = time.monotonic() + 10
            while sum(int(r.nb_frames_received) for r in client.recvs) <= i and time.monotonic() < deadline:
                time.sleep(0.01)
    done, xferred, subs = client.start()
    out["software_trigger"] = run_summary(client, run, *client.finish(done, xferred, subs, triggers))
    erase(client, run)

    # 5. a second client while a run is running: its Prepare is refused, one run at a time
    endless = dict(acq, acq=dict(acq["acq"], nb_frames=0))
    run = client.prepare(endless, legacy)
    done, xferred, subs = client.start()
    other = str(uuid.uuid1())
    refusals = []
    for d in client.devices:
        try:
            d.Prepare(other)
        except tango.DevFailed as e:
            refusals.append(json.loads(e.args[0].desc)["what"])
    client.abort()
    client.finish(done, xferred, subs)
    two = {"refusals": refusals, "current_pipeline": [r.current_pipeline for r in client.recvs]}
    client.aborted.clear()
    erase(client, run)

    # 6. a receiver prepared for another run behind the control's back: Start faults naming it
    run = client.prepare(acq, legacy)
    stranger = str(uuid.uuid1())
    client.recvs[1].Prepare(stranger)
    client.aborted.set()  # the test handles this FAULT itself
    try:
        client.ctrl.Start()
        two["start_error"] = None
    except tango.DevFailed as e:
        two["start_error"] = json.loads(e.args[0].desc)["what"]
    two["states"] = client.read_states()
    two["ctrl_last_error"] = client.ctrl.last_error
    client.reset_acq()
    for r in client.recvs:
        for p in list(r.pipelines or []):
            r.erasePipeline(p)
    out["two_clients"] = two

    # 7. prepared, never started, then Reset: each pipeline ends (is_finished, with its DATA_READY event) to be erased
    run = client.prepare(acq, legacy)
    domain = RECEIVERS[0].split("/")[0]
    procs = [tango.DeviceProxy(f"{domain}/limaprocessing/{run}@{rank}") for rank in range(len(RECEIVERS))]
    finished = []
    proc_subs = [(p, p.subscribe_event("is_finished", tango.EventType.DATA_READY_EVENT,
                                       lambda ev: ev.err or finished.append(ev.device.name()))) for p in procs]
    for d in client.devices:
        d.Reset()
    deadline = time.monotonic() + TIMEOUT
    while len(finished) < len(procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    out["reset_prepared"] = {"is_finished": [bool(p.is_finished) for p in procs], "events": len(finished),
                             "states": client.read_states()}
    for p, sub in proc_subs:
        p.unsubscribe_event(sub)
    erase(client, run)
    out["final_states"] = client.read_states()
    client.close()
    print(json.dumps(out))


main()
