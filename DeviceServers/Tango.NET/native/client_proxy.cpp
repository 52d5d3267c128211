// DeviceProxy exports, and the value / table holders they hand to C#.
#include "client_common.hpp"

using tns::client_call;
using tns::Table;
using tns::Value;
using tns::Values;
using Proxy = Tango::DeviceProxy;

namespace {

Table* single_row(std::vector<std::string> row) {
    auto* t = new Table();
    t->rows.push_back(std::move(row));
    return t;
}

}  // namespace

// ---- holders ----

TNS_API int tns_values_count(const Values* v) { return static_cast<int>(v->items.size()); }

// Copies the i-th value's view; a failed attribute read returns -1 with its errors on this thread's channel.
TNS_API int tns_values_get(const Values* v, int i, tns_value* out) {
    const auto& item = v->items[static_cast<size_t>(i)];
    *out = item.view;
    if (item.errors.empty())
        return 0;
    tns::last_errors() = item.errors;
    return -1;
}

TNS_API void tns_values_free(Values* v) { delete v; }

TNS_API int tns_table_rows(const Table* t) { return static_cast<int>(t->rows.size()); }
TNS_API int tns_table_cols(const Table* t, int row) { return static_cast<int>(t->rows[static_cast<size_t>(row)].size()); }
TNS_API const char* tns_table_cell(const Table* t, int row, int col) {
    return t->rows[static_cast<size_t>(row)][static_cast<size_t>(col)].c_str();
}
TNS_API void tns_table_free(Table* t) { delete t; }

// ---- DeviceProxy ----

TNS_API int tns_proxy_create(const char* name, Proxy** out) {
    return client_call("tns_proxy_create", [&] { *out = new Proxy(name); });
}

TNS_API int tns_proxy_destroy(Proxy* p) {
    return client_call("tns_proxy_destroy", [&] { delete p; });
}

TNS_API int tns_proxy_ping(Proxy* p, int32_t* micros) {
    return client_call("tns_proxy_ping", [&] { *micros = p->ping(); });
}

TNS_API int tns_proxy_state(Proxy* p, int32_t* state) {
    return client_call("tns_proxy_state", [&] { *state = static_cast<int32_t>(p->state()); });
}

// [[status]]
TNS_API int tns_proxy_status(Proxy* p, Table** out) {
    return client_call("tns_proxy_status", [&] { *out = single_row({p->status()}); });
}

// [[name, dev_class, server_id, server_host, server_version, doc_url, dev_type]]
TNS_API int tns_proxy_info(Proxy* p, Table** out) {
    return client_call("tns_proxy_info", [&] {
        const auto info = p->info();
        *out = single_row({p->dev_name(), info.dev_class, info.server_id, info.server_host,
                           std::to_string(info.server_version), info.doc_url, info.dev_type});
    });
}

// [[name]] (local: no call to the device)
TNS_API int tns_proxy_name(Proxy* p, Table** out) {
    return client_call("tns_proxy_name", [&] { *out = single_row({p->dev_name()}); });
}

TNS_API int tns_proxy_set_timeout(Proxy* p, int32_t millis) {
    return client_call("tns_proxy_set_timeout", [&] { p->set_timeout_millis(millis); });
}

TNS_API int tns_proxy_get_timeout(Proxy* p, int32_t* millis) {
    return client_call("tns_proxy_get_timeout", [&] { *millis = p->get_timeout_millis(); });
}

// source: Tango::DevSource (0 DEV, 1 CACHE, 2 CACHE_DEV)
TNS_API int tns_proxy_set_source(Proxy* p, int32_t source) {
    return client_call("tns_proxy_set_source", [&] { p->set_source(static_cast<Tango::DevSource>(source)); });
}

// in may be NULL for DevVoid; *out holds one value (type DEV_VOID when the command returns nothing).
TNS_API int tns_proxy_command(Proxy* p, const char* name, const tns_value* in, Values** out) {
    return client_call("tns_proxy_command", [&] {
        std::shared_ptr<Tango::DeviceData> result;
        if (in) {
            auto arg = tns::to_device_data(*in);
            result = std::make_shared<Tango::DeviceData>(p->command_inout(name, arg));
        } else {
            result = std::make_shared<Tango::DeviceData>(p->command_inout(name));
        }
        std::unique_ptr<Values> values(new Values());
        values->items.resize(1);
        tns::from_device_data(result, values->items[0]);
        *out = values.release();
    });
}

// One value per name; a failed attribute is reported by tns_values_get, not here.
TNS_API int tns_proxy_read(Proxy* p, const char* const* names, int32_t count, Values** out) {
    return client_call("tns_proxy_read", [&] {
        std::vector<std::string> list(names, names + count);
        std::unique_ptr<std::vector<Tango::DeviceAttribute>> read(p->read_attributes(list));
        std::unique_ptr<Values> values(new Values());
        values->items.resize(read->size());
        for (size_t i = 0; i < read->size(); ++i)
            tns::from_attribute((*read)[i], values->items[i]);
        *out = values.release();
    });
}

TNS_API int tns_proxy_write(Proxy* p, const tns_value* in) {
    return client_call("tns_proxy_write", [&] {
        Tango::DeviceAttribute da;
        tns::to_attribute(*in, da);
        p->write_attribute(da);
    });
}

// Writes `count` attributes in one call. When some fail, the error stacks of each (their first description
// prefixed with the attribute's name) come first, then cppTango's summary.
TNS_API int tns_proxy_write_many(Proxy* p, const tns_value* values, int32_t count) {
    return client_call("tns_proxy_write_many", [&] {
        std::vector<Tango::DeviceAttribute> list(static_cast<size_t>(count));
        for (int32_t i = 0; i < count; ++i)
            tns::to_attribute(values[i], list[static_cast<size_t>(i)]);
        try {
            p->write_attributes(list);
        } catch (const Tango::NamedDevFailedList& e) {
            Tango::DevErrorList all;
            for (const auto& failed : e.err_list) {
                for (CORBA::ULong i = 0; i < failed.err_stack.length(); ++i) {
                    Tango::DevError err = failed.err_stack[i];
                    if (i == 0)
                        err.desc = Tango::string_dup((failed.name + ": " + err.desc.in()).c_str());
                    all.length(all.length() + 1);
                    all[all.length() - 1] = err;
                }
            }
            for (CORBA::ULong i = 0; i < e.errors.length(); ++i) {
                all.length(all.length() + 1);
                all[all.length() - 1] = e.errors[i];
            }
            throw Tango::DevFailed(all);
        }
    });
}

// [[name1, name2, ...]]
TNS_API int tns_proxy_attribute_list(Proxy* p, Table** out) {
    return client_call("tns_proxy_attribute_list", [&] {
        std::unique_ptr<std::vector<std::string>> names(p->get_attribute_list());
        *out = single_row(*names);
    });
}

// [[name, data_type, data_format, writable, max_dim_x, max_dim_y, description, label, unit, standard_unit,
//   display_unit, format, min_value, max_value, min_alarm, max_alarm, disp_level, writable_attr_name],
//  [enum labels...]]
Table* tns::attribute_config_table(const Tango::AttributeInfoEx& c) {
    std::unique_ptr<Table> t(single_row({c.name, std::to_string(c.data_type), std::to_string(c.data_format),
                                         std::to_string(c.writable), std::to_string(c.max_dim_x),
                                         std::to_string(c.max_dim_y), c.description, c.label, c.unit,
                                         c.standard_unit, c.display_unit, c.format, c.min_value, c.max_value,
                                         c.alarms.min_alarm, c.alarms.max_alarm, std::to_string(c.disp_level),
                                         c.writable_attr_name}));
    t->rows.push_back(c.enum_labels);
    return t.release();
}

TNS_API int tns_proxy_attribute_query(Proxy* p, const char* name, Table** out) {
    return client_call("tns_proxy_attribute_query", [&] { *out = tns::attribute_config_table(p->attribute_query(name)); });
}

// one row per command: [name, in_type, out_type, in_type_desc, out_type_desc, disp_level]
TNS_API int tns_proxy_command_query(Proxy* p, Table** out) {
    return client_call("tns_proxy_command_query", [&] {
        std::unique_ptr<Tango::CommandInfoList> cmds(p->command_list_query());
        std::unique_ptr<Table> t(new Table());
        for (const auto& c : *cmds)
            t->rows.push_back({c.cmd_name, std::to_string(c.in_type), std::to_string(c.out_type), c.in_type_desc,
                               c.out_type_desc, std::to_string(c.disp_level)});
        *out = t.release();
    });
}

// period_ms > 0 starts (or changes) polling; 0 stops it.
TNS_API int tns_proxy_poll(Proxy* p, const char* name, int32_t period_ms) {
    return client_call("tns_proxy_poll", [&] {
        if (period_ms > 0)
            p->poll_attribute(name, period_ms);
        else
            p->stop_poll_attribute(name);
    });
}

// *period_ms = the polling period, or 0 when the attribute is not polled.
TNS_API int tns_proxy_poll_period(Proxy* p, const char* name, int32_t* period_ms) {
    return client_call("tns_proxy_poll_period", [&] {
        *period_ms = p->is_attribute_polled(name) ? p->get_attribute_poll_period(name) : 0;
    });
}
