using System.Text;

namespace Tango.Interop;

/// <summary>
/// The server exports of the shim as C# calls, one method per native call (LibGit2Sharp's Core/Proxy.cs is the
/// model): each marshals its arguments, calls <see cref="ServerNative"/> and turns a failure into a
/// <see cref="DevFailedException"/> (<see cref="ShimErrors"/>). Tango.Server calls these, never ServerNative.
/// Strings cross as Latin-1 (<see cref="NativeText"/>), log messages as UTF-8. The methods used while serving a
/// read (AttrSetValue, AttrSetQuality, AttrSetDate, AttrSetValueShared) allocate nothing.
/// </summary>
internal static unsafe class ServerProxy
{
    // ---- server life and class definition (before ServerInit) ----

    public static void SetCallbacks(in TnsCallbacks table)
    {
        fixed (TnsCallbacks* p = &table)
            ShimErrors.Check(ServerNative.SetCallbacks(p));
    }

    /// <summary>Returns the class index that the shim's callbacks and ClassAdd* use.</summary>
    public static int ClassDefine(string name, bool hasStateCallback, bool hasStatusCallback)
    {
        using var arena = new NativeArena();
        var index = ServerNative.ClassDefine(arena.Str(name), hasStateCallback ? 1 : 0, hasStatusCallback ? 1 : 0);
        ShimErrors.Check(index);
        return index;
    }

    public static void ClassAddAttr(int cls, in TnsAttrDesc desc)
    {
        fixed (TnsAttrDesc* p = &desc)
            ShimErrors.Check(ServerNative.ClassAddAttr(cls, p));
    }

    public static void ClassAddCmd(int cls, in TnsCmdDesc desc)
    {
        fixed (TnsCmdDesc* p = &desc)
            ShimErrors.Check(ServerNative.ClassAddCmd(cls, p));
    }

    /// <summary>A property's description and default for Jive's property wizard (QueryWizardDevProperty /
    /// QueryWizardClassProperty of the admin device).</summary>
    public static void ClassAddProperty(int cls, TnsPropertyScope scope, string name, string description, string defaultValue)
    {
        using var arena = new NativeArena();
        ShimErrors.Check(ServerNative.ClassAddProperty(cls, scope, arena.Str(name), arena.Str(description), arena.Str(defaultValue)));
    }

    public static void ServerInit(IReadOnlyList<string> argv)
    {
        using var arena = new NativeArena();
        ShimErrors.Check(ServerNative.ServerInit(argv.Count, arena.Strs(argv)));
    }

    public static void SignalUnignore() => ServerNative.SignalUnignore();

    /// <summary>Blocks until the server shuts down.</summary>
    public static void ServerRun() => ShimErrors.Check(ServerNative.ServerRun());

    public static void RequestShutdown() => ShimErrors.Check(ServerNative.RequestShutdown());

    public static void CreateDevice(string className, string deviceName)
    {
        using var arena = new NativeArena();
        nint dev;
        ShimErrors.Check(ServerNative.CreateDevice(arena.Str(className), arena.Str(deviceName), &dev));
    }

    public static void DeleteDevice(string className, string deviceName)
    {
        using var arena = new NativeArena();
        ShimErrors.Check(ServerNative.DeleteDevice(arena.Str(className), arena.Str(deviceName)));
    }

    // ---- a device (dev: the native device, see DeviceHandle) ----

    public static DevState DevGetState(nint dev) => (DevState)ServerNative.DevGetState(dev);

    public static void DevSetState(nint dev, DevState state) => ShimErrors.Check(ServerNative.DevSetState(dev, (int)state));

    public static void DevSetStatus(nint dev, string status)
    {
        using var arena = new NativeArena();
        ShimErrors.Check(ServerNative.DevSetStatus(dev, arena.Str(status)));
    }

    /// <summary>The property's values in the Tango DB, or null with why there are none.</summary>
    public static string[]? DevGetProperty(nint dev, TnsPropertyScope scope, string name, out TnsPropertyCount missing)
    {
        using var arena = new NativeArena();
        int count;
        ShimErrors.Check(ServerNative.DevGetProperty(dev, scope, arena.Str(name), &count));
        missing = count < 0 ? (TnsPropertyCount)count : default;
        if (count < 0)
            return null;
        var values = new string[count];
        for (var i = 0; i < count; i++)
            values[i] = new string((sbyte*)ServerNative.PropValue(i));
        return values;
    }

    public static void DevPushEvent(nint dev, string attribute, TnsEventKind kind, in TnsData data, long dimX, long dimY,
        AttrQuality quality)
    {
        using var arena = new NativeArena();
        fixed (TnsData* p = &data)
            ShimErrors.Check(ServerNative.DevPushEvent(dev, arena.Str(attribute), kind, p, dimX, dimY, (int)quality));
    }

    public static void DevPushDataReady(nint dev, string attribute, int counter)
    {
        using var arena = new NativeArena();
        ShimErrors.Check(ServerNative.DevPushDataReady(dev, arena.Str(attribute), counter));
    }

    public static void DevSetEventFlags(nint dev, string attribute, TnsEventKind kind, bool implemented, bool checkCriteria)
    {
        using var arena = new NativeArena();
        ShimErrors.Check(ServerNative.DevSetEventFlags(dev, arena.Str(attribute), kind, implemented ? 1 : 0,
            checkCriteria ? 1 : 0));
    }

    public static void DevPoll(nint dev, TnsMemberKind member, string name, int periodMs)
    {
        using var arena = new NativeArena();
        ShimErrors.Check(ServerNative.DevPoll(dev, member, arena.Str(name), periodMs));
    }

    public static void DevAddAttr(nint dev, in TnsAttrDesc desc)
    {
        fixed (TnsAttrDesc* p = &desc)
            ShimErrors.Check(ServerNative.DevAddAttr(dev, p));
    }

    public static void DevRemoveAttr(nint dev, string name)
    {
        using var arena = new NativeArena();
        ShimErrors.Check(ServerNative.DevRemoveAttr(dev, arena.Str(name)));
    }

    /// <summary>Logs through the device's Tango logger (dev 0: the admin device's) when Tango logs that level.</summary>
    public static void Log(nint dev, int level, string message)
    {
        if (ServerNative.LogEnabled(dev, level) == 0)
            return;
        var bytes = Encoding.UTF8.GetBytes(message + "\0");
        fixed (byte* p = bytes)
            ServerNative.Log(dev, level, p);
    }

    // ---- inside a callback: attr, wattr and output are what cppTango passed to it ----

    public static void AttrSetValue(nint attr, in TnsData data, long dimX, long dimY)
    {
        fixed (TnsData* p = &data)
            ShimErrors.Check(ServerNative.AttrSetValue(attr, p, dimX, dimY));
    }

    /// <summary>A value cppTango sends without a copy; it releases <paramref name="mutex"/> once the reply is sent.</summary>
    public static void AttrSetValueShared(nint attr, in TnsData data, long dimX, long dimY, NativeMutexHandle mutex)
    {
        fixed (TnsData* p = &data)
            ShimErrors.Check(ServerNative.AttrSetValueShared(attr, p, dimX, dimY, mutex));
    }

    public static void AttrSetQuality(nint attr, AttrQuality quality) =>
        ShimErrors.Check(ServerNative.AttrSetQuality(attr, (int)quality));

    public static void AttrSetDate(nint attr, long unixMicroseconds) =>
        ShimErrors.Check(ServerNative.AttrSetDate(attr, unixMicroseconds));

    /// <summary>A view of the written value, valid until the write callback returns.</summary>
    public static TnsData WAttrGetValue(nint wattr, out long dimX, out long dimY)
    {
        TnsData data;
        long x, y;
        ShimErrors.Check(ServerNative.WAttrGetValue(wattr, &data, &x, &y));
        dimX = x;
        dimY = y;
        return data;
    }

    public static void CmdSetResult(nint output, TangoType type, in TnsData data)
    {
        fixed (TnsData* p = &data)
            ShimErrors.Check(ServerNative.CmdSetResult(output, (int)type, p));
    }

    /// <summary>Leaves <paramref name="errors"/> as this thread's error stack, which the shim raises as DevFailed
    /// when the callback returns -1. Never throws: a failure here leaves the shim's generic error.</summary>
    public static void SetCallbackErrors(IReadOnlyList<DevError> errors)
    {
        try
        {
            ServerNative.CallbackErrorClear();
            using var arena = new NativeArena();
            foreach (var e in errors)
                ServerNative.CallbackErrorAdd(arena.Str(e.Reason), arena.Str(e.Description), arena.Str(e.Origin),
                    (int)e.Severity);
        }
        catch
        {
            // reporting must not throw across the boundary
        }
    }
}
