// Server half of the shim: device classes described from C#, devices whose behaviour lives in C# callbacks.
// The C structs here are mirrored in Interop/ServerNative.cs; keep them in sync.
#pragma once
#include "common.hpp"
#include <cstdint>
#include <mutex>

extern "C" {

// A value crossing the boundary, borrowed for the duration of one call. `type` is a Tango::CmdArgType: the
// element type for attributes, the argument type for commands. Numbers (bool = 1 byte, DevState = 4 bytes)
// go through num/num_len, strings through str/str_len (Latin-1, NUL-terminated). DevEncoded: str[0] is the
// format and num the bytes; DevVar{Long,Double}StringArray: num holds the numbers and str the strings.
// The client's tns_value (client_common.hpp) views the same kinds of values but also carries what a read
// returns (quality, time, read and written halves, dimensions, name) and is owned by tns::Value; this one
// stays small because it crosses every server callback. Both convert through values.hpp's one type table.
struct tns_data {
    int32_t type;
    int32_t reserved;
    const void* num;
    int64_t num_len;
    const char* const* str;
    int64_t str_len;
};

// The small codes that cross the boundary, each named once here and mirrored as a C# enum in
// Interop/ServerNative.cs (same names in PascalCase, same values).
enum tns_member_kind : int32_t {  // is_allowed's kind, tns_dev_poll's member
    TNS_MEMBER_ATTRIBUTE = 0,
    TNS_MEMBER_COMMAND = 1,
};
enum tns_event_kind : int32_t {  // tns_dev_push_event (change, archive, user), tns_dev_set_event_flags (not user)
    TNS_EVENT_CHANGE = 0,
    TNS_EVENT_ARCHIVE = 1,
    TNS_EVENT_USER = 2,
    TNS_EVENT_DATA_READY = 3,
};
enum tns_event_push : int32_t {  // tns_attr_desc's change_event and archive_event
    TNS_PUSH_NONE = 0,
    TNS_PUSH_BY_CODE = 1,          // pushed by code, every push sent
    TNS_PUSH_BY_CODE_CHECKED = 2,  // pushed by code, sent when the attribute's event criteria say so
};
enum tns_memorized : int32_t {  // tns_attr_desc's memorized
    TNS_MEMORIZED_NO = 0,
    TNS_MEMORIZED_YES = 1,
    TNS_MEMORIZED_WRITTEN_AT_INIT = 2,  // memorized and written back to the device at start-up
};
enum tns_property_scope : int32_t {  // tns_dev_get_property, tns_class_add_property
    TNS_PROPERTY_DEVICE = 0,
    TNS_PROPERTY_CLASS = 1,
};
enum tns_property_count : int32_t {  // tns_dev_get_property's count when there are no values
    TNS_PROPERTY_NOT_SET = -1,      // the Tango DB has no value for it
    TNS_PROPERTY_NO_DATABASE = -2,  // the server runs without a Tango DB (-nodb)
};

// An attribute or a command as C# declares it. props: label/unit/... as key, value pairs (2 * prop_count).
struct tns_attr_desc {
    const char* name;
    int32_t id;
    int32_t type;
    int32_t format;
    int32_t write_type;
    int32_t max_x;
    int32_t max_y;
    int32_t disp_level;
    int32_t memorized;  // tns_memorized
    uint32_t allowed_states;  // bit per DevState; 0 = always allowed
    int32_t has_allowed_cb;
    int32_t change_event;  // tns_event_push
    int32_t archive_event;  // tns_event_push
    int32_t data_ready_event;
    int32_t polling_period;
    int32_t scalar_slot;  // 1: a number read through read_scalar into the device's value slot
    int32_t prop_count;
    const char* const* props;
    int32_t enum_label_count;
    const char* const* enum_labels;
    const char* assoc;  // READ_WITH_WRITE: the associated WRITE attribute
};

struct tns_cmd_desc {
    const char* name;
    int32_t id;
    int32_t in_type;
    int32_t out_type;
    int32_t disp_level;
    uint32_t allowed_states;
    int32_t has_allowed_cb;
    int32_t polling_period;
    const char* in_desc;
    const char* out_desc;
    int32_t releases_monitor;  // 1: the command runs with the device monitor released (see GenCmd::execute)
};

// What a scalar read returns beside its value: AttrValue<T>'s quality and time.
struct tns_read_meta {
    int32_t quality;  // Tango::AttrQuality
    int32_t has_time;
    int64_t time_us;  // since the Unix epoch
};

// Calls into C#. Each returns 0 on success or -1 after filling the thread's error stack (tns_cb_error_add).
struct tns_callbacks {
    intptr_t (*create)(int32_t cls, void* dev, const char* name);  // returns the C# handle, 0 on failure
    void (*destroy)(intptr_t handle);
    int32_t (*init)(intptr_t handle);
    int32_t (*uninit)(intptr_t handle);
    int32_t (*state)(intptr_t handle, int32_t* state);
    int32_t (*status)(intptr_t handle);
    int32_t (*read_attr)(intptr_t handle, int32_t id, void* attr);
    // A numeric scalar: C# writes the value into slot (8 bytes, aligned) and, when not valid, meta.
    int32_t (*read_scalar)(intptr_t handle, int32_t id, void* slot, tns_read_meta* meta);
    int32_t (*write_attr)(intptr_t handle, int32_t id, void* wattr);
    int32_t (*is_allowed)(intptr_t handle, int32_t kind, int32_t id, int32_t* allowed);  // kind: tns_member_kind
    int32_t (*command)(intptr_t handle, int32_t id, const tns_data* in, void* out);
};
}

namespace tns {

extern tns_callbacks callbacks;

// Before managed code runs on a thread cppTango created: unblock SIGRTMIN, the runtime's GC suspension signal.
void enter_managed();

// Throws the DevFailed that a failed callback left on this thread.
[[noreturn]] void throw_callback_error(const char* origin);

// Copies `d` into the attribute as its value (Tango frees the copy after sending it).
void set_attribute_value(Tango::Attribute& attr, const tns_data& d, long dim_x, long dim_y);

// Builds the reply of a command of type `out_type`.
CORBA::Any* make_any(int32_t out_type, const tns_data& d);

// Calls f with a tns_data view of a command argument.
void with_command_arg(Tango::Command& cmd, int32_t in_type, const CORBA::Any& in, void (*f)(const tns_data&, void*),
                      void* ctx);

// Fills d with a view of the attribute's written value.
void get_write_value(Tango::WAttribute& w, tns_data& d, std::vector<const char*>& strings);

}  // namespace tns
