"""device_addresses.py DEVICE... : for each device, whether the Tango DB has it exported and the TCP addresses its IOR
in the DB publishes (the IIOP profile's host:port and its alternate addresses; omniORB's unix sockets left out).
Prints JSON {device: {"exported": bool, "addresses": ["host:port", ...]}}."""
import json, struct, sys
import tango

TAG_INTERNET_IOP, TAG_ALTERNATE_IIOP_ADDRESS = 0, 3


class Cdr:
    """A CDR encapsulation reader: the first octet gives the byte order, alignment counts from it."""

    def __init__(self, data):
        self.data, self.pos = data, 1
        self.order = "<" if data[0] else ">"

    def take(self, fmt):
        size = struct.calcsize(fmt)
        self.pos += -self.pos % size
        (value,) = struct.unpack_from(self.order + fmt, self.data, self.pos)
        self.pos += size
        return value

    def octets(self):
        n = self.take("I")
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def string(self):
        return self.octets().rstrip(b"\0").decode()


def addresses(ior):
    ior_cdr = Cdr(bytes.fromhex(ior[len("IOR:"):]))
    ior_cdr.string()  # type id
    found = []
    for _ in range(ior_cdr.take("I")):
        tag, body = ior_cdr.take("I"), ior_cdr.octets()
        if tag != TAG_INTERNET_IOP:
            continue
        profile = Cdr(body)
        _major, minor = profile.take("B"), profile.take("B")
        found.append(f"{profile.string()}:{profile.take('H')}")
        profile.octets()  # object key
        if minor == 0:
            continue
        for _ in range(profile.take("I")):
            component, data = profile.take("I"), profile.octets()
            if component == TAG_ALTERNATE_IIOP_ADDRESS:
                alternate = Cdr(data)
                found.append(f"{alternate.string()}:{alternate.take('H')}")
    return found


db = tango.Database()
result = {}
for name in sys.argv[1:]:
    info = db.import_device(name)
    result[name] = {"exported": bool(info.exported), "addresses": addresses(info.ior) if info.exported else []}
print(json.dumps(result))
