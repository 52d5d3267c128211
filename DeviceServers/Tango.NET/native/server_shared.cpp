// Images served without a copy: the reply points into a buffer C# keeps pinned, and a mutex that cppTango
// releases once the reply has been sent keeps C# from rewriting the buffer meanwhile (ATTR_BY_USER model).
#include "server.hpp"
#include "values.hpp"

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
        const int type = attr.get_data_type();
        const bool number = type != Tango::DEV_STATE && type != Tango::DEV_ENUM &&
                            tns::for_attribute_element(type, [&](auto t) {
                                set_borrowed<typename decltype(t)::type>(attr, *d, x, y);
                            });
        if (!number)
            Tango::Except::throw_exception("TangoNet_UnsupportedType", "shared buffers hold numbers", "set_value");
    });
    if (rc != 0 && locked)
        m->unlock();
    return rc;
}
