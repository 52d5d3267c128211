// Tango Database exports. Properties travel as string tables: rows [name, values...] for device and class
// properties, rows [attribute, property, values...] for attribute properties.
#include "client_common.hpp"

using tns::client_call;
using tns::Table;
using Db = Tango::Database;

namespace {

enum Owner : int32_t { DEVICE = 0, CLASS = 1 };

void check_owner(int32_t kind) {
    if (kind != DEVICE && kind != CLASS)
        Tango::Except::throw_exception("TangoNet_BadArgument", "property owner kind must be 0 (device) or 1 (class)",
                                       "tangoshim");
}

Table* list_row(const Tango::DbDatum& d) {
    auto* t = new Table();
    t->rows.push_back(d.value_string);
    return t;
}

// Attribute property rows grouped per attribute, in cppTango's layout: [attr << count, prop << values, ...].
Tango::DbData attribute_groups(const std::vector<std::vector<std::string>>& rows) {
    Tango::DbData data;
    size_t i = 0;
    while (i < rows.size()) {
        const auto& attr = rows[i].at(0);
        size_t j = i;
        while (j < rows.size() && rows[j].at(0) == attr)
            ++j;
        data.emplace_back(attr);
        data.back() << static_cast<short>(j - i);
        for (; i < j; ++i) {
            data.emplace_back(rows[i].at(1));
            std::vector<std::string> values(rows[i].begin() + 2, rows[i].end());
            if (!values.empty())
                data.back() << values;
        }
    }
    return data;
}

}  // namespace

// host NULL: TANGO_HOST (environment, then /etc/tangorc).
TNS_API int tns_db_create(const char* host, int32_t port, Db** out) {
    return client_call("tns_db_create", [&] {
        if (host == nullptr) {
            *out = new Db();
        } else {
            std::string h(host);
            *out = new Db(h, port);
        }
    });
}

TNS_API int tns_db_destroy(Db* db) {
    return client_call("tns_db_destroy", [&] { delete db; });
}

TNS_API int tns_db_add_server(Db* db, const char* server, const char* cls, const char* const* devices, int32_t n) {
    return client_call("tns_db_add_server", [&] {
        Tango::DbDevInfos infos;
        for (int32_t i = 0; i < n; ++i) {
            Tango::DbDevInfo info;
            info.name = devices[i];
            info._class = cls;
            info.server = server;
            infos.push_back(info);
        }
        std::string s(server);
        db->add_server(s, infos);
    });
}

TNS_API int tns_db_delete_server(Db* db, const char* server) {
    return client_call("tns_db_delete_server", [&] {
        std::string s(server);
        db->delete_server(s);
    });
}

TNS_API int tns_db_add_device(Db* db, const char* name, const char* cls, const char* server) {
    return client_call("tns_db_add_device", [&] {
        Tango::DbDevInfo info;
        info.name = name;
        info._class = cls;
        info.server = server;
        db->add_device(info);
    });
}

TNS_API int tns_db_delete_device(Db* db, const char* name) {
    return client_call("tns_db_delete_device", [&] { db->delete_device(name); });
}

// [[server/instance, ...]]
TNS_API int tns_db_server_list(Db* db, const char* filter, Table** out) {
    return client_call("tns_db_server_list", [&] {
        std::string f(filter);
        *out = list_row(db->get_server_list(f));
    });
}

// [[device, ...]]
TNS_API int tns_db_device_exported(Db* db, const char* filter, Table** out) {
    return client_call("tns_db_device_exported", [&] {
        std::string f(filter);
        *out = list_row(db->get_device_exported(f));
    });
}

// [[name, class_name, ds_full_name, host, exported, pid, ior, version, started_date, stopped_date]]
TNS_API int tns_db_device_info(Db* db, const char* name, Table** out) {
    return client_call("tns_db_device_info", [&] {
        std::string n(name);
        const auto i = db->get_device_info(n);
        auto* t = new Table();
        t->rows.push_back({i.name, i.class_name, i.ds_full_name, i.host, std::to_string(i.exported),
                           std::to_string(i.pid), i.ior, i.version, i.started_date, i.stopped_date});
        *out = t;
    });
}

// Starter's view of a server (DbPutServerInfo, as Astor writes it): host, controlled 0/1, start-up level.
TNS_API int tns_db_put_server_info(Db* db, const char* server, const char* host, int32_t controlled, int32_t level) {
    return client_call("tns_db_put_server_info", [&] {
        Tango::DbServerInfo info;
        info.name = server;
        info.host = host;
        info.mode = controlled;
        info.level = level;
        db->put_server_info(info);
    });
}

// [[name, host, controlled, level]]
TNS_API int tns_db_server_info(Db* db, const char* server, Table** out) {
    return client_call("tns_db_server_info", [&] {
        std::string s(server);
        const auto i = db->get_server_info(s);
        auto* t = new Table();
        t->rows.push_back({i.name, i.host, std::to_string(i.mode), std::to_string(i.level)});
        *out = t;
    });
}

// kind 0: device properties of `owner`, 1: class properties. No names: all of them. Rows [name, values...];
// a property that is not defined comes back as a row with its name only.
TNS_API int tns_db_get_properties(Db* db, int32_t kind, const char* owner, const char* const* names, int32_t n,
                                  Table** out) {
    return client_call("tns_db_get_properties", [&] {
        check_owner(kind);
        std::string o(owner);
        std::vector<std::string> wanted(names, names + n);
        if (n == 0) {
            std::string all("*");
            wanted = (kind == DEVICE ? db->get_device_property_list(o, all) : db->get_class_property_list(o))
                         .value_string;
        }
        Tango::DbData data;
        for (const auto& w : wanted)
            data.emplace_back(w);
        if (!data.empty()) {
            if (kind == DEVICE)
                db->get_device_property(o, data);
            else
                db->get_class_property(o, data);
        }
        std::unique_ptr<Table> t(new Table());
        for (const auto& d : data) {
            std::vector<std::string> row{d.name};
            row.insert(row.end(), d.value_string.begin(), d.value_string.end());
            t->rows.push_back(std::move(row));
        }
        *out = t.release();
    });
}

// rows [name, values...]
TNS_API int tns_db_put_properties(Db* db, int32_t kind, const char* owner, const char* const* cells,
                                  const int32_t* row_lengths, int32_t rows) {
    return client_call("tns_db_put_properties", [&] {
        check_owner(kind);
        Tango::DbData data;
        for (auto& row : tns::rows_of(cells, row_lengths, rows)) {
            data.emplace_back(row.at(0));
            std::vector<std::string> values(row.begin() + 1, row.end());
            data.back() << values;
        }
        std::string o(owner);
        if (kind == DEVICE)
            db->put_device_property(o, data);
        else
            db->put_class_property(o, data);
    });
}

TNS_API int tns_db_delete_properties(Db* db, int32_t kind, const char* owner, const char* const* names, int32_t n) {
    return client_call("tns_db_delete_properties", [&] {
        check_owner(kind);
        Tango::DbData data;
        for (int32_t i = 0; i < n; ++i)
            data.emplace_back(names[i]);
        std::string o(owner);
        if (kind == DEVICE)
            db->delete_device_property(o, data);
        else
            db->delete_class_property(o, data);
    });
}

// Attribute properties of a device (kind 0) or class (kind 1): rows [attribute, property, values...].
TNS_API int tns_db_get_attribute_properties(Db* db, int32_t kind, const char* owner, const char* const* attrs,
                                            int32_t n, Table** out) {
    return client_call("tns_db_get_attribute_properties", [&] {
        check_owner(kind);
        Tango::DbData data;
        for (int32_t i = 0; i < n; ++i)
            data.emplace_back(attrs[i]);
        std::string o(owner);
        if (kind == DEVICE)
            db->get_device_attribute_property(o, data);
        else
            db->get_class_attribute_property(o, data);
        std::unique_ptr<Table> t(new Table());
        size_t i = 0;
        while (i < data.size()) {
            const std::string attr = data[i].name;
            short count = 0;
            data[i] >> count;
            ++i;
            for (short k = 0; k < count && i < data.size(); ++k, ++i) {
                std::vector<std::string> row{attr, data[i].name};
                row.insert(row.end(), data[i].value_string.begin(), data[i].value_string.end());
                t->rows.push_back(std::move(row));
            }
        }
        *out = t.release();
    });
}

// rows [attribute, property, values...]
TNS_API int tns_db_put_attribute_properties(Db* db, int32_t kind, const char* owner, const char* const* cells,
                                            const int32_t* row_lengths, int32_t rows) {
    return client_call("tns_db_put_attribute_properties", [&] {
        check_owner(kind);
        auto data = attribute_groups(tns::rows_of(cells, row_lengths, rows));
        std::string o(owner);
        if (kind == DEVICE)
            db->put_device_attribute_property(o, data);
        else
            db->put_class_attribute_property(o, data);
    });
}

// rows [attribute, property]
TNS_API int tns_db_delete_attribute_properties(Db* db, int32_t kind, const char* owner, const char* const* cells,
                                               const int32_t* row_lengths, int32_t rows) {
    return client_call("tns_db_delete_attribute_properties", [&] {
        check_owner(kind);
        auto data = attribute_groups(tns::rows_of(cells, row_lengths, rows));
        std::string o(owner);
        if (kind == DEVICE)
            db->delete_device_attribute_property(o, data);
        else
            db->delete_class_attribute_property(o, data);
    });
}
