// Conversions between tns_data (borrowed C# memory) and cppTango's values: attribute values, written values,
// command arguments and replies.
#include "server.hpp"
#include <cstring>

namespace tns {
namespace {

template <typename T>
T* copy_array(const tns_data& d, long n) {
    T* p = new T[n > 0 ? n : 1];
    if (n > 0)
        std::memcpy(p, d.num, sizeof(T) * n);
    return p;
}

// Tango takes ownership with release=true: a scalar is freed with delete, an array with delete[].
template <typename T>
void set_numeric(Tango::Attribute& attr, const tns_data& d, long x, long y) {
    const long n = y > 0 ? x * y : x;
    if (d.num_len < n)
        Tango::Except::throw_exception("TangoNet_BadValue", "value has fewer elements than its dimensions", "set_value");
    if (attr.get_data_format() == Tango::SCALAR)
        attr.set_value(new T(*static_cast<const T*>(d.num)), 1, 0, true);
    else
        attr.set_value(copy_array<T>(d, n), x, y, true);
}

template <typename Seq>
Seq* make_seq(const tns_data& d) {
    using T = typename std::remove_pointer<decltype(Seq().get_buffer())>::type;
    auto* s = new Seq();
    s->length(static_cast<CORBA::ULong>(d.num_len));
    if (d.num_len > 0)
        std::memcpy(s->get_buffer(), d.num, sizeof(T) * d.num_len);
    return s;
}

void fill_strings(Tango::DevVarStringArray& s, const tns_data& d) {
    s.length(static_cast<CORBA::ULong>(d.str_len));
    for (int64_t i = 0; i < d.str_len; ++i)
        s[static_cast<CORBA::ULong>(i)] = Tango::string_dup(d.str[i]);
}

template <typename Seq>
void view_seq(const Seq* s, int32_t type, tns_data& d) {
    d.type = type;
    d.num = s->get_buffer();
    d.num_len = s->length();
}

}  // namespace

void set_attribute_value(Tango::Attribute& attr, const tns_data& d, long x, long y) {
    switch (attr.get_data_type()) {
    case Tango::DEV_BOOLEAN: set_numeric<Tango::DevBoolean>(attr, d, x, y); break;
    case Tango::DEV_UCHAR: set_numeric<Tango::DevUChar>(attr, d, x, y); break;
    case Tango::DEV_SHORT:
    case Tango::DEV_ENUM: set_numeric<Tango::DevShort>(attr, d, x, y); break;
    case Tango::DEV_USHORT: set_numeric<Tango::DevUShort>(attr, d, x, y); break;
    case Tango::DEV_LONG: set_numeric<Tango::DevLong>(attr, d, x, y); break;
    case Tango::DEV_ULONG: set_numeric<Tango::DevULong>(attr, d, x, y); break;
    case Tango::DEV_LONG64: set_numeric<Tango::DevLong64>(attr, d, x, y); break;
    case Tango::DEV_ULONG64: set_numeric<Tango::DevULong64>(attr, d, x, y); break;
    case Tango::DEV_FLOAT: set_numeric<Tango::DevFloat>(attr, d, x, y); break;
    case Tango::DEV_DOUBLE: set_numeric<Tango::DevDouble>(attr, d, x, y); break;
    case Tango::DEV_STATE: set_numeric<Tango::DevState>(attr, d, x, y); break;
    case Tango::DEV_STRING: {
        const long n = y > 0 ? x * y : x;
        if (d.str_len < n)
            Tango::Except::throw_exception("TangoNet_BadValue", "fewer strings than the dimensions", "set_value");
        // Strings from string_dup, the holder from new (scalar) or new[] (array): what Tango frees.
        if (attr.get_data_format() == Tango::SCALAR) {
            attr.set_value(new Tango::DevString(Tango::string_dup(d.str[0])), 1, 0, true);
        } else {
            auto* p = new Tango::DevString[n > 0 ? n : 1];
            for (long i = 0; i < n; ++i)
                p[i] = Tango::string_dup(d.str[i]);
            attr.set_value(p, x, y, true);
        }
        break;
    }
    case Tango::DEV_ENCODED: {
        auto* e = new Tango::DevEncoded();
        e->encoded_format = Tango::string_dup(d.str_len > 0 ? d.str[0] : "");
        e->encoded_data.length(static_cast<CORBA::ULong>(d.num_len));
        if (d.num_len > 0)
            std::memcpy(e->encoded_data.get_buffer(), d.num, d.num_len);
        attr.set_value(e, 1, 0, true);
        break;
    }
    default:
        Tango::Except::throw_exception("TangoNet_UnsupportedType", "attribute type not supported", "set_value");
    }
}

void get_write_value(Tango::WAttribute& w, tns_data& d, std::vector<const char*>& strings) {
    d = tns_data{};
    d.type = w.get_data_type();
    const long n = w.get_write_value_length();
    d.num_len = n;
    switch (w.get_data_type()) {
    case Tango::DEV_BOOLEAN: { const Tango::DevBoolean* p; w.get_write_value(p); d.num = p; break; }
    case Tango::DEV_UCHAR: { const Tango::DevUChar* p; w.get_write_value(p); d.num = p; break; }
    case Tango::DEV_SHORT:
    case Tango::DEV_ENUM: { const Tango::DevShort* p; w.get_write_value(p); d.num = p; break; }
    case Tango::DEV_USHORT: { const Tango::DevUShort* p; w.get_write_value(p); d.num = p; break; }
    case Tango::DEV_LONG: { const Tango::DevLong* p; w.get_write_value(p); d.num = p; break; }
    case Tango::DEV_ULONG: { const Tango::DevULong* p; w.get_write_value(p); d.num = p; break; }
    case Tango::DEV_LONG64: { const Tango::DevLong64* p; w.get_write_value(p); d.num = p; break; }
    case Tango::DEV_ULONG64: { const Tango::DevULong64* p; w.get_write_value(p); d.num = p; break; }
    case Tango::DEV_FLOAT: { const Tango::DevFloat* p; w.get_write_value(p); d.num = p; break; }
    case Tango::DEV_DOUBLE: { const Tango::DevDouble* p; w.get_write_value(p); d.num = p; break; }
    case Tango::DEV_STATE: { const Tango::DevState* p; w.get_write_value(p); d.num = p; break; }
    case Tango::DEV_STRING: {
        const Tango::ConstDevString* p;
        w.get_write_value(p);
        strings.assign(p, p + n);
        d.str = strings.data();
        d.str_len = n;
        d.num_len = 0;
        break;
    }
    case Tango::DEV_ENCODED: {
        const Tango::DevEncoded* p;
        w.get_write_value(p);
        strings.assign(1, p->encoded_format.in());
        d.str = strings.data();
        d.str_len = 1;
        d.num = p->encoded_data.get_buffer();
        d.num_len = p->encoded_data.length();
        break;
    }
    default:
        Tango::Except::throw_exception("TangoNet_UnsupportedType", "attribute type not supported", "get_write_value");
    }
}

void with_command_arg(Tango::Command& cmd, int32_t in_type, const CORBA::Any& in, void (*f)(const tns_data&, void*),
                      void* ctx) {
    tns_data d{};
    d.type = in_type;
    std::vector<const char*> strings;
    union {
        Tango::DevBoolean b;
        Tango::DevShort s;
        Tango::DevUShort us;
        Tango::DevLong l;
        Tango::DevULong ul;
        Tango::DevLong64 l64;
        Tango::DevULong64 ul64;
        Tango::DevFloat fl;
        Tango::DevDouble db;
        Tango::DevState st;
    } v;
    auto scalar = [&](const void* p) { d.num = p; d.num_len = 1; };
    auto strs = [&](const Tango::DevVarStringArray& s) {
        strings.resize(s.length());
        for (CORBA::ULong i = 0; i < s.length(); ++i)
            strings[i] = s[i].in();
        d.str = strings.data();
        d.str_len = s.length();
    };
    switch (in_type) {
    case Tango::DEV_VOID: break;
    case Tango::DEV_BOOLEAN: cmd.extract(in, v.b); scalar(&v.b); break;
    case Tango::DEV_SHORT: cmd.extract(in, v.s); scalar(&v.s); break;
    case Tango::DEV_USHORT: cmd.extract(in, v.us); scalar(&v.us); break;
    case Tango::DEV_LONG: cmd.extract(in, v.l); scalar(&v.l); break;
    case Tango::DEV_ULONG: cmd.extract(in, v.ul); scalar(&v.ul); break;
    case Tango::DEV_LONG64: cmd.extract(in, v.l64); scalar(&v.l64); break;
    case Tango::DEV_ULONG64: cmd.extract(in, v.ul64); scalar(&v.ul64); break;
    case Tango::DEV_FLOAT: cmd.extract(in, v.fl); scalar(&v.fl); break;
    case Tango::DEV_DOUBLE: cmd.extract(in, v.db); scalar(&v.db); break;
    case Tango::DEV_STATE: cmd.extract(in, v.st); scalar(&v.st); break;
    case Tango::DEV_STRING: {
        const char* s;
        cmd.extract(in, s);
        strings.assign(1, s);
        d.str = strings.data();
        d.str_len = 1;
        break;
    }
    case Tango::DEVVAR_CHARARRAY: { const Tango::DevVarCharArray* a; cmd.extract(in, a); view_seq(a, in_type, d); break; }
    case Tango::DEVVAR_SHORTARRAY: { const Tango::DevVarShortArray* a; cmd.extract(in, a); view_seq(a, in_type, d); break; }
    case Tango::DEVVAR_USHORTARRAY: { const Tango::DevVarUShortArray* a; cmd.extract(in, a); view_seq(a, in_type, d); break; }
    case Tango::DEVVAR_LONGARRAY: { const Tango::DevVarLongArray* a; cmd.extract(in, a); view_seq(a, in_type, d); break; }
    case Tango::DEVVAR_ULONGARRAY: { const Tango::DevVarULongArray* a; cmd.extract(in, a); view_seq(a, in_type, d); break; }
    case Tango::DEVVAR_LONG64ARRAY: { const Tango::DevVarLong64Array* a; cmd.extract(in, a); view_seq(a, in_type, d); break; }
    case Tango::DEVVAR_ULONG64ARRAY: { const Tango::DevVarULong64Array* a; cmd.extract(in, a); view_seq(a, in_type, d); break; }
    case Tango::DEVVAR_FLOATARRAY: { const Tango::DevVarFloatArray* a; cmd.extract(in, a); view_seq(a, in_type, d); break; }
    case Tango::DEVVAR_DOUBLEARRAY: { const Tango::DevVarDoubleArray* a; cmd.extract(in, a); view_seq(a, in_type, d); break; }
    case Tango::DEVVAR_BOOLEANARRAY: { const Tango::DevVarBooleanArray* a; cmd.extract(in, a); view_seq(a, in_type, d); break; }
    case Tango::DEVVAR_STRINGARRAY: { const Tango::DevVarStringArray* a; cmd.extract(in, a); strs(*a); break; }
    case Tango::DEVVAR_LONGSTRINGARRAY: {
        const Tango::DevVarLongStringArray* a;
        cmd.extract(in, a);
        view_seq(&a->lvalue, in_type, d);
        strs(a->svalue);
        break;
    }
    case Tango::DEVVAR_DOUBLESTRINGARRAY: {
        const Tango::DevVarDoubleStringArray* a;
        cmd.extract(in, a);
        view_seq(&a->dvalue, in_type, d);
        strs(a->svalue);
        break;
    }
    case Tango::DEV_ENCODED: {
        const Tango::DevEncoded* e;
        cmd.extract(in, e);
        strings.assign(1, e->encoded_format.in());
        d.str = strings.data();
        d.str_len = 1;
        d.num = e->encoded_data.get_buffer();
        d.num_len = e->encoded_data.length();
        break;
    }
    default:
        Tango::Except::throw_exception("TangoNet_UnsupportedType", "command argument type not supported", "extract");
    }
    f(d, ctx);
}

CORBA::Any* make_any(int32_t out_type, const tns_data& d) {
    auto* a = new CORBA::Any();
    auto num = [&](auto zero) {
        decltype(zero) v = zero;
        if (d.num_len > 0)
            std::memcpy(&v, d.num, sizeof(v));
        return v;
    };
    try {
        switch (out_type) {
        case Tango::DEV_VOID: break;
        case Tango::DEV_BOOLEAN: *a <<= CORBA::Any::from_boolean(num(Tango::DevBoolean(0))); break;
        case Tango::DEV_SHORT: *a <<= num(Tango::DevShort(0)); break;
        case Tango::DEV_USHORT: *a <<= num(Tango::DevUShort(0)); break;
        case Tango::DEV_LONG: *a <<= num(Tango::DevLong(0)); break;
        case Tango::DEV_ULONG: *a <<= num(Tango::DevULong(0)); break;
        case Tango::DEV_LONG64: *a <<= num(Tango::DevLong64(0)); break;
        case Tango::DEV_ULONG64: *a <<= num(Tango::DevULong64(0)); break;
        case Tango::DEV_FLOAT: *a <<= num(Tango::DevFloat(0)); break;
        case Tango::DEV_DOUBLE: *a <<= num(Tango::DevDouble(0)); break;
        case Tango::DEV_STATE: *a <<= num(Tango::ON); break;
        case Tango::DEV_STRING: *a <<= (d.str_len > 0 ? d.str[0] : ""); break;
        case Tango::DEVVAR_CHARARRAY: *a <<= make_seq<Tango::DevVarCharArray>(d); break;
        case Tango::DEVVAR_SHORTARRAY: *a <<= make_seq<Tango::DevVarShortArray>(d); break;
        case Tango::DEVVAR_USHORTARRAY: *a <<= make_seq<Tango::DevVarUShortArray>(d); break;
        case Tango::DEVVAR_LONGARRAY: *a <<= make_seq<Tango::DevVarLongArray>(d); break;
        case Tango::DEVVAR_ULONGARRAY: *a <<= make_seq<Tango::DevVarULongArray>(d); break;
        case Tango::DEVVAR_LONG64ARRAY: *a <<= make_seq<Tango::DevVarLong64Array>(d); break;
        case Tango::DEVVAR_ULONG64ARRAY: *a <<= make_seq<Tango::DevVarULong64Array>(d); break;
        case Tango::DEVVAR_FLOATARRAY: *a <<= make_seq<Tango::DevVarFloatArray>(d); break;
        case Tango::DEVVAR_DOUBLEARRAY: *a <<= make_seq<Tango::DevVarDoubleArray>(d); break;
        case Tango::DEVVAR_BOOLEANARRAY: *a <<= make_seq<Tango::DevVarBooleanArray>(d); break;
        case Tango::DEVVAR_STRINGARRAY: {
            auto* s = new Tango::DevVarStringArray();
            fill_strings(*s, d);
            *a <<= s;
            break;
        }
        case Tango::DEVVAR_LONGSTRINGARRAY: {
            auto* s = new Tango::DevVarLongStringArray();
            std::unique_ptr<Tango::DevVarLongArray> l(make_seq<Tango::DevVarLongArray>(d));
            s->lvalue = *l;
            fill_strings(s->svalue, d);
            *a <<= s;
            break;
        }
        case Tango::DEVVAR_DOUBLESTRINGARRAY: {
            auto* s = new Tango::DevVarDoubleStringArray();
            std::unique_ptr<Tango::DevVarDoubleArray> v(make_seq<Tango::DevVarDoubleArray>(d));
            s->dvalue = *v;
            fill_strings(s->svalue, d);
            *a <<= s;
            break;
        }
        case Tango::DEV_ENCODED: {
            auto* e = new Tango::DevEncoded();
            e->encoded_format = Tango::string_dup(d.str_len > 0 ? d.str[0] : "");
            e->encoded_data.length(static_cast<CORBA::ULong>(d.num_len));
            if (d.num_len > 0)
                std::memcpy(e->encoded_data.get_buffer(), d.num, d.num_len);
            *a <<= e;
            break;
        }
        default:
            Tango::Except::throw_exception("TangoNet_UnsupportedType", "command result type not supported", "insert");
        }
    } catch (...) {
        delete a;
        throw;
    }
    return a;
}

}  // namespace tns
