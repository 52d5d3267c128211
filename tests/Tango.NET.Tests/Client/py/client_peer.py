"""A PyTango device for the C# client tests: what TangoTest 9.3.4 lacks (DevEnum, DevEncoded, state spectra,
pushed change and data-ready events, a slow command for timeouts, a rendezvous for parallel calls).

Run: /usr/bin/python3 client_peer.py <instance> -nodb -dlist test/peer/1 -ORBendPoint giop:tcp:127.0.0.1:PORT
"""
import enum
import threading
import time

from tango import AttrWriteType, DevFailed, DevState, Except
from tango.server import Device, attribute, command


class AcqState(enum.IntEnum):
    idle = 0
    prepared = 1
    running = 2
    stopped = 3
    fault = 4
    terminate = 5


# Shared by all devices of the process: Meet(n) returns only when n devices run it at the same time.
_meetings = {}
_meetings_lock = threading.Lock()


class ClientPeer(Device):
    def init_device(self):
        super().init_device()
        self._acq_state = AcqState.idle
        self._encoded = ("NONE", b"")
        self._counter = 0
        self.set_state(DevState.ON)
        self.set_change_event("counter", True, False)
        self.set_archive_event("counter", True, False)
        self.set_data_ready_event("counter", True)

    acq_state = attribute(dtype=AcqState, access=AttrWriteType.READ_WRITE)

    def read_acq_state(self):
        return self._acq_state

    def write_acq_state(self, value):
        self._acq_state = AcqState(value)

    encoded = attribute(dtype="DevEncoded", access=AttrWriteType.READ_WRITE)

    def read_encoded(self):
        return self._encoded

    def write_encoded(self, value):
        self._encoded = value

    states = attribute(dtype=("DevState",), max_dim_x=8)

    def read_states(self):
        return [DevState.ON, DevState.FAULT, DevState.RUNNING]

    latin1 = attribute(dtype=str, access=AttrWriteType.READ_WRITE)

    def read_latin1(self):
        return getattr(self, "_latin1", "caf\u00e9 \u00b5s")

    def write_latin1(self, value):
        self._latin1 = value

    long_image = attribute(dtype=(("int32",),), max_dim_x=16, max_dim_y=16, access=AttrWriteType.READ_WRITE)

    def read_long_image(self):
        return getattr(self, "_long_image", [[0]])

    def write_long_image(self, value):
        self._long_image = value

    counter = attribute(dtype=int)

    def read_counter(self):
        return self._counter

    @command(dtype_in=int)
    def Push(self, n):
        """Pushes n change events (counter + 1 each) and one data-ready event with counter n."""
        for _ in range(n):
            self._counter += 1
            self.push_change_event("counter", self._counter)
        self.push_data_ready_event("counter", n)

    @command(dtype_in=int)
    def PushOthers(self, value):
        """Pushes value as an archive event and as a user event."""
        self.push_archive_event("counter", value)
        self.push_event("counter", [], [], value)

    @command(dtype_in=str)
    def PushError(self, reason):
        """Pushes a change event that carries an error with this reason instead of a value."""
        try:
            Except.throw_exception(reason, "pushed on purpose", "ClientPeer.PushError")
        except DevFailed as error:
            self.push_change_event("counter", error)

    @command(dtype_in="DevEncoded", dtype_out="DevEncoded")
    def EchoEncoded(self, value):
        return value

    @command(dtype_in=int, dtype_out=str)
    def Meet(self, n):
        """Waits (at most 5 s) until n devices of this process run Meet(n) together: proves calls overlap."""
        with _meetings_lock:
            barrier = _meetings.setdefault(n, threading.Barrier(n))
        barrier.wait(timeout=5)
        return self.get_name()

    @command(dtype_in=float)
    def Sleep(self, seconds):
        time.sleep(seconds)


if __name__ == "__main__":
    ClientPeer.run_server()
