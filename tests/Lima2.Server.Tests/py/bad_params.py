"""bad_params.py CONTROL RECEIVER: malformed params are refused as LIMA_Exception and change nothing (JSON report)."""
import json, sys, uuid
import tango

ctrl, recv = tango.DeviceProxy(sys.argv[1]), tango.DeviceProxy(sys.argv[2])
report = {}
labels = list(ctrl.get_attribute_config("acq_state").enum_labels)
report["labels"] = labels


def refused(call):
    try:
        call()
    except tango.DevFailed as e:
        return {"n": len(e.args), "reason": e.args[0].reason, "what": json.loads(e.args[0].desc)["what"],
                "second": e.args[1].reason}
    return None


before = ctrl.acq_params
report["ctrl_acq"] = refused(lambda: setattr(ctrl, "acq_params", '{"acq": {"nb_frames": -2, "trigger_mode": "sometimes"}}'))
report["ctrl_acq_unchanged"] = ctrl.acq_params == before
report["ctrl_json"] = refused(lambda: setattr(ctrl, "acq_params", '{"acq": {"nb_frames": 3,'))
before = recv.proc_params
report["recv_proc"] = refused(lambda: setattr(recv, "proc_params", '{"class_name": "LimaProcessingSmx", "statistics": {"enabled": true, "rect_rois": [{"topleft": {"x": -5, "y": 0}}]}}'))
report["recv_class"] = refused(lambda: setattr(recv, "proc_params", '{"class_name": "LimaProcessingNope"}'))
report["recv_proc_unchanged"] = recv.proc_params == before
report["start_idle"] = refused(lambda: ctrl.Start())
report["prepare_bad_uuid"] = refused(lambda: recv.Prepare("not-a-uuid"))
report["states"] = [labels[int(ctrl.acq_state)], labels[int(recv.acq_state)]]
report["tango_state"] = str(ctrl.state())
db = tango.Database()
report["schema_ctrl"] = json.loads(db.get_class_attribute_property("LimaControl", "acq_params")["acq_params"]["schema"][0])["title"]
report["schema_recv"] = json.loads(db.get_class_attribute_property("LimaReceiver", "acq_params")["acq_params"]["schema"][0])["title"]
report["schema_smx"] = json.loads(db.get_class_attribute_property("LimaProcessingSmx", "proc_params")["proc_params"]["schema"][0])["title"]
report["version_smx"] = list(db.get_class_property("LimaProcessingSmx", "Version")["Version"])
report["det_info"] = json.loads(ctrl.det_info)
report["det_capabilities"] = json.loads(ctrl.det_capabilities)
report["det_descriptions"] = [ctrl.get_attribute_config(a).description for a in ("det_info", "det_capabilities")]
report["version"] = ctrl.version
# a processing device's getter that fails: its error is Lima2's too (the device's OnError, no per-command guard)
run = str(uuid.uuid1())
# params of its own: the receiver still has those of the fixture's last run, whose files exist (file_exists_policy abort)
recv.proc_params = json.dumps({"class_name": "LimaProcessingLegacy"})
recv.Prepare(run)
try:
    [name] = db.get_device_exported(f"*/limaprocessing/{run}*")
    report["getter_missing"] = refused(lambda: tango.DeviceProxy(name).getFrame(12345))
finally:
    recv.Stop()
    recv.erasePipeline(run)
print(json.dumps(report))
