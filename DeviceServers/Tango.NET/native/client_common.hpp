// Client-side plumbing of the shim: the value view shared with C#, owned value holders, string tables.
#pragma once
#include "common.hpp"
#include <memory>
#include <cstdint>

// One Tango value as C# sees it: a tagged view over memory the shim owns (out) or C# pins (in).
//  - type: for attributes the element type (DEV_SHORT, DEV_STRING, DEV_ENUM, ...); for commands the argument
//    type (DEV_SHORT, DEVVAR_SHORTARRAY, DEVVAR_LONGSTRINGARRAY, DEV_ENCODED, ...).
//  - data/count: the elements (read part for attributes); strings are `const char* const*`; DEV_ENCODED bytes.
//  - data2/count2: attributes: the written part; Var{Long,Double}StringArray: the strings; else unused.
//  - text: DEV_ENCODED format.
// The server's callbacks use the smaller tns_data (server.hpp) instead: see the note there.
extern "C" struct tns_value {
    int32_t type;
    int32_t format;   // Tango::AttrDataFormat; -1 for command data
    int32_t quality;  // Tango::AttrQuality
    int32_t dim_x, dim_y, w_dim_x, w_dim_y;
    int32_t time_usec;
    int64_t time_sec;
    int64_t count;
    const void* data;
    int64_t count2;
    const void* data2;
    const char* text;
    const char* name;
};

namespace tns {

// Runs f on an omni-known thread, guarded (no exception crosses the C ABI).
template <typename F>
int client_call(const char* origin, F&& f) noexcept {
    return guarded(origin, [&] {
        ensure_omni_thread();
        f();
    });
}

// Owns everything a tns_value view of a read value points at.
struct Value {
    tns_value view{};
    std::shared_ptr<void> owner;            // the CORBA sequence or DeviceData the view points into
    std::vector<std::string> strings;
    std::vector<const char*> ptrs, ptrs2;
    std::string name, text;
    std::vector<Error> errors;              // a failed attribute read: its error stack
    Value() { view.format = -1; }
};

struct Values {
    std::vector<Value> items;
};

// Rows of strings: lists, properties ([name, values...]), query results (documented per export).
struct Table {
    std::vector<std::vector<std::string>> rows;
};

// An attribute's configuration as the table tns_proxy_attribute_query returns (client_proxy.cpp).
Table* attribute_config_table(const Tango::AttributeInfoEx& c);

void from_attribute(Tango::DeviceAttribute& da, Value& v);
void from_device_data(const std::shared_ptr<Tango::DeviceData>& dd, Value& v);
Tango::DeviceData to_device_data(const tns_value& in);
void to_attribute(const tns_value& in, Tango::DeviceAttribute& da);

// Splits a flat cell array into rows of the given lengths (C# passes tables this way).
std::vector<std::vector<std::string>> rows_of(const char* const* cells, const int32_t* row_lengths, int32_t rows);

}  // namespace tns
