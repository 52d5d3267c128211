// Tango logging for C# code: messages go to the device's log4tango logger (or the admin device's), so that -v,
// the console target and AddLoggingTarget treat them like a C++ server's DEBUG_STREAM/INFO_STREAM.
#include "server.hpp"

namespace {

// tns levels: 0 fatal, 1 error, 2 warn, 3 info, 4 debug
log4tango::Level::Value to_level(int32_t level) {
    switch (level) {
    case 0: return log4tango::Level::FATAL;
    case 1: return log4tango::Level::ERROR;
    case 2: return log4tango::Level::WARN;
    case 3: return log4tango::Level::INFO;
    default: return log4tango::Level::DEBUG;
    }
}

log4tango::Logger* logger_of(void* dev) {
    if (dev != nullptr)
        return static_cast<Tango::DeviceImpl*>(dev)->get_logger();
    Tango::Util* tg = Tango::Util::instance(false);
    Tango::DServer* admin = tg->get_dserver_device();
    return admin != nullptr ? admin->get_logger() : nullptr;
}

}  // namespace

// 1 when a message of this level would be logged (C# skips formatting otherwise).
TNS_API int tns_log_enabled(void* dev, int32_t level) {
    try {
        log4tango::Logger* logger = logger_of(dev);
        return logger != nullptr && logger->is_level_enabled(to_level(level)) ? 1 : 0;
    } catch (...) {
        return 0;  // no server yet
    }
}

TNS_API int tns_log(void* dev, int32_t level, const char* message) {
    return tns::guarded("tns_log", [&] {
        log4tango::Logger* logger = logger_of(dev);
        if (logger != nullptr)
            logger->log(to_level(level), std::string(message));
    });
}
