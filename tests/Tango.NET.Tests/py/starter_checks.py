"""Starter starts and stops a C# server: `starter_checks.py <starter device> <Server/instance>`."""
import json
import sys
import time

import tango


def wait(pred, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if pred():
                return True
        except tango.DevFailed:
            pass  # Starter not exported yet, or reconnecting
        time.sleep(0.2)
    return False


starter_name, server = sys.argv[1], sys.argv[2]
starter = tango.DeviceProxy(starter_name)
starter.set_timeout_millis(10000)
wait(lambda: starter.state() is not None, 90)
running = lambda: server in list(starter.read_attribute("RunningServers").value or [])
out = {}
starter.command_inout("DevStart", server)
out["running after DevStart"] = wait(running, 30)
starter.command_inout("DevStop", server)
out["stopped after DevStop"] = wait(lambda: not running(), 30)
print("JSON:" + json.dumps(out))
