// Event subscriptions: a CallBack that forwards cppTango's events to one C function pointer (a C#
// [UnmanagedCallersOnly] trampoline) on cppTango's event thread. Nothing may escape push_event.
#include "client_common.hpp"

extern "C" struct tns_event {
    const char* device;
    const char* attr_name;
    const char* event;         // "change", "periodic", "archive", "user_event", "data_ready", ...
    int32_t err;               // nonzero: the errors are on this thread's error channel (tns_error_*)
    int32_t ctr;               // data ready: the counter the server pushed
    int32_t data_type;         // data ready: the attribute's data type
    const tns::Values* value;  // attribute events without error: one value; else NULL
    const tns::Table* config;  // attribute configuration events without error: the configuration; else NULL
};

typedef void (*tns_event_fn)(intptr_t user, const tns_event* ev);

namespace {

class Forwarder : public Tango::CallBack {
public:
    Forwarder(tns_event_fn fn, intptr_t user) : fn_(fn), user_(user) {}

    void push_event(Tango::EventData* e) override {
        deliver(e, [&](tns_event& ev, Held& held) {
            if (e->err) {
                tns::set_errors(Tango::DevFailed(e->errors));
                ev.err = 1;
            } else if (e->attr_value != nullptr) {
                held.values.items.resize(1);
                tns::from_attribute(*e->attr_value, held.values.items[0]);
                ev.value = &held.values;
            }
        });
    }

    void push_event(Tango::AttrConfEventData* e) override {
        deliver(e, [&](tns_event& ev, Held& held) {
            if (e->err) {
                tns::set_errors(Tango::DevFailed(e->errors));
                ev.err = 1;
            } else if (e->attr_conf != nullptr) {
                held.config.reset(tns::attribute_config_table(*e->attr_conf));
                ev.config = held.config.get();
            }
        });
    }

    void push_event(Tango::DataReadyEventData* e) override {
        deliver(e, [&](tns_event& ev, Held&) {
            if (e->err) {
                tns::set_errors(Tango::DevFailed(e->errors));
                ev.err = 1;
            }
            ev.ctr = e->ctr;
            ev.data_type = e->attr_data_type;
        });
    }

private:
    // What an event points to, until the C# callback has returned.
    struct Held {
        tns::Values values;
        std::unique_ptr<tns::Table> config;
    };

    // Fills the event with fill(); a conversion failure is delivered as an error event instead.
    template <typename E, typename F>
    void deliver(E* e, F&& fill) noexcept {
        std::string device, attr, event;
        tns_event ev{};
        Held held;
        const int rc = tns::guarded("event callback", [&] {
            device = e->device ? e->device->dev_name() : "";
            attr = e->attr_name;
            event = e->event;
            fill(ev, held);
        });
        if (rc != 0) {
            ev = tns_event{};
            ev.err = 1;
        }
        ev.device = device.c_str();
        ev.attr_name = attr.c_str();
        ev.event = event.c_str();
        fn_(user_, &ev);  // the C# side catches everything
    }

    tns_event_fn fn_;
    intptr_t user_;
};

}  // namespace

// event_type: Tango::EventType (0 CHANGE, 2 PERIODIC, 3 ARCHIVE, 4 USER, 5 ATTR_CONF, 6 DATA_READY). The callback may run
// before this returns (the first value is pushed synchronously). *handle is passed back to tns_proxy_unsubscribe.
TNS_API int tns_proxy_subscribe(Tango::DeviceProxy* p, const char* attr, int32_t event_type, int32_t stateless,
                                tns_event_fn fn, intptr_t user, int32_t* id, void** handle) {
    return tns::client_call("tns_proxy_subscribe", [&] {
        std::unique_ptr<Forwarder> cb(new Forwarder(fn, user));
        *id = p->subscribe_event(attr, static_cast<Tango::EventType>(event_type), cb.get(), stateless != 0);
        *handle = cb.release();
    });
}

// After a successful return the callback is never called again (cppTango serialises unsubscription with
// delivery), so the C# side may free its state. On failure the callback stays alive: it may still be registered.
// Must not be called from inside the callback.
TNS_API int tns_proxy_unsubscribe(Tango::DeviceProxy* p, int32_t id, void* handle) {
    return tns::client_call("tns_proxy_unsubscribe", [&] {
        p->unsubscribe_event(id);
        delete static_cast<Forwarder*>(handle);
    });
}
