// Device classes declared from C#: a generic DeviceClass, Device_5Impl, Attr and Command whose behaviour is a
// call into C#. Also the per-device exports (state, status, events, properties, dynamic attributes, polling).
#include "server.hpp"
#include "server_internal.hpp"
#include "values.hpp"
#include <csignal>
#include <pthread.h>

namespace tns {

tns_callbacks callbacks{};

void enter_managed() {
    static thread_local bool unblocked = false;
    if (!unblocked) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGRTMIN);
        pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
        unblocked = true;
    }
}

void throw_callback_error(const char* origin) {
    const auto& errors = last_errors();
    Tango::DevErrorList list;
    list.length(static_cast<CORBA::ULong>(errors.empty() ? 1 : errors.size()));
    if (errors.empty()) {
        list[0].reason = Tango::string_dup("TangoNet_CallbackFailed");
        list[0].desc = Tango::string_dup("the C# callback failed without an error");
        list[0].origin = Tango::string_dup(origin);
        list[0].severity = Tango::ERR;
    }
    for (size_t i = 0; i < errors.size(); ++i) {
        list[i].reason = Tango::string_dup(errors[i].reason.c_str());
        list[i].desc = Tango::string_dup(errors[i].desc.c_str());
        list[i].origin = Tango::string_dup(errors[i].origin.c_str());
        list[i].severity = static_cast<Tango::ErrSeverity>(errors[i].severity);
    }
    throw Tango::DevFailed(list);
}

std::vector<ClassDef>& class_defs() {
    static std::vector<ClassDef> defs;
    return defs;
}

namespace {

void set_date_us(Tango::Attribute& attr, int64_t us) {
    struct timeval tv;
    tv.tv_sec = static_cast<time_t>(us / 1000000);
    tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
    attr.set_date(tv);
}

bool state_allowed(uint32_t mask, Tango::DeviceImpl* dev) {
    return mask == 0 || (mask & (1u << static_cast<int>(dev->get_state()))) != 0;
}

bool callback_allows(TnsDevice* dev, int32_t kind, int32_t id, const char* name) {
    int32_t allowed = 1;
    enter_managed();
    if (callbacks.is_allowed(dev->handle(), kind, id, &allowed) != 0)
        throw_callback_error(name);
    return allowed != 0;
}

using SlotSetter = void (*)(Tango::Attribute&, void*);

template <typename T>
void set_from_slot(Tango::Attribute& attr, void* slot) {
    attr.set_value(static_cast<T*>(slot), 1, 0, false);
}

SlotSetter slot_setter(const AttrDef& def) {
    SlotSetter setter = nullptr;
    if (def.scalar_slot && def.format == Tango::SCALAR)
        for_attribute_element(def.type, [&](auto t) { setter = &set_from_slot<typename decltype(t)::type>; });
    return setter;
}

template <typename Base>
class GenAttr : public Base {
public:
    template <typename... Args>
    GenAttr(const AttrDef& def, Args&&... args) : Base(std::forward<Args>(args)...), def_(def), slot_setter_(slot_setter(def)) {}

    void read(Tango::DeviceImpl* dev, Tango::Attribute& attr) override {
        auto* device = static_cast<TnsDevice*>(dev);
        enter_managed();
        if (slot_setter_) {
            // Numbers take one call into C# and no allocation: C# writes the value where cppTango sends it from.
            uint64_t& slot = device->value_slot(def_.id);
            tns_read_meta meta{Tango::ATTR_VALID, 0, 0};
            if (callbacks.read_scalar(device->handle(), def_.id, &slot, &meta) != 0)
                throw_callback_error(def_.name.c_str());
            slot_setter_(attr, &slot);
            if (meta.quality != Tango::ATTR_VALID)
                attr.set_quality(static_cast<Tango::AttrQuality>(meta.quality));
            if (meta.has_time)
                set_date_us(attr, meta.time_us);
            return;
        }
        if (callbacks.read_attr(device->handle(), def_.id, &attr) != 0)
            throw_callback_error(def_.name.c_str());
    }

    void write(Tango::DeviceImpl* dev, Tango::WAttribute& attr) override {
        enter_managed();
        if (callbacks.write_attr(static_cast<TnsDevice*>(dev)->handle(), def_.id, &attr) != 0)
            throw_callback_error(def_.name.c_str());
    }

    bool is_allowed(Tango::DeviceImpl* dev, Tango::AttReqType) override {
        if (!state_allowed(def_.allowed_states, dev))
            return false;
        return !def_.has_allowed_cb || callback_allows(static_cast<TnsDevice*>(dev), TNS_MEMBER_ATTRIBUTE, def_.id, def_.name.c_str());
    }

private:
    AttrDef def_;
    SlotSetter slot_setter_;
};

// While alive, this thread does not hold the device monitor that cppTango's command_inout took for it (all its
// levels); at the end it takes them back, so the AutoTangoMonitor up the stack releases what it holds. Other requests
// to the device (reads, pings, the polling thread) run meanwhile. Only the device monitor (cppTango's default
// serialization, BY_DEVICE) is released: under BY_CLASS or BY_PROCESS the command keeps the class or process one.
class MonitorRelease {
public:
    MonitorRelease(Tango::DeviceImpl* dev, bool release) : monitor_(dev->get_dev_monitor()) {
        if (!release || monitor_.get_locking_thread_id() != omni_thread::self()->id())
            return;
        levels_ = monitor_.get_locking_ctr();
        for (long i = 0; i < levels_; ++i)
            monitor_.rel_monitor();
    }

    ~MonitorRelease() {
        for (long i = 0; i < levels_; ++i) {
            // the other holders are short requests: wait through their monitor timeouts rather than fail a command
            // whose work is done
            for (;;) {
                try {
                    monitor_.get_monitor();
                    break;
                } catch (Tango::DevFailed&) {
                }
            }
        }
    }

    MonitorRelease(const MonitorRelease&) = delete;
    MonitorRelease& operator=(const MonitorRelease&) = delete;

private:
    Tango::TangoMonitor& monitor_;
    long levels_ = 0;
};

class GenCmd : public Tango::Command {
public:
    explicit GenCmd(const CmdDef& def)
        : Tango::Command(def.name.c_str(), static_cast<Tango::CmdArgType>(def.in_type),
                         static_cast<Tango::CmdArgType>(def.out_type), def.in_desc.c_str(), def.out_desc.c_str(),
                         static_cast<Tango::DispLevel>(def.disp_level)),
          def_(def) {
        if (def.polling_period > 0)
            set_polling_period(def.polling_period);
    }

    CORBA::Any* execute(Tango::DeviceImpl* dev, const CORBA::Any& in) override {
        struct Ctx {
            GenCmd* self;
            TnsDevice* dev;
            CORBA::Any* out;
            int rc;
        } ctx{this, static_cast<TnsDevice*>(dev), nullptr, 0};
        MonitorRelease released(dev, def_.releases_monitor);
        with_command_arg(*this, def_.in_type, in, [](const tns_data& d, void* p) {
            auto* c = static_cast<Ctx*>(p);
            enter_managed();
            c->rc = callbacks.command(c->dev->handle(), c->self->def_.id, &d, &c->out);
        }, &ctx);
        std::unique_ptr<CORBA::Any> out(ctx.out);
        if (ctx.rc != 0)
            throw_callback_error(def_.name.c_str());
        if (!out)
            out.reset(make_any(def_.out_type, tns_data{}));
        return out.release();
    }

    bool is_allowed(Tango::DeviceImpl* dev, const CORBA::Any&) override {
        if (!state_allowed(def_.allowed_states, dev))
            return false;
        return !def_.has_allowed_cb || callback_allows(static_cast<TnsDevice*>(dev), TNS_MEMBER_COMMAND, def_.id, def_.name.c_str());
    }

private:
    CmdDef def_;
};

}  // namespace

Tango::Attr* make_attr(const AttrDef& def) {
    const auto type = static_cast<long>(def.type);
    const auto wt = static_cast<Tango::AttrWriteType>(def.write_type);
    const auto level = static_cast<Tango::DispLevel>(def.disp_level);
    Tango::Attr* a;
    switch (def.format) {
    case Tango::SCALAR:
        a = def.assoc.empty() ? new GenAttr<Tango::Attr>(def, def.name.c_str(), type, level, wt)
                              : new GenAttr<Tango::Attr>(def, def.name.c_str(), type, level, wt, def.assoc.c_str());
        break;
    case Tango::SPECTRUM: a = new GenAttr<Tango::SpectrumAttr>(def, def.name.c_str(), type, wt, def.max_x, level); break;
    default: a = new GenAttr<Tango::ImageAttr>(def, def.name.c_str(), type, wt, def.max_x, def.max_y, level); break;
    }
    Tango::UserDefaultAttrProp props;
    for (const auto& kv : def.props) {
        const auto& k = kv.first;
        const char* v = kv.second.c_str();
        if (k == "label") props.set_label(v);
        else if (k == "description") props.set_description(v);
        else if (k == "unit") props.set_unit(v);
        else if (k == "standard_unit") props.set_standard_unit(v);
        else if (k == "display_unit") props.set_display_unit(v);
        else if (k == "format") props.set_format(v);
        else if (k == "min_value") props.set_min_value(v);
        else if (k == "max_value") props.set_max_value(v);
        else if (k == "min_alarm") props.set_min_alarm(v);
        else if (k == "max_alarm") props.set_max_alarm(v);
        else if (k == "min_warning") props.set_min_warning(v);
        else if (k == "max_warning") props.set_max_warning(v);
        else if (k == "delta_t") props.set_delta_t(v);
        else if (k == "delta_val") props.set_delta_val(v);
        else if (k == "abs_change") props.set_event_abs_change(v);
        else if (k == "rel_change") props.set_event_rel_change(v);
        else if (k == "period") props.set_event_period(v);
        else if (k == "archive_abs_change") props.set_archive_event_abs_change(v);
        else if (k == "archive_rel_change") props.set_archive_event_rel_change(v);
        else if (k == "archive_period") props.set_archive_event_period(v);
        else {
            delete a;
            Tango::Except::throw_exception("TangoNet_BadProperty", "unknown attribute property " + k, "make_attr");
        }
    }
    if (!def.enum_labels.empty()) {
        std::vector<std::string> labels = def.enum_labels;
        props.set_enum_labels(labels);
    }
    a->set_default_properties(props);
    if (def.memorized != TNS_MEMORIZED_NO) {
        a->set_memorized();
        a->set_memorized_init(def.memorized == TNS_MEMORIZED_WRITTEN_AT_INIT);
    }
    if (def.change_event != TNS_PUSH_NONE)
        a->set_change_event(true, def.change_event == TNS_PUSH_BY_CODE_CHECKED);
    if (def.archive_event != TNS_PUSH_NONE)
        a->set_archive_event(true, def.archive_event == TNS_PUSH_BY_CODE_CHECKED);
    if (def.data_ready_event > 0)
        a->set_data_ready_event(true);
    if (def.polling_period > 0)
        a->set_polling_period(def.polling_period);
    return a;
}

AttrDef to_def(const tns_attr_desc& d) {
    AttrDef def;
    def.name = d.name;
    def.assoc = d.assoc ? d.assoc : "";
    def.id = d.id;
    def.type = d.type;
    def.format = d.format;
    def.write_type = d.write_type;
    def.max_x = d.max_x;
    def.max_y = d.max_y;
    def.disp_level = d.disp_level;
    def.memorized = d.memorized;
    def.allowed_states = d.allowed_states;
    def.has_allowed_cb = d.has_allowed_cb != 0;
    def.change_event = d.change_event;
    def.archive_event = d.archive_event;
    def.data_ready_event = d.data_ready_event;
    def.polling_period = d.polling_period;
    def.scalar_slot = d.scalar_slot != 0;
    for (int i = 0; i < d.prop_count; ++i)
        def.props.emplace_back(d.props[2 * i], d.props[2 * i + 1]);
    for (int i = 0; i < d.enum_label_count; ++i)
        def.enum_labels.emplace_back(d.enum_labels[i]);
    return def;
}

// ---- TnsDevice ----

TnsDevice::TnsDevice(TnsClass* cls, const std::string& name, int32_t cls_index)
    : Tango::Device_5Impl(cls, const_cast<std::string&>(name)), cls_index_(cls_index) {
    // 9.3.4 reads poll_old_factor only from the DB: without one, every cache read would say "not updated".
    if (!Tango::Util::_UseDb)
        set_poll_old_factor(Tango::DEFAULT_POLL_OLD_FACTOR);
    enter_managed();
    handle_ = callbacks.create(cls_index, this, name.c_str());
    if (handle_ == 0)
        throw_callback_error(name.c_str());
    init_device();
}

TnsDevice::~TnsDevice() {
    try {
        delete_device();
    } catch (...) {
        // the destructor must not throw; the C# side has logged the failure
    }
    enter_managed();
    callbacks.destroy(handle_);
}

void TnsDevice::init_device() {
    enter_managed();
    if (callbacks.init(handle_) != 0)
        throw_callback_error("init_device");
}

void TnsDevice::delete_device() {
    enter_managed();
    if (callbacks.uninit(handle_) != 0)
        throw_callback_error("delete_device");
}

Tango::DevState TnsDevice::dev_state() {
    if (!class_defs()[cls_index_].has_state_cb)
        return Tango::Device_5Impl::dev_state();
    int32_t st = 0;
    enter_managed();
    if (callbacks.state(handle_, &st) != 0)
        throw_callback_error("State");
    set_state(static_cast<Tango::DevState>(st));
    return get_state();
}

Tango::ConstDevString TnsDevice::dev_status() {
    if (class_defs()[cls_index_].has_status_cb) {
        enter_managed();
        if (callbacks.status(handle_) != 0)
            throw_callback_error("Status");
    }
    std::lock_guard<std::mutex> lock(status_mutex_);
    status_copy_ = device_status;
    return status_copy_.c_str();
}

void TnsDevice::poll(bool command, const std::string& name, int period_ms) {
    if (command)
        period_ms > 0 ? poll_command(name, period_ms) : stop_poll_command(name);
    else
        period_ms > 0 ? poll_attribute(name, period_ms) : stop_poll_attribute(name);
}

void TnsDevice::set_status_safe(const char* s) {
    std::lock_guard<std::mutex> lock(status_mutex_);
    device_status = s;
}

// ---- TnsClass ----

TnsClass::TnsClass(const std::string& name, int32_t index) : Tango::DeviceClass(const_cast<std::string&>(name)), index_(index) {
    // what Pogo's set_default_property does: the descriptions and defaults Jive's property wizard shows
    for (auto p : class_defs()[index_].props) {
        if (p.scope == TNS_PROPERTY_CLASS)
            add_wiz_class_prop(p.name, p.desc, p.def);
        else
            add_wiz_dev_prop(p.name, p.desc, p.def);
    }
}

void TnsClass::command_factory() {
    for (const auto& c : class_defs()[index_].cmds)
        command_list.push_back(new GenCmd(c));
}

void TnsClass::attribute_factory(std::vector<Tango::Attr*>& list) {
    for (const auto& a : class_defs()[index_].attrs)
        list.push_back(make_attr(a));
}

void TnsClass::device_factory(const Tango::DevVarStringArray* names) {
    for (CORBA::ULong i = 0; i < names->length(); ++i) {
        // without a DB, a class that -dlist names no device for gets a placeholder device: skip it
        if (!Tango::Util::_UseDb && std::string((*names)[i].in()) == "NoName")
            continue;
        create_one((*names)[i].in());
    }
}

TnsDevice* TnsClass::create_one(const std::string& name) {
    auto* dev = new TnsDevice(this, name, index_);
    device_list.push_back(dev);
    if (Tango::Util::_UseDb && !Tango::Util::_FileDb)
        export_device(dev);
    else
        export_device(dev, dev->get_name().c_str());
    return dev;
}

Tango::Command* make_command(const CmdDef& def) { return new GenCmd(def); }

}  // namespace tns

using tns::guarded;

// ---- class definition (before tns_server_init) ----

TNS_API int tns_server_set_callbacks(const tns_callbacks* cb) {
    return guarded("tns_server_set_callbacks", [&] { tns::callbacks = *cb; });
}

TNS_API int tns_class_define(const char* name, int32_t has_state_cb, int32_t has_status_cb) {
    int index = -1;
    int rc = guarded("tns_class_define", [&] {
        tns::ClassDef def;
        def.name = name;
        def.has_state_cb = has_state_cb != 0;
        def.has_status_cb = has_status_cb != 0;
        tns::class_defs().push_back(std::move(def));
        index = static_cast<int>(tns::class_defs().size()) - 1;
    });
    return rc < 0 ? rc : index;
}

TNS_API int tns_class_add_attr(int32_t cls, const tns_attr_desc* desc) {
    return guarded("tns_class_add_attr", [&] { tns::class_defs().at(cls).attrs.push_back(tns::to_def(*desc)); });
}

TNS_API int tns_class_add_cmd(int32_t cls, const tns_cmd_desc* d) {
    return guarded("tns_class_add_cmd", [&] {
        tns::CmdDef c;
        c.name = d->name;
        c.id = d->id;
        c.in_type = d->in_type;
        c.out_type = d->out_type;
        c.disp_level = d->disp_level;
        c.allowed_states = d->allowed_states;
        c.has_allowed_cb = d->has_allowed_cb != 0;
        c.polling_period = d->polling_period;
        c.in_desc = d->in_desc ? d->in_desc : "";
        c.out_desc = d->out_desc ? d->out_desc : "";
        c.releases_monitor = d->releases_monitor != 0;
        tns::class_defs().at(cls).cmds.push_back(std::move(c));
    });
}

TNS_API int tns_class_add_property(int32_t cls, int32_t scope, const char* name, const char* desc, const char* def) {
    return guarded("tns_class_add_property", [&] {
        tns::class_defs().at(cls).props.push_back(tns::PropDef{scope, name, desc ? desc : "", def ? def : ""});
    });
}

// ---- inside callbacks: values ----

TNS_API int tns_attr_set_value(void* attr, const tns_data* d, int64_t dim_x, int64_t dim_y) {
    return guarded("tns_attr_set_value", [&] {
        tns::set_attribute_value(*static_cast<Tango::Attribute*>(attr), *d, static_cast<long>(dim_x),
                                 static_cast<long>(dim_y));
    });
}

TNS_API int tns_attr_set_quality(void* attr, int32_t quality) {
    return guarded("tns_attr_set_quality", [&] {
        static_cast<Tango::Attribute*>(attr)->set_quality(static_cast<Tango::AttrQuality>(quality));
    });
}

// The view stays valid until the write callback returns.
TNS_API int tns_wattr_get_value(void* wattr, tns_data* d, int64_t* dim_x, int64_t* dim_y) {
    static thread_local std::vector<const char*> strings;
    return guarded("tns_wattr_get_value", [&] {
        auto& w = *static_cast<Tango::WAttribute*>(wattr);
        tns::get_write_value(w, *d, strings);
        *dim_x = w.get_w_dim_x();
        *dim_y = w.get_w_dim_y();
    });
}

TNS_API int tns_cmd_set_result(void* out, int32_t out_type, const tns_data* d) {
    return guarded("tns_cmd_set_result", [&] {
        auto** slot = static_cast<CORBA::Any**>(out);
        delete *slot;
        *slot = nullptr;
        *slot = tns::make_any(out_type, *d);
    });
}

// Called by a failing C# callback, outermost error first.
TNS_API void tns_cb_error_clear() { tns::last_errors().clear(); }

TNS_API void tns_cb_error_add(const char* reason, const char* desc, const char* origin, int32_t severity) {
    tns::last_errors().push_back(tns::Error{reason ? reason : "", desc ? desc : "", origin ? origin : "", severity});
}

// ---- device ----

TNS_API int tns_dev_set_state(void* dev, int32_t state) {
    return guarded("tns_dev_set_state", [&] {
        static_cast<tns::TnsDevice*>(dev)->set_state(static_cast<Tango::DevState>(state));
    });
}

TNS_API int32_t tns_dev_get_state(void* dev) {
    return static_cast<int32_t>(static_cast<tns::TnsDevice*>(dev)->get_state());
}

TNS_API int tns_dev_set_status(void* dev, const char* status) {
    return guarded("tns_dev_set_status", [&] { static_cast<tns::TnsDevice*>(dev)->set_status_safe(status); });
}

// Property values as strings, read from the Tango DB; count is a tns_property_count when there are none. The
// values stay valid until the next call on this thread.
static thread_local std::vector<std::string> g_prop_values;

TNS_API int tns_dev_get_property(void* dev, int32_t class_property, const char* name, int32_t* count) {
    return guarded("tns_dev_get_property", [&] {
        *count = TNS_PROPERTY_NO_DATABASE;
        g_prop_values.clear();
        if (!Tango::Util::_UseDb)
            return;
        *count = TNS_PROPERTY_NOT_SET;
        auto* d = static_cast<tns::TnsDevice*>(dev);
        Tango::DbData data;
        data.push_back(Tango::DbDatum(name));
        if (class_property == TNS_PROPERTY_CLASS)
            d->get_device_class()->get_db_class()->get_property(data);
        else
            d->get_db_device()->get_property(data);
        if (data[0].is_empty())
            return;
        data[0] >> g_prop_values;
        *count = static_cast<int32_t>(g_prop_values.size());
    });
}

TNS_API const char* tns_prop_value(int32_t i) {
    return i >= 0 && i < static_cast<int32_t>(g_prop_values.size()) ? g_prop_values[i].c_str() : "";
}

// kind: change, archive or user. Locks the device like DeviceImpl::push_*_event; from any thread.
TNS_API int tns_dev_push_event(void* dev, const char* attr_name, int32_t kind, const tns_data* d, int64_t dim_x,
                               int64_t dim_y, int32_t quality) {
    return guarded(attr_name, [&] {
        tns::ensure_omni_thread();
        auto* device = static_cast<tns::TnsDevice*>(dev);
        Tango::AutoTangoMonitor sync(device);
        Tango::Attribute& attr = device->get_device_attr()->get_attr_by_name(attr_name);
        tns::set_attribute_value(attr, *d, static_cast<long>(dim_x), static_cast<long>(dim_y));
        if (quality != Tango::ATTR_VALID)
            attr.set_quality(static_cast<Tango::AttrQuality>(quality));
        if (kind == TNS_EVENT_CHANGE) {
            attr.fire_change_event();
        } else if (kind == TNS_EVENT_ARCHIVE) {
            attr.fire_archive_event();
        } else if (kind == TNS_EVENT_USER) {
            std::vector<std::string> names;
            std::vector<double> values;
            attr.fire_event(names, values);
        } else {
            Tango::Except::throw_exception("TangoNet_BadEventKind", "no event of kind " + std::to_string(kind),
                                           "tns_dev_push_event");
        }
    });
}

TNS_API int tns_dev_push_data_ready(void* dev, const char* attr_name, int32_t counter) {
    return guarded(attr_name, [&] {
        tns::ensure_omni_thread();
        auto* device = static_cast<tns::TnsDevice*>(dev);
        Tango::AutoTangoMonitor sync(device);
        device->push_data_ready_event(attr_name, counter);
    });
}

TNS_API int tns_dev_set_event_flags(void* dev, const char* attr_name, int32_t kind, int32_t implemented, int32_t detect) {
    return guarded(attr_name, [&] {
        auto* device = static_cast<tns::TnsDevice*>(dev);
        if (kind == TNS_EVENT_CHANGE)
            device->set_change_event(attr_name, implemented != 0, detect != 0);
        else if (kind == TNS_EVENT_ARCHIVE)
            device->set_archive_event(attr_name, implemented != 0, detect != 0);
        else if (kind == TNS_EVENT_DATA_READY)
            device->get_device_attr()->get_attr_by_name(attr_name).set_data_ready_event(implemented != 0);
        else
            Tango::Except::throw_exception("TangoNet_BadEventKind", "no event flag of kind " + std::to_string(kind),
                                           "tns_dev_set_event_flags");
    });
}

TNS_API int tns_dev_add_attr(void* dev, const tns_attr_desc* desc) {
    return guarded(desc->name, [&] {
        tns::ensure_omni_thread();
        static_cast<tns::TnsDevice*>(dev)->add_attribute(tns::make_attr(tns::to_def(*desc)));
    });
}

TNS_API int tns_dev_remove_attr(void* dev, const char* name) {
    return guarded(name, [&] {
        tns::ensure_omni_thread();
        std::string n(name);
        static_cast<tns::TnsDevice*>(dev)->remove_attribute(n, true, false);
    });
}

TNS_API int tns_dev_poll(void* dev, int32_t member, const char* name, int32_t period_ms) {
    return guarded(name, [&] {
        tns::ensure_omni_thread();
        static_cast<tns::TnsDevice*>(dev)->poll(member == TNS_MEMBER_COMMAND, name, period_ms);
    });
}

TNS_API int tns_attr_set_date(void* attr, int64_t time_us) {
    return guarded("tns_attr_set_date", [&] { tns::set_date_us(*static_cast<Tango::Attribute*>(attr), time_us); });
}
