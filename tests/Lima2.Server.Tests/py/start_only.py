"""start_only.py CONTROL RECEIVERS ACQ PROC: prepare and start every device, as a client does, then return."""
import json, sys, uuid
import tango

ctrl = tango.DeviceProxy(sys.argv[1])
recvs = [tango.DeviceProxy(n) for n in sys.argv[2].split(",")]
acq, proc = open(sys.argv[3]).read(), open(sys.argv[4]).read()
run = str(uuid.uuid1())
ctrl.acq_params = acq
for r in recvs:
    r.acq_params = acq
    r.proc_params = proc
for d in [ctrl] + recvs:
    d.Prepare(run)
for d in recvs + [ctrl]:
    d.Start()
print(run)
