"""PyTango drives a running TangoNetTest: `server_checks.py <check> <port> <device> [args]`.

Prints one JSON object: the values each check observed, for the C# test to assert on.
"""
import json
import sys
import threading
import time

import numpy as np
import tango


def proxy(port, name):
    return tango.DeviceProxy(f"tango://127.0.0.1:{port}/{name}#dbase=no")


def same(a, b):
    if isinstance(a, tango.DevState) or isinstance(b, tango.DevState):
        return a == b
    if isinstance(a, (list, tuple, np.ndarray)) or isinstance(b, (list, tuple, np.ndarray)):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and bool(np.all(a == b))
    if isinstance(a, float) or isinstance(b, float):
        return abs(a - b) <= 1e-6 * max(1.0, abs(a))
    return a == b


def show(v):
    if isinstance(v, np.ndarray):
        return f"{v.dtype}{list(v.shape)}:{v.ravel()[:6].tolist()}"
    return repr(v)[:120]


def errors(e):
    return [{"reason": x.reason, "desc": x.desc, "origin": x.origin, "severity": int(x.severity)} for x in e.args]


def call_error(f):
    try:
        f()
    except tango.DevFailed as e:
        return errors(e)
    return None


def roundtrip(d):
    """Writes then reads every writable attribute, and echoes every DevXxx command."""
    out = {}
    img = lambda dt: np.arange(12, dtype=dt).reshape(3, 4)
    attrs = {
        "boolean_scalar": False, "double_scalar": -2.25, "float_scalar": 0.5, "long64_scalar": -2**40,
        "long_scalar": -123456, "short_scalar": -300, "string_scalar": "héllo Tango", "uchar_scalar": 200,
        "ulong64_scalar": 2**63 + 5, "ushort_scalar": 65000, "ulong_scalar": 2**31 + 7,
        "boolean_spectrum": np.array([True, False, True]), "double_spectrum": np.array([1.5, -2.5, 1e300]),
        "float_spectrum": np.array([1.5, 2.5], dtype=np.float32), "long_spectrum": np.array([1, -2, 3], dtype=np.int32),
        "short_spectrum": np.array([-1, 2], dtype=np.int16), "string_spectrum": ["a", "bc", ""],
        "uchar_spectrum": np.array([0, 255, 7], dtype=np.uint8), "ushort_spectrum": np.array([0, 65535], dtype=np.uint16),
        "boolean_image": img(np.int32) % 2 == 0, "double_image": img(np.float64) / 4, "float_image": img(np.float32),
        "long_image": img(np.int32) - 5, "short_image": img(np.int16), "uchar_image": img(np.uint8),
        "ushort_image": img(np.uint16) * 1000, "string_image": [["a", "b", "c"], ["d", "e", "f"]],
        "enum_scalar": 2, "limited": 7.5,
    }
    for name, value in attrs.items():
        d.write_attribute(name, value)
        got = d.read_attribute(name).value
        if name == "string_image":
            got = [list(r) for r in got]
        out["attr " + name] = [same(value, got), show(value), show(got)]
    enc = d.read_attribute("encoded_scalar").value
    out["attr encoded_scalar (read)"] = [enc[0] == "raw" and bytes(enc[1]) == b"\x01\x02\x03", "('raw', b'\\x01\\x02\\x03')", show(enc)]
    d.write_attribute("encoded_scalar", ("fmt", b"\x00\xffabc"))
    enc = d.read_attribute("encoded_scalar").value
    out["attr encoded_scalar"] = [enc[0] == "fmt" and bytes(enc[1]) == b"\x00\xffabc", "('fmt', b'\\x00\\xffabc')", show(enc)]
    for w, rww in (("double_scalar_w", "double_scalar_rww"), ("long_scalar_w", "long_scalar_rww"), ("short_scalar_w", "short_scalar_rww")):
        d.write_attribute(w, 42)
        got = d.read_attribute(rww).value
        out["attr " + rww] = [same(42, got), "42", show(got)]
    commands = {
        "DevBoolean": True, "DevDouble": 3.25, "DevFloat": 1.5, "DevLong": -7, "DevLong64": -2**50, "DevShort": -12,
        "DevString": "échos", "DevULong": 2**32 - 1, "DevULong64": 2**64 - 1, "DevUShort": 65535,
        "DevVarCharArray": np.array([1, 2, 255], dtype=np.uint8), "DevVarDoubleArray": np.array([1.5, -1e-300]),
        "DevVarFloatArray": np.array([0.25], dtype=np.float32), "DevVarLong64Array": np.array([-2**62, 1], dtype=np.int64),
        "DevVarLongArray": np.array([-1, 2**31 - 1], dtype=np.int32), "DevVarShortArray": np.array([-32768, 5], dtype=np.int16),
        "DevVarStringArray": ["x", "", "yz"], "DevVarULong64Array": np.array([2**64 - 1], dtype=np.uint64),
        "DevVarULongArray": np.array([2**32 - 1, 0], dtype=np.uint32), "DevVarUShortArray": np.array([65535], dtype=np.uint16),
        "DevVarBooleanArray": np.array([True, False]), "DevStateEcho": tango.DevState.MOVING,
    }
    for name, value in commands.items():
        got = d.command_inout(name, value)
        out["cmd " + name] = [same(value, got), show(value), show(got)]
    got = d.command_inout("DevVarLongStringArray", [[1, -2, 3], ["a", "b"]])
    out["cmd DevVarLongStringArray"] = [same([1, -2, 3], got[0]) and list(got[1]) == ["a", "b"], "[[1,-2,3],['a','b']]", show(got)]
    got = d.command_inout("DevVarDoubleStringArray", [[1.5, -2.5], ["c"]])
    out["cmd DevVarDoubleStringArray"] = [same([1.5, -2.5], got[0]) and list(got[1]) == ["c"], "[[1.5,-2.5],['c']]", show(got)]
    got = d.command_inout("DevEncodedEcho", ("json", b'{"a":1}'))
    out["cmd DevEncodedEcho"] = [got[0] == "json" and bytes(got[1]) == b'{"a":1}', "('json', b'{\"a\":1}')", show(got)]
    out["cmd DevVoid"] = [d.command_inout("DevVoid") is None, "None", "None"]
    # empty arrays cross both ways too
    got = d.command_inout("DevVarLongArray", np.array([], dtype=np.int32))
    out["cmd DevVarLongArray (empty)"] = [len(got) == 0, "[]", show(got)]
    return out


def read_only(d):
    """The fixed patterns of the read-only attributes (values computed in C#)."""
    out = {}
    di = d.read_attribute("double_image_ro").value
    out["double_image_ro"] = [di.shape == (251, 251) and di[3, 7] == 7 + 3000.0, "(251,251), [3,7]=3007", show(di) + f" [3,7]={di[3, 7]}"]
    ui = d.read_attribute("ushort_image_ro").value
    out["ushort_image_ro"] = [ui.dtype == np.uint16 and ui[5, 2] == 7, "uint16, [5,2]=7", show(ui)]
    out["ushort_image_ro_shape"] = list(ui.shape)
    si = d.read_attribute("string_image_ro").value
    out["string_image_ro"] = [len(si) == 2 and list(si[1]) == ["1,0", "1,1", "1,2"], "2 rows, row 1 = 1,0 1,1 1,2", show(si)]
    ls = d.read_attribute("long64_spectrum_ro").value
    out["long64_spectrum_ro"] = [ls.dtype == np.int64 and ls[3] == 3_000_000_000, "int64, [3]=3e9", show(ls)]
    us = d.read_attribute("ulong64_spectrum_ro").value
    out["ulong64_spectrum_ro"] = [us.dtype == np.uint64 and int(us[255]) == 255 << 40, "uint64, [255]=255<<40", show(us)]
    q = d.read_attribute("quality_scalar")
    got = [q.value, str(q.quality), q.time.tv_sec, q.time.tv_usec]
    out["quality_scalar"] = [got == [42.5, "ATTR_CHANGING", 1700000000, 250000], "[42.5, ATTR_CHANGING, 1700000000, 250000]", str(got)]
    st = d.read_attribute("state_scalar").value
    out["state_scalar"] = [st == d.state(), str(d.state()), str(st)]
    labels = list(d.get_attribute_config("enum_scalar").enum_labels)
    out["enum_labels"] = [labels == ["Idle", "Acquiring", "Saving"], "Idle Acquiring Saving", str(labels)]
    cfg = d.get_attribute_config("limited")
    props = [cfg.unit, cfg.label, cfg.min_value, cfg.max_value, cfg.alarms.min_alarm, cfg.alarms.max_alarm, cfg.description]
    out["limited config"] = [props == ["mm", "Limited value", "0", "10", "1", "9", "A value with limits and alarms"], "mm, Limited value, 0, 10, 1, 9", str(props)]
    out["limited above max"] = call_error(lambda: d.write_attribute("limited", 11.0))
    d.write_attribute("limited", 9.5)
    out["limited quality"] = str(d.read_attribute("limited").quality)
    return out


def failures(d):
    out = {}
    out["throw_exception"] = call_error(lambda: d.read_attribute("throw_exception"))
    out["ThrowError"] = call_error(lambda: d.command_inout("ThrowError", "it broke"))
    out["ThrowTwoErrors"] = call_error(lambda: d.command_inout("ThrowTwoErrors", '{"error": "overrun"}'))
    out["bad enum"] = call_error(lambda: d.write_attribute("enum_scalar", 7))
    out["state before"] = str(d.state())
    out["OnlyWhenRunning (running)"] = call_error(lambda: d.command_inout("OnlyWhenRunning"))
    d.command_inout("SwitchStates")
    out["state after switch"] = str(d.state())
    out["OnlyWhenRunning (fault)"] = call_error(lambda: d.command_inout("OnlyWhenRunning"))
    d.command_inout("SwitchStates")
    counter = d.read_attribute("counter").value
    out["EvenOnly"] = call_error(lambda: d.command_inout("EvenOnly"))
    out["counter even"] = counter % 2 == 0
    d.command_inout("SetStatusText", "all good")
    out["status"] = d.status()
    out["hardware_fault read"] = call_error(lambda: d.read_attribute("hardware_fault"))
    out["hardware_fault write"] = call_error(lambda: d.write_attribute("hardware_fault", 3))
    out["FailHardware"] = call_error(lambda: d.command_inout("FailHardware", "no power"))
    return out


def lifecycle_errors(d):
    """Init and Delete (both run by the Init command) failing: what the client gets, then a clean Init."""
    out = {}
    for member in ("Init", "Delete"):
        d.command_inout("FailNextLifecycle", member)
        out[member] = call_error(lambda: d.command_inout("Init"))
    d.command_inout("Init")
    out["after"] = str(d.state())
    return out


def descriptions(d, admin_name, port):
    """What Jive shows: command argument descriptions and the property wizard of the admin device."""
    commands = {c: d.command_query(c) for c in ("OnlyWhenRunning", "SetStatusText", "DevDouble", "EvenOnly")}
    admin = proxy(port, admin_name)
    return {"commands": {c: [q.in_type_desc, q.out_type_desc] for c, q in commands.items()},
            "device properties": list(admin.command_inout("QueryWizardDevProperty", "TangoNetTest")),
            "class properties": list(admin.command_inout("QueryWizardClassProperty", "TangoNetTest")),
            "TangoNetDynamic device properties": list(admin.command_inout("QueryWizardDevProperty", "TangoNetDynamic"))}


def until_delivered(push, heard, seconds=30):
    """ZeroMQ drops what a publisher sends before a new subscriber's filter has reached it ("slow joiner"), which takes
    longer on a loaded machine: pushes until heard() says an event pushed after the subscription arrived."""
    deadline = time.monotonic() + seconds
    while not heard():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no event pushed after the subscription arrived within {seconds} s")
        push()
        wait = time.monotonic() + 0.3
        while not heard() and time.monotonic() < wait:
            time.sleep(0.01)


def events(d):
    """Subscribes to the events C# pushes, then asks for 20 of each."""
    received = {"change": [], "archive": [], "user": [], "data_ready": []}
    errs = []

    def cb(kind):
        def f(ev):
            if ev.err:
                errs.append(ev.errors[0].reason)
            elif kind == "data_ready":
                received[kind].append(ev.ctr)
            else:
                received[kind].append(int(ev.attr_value.value))
        return f

    kinds = {"change": tango.EventType.CHANGE_EVENT, "archive": tango.EventType.ARCHIVE_EVENT,
             "user": tango.EventType.USER_EVENT, "data_ready": tango.EventType.DATA_READY_EVENT}
    ids = [d.subscribe_event("counter", t, cb(k)) for k, t in kinds.items()]
    before = int(d.read_attribute("counter").value)
    until_delivered(lambda: d.command_inout("PushEvents", 1),
                    lambda: all(any(v > before for v in values) for values in received.values()))
    for v in received.values():
        v.clear()
    d.command_inout("PushEvents", 20)
    deadline = time.time() + 30
    while time.time() < deadline and any(len(v) < 20 for v in received.values()):
        time.sleep(0.05)
    for i in ids:
        d.unsubscribe_event(i)
    return {"received": {k: v for k, v in received.items()}, "errors": errs}


def posted_events(d, port, dev, count):
    """A command waits for a thread that posts `count` change events of `posted` while a second client keeps
    reading; then the same command with one direct push (which waits for the monitor the command holds)."""
    received = []
    errs = []

    def cb(ev):
        if ev.err:
            errs.append(ev.errors[0].reason)
        else:
            received.append(int(ev.attr_value.value))

    eid = d.subscribe_event("posted", tango.EventType.CHANGE_EVENT, cb)
    received.clear()  # the current value, which subscribe_event delivered before returning
    until_delivered(lambda: d.command_inout("PostFromWaitedThread", 1), lambda: len(received) > 0)
    received.clear()
    reader = proxy(port, dev)
    reader.set_timeout_millis(10000)
    reads = {"ok": 0, "errors": []}
    stop = threading.Event()

    def read():
        while not stop.is_set():
            error = call_error(lambda: (reader.read_attribute("posted"), reader.read_attribute("double_scalar")))
            if error:
                reads["errors"].append(error[0]["desc"])
            else:
                reads["ok"] += 1

    thread = threading.Thread(target=read)
    thread.start()
    time.sleep(0.2)
    failures = d.command_inout("PostFromWaitedThread", count)
    deadline = time.time() + 30
    while time.time() < deadline and len(received) < count:
        time.sleep(0.05)
    stop.set()
    thread.join()
    d.unsubscribe_event(eid)
    d.set_timeout_millis(10000)
    direct = d.command_inout("PushFromWaitedThread", 1)
    return {"post failures": failures, "received": received, "event errors": errs, "reads": reads,
            "direct push failures": direct}


def until(check, seconds=15):
    """Calls check() until it returns a value (not None, no DevFailed): the polling thread may lag on a busy machine."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = check()
            if value is not None:
                return value
        except tango.DevFailed:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"no result within {seconds} s")
        time.sleep(0.05)


def polling(d, port, admin_name):
    admin = proxy(port, admin_name)
    admin.command_inout("AddObjPolling", [[100], [d.dev_name(), "attribute", "polled_counter"]])
    until(lambda: True if len(d.attribute_history("polled_counter", 5)) == 5 else None)
    out = {"is_polled": d.is_attribute_polled("polled_counter"), "period": d.get_attribute_poll_period("polled_counter")}
    d.set_source(tango.DevSource.CACHE)
    a = d.read_attribute("polled_counter").value
    b = d.read_attribute("polled_counter").value
    d.set_source(tango.DevSource.CACHE_DEV)
    out["cache reads"] = [int(a), int(b)]
    out["history"] = [int(h.value) for h in d.attribute_history("polled_counter", 5)]
    admin.command_inout("RemObjPolling", [d.dev_name(), "attribute", "polled_counter"])
    out["is_polled after removal"] = d.is_attribute_polled("polled_counter")
    # polling started and stopped by the device's own code
    d.command_inout("Poll", [[250], ["long_scalar"]])
    out["polled by code"] = [d.is_attribute_polled("long_scalar"), d.get_attribute_poll_period("long_scalar")]
    d.command_inout("Poll", [[0], ["long_scalar"]])
    out["polled by code after stop"] = d.is_attribute_polled("long_scalar")
    # the zero-copy image: polling, cache reads and device reads must each release the image's mutex
    admin.command_inout("AddObjPolling", [[50], [d.dev_name(), "attribute", "ushort_image_ro"]])
    d.set_source(tango.DevSource.CACHE)
    until(lambda: d.read_attribute("ushort_image_ro"))
    sums = [int(d.read_attribute("ushort_image_ro").value.sum()) for _ in range(3)]
    d.set_source(tango.DevSource.DEV)
    sums += [int(d.read_attribute("ushort_image_ro").value.sum()) for _ in range(3)]
    admin.command_inout("RemObjPolling", [d.dev_name(), "attribute", "ushort_image_ro"])
    d.set_source(tango.DevSource.CACHE_DEV)
    out["shared image sums"] = sums
    return out


def dynamic(d, port):
    out = {}
    d.command_inout("AddDynamicAttribute", "dyn_volts")
    out["listed"] = "dyn_volts" in d.get_attribute_list()
    d.write_attribute("dyn_volts", 3.5)
    out["read"] = d.read_attribute("dyn_volts").value
    out["unit"] = d.get_attribute_config("dyn_volts").unit
    d.command_inout("RemoveDynamicAttribute", "dyn_volts")
    out["listed after removal"] = "dyn_volts" in d.get_attribute_list()
    # devices created and deleted at run time
    d.command_inout("CreateDevice", "test/dyn/1")
    out["devices"] = list(d.command_inout("ListDevices"))
    dyn = proxy(port, "test/dyn/1")
    dyn.write_attribute("value", 2.5)
    out["dyn state"] = str(dyn.state())
    out["dyn status"] = dyn.status()
    out["dyn label"] = dyn.read_attribute("label").value
    out["duplicate"] = call_error(lambda: d.command_inout("CreateDevice", "test/dyn/1"))
    d.command_inout("DeleteDevice", "test/dyn/1")
    out["devices after delete"] = list(d.command_inout("ListDevices"))
    out["deleted device"] = call_error(lambda: proxy(port, "test/dyn/1").state())
    out["from a thread"] = d.command_inout("CreateAndDeleteFromThread", "test/dyn/2")
    out["devices at the end"] = list(d.command_inout("ListDevices"))
    return out


def lifecycle(d, port, admin_name):
    """Init keeps the C# object and runs Init again; the admin DevRestart builds a new one."""
    out = {}
    d.write_attribute("double_scalar", 5.0)
    d.command_inout("SwitchStates")
    d.command_inout("Init")
    out["after Init"] = [d.read_attribute("double_scalar").value, str(d.state())]
    before = list(d.command_inout("ListDevices"))
    proxy(port, admin_name).command_inout("DevRestart", d.dev_name())
    time.sleep(0.5)
    out["after DevRestart"] = [d.read_attribute("double_scalar").value, str(d.state())]
    out["devices"] = [before, list(d.command_inout("ListDevices"))]
    return out


def allocations(d):
    """Managed bytes the server allocated over 10,000 reads of each scalar, 1,000 of images served shared and
    copied, and 1,000 of a string spectrum (which allocates: the control that shows the counter sees it)."""
    reads = {"long_scalar": 10000, "double_scalar": 10000, "boolean_scalar": 10000, "ulong64_scalar": 10000,
             "enum_scalar": 10000, "state_scalar": 10000, "quality_scalar": 10000, "string_scalar": 10000,
             "ushort_image_ro": 1000, "long_image_ro": 1000, "string_spectrum_ro": 1000}
    allocated = lambda: d.read_attribute("allocated_bytes").value
    for a in reads:
        for _ in range(300):  # the JIT's tiers settle first
            d.read_attribute(a)
    time.sleep(0.5)
    out = {}
    for a, n in reads.items():
        before = allocated()
        for _ in range(n):
            d.read_attribute(a)
        out[a] = (allocated() - before) / n
    return out


def long_work(port, dev, command):
    """Runs `command` for 5 s (longer than cppTango's 3.2 s monitor timeout) and meanwhile reads an attribute and
    State from a second client: what those reads gave, and how the command ended."""
    worker = proxy(port, dev)
    worker.set_timeout_millis(20000)
    done = {}

    def work():
        done["error"] = call_error(lambda: worker.command_inout(command, 5.0))

    thread = threading.Thread(target=work)
    thread.start()
    time.sleep(0.5)
    reader = proxy(port, dev)
    reader.set_timeout_millis(10000)
    reads = []
    while thread.is_alive() and len(reads) < 3:
        started = time.time()
        error = call_error(lambda: (reader.read_attribute("double_scalar"), reader.state()))
        reads.append({"ok": error is None, "seconds": time.time() - started,
                      "error": error[0]["desc"] if error else None, "during_work": thread.is_alive()})
    thread.join()
    # the monitor is balanced again: a plain read right after the command is served
    after = call_error(lambda: reader.read_attribute("double_scalar"))
    return {"reads": reads, "command_error": done["error"], "after": after}


def kill(port, admin):
    """Kill twice: the second one arrives while the first shutdown runs, or finds the server gone."""
    a = proxy(port, admin)
    a.command_inout("Kill")
    second = call_error(lambda: a.command_inout("Kill"))
    return {"second": second}


if __name__ == "__main__":
    check, port, dev = sys.argv[1], sys.argv[2], sys.argv[3]
    if check == "kill":
        result = kill(port, dev)
    else:
        d = proxy(port, dev)
        d.set_timeout_millis(5000)
        result = {"roundtrip": lambda: roundtrip(d), "read_only": lambda: read_only(d), "failures": lambda: failures(d),
                  "events": lambda: events(d), "polling": lambda: polling(d, port, sys.argv[4]), "dynamic": lambda: dynamic(d, port),
                  "lifecycle": lambda: lifecycle(d, port, sys.argv[4]), "allocations": lambda: allocations(d),
                  "lifecycle_errors": lambda: lifecycle_errors(d), "descriptions": lambda: descriptions(d, sys.argv[4], port),
                  "long_work": lambda: long_work(port, dev, sys.argv[4]),
                  "posted_events": lambda: posted_events(d, port, dev, int(sys.argv[4]))}[check]()
    print("JSON:" + json.dumps(result, default=str))
