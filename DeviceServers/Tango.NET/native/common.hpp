// Shared plumbing of the shim: the export macro and the error channel back to C#.
#pragma once
#include <tango.h>
#include <string>
#include <vector>

#define TNS_API extern "C" __attribute__((visibility("default")))

namespace tns {

struct Error {
    std::string reason, desc, origin;
    int severity;  // Tango::ErrSeverity: 0 WARN, 1 ERR, 2 PANIC
};

// The errors of the last failed call on this thread, outermost first (as in DevFailed.errors).
std::vector<Error>& last_errors();

// Makes the calling thread known to omnithread: cppTango's locks (TangoMonitor) tell owners apart by
// omni_thread::self(), which is NULL on threads omniORB did not create (.NET threads). The dummy is
// released when the thread ends.
void ensure_omni_thread();

void set_error(const char* reason, const char* desc, const char* origin);
void set_errors(const Tango::DevFailed& e);

// Runs f; any exception becomes the thread's last error and the return value -1. Nothing may
// cross the C ABI: a C++ exception escaping into managed code would terminate the process.
template <typename F>
int guarded(const char* origin, F&& f) noexcept {
    try {
        f();
        return 0;
    } catch (const Tango::DevFailed& e) {
        set_errors(e);
    } catch (const CORBA::Exception& e) {
        set_error("CORBA_Exception", e._name(), origin);
    } catch (const std::exception& e) {
        set_error("STD_Exception", e.what(), origin);
    } catch (...) {
        set_error("UNKNOWN_Exception", "unknown C++ exception", origin);
    }
    return -1;
}

}  // namespace tns
