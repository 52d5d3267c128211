// Value marshalling between cppTango (DeviceAttribute, DeviceData) and the tns_value view, dispatched on the
// type table of values.hpp; read sequences are viewed in place, never copied on the native side.
#include "client_common.hpp"
#include "values.hpp"
#include <algorithm>

namespace {

using namespace Tango;
using tns::Error;
using tns::Value;

// ---- reading (cppTango -> view) ----

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
    tns::view_strings(*seq, 0, nread, v.ptrs);
    tns::view_strings(*seq, nread, total, v.ptrs2);
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

void take_attribute_state(DeviceAttribute& da, Value& v) {
    DevState st;
    if (!(da >> st))
        return;
    auto own = std::make_shared<DevState>(st);
    v.owner = own;
    v.view.data = own.get();
    v.view.count = 1;
}

// ---- commands ----

void set_strings(Value& v, const DevVarStringArray& seq, bool second) {
    auto& ptrs = second ? v.ptrs2 : v.ptrs;
    tns::view_strings(seq, 0, seq.length(), ptrs);
    (second ? v.view.data2 : v.view.data) = ptrs.data();
    (second ? v.view.count2 : v.view.count) = static_cast<int64_t>(ptrs.size());
}

// A DevVar{Long,Double}StringArray result: `numbers` is &Composite::lvalue or &Composite::dvalue.
template <typename Composite, typename NumSeq>
void take_numbers_and_strings(DeviceData& dd, NumSeq Composite::*numbers, Value& v) {
    const Composite* seq = nullptr;
    dd >> seq;
    v.view.data = (seq->*numbers).get_buffer();
    v.view.count = (seq->*numbers).length();
    set_strings(v, seq->svalue, true);
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
    // The State attribute arrives as a single state outside the sequences.
    if (v.view.type == DEV_STATE && da.get_data_format() == SCALAR) {
        take_attribute_state(da, v);
        return;
    }
    if (tns::for_attribute_element(v.view.type, [&](auto t) { take_attribute_seq<typename decltype(t)::seq>(da, v); }))
        return;
    switch (v.view.type) {
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
    if (tns::for_command_scalar(v.view.type, [&](auto t) {
            auto box = std::make_shared<typename decltype(t)::type>();
            dd >> *box;
            v.owner = box;
            v.view.data = box.get();
            v.view.count = 1;
        }))
        return;
    if (tns::for_command_array(v.view.type, [&](auto t) {
            const typename decltype(t)::seq* seq = nullptr;
            dd >> seq;
            v.view.data = seq->get_buffer();
            v.view.count = seq->length();
        }))
        return;
    switch (v.view.type) {
    case DEV_VOID:
        return;
    case DEV_STRING:
        v.strings.emplace_back();
        dd >> v.strings[0];
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
    case DEVVAR_LONGSTRINGARRAY:
        take_numbers_and_strings(dd, &DevVarLongStringArray::lvalue, v);
        return;
    case DEVVAR_DOUBLESTRINGARRAY:
        take_numbers_and_strings(dd, &DevVarDoubleStringArray::dvalue, v);
        return;
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
    if (for_command_scalar(in.type, [&](auto t) { dd << *static_cast<const typename decltype(t)::type*>(in.data); }) ||
        for_command_array(in.type, [&](auto t) { dd << new_seq<typename decltype(t)::seq>(in.data, in.count); }))
        return dd;
    const auto* strings = static_cast<const char* const*>(in.data);
    const auto* strings2 = static_cast<const char* const*>(in.data2);
    switch (in.type) {
    case DEV_VOID:
        break;
    case DEV_STRING:
        dd << strings[0];
        break;
    case DEVVAR_STRINGARRAY:
        dd << new_strings(strings, in.count);
        break;
    case DEVVAR_LONGSTRINGARRAY:
        dd << new_numbers_and_strings(&DevVarLongStringArray::lvalue, in.data, in.count, strings2, in.count2);
        break;
    case DEVVAR_DOUBLESTRINGARRAY:
        dd << new_numbers_and_strings(&DevVarDoubleStringArray::dvalue, in.data, in.count, strings2, in.count2);
        break;
    case DEV_ENCODED: {
        DevEncoded enc;
        fill_encoded(enc, in.text, in.data, in.count);
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
    if (for_attribute_element(in.type, [&](auto t) {
            da.insert(new_seq<typename decltype(t)::seq>(in.data, in.count), dim_x, dim_y);
        })) {
        if (in.type == DEV_ENUM)
            da.data_type = DEV_ENUM;  // inserted as its short index
    } else if (in.type == DEV_STRING) {
        da.insert(new_strings(static_cast<const char* const*>(in.data), in.count), dim_x, dim_y);
    } else if (in.type == DEV_ENCODED) {
        DevEncoded enc;
        fill_encoded(enc, in.text, in.data, in.count);
        da << enc;
    } else {
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
