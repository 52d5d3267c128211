// Internal C++ types of the server shim: class descriptions copied from C#, the generic class and device.
#pragma once
#include "server.hpp"
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tns {

struct AttrDef {
    std::string name, assoc;
    int32_t id = 0, type = 0, format = 0, write_type = 0, max_x = 0, max_y = 0, disp_level = 0, memorized = 0;
    uint32_t allowed_states = 0;
    bool has_allowed_cb = false;
    int32_t change_event = 0, archive_event = 0, data_ready_event = 0, polling_period = 0;
    bool scalar_slot = false;
    std::vector<std::pair<std::string, std::string>> props;
    std::vector<std::string> enum_labels;
};

struct CmdDef {
    std::string name, in_desc, out_desc;
    int32_t id = 0, in_type = 0, out_type = 0, disp_level = 0, polling_period = 0;
    uint32_t allowed_states = 0;
    bool has_allowed_cb = false;
    bool releases_monitor = false;
};

// A device or class property as Jive's property wizard lists it (the admin device's QueryWizard*Property).
struct PropDef {
    int32_t scope = 0;  // tns_property_scope
    std::string name, desc, def;
};

struct ClassDef {
    std::string name;
    bool has_state_cb = false, has_status_cb = false;
    std::vector<AttrDef> attrs;
    std::vector<CmdDef> cmds;
    std::vector<PropDef> props;
};

// Every class C# defined, in definition order; the index is the class id on both sides.
std::vector<ClassDef>& class_defs();

Tango::Attr* make_attr(const AttrDef& def);
AttrDef to_def(const tns_attr_desc& d);

class TnsClass;

class TnsDevice : public Tango::Device_5Impl {
public:
    TnsDevice(TnsClass* cls, const std::string& name, int32_t cls_index);
    ~TnsDevice() override;

    void init_device() override;
    void delete_device() override;
    Tango::DevState dev_state() override;
    Tango::ConstDevString dev_status() override;

    // device_status is read by dev_status on ORB threads while C# threads may set it.
    void set_status_safe(const char* s);
    // Starts (period > 0) or stops polling, as the admin device's AddObjPolling would.
    void poll(bool command, const std::string& name, int period_ms);
    intptr_t handle() const { return handle_; }
    // Where a numeric scalar attribute's last read value lives. cppTango sends a scalar set without release from
    // the caller's memory after read() returns (TangoTest keeps member variables for this), so the slot outlives
    // the call; reads of a device are serialized by its monitor. The map's nodes never move.
    uint64_t& value_slot(int32_t attr_id) { return slots_[attr_id]; }

private:
    int32_t cls_index_;
    std::unordered_map<int32_t, uint64_t> slots_;
    intptr_t handle_ = 0;
    std::mutex status_mutex_;
    std::string status_copy_;
};

class TnsClass : public Tango::DeviceClass {
public:
    TnsClass(const std::string& name, int32_t index);
    void command_factory() override;
    void attribute_factory(std::vector<Tango::Attr*>& list) override;
    void device_factory(const Tango::DevVarStringArray* names) override;

    TnsDevice* create_one(const std::string& name);
    int32_t index() const { return index_; }

private:
    int32_t index_;
};

}  // namespace tns
