#include "common.hpp"

namespace tns {

std::vector<Error>& last_errors() {
    static thread_local std::vector<Error> errors;
    return errors;
}

namespace {

struct OmniDummy {
    bool created = false;
    ~OmniDummy() {
        if (created)
            omni_thread::release_dummy();
    }
};

}  // namespace

void ensure_omni_thread() {
    static thread_local OmniDummy dummy;
    if (!dummy.created && omni_thread::self() == nullptr) {
        omni_thread::create_dummy();
        dummy.created = true;
    }
}

void set_error(const char* reason, const char* desc, const char* origin) {
    last_errors().assign(1, Error{reason ? reason : "", desc ? desc : "", origin ? origin : "", 1});
}

void set_errors(const Tango::DevFailed& e) {
    auto& errors = last_errors();
    errors.clear();
    for (CORBA::ULong i = 0; i < e.errors.length(); ++i)
        errors.push_back(Error{e.errors[i].reason.in(), e.errors[i].desc.in(), e.errors[i].origin.in(),
                               static_cast<int>(e.errors[i].severity)});
}

}  // namespace tns

TNS_API int tns_error_count() { return static_cast<int>(tns::last_errors().size()); }

// Returns the i-th error's fields; the pointers stay valid until the next failing call on this thread.
TNS_API int tns_error_get(int i, const char** reason, const char** desc, const char** origin, int* severity) {
    const auto& errors = tns::last_errors();
    if (i < 0 || i >= static_cast<int>(errors.size()))
        return -1;
    *reason = errors[i].reason.c_str();
    *desc = errors[i].desc.c_str();
    *origin = errors[i].origin.c_str();
    *severity = errors[i].severity;
    return 0;
}
