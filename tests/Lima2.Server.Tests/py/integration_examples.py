"""integration_examples.py BLISS_YML CONDUCTOR_ENV: resolve the device names of the BLISS and lima2-conductor examples
in the Tango DB (TANGO_HOST), as the clients would find them.

BLISS' Tango-direct Lima2 controller takes tango_ctrl_url and tango_recv_urls (receivers in rank order); the conductor
reads LIMA2_CONTROL_URL, LIMA2_RECEIVER_URLS (comma-separated), LIMA2_TOPOLOGY and LIMA2_TANGO_TIMEOUT, and refuses
a topology that does not fit the receiver count. Prints a JSON report {"problems": [...], "devices": {name: class}}.
"""
import json, sys
import tango
import yaml

db = tango.Database()
problems = []
devices = {}


def resolve(name, expected_class):
    try:
        info = db.get_device_info(name)
    except tango.DevFailed as e:
        problems.append(f"{name}: not in the Tango DB ({e.args[0].desc.strip()})")
        return None
    devices[name] = info.class_name
    if info.class_name != expected_class:
        problems.append(f"{name}: class {info.class_name}, expected {expected_class}")
    return info


def check_system(origin, control, receivers):
    """The control's own view (its receivers property, rank order) must be the list the client was given."""
    if resolve(control, "LimaControl") is None:
        return
    registered = list(db.get_device_property(control, "receivers")["receivers"])
    if receivers != registered:
        problems.append(f"{origin}: receivers {receivers}, the control's are {registered}")
    for position, name in enumerate(receivers):
        if resolve(name, "LimaReceiver") is None:
            continue
        rank = list(db.get_device_property(name, "rank")["rank"])
        if rank != [str(position)]:
            problems.append(f"{origin}: {name} listed at {position}, its rank is {rank}")


with open(sys.argv[1]) as f:
    config = yaml.safe_load(f)
entries = config if isinstance(config, list) else [config]
lima2 = [e for e in entries if e.get("class") == "Lima2"]
if len(lima2) != 1:
    problems.append(f"BLISS: {len(lima2)} entries of class Lima2, expected 1")
for entry in lima2:
    if not entry.get("name"):
        problems.append("BLISS: the Lima2 entry has no name")
    check_system("BLISS", entry["tango_ctrl_url"], list(entry["tango_recv_urls"]))

env = {}
with open(sys.argv[2]) as f:
    for line in f:
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
control = env["LIMA2_CONTROL_URL"]
receivers = [url.strip() for url in env["LIMA2_RECEIVER_URLS"].split(",")]
check_system("conductor", control, receivers)
topology = env["LIMA2_TOPOLOGY"]
fits = {"single": len(receivers) == 1, "round_robin": len(receivers) > 1, "dynamic": len(receivers) > 1}
if not fits.get(topology, False):
    problems.append(f"conductor: topology {topology!r} does not fit {len(receivers)} receivers")
if devices.get(control) == "LimaControl":
    registered = list(db.get_device_property(control, "receiver_topology")["receiver_topology"])
    if registered != [topology]:
        problems.append(f"conductor: topology {topology}, the control's is {registered}")
try:
    int(env["LIMA2_TANGO_TIMEOUT"])
except ValueError:
    problems.append(f"conductor: LIMA2_TANGO_TIMEOUT {env['LIMA2_TANGO_TIMEOUT']!r} is not a whole number of seconds")

print(json.dumps({"problems": problems, "devices": devices}))
