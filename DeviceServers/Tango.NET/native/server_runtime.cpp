// Server lifecycle: Util::init with the signal fixes, server_run, a shutdown that runs once, and devices created
// and deleted while the server runs.
#include "server.hpp"
#include "server_internal.hpp"
#include <atomic>
#include <csignal>
#include <algorithm>
#include <cstring>
#include <pthread.h>

// Defined (exported) by libtango, declared in no header: the per-thread data shutdown_ds expects.
extern omni_thread::key_t key_py_data;

namespace {

std::vector<char*> g_argv;  // Util::init keeps pointers into argv for the life of the process
std::atomic<bool> g_shutdown_requested{false};

// In reverse: without a DB, cppTango gives -dlist's unprefixed devices to the last class (a `Class::` prefix picks
// another), and C# lists the main one first.
void class_factory(Tango::DServer* ds) {
    auto& defs = tns::class_defs();
    for (size_t i = defs.size(); i-- > 0;)
        ds->_add_class(new tns::TnsClass(defs[i].name, static_cast<int32_t>(i)));
}

// shutdown_ds must run on an omni_thread with Tango's per-thread data, like the admin Kill command's thread.
class ShutdownThread : public omni_thread {
public:
    ShutdownThread() { start_undetached(); }

private:
    void* run_undetached(void*) override {
        set_value(key_py_data, new Tango::PyData());
        try {
            Tango::Util::instance()->shutdown_ds();
        } catch (...) {
            // nothing to report to: the process is going away
        }
        return nullptr;
    }
};

void request_shutdown() {
    if (g_shutdown_requested.exchange(true))
        return;
    if (Tango::Util::instance(false)->is_svr_shutting_down())
        return;
    tns::ensure_omni_thread();
    new ShutdownThread();  // an undetached omni_thread that nobody joins; it ends with the process
}

// The admin device's Kill, through the same once-only shutdown as the signals: cppTango's own Kill would start
// a second, concurrent shutdown_ds when it comes during a signal's shutdown (or a second Kill).
class GuardedKill : public Tango::Command {
public:
    explicit GuardedKill(Tango::Command& original)
        : Tango::Command(original.get_name().c_str(), Tango::DEV_VOID, Tango::DEV_VOID,
                         original.get_in_type_desc().c_str(), original.get_out_type_desc().c_str(),
                         original.get_disp_level()) {}

    CORBA::Any* execute(Tango::DeviceImpl*, const CORBA::Any&) override {
        request_shutdown();
        return insert();
    }
};

void guard_admin_kill(Tango::Util* tg) {
    auto& commands = tg->get_dserver_device()->get_device_class()->get_command_list();
    for (auto& c : commands) {
        if (c->get_lower_name() == "kill") {
            Tango::Command* original = c;
            c = new GuardedKill(*original);
            delete original;
        }
    }
}

tns::TnsClass* find_class(const std::string& name) {
    for (auto* c : *Tango::Util::instance()->get_class_list()) {
        if (auto* t = dynamic_cast<tns::TnsClass*>(c)) {
            if (t->get_name() == name)
                return t;
        }
    }
    Tango::Except::throw_exception("TangoNet_NoSuchClass", "no class " + name + " in this server", "create_device");
}

}  // namespace

using tns::guarded;

// A shell that starts a job in the background hands it SIGINT and SIGQUIT ignored, and .NET then never handles
// them; a C++ server (sigwait) would still stop on them. Call before registering the .NET handlers.
TNS_API void tns_signal_unignore() {
    for (int sig : {SIGINT, SIGQUIT}) {
        struct sigaction sa {};
        if (sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler == SIG_IGN) {
            sa.sa_handler = SIG_DFL;
            sigaction(sig, &sa, nullptr);
        }
    }
}

// argv as the process got it: argv[0]'s basename is the server name, argv[1] the instance.
TNS_API int tns_server_init(int32_t argc, const char* const* argv) {
    return guarded("tns_server_init", [&] {
        g_argv.clear();
        for (int i = 0; i < argc; ++i)
            g_argv.push_back(strdup(argv[i]));
        g_argv.push_back(nullptr);
        Tango::DServer::register_class_factory(class_factory);
        // Tango's console logging target writes to stdout: line-buffer it, as a terminal would, so that logs
        // reach a pipe or file while the server runs and not only when it exits
        setvbuf(stdout, nullptr, _IOLBF, 0);

        // DServerSignal resets SIGINT and SIGQUIT to SIG_DFL process-wide, removing the runtime's handlers.
        struct sigaction old_int {}, old_quit {};
        sigaction(SIGINT, nullptr, &old_int);
        sigaction(SIGQUIT, nullptr, &old_quit);
        Tango::Util* tg = Tango::Util::init(argc, g_argv.data());
        sigaction(SIGINT, &old_int, nullptr);
        sigaction(SIGQUIT, &old_quit, nullptr);
        // Util::init blocked nearly every signal on this thread, SIGRTMIN (the GC's suspension signal) included.
        tns::enter_managed();
        tg->server_init(false);
        guard_admin_kill(tg);
    });
}

// Blocks until the server shuts down; on the thread that called tns_server_init.
TNS_API int tns_server_run() {
    return guarded("tns_server_run", [] {
        Tango::Util* tg = Tango::Util::instance();
        tg->server_run();
    });
}

// From any thread, any number of times: shuts the server down once (a second concurrent shutdown_ds crashes).
TNS_API int tns_server_request_shutdown() {
    return guarded("tns_server_request_shutdown", [] {
        request_shutdown();
    });
}

TNS_API int tns_server_is_shutting_down() {
    try {
        return g_shutdown_requested.load() || Tango::Util::instance(false)->is_svr_shutting_down() ? 1 : 0;
    } catch (...) {
        return 1;
    }
}

// Registers the device in the DB (when there is one), creates and exports it; returns the device pointer.
TNS_API int tns_server_create_device(const char* class_name, const char* device_name, void** dev) {
    return guarded("create_device", [&] {
        tns::ensure_omni_thread();
        Tango::Util* tg = Tango::Util::instance();
        tns::TnsClass* cls = find_class(class_name);
        std::string name(device_name);
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        for (auto* d : cls->get_device_list()) {
            if (d->get_name_lower() == name)
                Tango::Except::throw_exception("TangoNet_DeviceExists", name + " already exists in this server",
                                               "create_device");
        }
        if (Tango::Util::_UseDb && !Tango::Util::_FileDb) {
            Tango::DbDevInfo info;
            info.name = device_name;
            info._class = class_name;
            info.server = tg->get_ds_name();
            tg->get_database()->add_device(info);
        }
        tns::TnsDevice* created;
        long index;
        {
            Tango::AutoTangoMonitor sync(cls);
            created = cls->create_one(device_name);
            const auto& list = cls->get_device_list();
            index = static_cast<long>(std::find(list.begin(), list.end(), created) - list.begin());
        }
        // cppTango writes memorized values back only to the devices it creates at start-up (and on DevRestart);
        // a device created later gets them here, as DevRestart does it.
        if (Tango::Util::_UseDb)
            cls->set_memorized_values(false, index);
        *dev = created;
    });
}

// Deletes the device object and, with a DB, its registration. Not from a command of the device itself.
TNS_API int tns_server_delete_device(const char* class_name, const char* device_name) {
    return guarded("delete_device", [&] {
        tns::ensure_omni_thread();
        Tango::Util* tg = Tango::Util::instance();
        tns::TnsClass* cls = find_class(class_name);
        std::string name(device_name);
        {
            Tango::AutoTangoMonitor sync(cls);
            cls->device_destroyer(name);
        }
        if (Tango::Util::_UseDb && !Tango::Util::_FileDb)
            tg->get_database()->delete_device(name);
    });
}
