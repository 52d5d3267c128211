"""PyTango against TangoNetTest registered in a real Tango DB (TANGO_HOST): `db_checks.py <check> <device>`."""
import json
import sys
import time

import tango


def exported(db, pattern):
    return list(db.get_device_exported(pattern))


def first(device):
    db = tango.Database()
    d = tango.DeviceProxy(device)
    out = {"ushort_image_ro shape": list(d.read_attribute("ushort_image_ro").value.shape),
           "properties": json.loads(d.command_inout("Properties"))}
    out["limited unit"] = d.get_attribute_config("limited").unit
    d.write_attribute("enum_scalar", 2)
    d.command_inout("CreateDevice", "test/dyndb/1")
    dyn = tango.DeviceProxy("test/dyndb/1")
    out["dyn state"] = str(dyn.state())
    out["dyn label"] = dyn.read_attribute("label").value
    out["exported after create"] = exported(db, "test/dyndb/*")
    out["dyn class"] = db.get_class_for_device("test/dyndb/1")
    # memorized values of devices created at run time: written to the DB, and written back at creation
    d.command_inout("CreateDevice", "test/dyndb/2")
    tango.DeviceProxy("test/dyndb/2").write_attribute("value", 7.25)
    out["memorized in the DB"] = list(db.get_device_attribute_property("test/dyndb/2", "value")["value"].get("__value", []))
    db.put_device_attribute_property("test/dyndb/3", {"value": {"__value": ["4.5"]}})
    d.command_inout("CreateDevice", "test/dyndb/3")
    out["memorized at creation"] = tango.DeviceProxy("test/dyndb/3").read_attribute("value").value
    d.command_inout("DeleteDevice", "test/dyndb/2")
    d.command_inout("DeleteDevice", "test/dyndb/3")
    d.command_inout("DeleteDevice", "test/dyndb/1")
    out["exported after delete"] = exported(db, "test/dyndb/*")
    try:
        db.get_device_info("test/dyndb/1")
        out["defined after delete"] = True
    except tango.DevFailed:
        out["defined after delete"] = False
    return out


def second(device):
    d = tango.DeviceProxy(device)
    return {"enum_scalar": int(d.read_attribute("enum_scalar").value)}


def mandatory(device):
    """A device whose mandatory property is set: its value, then Init after the property was deleted."""
    db = tango.Database()
    d = tango.DeviceProxy(device)
    out = {"address": d.read_attribute("address").value, "state": str(d.state())}
    db.delete_device_property(device, ["Address"])
    try:
        d.command_inout("Init")
        out["init without it"] = None
    except tango.DevFailed as e:
        out["init without it"] = {"reason": e.args[0].reason, "desc": e.args[0].desc}
    return out


if __name__ == "__main__":
    check, device = sys.argv[1], sys.argv[2]
    print("JSON:" + json.dumps({"first": first, "second": second, "mandatory": mandatory}[check](device)))
