"""pogo_check.py XMI DEVICE [XMI DEVICE ...]: compare each Pogo XMI with what its running device reports.

Prints a JSON report: class -> {compared: n, problems: [...], undescribed: [...]}. "problems": the XMI and the device
disagree on a command's or attribute's name, types, descriptions or units; "undescribed": what a Jive user would see
without a description (attribute_list_query_ex, command_list_query, the admin device's QueryWizardDevProperty /
QueryWizardClassProperty), or with a description that is not plain ASCII. Lima2's devices are checked through
tests/Lima2.Server.Tests/py/lima2_pogo_check.py, which imports compare() from here.
"""
import json, sys
import xml.etree.ElementTree as ET
import tango

POGO = {"VoidType": "DevVoid", "BooleanType": "DevBoolean", "ShortType": "DevShort", "IntType": "DevLong",
        "LongType": "DevLong64", "FloatType": "DevFloat", "DoubleType": "DevDouble", "UShortType": "DevUShort",
        "UIntType": "DevULong", "ULongType": "DevULong64", "UCharType": "DevUChar", "StringType": "DevString",
        "StringArrayType": "DevVarStringArray", "IntArrayType": "DevVarLongArray", "LongArrayType": "DevVarLong64Array",
        "DoubleArrayType": "DevVarDoubleArray", "BooleanArrayType": "DevVarBooleanArray", "CharArrayType": "DevVarCharArray",
        "ShortArrayType": "DevVarShortArray", "UShortArrayType": "DevVarUShortArray", "UIntArrayType": "DevVarULongArray",
        "ULongArrayType": "DevVarULong64Array", "FloatArrayType": "DevVarFloatArray",
        "LongStringArrayType": "DevVarLongStringArray", "DoubleStringArrayType": "DevVarDoubleStringArray",
        "StateType": "DevState", "EncodedType": "DevEncoded", "EnumType": "DevEnum"}
XSI = "{http://www.w3.org/2001/XMLSchema-instance}type"
BUILTIN_COMMANDS = {"Init", "State", "Status"}
BUILTIN_ATTRIBUTES = {"State", "Status"}
NOT_SET = {"", "No description", "Uninitialised"}  # what cppTango reports when a class says nothing


def pogo_type(element):
    return POGO[element.get(XSI).split(":")[1]]


def compare(xmi_path, device):
    cls = ET.parse(xmi_path).getroot().find("classes")
    problems, compared = [], 0
    # a void argument reads as the command's own description (Tango's command info has no field for it)
    def client_desc(arg, command):
        return arg.get("description") or (command.get("description") if pogo_type(arg.find("type")) == "DevVoid" else "")
    xmi_cmds = {c.get("name"): (pogo_type(c.find("argin/type")), pogo_type(c.find("argout/type")),
                                client_desc(c.find("argin"), c), client_desc(c.find("argout"), c)) for c in cls.findall("commands")}
    dev_cmds = {c.cmd_name: (str(tango.CmdArgType.values[c.in_type]), str(tango.CmdArgType.values[c.out_type]),
                             c.in_type_desc, c.out_type_desc)
                for c in device.command_list_query() if c.cmd_name not in BUILTIN_COMMANDS}
    xmi_attrs = {}
    for a in cls.findall("attributes"):
        p = a.find("properties")
        xmi_attrs[a.get("name")] = (pogo_type(a.find("dataType")), a.get("attType").upper(), a.get("rwType"),
                                    [e.text for e in a.findall("enumLabels")], p.get("description"), p.get("unit"),
                                    p.get("standardUnit"), p.get("displayUnit"))
    dev_attrs = {}
    for a in device.attribute_list_query_ex():
        if a.name in BUILTIN_ATTRIBUTES:
            continue
        dev_attrs[a.name] = (str(tango.CmdArgType.values[a.data_type]), str(a.data_format), str(a.writable),
                             list(a.enum_labels), a.description, a.unit, unset(a.standard_unit), unset(a.display_unit))
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
    undescribed = [f"attribute {name}" for name, a in dev_attrs.items() if not described(a[4])]
    undescribed += [f"command {name} {side}" for name, c in dev_cmds.items()
                    for side, desc in (("argin", c[2]), ("argout", c[3])) if not described(desc)]
    admin = tango.DeviceProxy(device.adm_name())
    for kind, element in (("Dev", "deviceProperties"), ("Class", "classProperties")):
        wizard = admin.command_inout(f"QueryWizard{kind}Property", cls.get("name"))  # [name, desc, default] * n
        listed = {wizard[i]: wizard[i + 1] for i in range(0, len(wizard), 3)}
        xmi = {p.get("name"): p.get("description") for p in cls.findall(element)}
        if listed != xmi:
            problems.append(f"{element}: XMI {xmi}, wizard {listed}")
        undescribed += [f"{element} {name}" for name, desc in listed.items() if not described(desc)]
    return {"compared": compared, "problems": problems, "undescribed": undescribed}


def unset(factor):
    """standard_unit / display_unit: cppTango says "No standard unit" / "No display unit" when none is set."""
    return "" if factor.startswith("No ") else factor


def described(text):
    return text not in NOT_SET and text.isascii() and text.isprintable()


if __name__ == "__main__":
    args = sys.argv[1:]
    report = {}
    for xmi, device in zip(args[::2], args[1::2]):
        report[ET.parse(xmi).getroot().find("classes").get("name")] = compare(xmi, tango.DeviceProxy(device))
    print(json.dumps(report))
