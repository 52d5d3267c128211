// Images served without a copy: the reply points into a buffer C# keeps pinned, and a mutex that cppTango
// releases once the reply has been sent keeps C# from rewriting the buffer meanwhile (ATTR_BY_USER model).
#include "server.hpp"

namespace {

template <typename T>
void set_borrowed(Tango::Attribute& attr, const tns_data& d, long x, long y) {
    attr.set_value(static_cast<T*>(const_cast<void*>(d.num)), x, y, false);
}

}  // namespace

TNS_API void* tns_mutex_new() { return new omni_mutex(); }

TNS_API void tns_mutex_free(void* m) { delete static_cast<omni_mutex*>(m); }

TNS_API void tns_mutex_lock(void* m) { static_cast<omni_mutex*>(m)->lock(); }

TNS_API void tns_mutex_unlock(void* m) { static_cast<omni_mutex*>(m)->unlock(); }

// Locks `mutex` and hands it to cppTango with the borrowed value; cppTango unlocks it after sending.
TNS_API int tns_attr_set_value_shared(void* attr_ptr, const tns_data* d, int64_t dim_x, int64_t dim_y, void* mutex) {
    auto* m = static_cast<omni_mutex*>(mutex);
    bool locked = false;
    int rc = tns::guarded("tns_attr_set_value_shared", [&] {
        auto& attr = *static_cast<Tango::Attribute*>(attr_ptr);
        const long x = static_cast<long>(dim_x), y = static_cast<long>(dim_y);
        if (d->num_len < x * (y > 0 ? y : 1))
            Tango::Except::throw_exception("TangoNet_BadValue", "buffer smaller than its dimensions", "set_value");
        attr.set_attr_serial_model(Tango::ATTR_BY_USER);
        m->lock();
        locked = true;
        attr.set_user_attr_mutex(m);
        switch (attr.get_data_type()) {
        case Tango::DEV_BOOLEAN: set_borrowed<Tango::DevBoolean>(attr, *d, x, y); break;
        case Tango::DEV_UCHAR: set_borrowed<Tango::DevUChar>(attr, *d, x, y); break;
        case Tango::DEV_SHORT: set_borrowed<Tango::DevShort>(attr, *d, x, y); break;
        case Tango::DEV_USHORT: set_borrowed<Tango::DevUShort>(attr, *d, x, y); break;
        case Tango::DEV_LONG: set_borrowed<Tango::DevLong>(attr, *d, x, y); break;
        case Tango::DEV_ULONG: set_borrowed<Tango::DevULong>(attr, *d, x, y); break;
        case Tango::DEV_LONG64: set_borrowed<Tango::DevLong64>(attr, *d, x, y); break;
        case Tango::DEV_ULONG64: set_borrowed<Tango::DevULong64>(attr, *d, x, y); break;
        case Tango::DEV_FLOAT: set_borrowed<Tango::DevFloat>(attr, *d, x, y); break;
        case Tango::DEV_DOUBLE: set_borrowed<Tango::DevDouble>(attr, *d, x, y); break;
        default:
            Tango::Except::throw_exception("TangoNet_UnsupportedType", "shared buffers hold numbers", "set_value");
        }
    });
    if (rc != 0 && locked)
        m->unlock();
    return rc;
}
