"""lima2_pogo_check.py POGO_DIR CONTROL RECEIVER: Tango.NET's pogo_check on every Lima2 class.

Processing devices of each class are made by preparing the receiver (then erased). Prints pogo_check's JSON report,
one entry per class. POGO_DIR is the repository's pogo/, beside tests/Tango.NET.Tests/py/pogo_check.py.
"""
import json, os, sys, uuid

import tango

pogo, control, receiver = sys.argv[1:4]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(pogo)), "tests", "Tango.NET.Tests", "py"))
from pogo_check import compare  # noqa: E402

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
