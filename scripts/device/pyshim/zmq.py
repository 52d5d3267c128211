"""pyzmq's subset that bench/py/same_work_receiver.py uses, over the bundle's libzmq.so.5 (ctypes), for a server whose
Python has no pyzmq: Context().socket(PULL), setsockopt(RCVTIMEO), connect, recv_multipart(copy=False) -> frames
with .bytes and .buffer, and Again. As pyzmq's copy=False, a frame's .buffer is the message's own memory (no copy),
valid while the frame or a view of it lives."""
import ctypes
import os

_lib = ctypes.CDLL(os.environ.get("ZMQ_LIB", "libzmq.so.5"), use_errno=True)
PULL = 7
RCVTIMEO = 27
_EAGAIN = 11
_MSG_T = 64  # sizeof(zmq_msg_t)
_lib.zmq_ctx_new.restype = ctypes.c_void_p
_lib.zmq_socket.restype = ctypes.c_void_p
_lib.zmq_socket.argtypes = [ctypes.c_void_p, ctypes.c_int]
_lib.zmq_setsockopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
_lib.zmq_connect.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_lib.zmq_msg_init.argtypes = [ctypes.c_void_p]
_lib.zmq_msg_recv.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
_lib.zmq_msg_data.restype = ctypes.c_void_p
_lib.zmq_msg_data.argtypes = [ctypes.c_void_p]
_lib.zmq_msg_size.restype = ctypes.c_size_t
_lib.zmq_msg_size.argtypes = [ctypes.c_void_p]
_lib.zmq_msg_more.argtypes = [ctypes.c_void_p]
_lib.zmq_msg_close.argtypes = [ctypes.c_void_p]


class ZMQError(OSError):
    pass


class Again(ZMQError):
    pass


class _Message:
    """A received zmq_msg_t, closed when the last view of its memory is gone (no reference cycle: freed at once)."""

    def __init__(self, msg):
        self._msg = msg

    def __del__(self):
        _lib.zmq_msg_close(self._msg)


class Frame:
    """One received message part: .buffer is the message's own memory."""

    def __init__(self, msg):
        size = _lib.zmq_msg_size(msg)
        memory = (ctypes.c_char * size).from_address(_lib.zmq_msg_data(msg)) if size else ctypes.create_string_buffer(0)
        memory.message = _Message(msg)  # every view of .buffer keeps the message alive
        self.buffer = memoryview(memory).cast("B")

    @property
    def bytes(self):
        return self.buffer.tobytes()

    def __len__(self):
        return self.buffer.nbytes


class _Socket:
    def __init__(self, ctx, kind):
        self._s = _lib.zmq_socket(ctx, kind)

    def setsockopt(self, option, value):
        v = ctypes.c_int(value)
        if _lib.zmq_setsockopt(self._s, option, ctypes.byref(v), ctypes.sizeof(v)) != 0:
            raise ZMQError(ctypes.get_errno(), "zmq_setsockopt")

    def connect(self, endpoint):
        if _lib.zmq_connect(self._s, endpoint.encode()) != 0:
            raise ZMQError(ctypes.get_errno(), "zmq_connect")

    def recv_multipart(self, copy=True):
        parts = []
        while True:
            msg = ctypes.create_string_buffer(_MSG_T)
            _lib.zmq_msg_init(msg)
            if _lib.zmq_msg_recv(msg, self._s, 0) < 0:
                errno = ctypes.get_errno()
                _lib.zmq_msg_close(msg)
                raise (Again if errno == _EAGAIN else ZMQError)(errno, "zmq_msg_recv")
            more = _lib.zmq_msg_more(msg)
            frame = Frame(msg)
            parts.append(frame if not copy else frame.bytes)
            if not more:
                return parts


class Context:
    def __init__(self):
        self._c = _lib.zmq_ctx_new()

    def socket(self, kind):
        return _Socket(self._c, kind)
