using System.Text;

namespace Lima2.OpenCL;

/// <summary>An OpenCL platform (one ICD: PoCL, NVIDIA, ...). Platforms and devices are not reference counted.</summary>
public sealed unsafe class ClPlatform
{
    private const uint InfoName = 0x0902, InfoVendor = 0x0903, InfoVersion = 0x0901;

    /// <summary>
    /// Held while platforms and devices are listed and described and while contexts are created: PoCL sets a device's
    /// strings up when its first context is made, and a clGetDeviceInfo in another thread at that moment read a null
    /// string (seen as a crash in strlen, and as "no devices", when two test classes started at once).
    /// </summary>
    internal static readonly Lock DriverSetup = new();

    private ClPlatform(nint id, int index)
    {
        Id = id;
        Index = index;
        Name = InfoString(InfoName);
        Vendor = InfoString(InfoVendor);
        Version = InfoString(InfoVersion);
    }

    internal nint Id { get; }

    public int Index { get; }

    public string Name { get; }

    public string Vendor { get; }

    public string Version { get; }

    /// <summary>Every platform the ICD loader knows; empty when none is installed.</summary>
    public static IReadOnlyList<ClPlatform> All()
    {
        lock (DriverSetup)
            return List();
    }

    private static IReadOnlyList<ClPlatform> List()
    {
        int rc;
        uint count;
        try
        {
            rc = Native.clGetPlatformIDs(0, null, out count);
        }
        catch (DllNotFoundException)
        {
            return [];
        }
        if (rc == -1001 || count == 0) // CL_PLATFORM_NOT_FOUND_KHR: loader present, no ICD
            return [];
        OpenClException.Check(rc, "clGetPlatformIDs");
        var ids = new nint[count];
        fixed (nint* p = ids)
            OpenClException.Check(Native.clGetPlatformIDs(count, p, out _), "clGetPlatformIDs");
        return ids.Select((id, i) => new ClPlatform(id, i)).ToArray();
    }

    /// <summary>The devices of this platform (all types), in the order the driver lists them.</summary>
    public IReadOnlyList<ClDevice> Devices()
    {
        lock (DriverSetup)
            return ListDevices();
    }

    private IReadOnlyList<ClDevice> ListDevices()
    {
        const ulong all = 0xFFFFFFFF;
        var rc = Native.clGetDeviceIDs(Id, all, 0, null, out var count);
        if (rc == -1 || count == 0)
            return [];
        OpenClException.Check(rc, "clGetDeviceIDs");
        var ids = new nint[count];
        fixed (nint* p = ids)
            OpenClException.Check(Native.clGetDeviceIDs(Id, all, count, p, out _), "clGetDeviceIDs");
        return ids.Select((id, i) => new ClDevice(id, this, i)).ToArray();
    }

    private string InfoString(uint name)
    {
        OpenClException.Check(Native.clGetPlatformInfo(Id, name, 0, null, out var size), "clGetPlatformInfo");
        var bytes = new byte[size];
        fixed (byte* p = bytes)
            OpenClException.Check(Native.clGetPlatformInfo(Id, name, size, p, out _), "clGetPlatformInfo");
        return Encoding.UTF8.GetString(bytes).TrimEnd('\0');
    }

    public override string ToString() => $"[{Index}] {Name} ({Version})";
}
