// The shim's one table of Tango value types (TangoTypeTable.cs holds the same for C#) and the helpers that both
// halves use to build and view CORBA values. server_data.cpp and client_data.cpp dispatch on a type code with the
// for_* functions below and write each conversion once, as a generic lambda over the element type.
#pragma once
#include <tango.h>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace tns {

// One numeric Tango type. The codes travel with the C++ types because DevBoolean and DevUChar are the same
// C++ type (unsigned char): overloads that must tell them apart take the tag.
template <int Elem, int Arr, typename T, typename Seq>
struct numeric {
    static constexpr int element = Elem;
    static constexpr int array = Arr;  // the DevVar*Array command type, -1 if none
    using type = T;
    using seq = Seq;
};

// element type, command array type, C element type, CORBA sequence
#define TNS_NUMERIC_TYPES(X)                                                                          \
    X(Tango::DEV_BOOLEAN, Tango::DEVVAR_BOOLEANARRAY, Tango::DevBoolean, Tango::DevVarBooleanArray)   \
    X(Tango::DEV_SHORT, Tango::DEVVAR_SHORTARRAY, Tango::DevShort, Tango::DevVarShortArray)           \
    X(Tango::DEV_USHORT, Tango::DEVVAR_USHORTARRAY, Tango::DevUShort, Tango::DevVarUShortArray)       \
    X(Tango::DEV_LONG, Tango::DEVVAR_LONGARRAY, Tango::DevLong, Tango::DevVarLongArray)               \
    X(Tango::DEV_ULONG, Tango::DEVVAR_ULONGARRAY, Tango::DevULong, Tango::DevVarULongArray)           \
    X(Tango::DEV_LONG64, Tango::DEVVAR_LONG64ARRAY, Tango::DevLong64, Tango::DevVarLong64Array)       \
    X(Tango::DEV_ULONG64, Tango::DEVVAR_ULONG64ARRAY, Tango::DevULong64, Tango::DevVarULong64Array)   \
    X(Tango::DEV_FLOAT, Tango::DEVVAR_FLOATARRAY, Tango::DevFloat, Tango::DevVarFloatArray)           \
    X(Tango::DEV_DOUBLE, Tango::DEVVAR_DOUBLEARRAY, Tango::DevDouble, Tango::DevVarDoubleArray)

using uchar_type = numeric<Tango::DEV_UCHAR, Tango::DEVVAR_CHARARRAY, Tango::DevUChar, Tango::DevVarCharArray>;
using state_type = numeric<Tango::DEV_STATE, -1, Tango::DevState, Tango::DevVarStateArray>;
using enum_type = numeric<Tango::DEV_ENUM, -1, Tango::DevShort, Tango::DevVarShortArray>;  // its short index

// Command scalars: the numbers and DevState (DevUChar is an attribute type only). Calls f(tag); false if none.
template <typename F>
bool for_command_scalar(int type, F&& f) {
    switch (type) {
#define X(elem, arr, T, Seq) \
    case elem: f(numeric<elem, arr, T, Seq>{}); return true;
        TNS_NUMERIC_TYPES(X)
#undef X
    case Tango::DEV_STATE: f(state_type{}); return true;
    default: return false;
    }
}

// Attribute element types held in a numeric sequence: the command scalars, DevUChar and DevEnum.
template <typename F>
bool for_attribute_element(int type, F&& f) {
    switch (type) {
    case Tango::DEV_UCHAR: f(uchar_type{}); return true;
    case Tango::DEV_ENUM: f(enum_type{}); return true;
    default: return for_command_scalar(type, f);
    }
}

// Numeric DevVar*Array command types.
template <typename F>
bool for_command_array(int type, F&& f) {
    switch (type) {
#define X(elem, arr, T, Seq) \
    case arr: f(numeric<elem, arr, T, Seq>{}); return true;
        TNS_NUMERIC_TYPES(X)
#undef X
    case Tango::DEVVAR_CHARARRAY: f(uchar_type{}); return true;
    default: return false;
    }
}

[[noreturn]] inline void unsupported(int type, const char* what) {
    Tango::Except::throw_exception("TangoNet_UnsupportedType",
                                   std::string(what) + ": unsupported Tango type " + std::to_string(type), "tangoshim");
}

// ---- building CORBA values from C# memory (copies) ----

template <typename Seq>
Seq* new_seq(const void* data, int64_t count) {
    using T = typename std::remove_pointer<decltype(Seq().get_buffer())>::type;
    std::unique_ptr<Seq> s(new Seq());
    s->length(static_cast<CORBA::ULong>(count));
    if (count > 0)
        std::memcpy(s->get_buffer(), data, sizeof(T) * static_cast<size_t>(count));
    return s.release();
}

inline void fill_strings(Tango::DevVarStringArray& s, const char* const* strings, int64_t count) {
    s.length(static_cast<CORBA::ULong>(count));
    for (int64_t i = 0; i < count; ++i)
        s[static_cast<CORBA::ULong>(i)] = Tango::string_dup(strings[i]);
}

inline Tango::DevVarStringArray* new_strings(const char* const* strings, int64_t count) {
    std::unique_ptr<Tango::DevVarStringArray> s(new Tango::DevVarStringArray());
    fill_strings(*s, strings, count);
    return s.release();
}

inline void fill_encoded(Tango::DevEncoded& e, const char* format, const void* bytes, int64_t count) {
    e.encoded_format = Tango::string_dup(format ? format : "");
    e.encoded_data.length(static_cast<CORBA::ULong>(count));
    if (count > 0)
        std::memcpy(e.encoded_data.get_buffer(), bytes, static_cast<size_t>(count));
}

// DevVarLongStringArray / DevVarDoubleStringArray: `numbers` is &Composite::lvalue or &Composite::dvalue.
template <typename Composite, typename NumSeq>
Composite* new_numbers_and_strings(NumSeq Composite::*numbers, const void* data, int64_t count,
                                   const char* const* strings, int64_t string_count) {
    std::unique_ptr<Composite> c(new Composite());
    std::unique_ptr<NumSeq> n(new_seq<NumSeq>(data, count));
    (*c).*numbers = *n;
    fill_strings(c->svalue, strings, string_count);
    return c.release();
}

// ---- viewing CORBA values (no copy) ----

// Appends pointers to strings [from, to) of `seq` to `out`.
inline void view_strings(const Tango::DevVarStringArray& seq, CORBA::ULong from, CORBA::ULong to,
                         std::vector<const char*>& out) {
    for (CORBA::ULong i = from; i < to; ++i)
        out.push_back(seq[i].in());
}

}  // namespace tns
