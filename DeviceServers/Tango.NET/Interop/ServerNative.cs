using System.Runtime.InteropServices;

namespace Tango.Interop;

// Mirrors of the C enums and structs in native/server.hpp (same names, same values).

/// <summary><c>tns_member_kind</c>: is_allowed's kind, tns_dev_poll's member.</summary>
internal enum TnsMemberKind
{
    Attribute = 0,
    Command = 1,
}

/// <summary><c>tns_event_kind</c>: what tns_dev_push_event fires (change, archive, user) or tns_dev_set_event_flags
/// declares (change, archive, data ready).</summary>
internal enum TnsEventKind
{
    Change = 0,
    Archive = 1,
    User = 2,
    DataReady = 3,
}

/// <summary><c>tns_event_push</c>: an attribute's change_event / archive_event declaration.</summary>
internal enum TnsEventPush
{
    None = 0,
    ByCode = 1,
    ByCodeChecked = 2,
}

/// <summary><c>tns_memorized</c>.</summary>
internal enum TnsMemorized
{
    No = 0,
    Yes = 1,
    WrittenAtInit = 2,
}

/// <summary><c>tns_property_scope</c>.</summary>
internal enum TnsPropertyScope
{
    Device = 0,
    Class = 1,
}

/// <summary><c>tns_property_count</c>: tns_dev_get_property's count when there are no values.</summary>
internal enum TnsPropertyCount
{
    NotSet = -1,
    NoDatabase = -2,
}

/// <summary>A value borrowed across the boundary for one call (see native/server.hpp).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TnsData
{
    public int Type;
    public int Reserved;
    public void* Num;
    public long NumLen;
    public byte** Str;
    public long StrLen;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TnsAttrDesc
{
    public byte* Name;
    public int Id;
    public int Type;
    public int Format;
    public int WriteType;
    public int MaxX;
    public int MaxY;
    public int DispLevel;
    public TnsMemorized Memorized;
    public uint AllowedStates;
    public int HasAllowedCallback;
    public TnsEventPush ChangeEvent;
    public TnsEventPush ArchiveEvent;
    public int DataReadyEvent;
    public int PollingPeriod;
    public int ScalarSlot;
    public int PropCount;
    public byte** Props;
    public int EnumLabelCount;
    public byte** EnumLabels;
    public byte* Assoc;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TnsCmdDesc
{
    public byte* Name;
    public int Id;
    public int InType;
    public int OutType;
    public int DispLevel;
    public uint AllowedStates;
    public int HasAllowedCallback;
    public int PollingPeriod;
    public byte* InDesc;
    public byte* OutDesc;
    public int ReleasesMonitor;
}

/// <summary>A scalar read's quality and time beside its value (see native/server.hpp).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TnsReadMeta
{
    public int Quality;
    public int HasTime;
    public long TimeUs;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TnsCallbacks
{
    public delegate* unmanaged<int, nint, byte*, nint> Create;
    public delegate* unmanaged<nint, void> Destroy;
    public delegate* unmanaged<nint, int> Init;
    public delegate* unmanaged<nint, int> Uninit;
    public delegate* unmanaged<nint, int*, int> State;
    public delegate* unmanaged<nint, int> Status;
    public delegate* unmanaged<nint, int, nint, int> ReadAttr;
    public delegate* unmanaged<nint, int, void*, TnsReadMeta*, int> ReadScalar;
    public delegate* unmanaged<nint, int, nint, int> WriteAttr;
    public delegate* unmanaged<nint, TnsMemberKind, int, int*, int> IsAllowed;
    public delegate* unmanaged<nint, int, TnsData*, nint, int> Command;
}

/// <summary>The server exports of libtangoshim (native/server_*.cpp), raw: <see cref="ServerProxy"/> marshals and
/// checks every call.</summary>
internal static unsafe partial class ServerNative
{
    private const string Lib = ShimErrors.Library;

    [LibraryImport(Lib, EntryPoint = "tns_server_set_callbacks")]
    internal static partial int SetCallbacks(TnsCallbacks* callbacks);

    [LibraryImport(Lib, EntryPoint = "tns_class_define")]
    internal static partial int ClassDefine(byte* name, int hasStateCallback, int hasStatusCallback);

    [LibraryImport(Lib, EntryPoint = "tns_class_add_attr")]
    internal static partial int ClassAddAttr(int cls, TnsAttrDesc* desc);

    [LibraryImport(Lib, EntryPoint = "tns_class_add_cmd")]
    internal static partial int ClassAddCmd(int cls, TnsCmdDesc* desc);

    [LibraryImport(Lib, EntryPoint = "tns_class_add_property")]
    internal static partial int ClassAddProperty(int cls, TnsPropertyScope scope, byte* name, byte* description, byte* defaultValue);

    [LibraryImport(Lib, EntryPoint = "tns_server_init")]
    internal static partial int ServerInit(int argc, byte** argv);

    [LibraryImport(Lib, EntryPoint = "tns_signal_unignore")]
    internal static partial void SignalUnignore();

    [LibraryImport(Lib, EntryPoint = "tns_server_run")]
    internal static partial int ServerRun();

    [LibraryImport(Lib, EntryPoint = "tns_server_request_shutdown")]
    internal static partial int RequestShutdown();

    [LibraryImport(Lib, EntryPoint = "tns_server_is_shutting_down")]
    internal static partial int IsShuttingDown();

    [LibraryImport(Lib, EntryPoint = "tns_server_create_device")]
    internal static partial int CreateDevice(byte* className, byte* deviceName, nint* dev);

    [LibraryImport(Lib, EntryPoint = "tns_server_delete_device")]
    internal static partial int DeleteDevice(byte* className, byte* deviceName);

    [LibraryImport(Lib, EntryPoint = "tns_attr_set_value")]
    internal static partial int AttrSetValue(nint attr, TnsData* data, long dimX, long dimY);

    [LibraryImport(Lib, EntryPoint = "tns_attr_set_value_shared")]
    internal static partial int AttrSetValueShared(nint attr, TnsData* data, long dimX, long dimY, NativeMutexHandle mutex);

    [LibraryImport(Lib, EntryPoint = "tns_log_enabled")]
    internal static partial int LogEnabled(nint dev, int level);

    [LibraryImport(Lib, EntryPoint = "tns_log")]
    internal static partial int Log(nint dev, int level, byte* message);

    [LibraryImport(Lib, EntryPoint = "tns_mutex_new")]
    internal static partial nint MutexNew();

    [LibraryImport(Lib, EntryPoint = "tns_mutex_free")]
    internal static partial void MutexFree(nint mutex);

    [LibraryImport(Lib, EntryPoint = "tns_mutex_lock")]
    internal static partial void MutexLock(NativeMutexHandle mutex);

    [LibraryImport(Lib, EntryPoint = "tns_mutex_unlock")]
    internal static partial void MutexUnlock(NativeMutexHandle mutex);

    [LibraryImport(Lib, EntryPoint = "tns_attr_set_quality")]
    internal static partial int AttrSetQuality(nint attr, int quality);

    [LibraryImport(Lib, EntryPoint = "tns_attr_set_date")]
    internal static partial int AttrSetDate(nint attr, long unixMicroseconds);

    [LibraryImport(Lib, EntryPoint = "tns_wattr_get_value")]
    internal static partial int WAttrGetValue(nint wattr, TnsData* data, long* dimX, long* dimY);

    [LibraryImport(Lib, EntryPoint = "tns_cmd_set_result")]
    internal static partial int CmdSetResult(nint output, int outType, TnsData* data);

    [LibraryImport(Lib, EntryPoint = "tns_cb_error_clear")]
    internal static partial void CallbackErrorClear();

    [LibraryImport(Lib, EntryPoint = "tns_cb_error_add")]
    internal static partial void CallbackErrorAdd(byte* reason, byte* desc, byte* origin, int severity);

    [LibraryImport(Lib, EntryPoint = "tns_dev_set_state")]
    internal static partial int DevSetState(nint dev, int state);

    [LibraryImport(Lib, EntryPoint = "tns_dev_get_state")]
    internal static partial int DevGetState(nint dev);

    [LibraryImport(Lib, EntryPoint = "tns_dev_set_status")]
    internal static partial int DevSetStatus(nint dev, byte* status);

    [LibraryImport(Lib, EntryPoint = "tns_dev_get_property")]
    internal static partial int DevGetProperty(nint dev, TnsPropertyScope scope, byte* name, int* count);

    [LibraryImport(Lib, EntryPoint = "tns_prop_value")]
    internal static partial byte* PropValue(int index);

    [LibraryImport(Lib, EntryPoint = "tns_dev_push_event")]
    internal static partial int DevPushEvent(nint dev, byte* attrName, TnsEventKind kind, TnsData* data, long dimX, long dimY,
        int quality);

    [LibraryImport(Lib, EntryPoint = "tns_dev_push_data_ready")]
    internal static partial int DevPushDataReady(nint dev, byte* attrName, int counter);

    [LibraryImport(Lib, EntryPoint = "tns_dev_set_event_flags")]
    internal static partial int DevSetEventFlags(nint dev, byte* attrName, TnsEventKind kind, int implemented, int detect);

    [LibraryImport(Lib, EntryPoint = "tns_dev_add_attr")]
    internal static partial int DevAddAttr(nint dev, TnsAttrDesc* desc);

    [LibraryImport(Lib, EntryPoint = "tns_dev_remove_attr")]
    internal static partial int DevRemoveAttr(nint dev, byte* name);

    [LibraryImport(Lib, EntryPoint = "tns_dev_poll")]
    internal static partial int DevPoll(nint dev, TnsMemberKind member, byte* name, int periodMs);
}
