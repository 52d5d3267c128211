"""pogo_check.py POGO_DIR CONTROL RECEIVER: compare each Pogo XMI with what the running devices report.

Processing devices of each class are made by preparing the receiver (then erased). Prints a JSON report:
class -> {compared: n, problems: [...]}.
"""
import json, sys, uuid
import xml.etree.ElementTree as ET
import tango

POGO = {"VoidType": "DevVoid", "BooleanType": "DevBoolean", "ShortType": "DevShort", "IntType": "DevLong",
        "LongType": "DevLong64", "FloatType": "DevFloat", "DoubleType": "DevDouble", "UShortType": "DevUShort",
        "UIntType": "DevULong", "ULongType": "DevULong64", "UCharType": "DevUChar", "StringType": "DevString",
        "StringArrayType": "DevVarStringArray", "IntArrayType": "DevVarLongArray", "LongArrayType": "DevVarLong64Array",
        "DoubleArrayType": "DevVarDoubleArray",
        "StateType": "DevState", "EncodedType": "DevEncoded", "EnumType": "DevEnum"}
XSI = "{http://www.w3.org/2001/XMLSchema-instance}type"
BUILTIN_COMMANDS = {"Init", "State", "Status"}
BUILTIN_ATTRIBUTES = {"State", "Status"}


def pogo_type(element):
    return POGO[element.get(XSI).split(":")[1]]


def compare(xmi_path, device):
    cls = ET.parse(xmi_path).getroot().find("classes")
    problems, compared = [], 0
    xmi_cmds = {c.get("name"): (pogo_type(c.find("argin/type")), pogo_type(c.find("argout/type"))) for c in cls.findall("commands")}
    dev_cmds = {c.cmd_name: (str(tango.CmdArgType.values[c.in_type]), str(tango.CmdArgType.values[c.out_type]))
                for c in device.command_list_query() if c.cmd_name not in BUILTIN_COMMANDS}
    xmi_attrs = {}
    for a in cls.findall("attributes"):
        xmi_attrs[a.get("name")] = (pogo_type(a.find("dataType")), a.get("attType").upper(), a.get("rwType"),
                                    [e.text for e in a.findall("enumLabels")])
    dev_attrs = {}
    for a in device.attribute_list_query_ex():
        if a.name in BUILTIN_ATTRIBUTES:
            continue
        dev_attrs[a.name] = (str(tango.CmdArgType.values[a.data_type]), str(a.data_format), str(a.writable),
                             list(a.enum_labels))
    for kind, xmi, dev in (("command", xmi_cmds, dev_cmds), ("attribute", xmi_attrs, dev_attrs)):
        for name in sorted(set(xmi) | set(dev)):
            if name not in dev:
                problems.append(f"{kind} {name}: in the XMI, not on the device")
            elif name not in xmi:
                problems.append(f"{kind} {name}: on the device, not in the XMI")
            elif xmi[name] != dev[name]:
                problems.append(f"{kind} {name}: XMI {xmi[name]}, device {dev[name]}")
            else:
                compared += 1
    return {"compared": compared, "problems": problems}


pogo, control, receiver = sys.argv[1:4]
report = {"LimaControl": compare(f"{pogo}/LimaControl.xmi", tango.DeviceProxy(control))}
recv = tango.DeviceProxy(receiver)
report["LimaReceiver"] = compare(f"{pogo}/LimaReceiver.xmi", recv)
recv.acq_params = json.dumps({"acq": {"nb_frames": 2}, "det": {"generator": {"width": 32, "height": 32}}})
db = tango.Database()
for cls in ["LimaProcessingLegacy", "LimaProcessingSmx", "LimaProcessingXpcs", "LimaProcessingFailing"]:
    recv.proc_params = json.dumps({"class_name": cls})
    run = str(uuid.uuid1())
    recv.Prepare(run)
    try:
        [name] = db.get_device_exported(f"*/limaprocessing/{run}*")
        assert db.get_device_info(name).class_name == cls
        report[cls] = compare(f"{pogo}/{cls}.xmi", tango.DeviceProxy(name))
    finally:
        recv.Stop()
        recv.erasePipeline(run)
print(json.dumps(report))
