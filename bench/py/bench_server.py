"""The PyTango reference server of the benchmark: TangoTest's two benchmarked attributes, served the cheapest
way PyTango allows (a counter, and one preallocated 1024x1024 uint16 image).

Run: /usr/bin/python3 bench_server.py <instance>   (registered in the Tango database as class BenchServer)
"""
import numpy

from tango.server import Device, attribute

IMAGE = numpy.arange(1024 * 1024, dtype=numpy.uint16).reshape(1024, 1024)


class BenchServer(Device):
    def init_device(self):
        super().init_device()
        self._count = 0

    long_scalar = attribute(dtype="int32")

    def read_long_scalar(self):
        self._count += 1
        return self._count

    ushort_image_ro = attribute(dtype=(("uint16",),), max_dim_x=8192, max_dim_y=8192)

    def read_ushort_image_ro(self):
        return IMAGE


if __name__ == "__main__":
    BenchServer.run_server()
