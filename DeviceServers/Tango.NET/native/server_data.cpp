// Conversions between tns_data (borrowed C# memory) and cppTango's values: attribute values, written values,
// command arguments and replies.
#include "server.hpp"
#include "values.hpp"

namespace tns {
namespace {

// Tango takes ownership with release=true: a scalar is freed with delete, an array with delete[].
template <typename T>
void set_numeric(Tango::Attribute& attr, const tns_data& d, long x, long y) {
    const long n = y > 0 ? x * y : x;
    if (d.num_len < n)
        Tango::Except::throw_exception("TangoNet_BadValue", "value has fewer elements than its dimensions", "set_value");
    if (attr.get_data_format() == Tango::SCALAR) {
        attr.set_value(new T(*static_cast<const T*>(d.num)), 1, 0, true);
    } else {
        T* p = new T[n > 0 ? n : 1];
        if (n > 0)
            std::memcpy(p, d.num, sizeof(T) * n);
        attr.set_value(p, x, y, true);
    }
}

template <typename Seq>
void view_seq(const Seq* s, int32_t type, tns_data& d) {
    d.type = type;
    d.num = s->get_buffer();
    d.num_len = s->length();
}

// Views a DevEncoded: str[0] the format, num the bytes.
void view_encoded(const Tango::DevEncoded& e, tns_data& d, std::vector<const char*>& strings) {
    strings.assign(1, e.encoded_format.in());
    d.str = strings.data();
    d.str_len = 1;
    d.num = e.encoded_data.get_buffer();
    d.num_len = e.encoded_data.length();
}

// Views a DevVar{Long,Double}StringArray argument: `numbers` is &Composite::lvalue or &Composite::dvalue.
template <typename Composite, typename NumSeq>
void view_numbers_and_strings(Tango::Command& cmd, const CORBA::Any& in, NumSeq Composite::*numbers, tns_data& d,
                              std::vector<const char*>& strings) {
    const Composite* a;
    cmd.extract(in, a);
    view_seq(&(a->*numbers), d.type, d);
    view_strings(a->svalue, 0, a->svalue.length(), strings);
    d.str = strings.data();
    d.str_len = static_cast<int64_t>(strings.size());
}

// A DevBoolean is an unsigned char, which CORBA::Any takes as a boolean only when told.
template <typename N>
void insert_scalar(CORBA::Any& a, N, typename N::type v) { a <<= v; }
template <int A, typename S>
void insert_scalar(CORBA::Any& a, numeric<Tango::DEV_BOOLEAN, A, Tango::DevBoolean, S>, Tango::DevBoolean v) {
    a <<= CORBA::Any::from_boolean(v);
}

}  // namespace

void set_attribute_value(Tango::Attribute& attr, const tns_data& d, long x, long y) {
    const int type = attr.get_data_type();
    if (for_attribute_element(type, [&](auto t) { set_numeric<typename decltype(t)::type>(attr, d, x, y); }))
        return;
    switch (type) {
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
        fill_encoded(*e, d.str_len > 0 ? d.str[0] : "", d.num, d.num_len);
        attr.set_value(e, 1, 0, true);
        break;
    }
    default:
        Tango::Except::throw_exception("TangoNet_UnsupportedType", "attribute type not supported", "set_value");
    }
}

void get_write_value(Tango::WAttribute& w, tns_data& d, std::vector<const char*>& strings) {
    const int type = w.get_data_type();
    const long n = w.get_write_value_length();
    d = tns_data{};
    d.type = type;
    d.num_len = n;
    if (for_attribute_element(type, [&](auto t) {
            const typename decltype(t)::type* p;
            w.get_write_value(p);
            d.num = p;
        }))
        return;
    switch (type) {
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
        view_encoded(*p, d, strings);
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
    // Scalars live on this frame: call f before they go.
    if (for_command_scalar(in_type, [&](auto t) {
            typename decltype(t)::type v{};
            cmd.extract(in, v);
            d.num = &v;
            d.num_len = 1;
            f(d, ctx);
        }))
        return;
    if (for_command_array(in_type, [&](auto t) {
            const typename decltype(t)::seq* a;
            cmd.extract(in, a);
            view_seq(a, in_type, d);
        })) {
        f(d, ctx);
        return;
    }
    switch (in_type) {
    case Tango::DEV_VOID: break;
    case Tango::DEV_STRING: {
        const char* s;
        cmd.extract(in, s);
        strings.assign(1, s);
        d.str = strings.data();
        d.str_len = 1;
        break;
    }
    case Tango::DEVVAR_STRINGARRAY: {
        const Tango::DevVarStringArray* a;
        cmd.extract(in, a);
        view_strings(*a, 0, a->length(), strings);
        d.str = strings.data();
        d.str_len = static_cast<int64_t>(strings.size());
        break;
    }
    case Tango::DEVVAR_LONGSTRINGARRAY:
        view_numbers_and_strings(cmd, in, &Tango::DevVarLongStringArray::lvalue, d, strings);
        break;
    case Tango::DEVVAR_DOUBLESTRINGARRAY:
        view_numbers_and_strings(cmd, in, &Tango::DevVarDoubleStringArray::dvalue, d, strings);
        break;
    case Tango::DEV_ENCODED: {
        const Tango::DevEncoded* e;
        cmd.extract(in, e);
        view_encoded(*e, d, strings);
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
        if (for_command_scalar(out_type, [&](auto t) { insert_scalar(*a, t, num(typename decltype(t)::type{})); }) ||
            for_command_array(out_type, [&](auto t) { *a <<= new_seq<typename decltype(t)::seq>(d.num, d.num_len); }))
            return a;
        switch (out_type) {
        case Tango::DEV_VOID: break;
        case Tango::DEV_STRING: *a <<= (d.str_len > 0 ? d.str[0] : ""); break;
        case Tango::DEVVAR_STRINGARRAY: *a <<= new_strings(d.str, d.str_len); break;
        case Tango::DEVVAR_LONGSTRINGARRAY:
            *a <<= new_numbers_and_strings(&Tango::DevVarLongStringArray::lvalue, d.num, d.num_len, d.str, d.str_len);
            break;
        case Tango::DEVVAR_DOUBLESTRINGARRAY:
            *a <<= new_numbers_and_strings(&Tango::DevVarDoubleStringArray::dvalue, d.num, d.num_len, d.str, d.str_len);
            break;
        case Tango::DEV_ENCODED: {
            auto* e = new Tango::DevEncoded();
            fill_encoded(*e, d.str_len > 0 ? d.str[0] : "", d.num, d.num_len);
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
