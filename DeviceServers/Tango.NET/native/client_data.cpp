// Value marshalling between cppTango (DeviceAttribute, DeviceData) and the tns_value view: one type switch
// per direction; sequences are viewed in place, never copied on the native side.
#include "client_common.hpp"
#include <algorithm>
#include <cstring>

namespace {

using namespace Tango;
using tns::Error;
using tns::Value;

// element type, command array type, C element type, CORBA sequence
#define TNS_NUMERIC_TYPES(X)                                                        \
    X(DEV_BOOLEAN, DEVVAR_BOOLEANARRAY, DevBoolean, DevVarBooleanArray)             \
    X(DEV_SHORT, DEVVAR_SHORTARRAY, DevShort, DevVarShortArray)                     \
    X(DEV_USHORT, DEVVAR_USHORTARRAY, DevUShort, DevVarUShortArray)                 \
    X(DEV_LONG, DEVVAR_LONGARRAY, DevLong, DevVarLongArray)                         \
    X(DEV_ULONG, DEVVAR_ULONGARRAY, DevULong, DevVarULongArray)                     \
    X(DEV_LONG64, DEVVAR_LONG64ARRAY, DevLong64, DevVarLong64Array)                 \
    X(DEV_ULONG64, DEVVAR_ULONG64ARRAY, DevULong64, DevVarULong64Array)             \
    X(DEV_FLOAT, DEVVAR_FLOATARRAY, DevFloat, DevVarFloatArray)                     \
    X(DEV_DOUBLE, DEVVAR_DOUBLEARRAY, DevDouble, DevVarDoubleArray)                 \
    X(DEV_UCHAR, DEVVAR_CHARARRAY, DevUChar, DevVarCharArray)

[[noreturn]] void unsupported(int type, const char* what) {
    Except::throw_exception("TangoNet_UnsupportedType",
                            std::string(what) + ": unsupported Tango type " + std::to_string(type), "tangoshim");
}

// ---- reading (cppTango -> view) ----

void view_strings(Value& v, const DevVarStringArray& seq, CORBA::ULong from, CORBA::ULong to,
                  std::vector<const char*>& ptrs) {
    for (CORBA::ULong i = from; i < to; ++i)
        ptrs.push_back(seq[i].in());
}

// Splits an attribute sequence into its read part (data) and written part (data2).
template <typename Seq>
void take_attribute_seq(DeviceAttribute& da, Value& v) {
    Seq* seq = nullptr;
    if (!(da >> seq) || seq == nullptr)
        return;  // no value (quality INVALID)
    std::shared_ptr<Seq> own(seq);
    v.owner = own;
    const auto total = static_cast<int64_t>(seq->length());
    const auto nread = std::min<int64_t>(total, da.get_nb_read());
    v.view.data = seq->get_buffer();
    v.view.count = nread;
    v.view.data2 = seq->get_buffer() + nread;
    v.view.count2 = total - nread;
}

void take_attribute_strings(DeviceAttribute& da, Value& v) {
    DevVarStringArray* seq = nullptr;
    if (!(da >> seq) || seq == nullptr)
        return;
    std::shared_ptr<DevVarStringArray> own(seq);
    v.owner = own;
    const auto total = seq->length();
    const auto nread = std::min<CORBA::ULong>(total, da.get_nb_read());
    view_strings(v, *seq, 0, nread, v.ptrs);
    view_strings(v, *seq, nread, total, v.ptrs2);
    v.view.data = v.ptrs.data();
    v.view.count = static_cast<int64_t>(v.ptrs.size());
    v.view.data2 = v.ptrs2.data();
    v.view.count2 = static_cast<int64_t>(v.ptrs2.size());
}

void take_attribute_encoded(DeviceAttribute& da, Value& v) {
    DevVarEncodedArray* seq = nullptr;
    if (!(da >> seq) || seq == nullptr || seq->length() == 0)
        return;
    std::shared_ptr<DevVarEncodedArray> own(seq);
    v.owner = own;
    v.text = (*seq)[0].encoded_format.in();
    v.view.text = v.text.c_str();
    v.view.data = (*seq)[0].encoded_data.get_buffer();
    v.view.count = (*seq)[0].encoded_data.length();
}

// The State attribute arrives as a single state outside the sequences; other state attributes as a sequence.
void take_attribute_state(DeviceAttribute& da, Value& v) {
    if (da.get_data_format() != SCALAR) {
        take_attribute_seq<DevVarStateArray>(da, v);
        return;
    }
    DevState st;
    if (!(da >> st))
        return;
    auto own = std::make_shared<DevState>(st);
    v.owner = own;
    v.view.data = own.get();
    v.view.count = 1;
}

// ---- commands ----

// DevUChar is an attribute type only: no command carries a scalar of it.
template <typename T>
void dd_insert_scalar(DeviceData& dd, T x) { dd << x; }
template <>
void dd_insert_scalar<DevUChar>(DeviceData&, DevUChar) { unsupported(DEV_UCHAR, "command argument"); }

template <typename T>
T dd_extract_scalar(DeviceData& dd) {
    T x{};
    dd >> x;
    return x;
}
template <>
DevUChar dd_extract_scalar<DevUChar>(DeviceData&) { unsupported(DEV_UCHAR, "command result"); }

template <typename T, typename Seq>
Seq* make_seq(const void* data, int64_t count) {
    auto* seq = new Seq();
    seq->length(static_cast<CORBA::ULong>(count));
    const T* p = static_cast<const T*>(data);
    for (int64_t i = 0; i < count; ++i)
        (*seq)[static_cast<CORBA::ULong>(i)] = p[i];
    return seq;
}

DevVarStringArray* make_string_seq(const void* data, int64_t count) {
    auto* seq = new DevVarStringArray();
    seq->length(static_cast<CORBA::ULong>(count));
    const auto* p = static_cast<const char* const*>(data);
    for (int64_t i = 0; i < count; ++i)
        (*seq)[static_cast<CORBA::ULong>(i)] = string_dup(p[i]);
    return seq;
}

void set_strings(Value& v, const DevVarStringArray& seq, bool second) {
    auto& ptrs = second ? v.ptrs2 : v.ptrs;
    view_strings(v, seq, 0, seq.length(), ptrs);
    (second ? v.view.data2 : v.view.data) = ptrs.data();
    (second ? v.view.count2 : v.view.count) = static_cast<int64_t>(ptrs.size());
}

}  // namespace

namespace tns {

void from_attribute(DeviceAttribute& da, Value& v) {
    v.name = da.get_name();
    v.view.name = v.name.c_str();
    if (da.has_failed()) {
        const auto& errs = da.get_err_stack();
        for (CORBA::ULong i = 0; i < errs.length(); ++i)
            v.errors.push_back(Error{errs[i].reason.in(), errs[i].desc.in(), errs[i].origin.in(),
                                     static_cast<int>(errs[i].severity)});
        return;
    }
    da.reset_exceptions(DeviceAttribute::isempty_flag);
    v.view.type = da.get_type();
    v.view.format = da.get_data_format();
    v.view.quality = da.get_quality();
    v.view.dim_x = da.get_dim_x();
    v.view.dim_y = da.get_dim_y();
    v.view.w_dim_x = da.get_written_dim_x();
    v.view.w_dim_y = da.get_written_dim_y();
    v.view.time_sec = da.time.tv_sec;
    v.view.time_usec = da.time.tv_usec;
    switch (v.view.type) {
#define X(elem, arr, T, Seq) \
    case elem:               \
        take_attribute_seq<Seq>(da, v); \
        break;
        TNS_NUMERIC_TYPES(X)
#undef X
    case DEV_ENUM:
        take_attribute_seq<DevVarShortArray>(da, v);
        break;
    case DEV_STATE:
        take_attribute_state(da, v);
        break;
    case DEV_STRING:
        take_attribute_strings(da, v);
        break;
    case DEV_ENCODED:
        take_attribute_encoded(da, v);
        break;
    default:
        unsupported(v.view.type, "read attribute");
    }
}

void from_device_data(const std::shared_ptr<DeviceData>& ddp, Value& v) {
    auto& dd = *ddp;
    v.owner = ddp;
    dd.reset_exceptions(DeviceData::isempty_flag);
    v.view.type = dd.is_empty() ? DEV_VOID : dd.get_type();
    switch (v.view.type) {
    case DEV_VOID:
        return;
#define X(elem, arr, T, Seq)                                      \
    case elem: {                                                  \
        auto box = std::make_shared<T>(dd_extract_scalar<T>(dd)); \
        v.owner = box;                                            \
        v.view.data = box.get();                                  \
        v.view.count = 1;                                         \
        return;                                                   \
    }                                                             \
    case arr: {                                                   \
        const Seq* seq = nullptr;                                 \
        dd >> seq;                                                \
        v.view.data = seq->get_buffer();                          \
        v.view.count = seq->length();                             \
        return;                                                   \
    }
        TNS_NUMERIC_TYPES(X)
#undef X
    case DEV_STATE: {
        auto box = std::make_shared<DevState>(dd_extract_scalar<DevState>(dd));
        v.owner = box;
        v.view.data = box.get();
        v.view.count = 1;
        return;
    }
    case DEV_STRING:
        v.strings.emplace_back(dd_extract_scalar<std::string>(dd));
        v.ptrs.push_back(v.strings[0].c_str());
        v.view.data = v.ptrs.data();
        v.view.count = 1;
        return;
    case DEVVAR_STRINGARRAY: {
        const DevVarStringArray* seq = nullptr;
        dd >> seq;
        set_strings(v, *seq, false);
        return;
    }
    case DEVVAR_LONGSTRINGARRAY: {
        const DevVarLongStringArray* seq = nullptr;
        dd >> seq;
        v.view.data = seq->lvalue.get_buffer();
        v.view.count = seq->lvalue.length();
        set_strings(v, seq->svalue, true);
        return;
    }
    case DEVVAR_DOUBLESTRINGARRAY: {
        const DevVarDoubleStringArray* seq = nullptr;
        dd >> seq;
        v.view.data = seq->dvalue.get_buffer();
        v.view.count = seq->dvalue.length();
        set_strings(v, seq->svalue, true);
        return;
    }
    case DEV_ENCODED: {
        const DevEncoded* enc = nullptr;
        dd >> enc;
        v.view.text = enc->encoded_format.in();
        v.view.data = enc->encoded_data.get_buffer();
        v.view.count = enc->encoded_data.length();
        return;
    }
    default:
        unsupported(v.view.type, "command result");
    }
}

DeviceData to_device_data(const tns_value& in) {
    DeviceData dd;
    switch (in.type) {
    case DEV_VOID:
        break;
#define X(elem, arr, T, Seq)                                         \
    case elem:                                                       \
        dd_insert_scalar<T>(dd, *static_cast<const T*>(in.data));    \
        break;                                                       \
    case arr:                                                        \
        dd << make_seq<T, Seq>(in.data, in.count);                   \
        break;
        TNS_NUMERIC_TYPES(X)
#undef X
    case DEV_STATE:
        dd << *static_cast<const DevState*>(in.data);
        break;
    case DEV_STRING:
        dd << static_cast<const char* const*>(in.data)[0];
        break;
    case DEVVAR_STRINGARRAY:
        dd << make_string_seq(in.data, in.count);
        break;
    case DEVVAR_LONGSTRINGARRAY: {
        auto* seq = new DevVarLongStringArray();
        std::unique_ptr<DevVarLongArray> l(make_seq<DevLong, DevVarLongArray>(in.data, in.count));
        std::unique_ptr<DevVarStringArray> s(make_string_seq(in.data2, in.count2));
        seq->lvalue = *l;
        seq->svalue = *s;
        dd << seq;
        break;
    }
    case DEVVAR_DOUBLESTRINGARRAY: {
        auto* seq = new DevVarDoubleStringArray();
        std::unique_ptr<DevVarDoubleArray> d(make_seq<DevDouble, DevVarDoubleArray>(in.data, in.count));
        std::unique_ptr<DevVarStringArray> s(make_string_seq(in.data2, in.count2));
        seq->dvalue = *d;
        seq->svalue = *s;
        dd << seq;
        break;
    }
    case DEV_ENCODED: {
        DevEncoded enc;
        enc.encoded_format = string_dup(in.text ? in.text : "");
        enc.encoded_data.length(static_cast<CORBA::ULong>(in.count));
        if (in.count > 0)
            std::memcpy(enc.encoded_data.get_buffer(), in.data, static_cast<size_t>(in.count));
        dd << enc;
        break;
    }
    default:
        unsupported(in.type, "command argument");
    }
    return dd;
}

void to_attribute(const tns_value& in, DeviceAttribute& da) {
    const int dim_x = in.format == SCALAR ? 1 : in.dim_x;
    const int dim_y = in.format == IMAGE ? in.dim_y : 0;
    switch (in.type) {
#define X(elem, arr, T, Seq)                                            \
    case elem:                                                          \
        da.insert(make_seq<T, Seq>(in.data, in.count), dim_x, dim_y);   \
        break;
        TNS_NUMERIC_TYPES(X)
#undef X
    case DEV_ENUM:
        da.insert(make_seq<DevShort, DevVarShortArray>(in.data, in.count), dim_x, dim_y);
        da.data_type = DEV_ENUM;
        break;
    case DEV_STATE:
        da.insert(make_seq<DevState, DevVarStateArray>(in.data, in.count), dim_x, dim_y);
        break;
    case DEV_STRING:
        da.insert(make_string_seq(in.data, in.count), dim_x, dim_y);
        break;
    case DEV_ENCODED: {
        DevEncoded enc;
        enc.encoded_format = string_dup(in.text ? in.text : "");
        enc.encoded_data.length(static_cast<CORBA::ULong>(in.count));
        if (in.count > 0)
            std::memcpy(enc.encoded_data.get_buffer(), in.data, static_cast<size_t>(in.count));
        da << enc;
        break;
    }
    default:
        unsupported(in.type, "write attribute");
    }
    da.data_format = static_cast<AttrDataFormat>(in.format);
    std::string name(in.name ? in.name : "");
    da.set_name(name);
}

std::vector<std::vector<std::string>> rows_of(const char* const* cells, const int32_t* row_lengths, int32_t rows) {
    std::vector<std::vector<std::string>> out(static_cast<size_t>(rows));
    for (int32_t r = 0; r < rows; ++r)
        for (int32_t c = 0; c < row_lengths[r]; ++c)
            out[static_cast<size_t>(r)].emplace_back(*cells++);
    return out;
}

}  // namespace tns
