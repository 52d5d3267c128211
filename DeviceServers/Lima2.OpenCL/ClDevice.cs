using System.Text;

namespace Lima2.OpenCL;

[Flags]
public enum ClDeviceType : ulong
{
    Default = 1,
    Cpu = 2,
    Gpu = 4,
    Accelerator = 8,
}

/// <summary>One OpenCL device with the properties the kernels are tuned by.</summary>
public sealed unsafe class ClDevice
{
    internal ClDevice(nint id, ClPlatform platform, int index)
    {
        Id = id;
        Platform = platform;
        Index = index;
        Name = InfoString(0x102B);
        Version = InfoString(0x102F);
        DriverVersion = InfoString(0x102D);
        Extensions = InfoString(0x1030);
        Type = (ClDeviceType)InfoScalar<ulong>(0x1000);
        ComputeUnits = (int)InfoScalar<uint>(0x1002);
        MaxWorkGroupSize = (long)InfoScalar<nuint>(0x1004);
        GlobalMemory = (long)InfoScalar<ulong>(0x101F);
        LocalMemory = (long)InfoScalar<ulong>(0x1023);
        HostUnifiedMemory = InfoScalar<uint>(0x1035) != 0;
    }

    internal nint Id { get; }

    public ClPlatform Platform { get; }

    /// <summary>Index within its platform.</summary>
    public int Index { get; }

    public string Name { get; }

    public string Version { get; }

    public string DriverVersion { get; }

    public string Extensions { get; }

    public ClDeviceType Type { get; }

    public int ComputeUnits { get; }

    public long MaxWorkGroupSize { get; }

    public long GlobalMemory { get; }

    public long LocalMemory { get; }

    /// <summary>True for CPU and integrated devices: buffers created over host memory are not copied.</summary>
    public bool HostUnifiedMemory { get; }

    public bool IsCpu => Type.HasFlag(ClDeviceType.Cpu);

    public bool SupportsDouble => Extensions.Contains("cl_khr_fp64", StringComparison.Ordinal);

    /// <summary>Identifies the compiler target for the program binary cache.</summary>
    public string CacheIdentity => $"{Platform.Name}|{Platform.Version}|{Name}|{Version}|{DriverVersion}";

    private string InfoString(uint name)
    {
        OpenClException.Check(Native.clGetDeviceInfo(Id, name, 0, null, out var size), "clGetDeviceInfo");
        var bytes = new byte[size];
        fixed (byte* p = bytes)
            OpenClException.Check(Native.clGetDeviceInfo(Id, name, size, p, out _), "clGetDeviceInfo");
        return Encoding.UTF8.GetString(bytes).TrimEnd('\0').Trim();
    }

    private T InfoScalar<T>(uint name) where T : unmanaged
    {
        T value;
        OpenClException.Check(Native.clGetDeviceInfo(Id, name, (nuint)sizeof(T), &value, out _), "clGetDeviceInfo");
        return value;
    }

    public override string ToString() => $"[{Platform.Index}:{Index}] {Name} ({Type}, {ComputeUnits} CU, {Platform.Name})";

    /// <summary>
    /// Picks a device the way Lima2's <c>gpu{platform_idx, device_idx, ocl_cpu_fallback_enabled}</c> does: the
    /// given indices, or else (when the fallback is enabled) the first CPU device of any platform.
    /// </summary>
    /// <exception cref="OpenClException">no such device and no fallback (CL_DEVICE_NOT_FOUND).</exception>
    public static ClDevice Select(int platformIndex, int deviceIndex, bool cpuFallback)
    {
        var platforms = ClPlatform.All();
        if (platformIndex >= 0 && platformIndex < platforms.Count)
        {
            var devices = platforms[platformIndex].Devices();
            if (deviceIndex >= 0 && deviceIndex < devices.Count)
                return devices[deviceIndex];
        }
        if (cpuFallback)
        {
            foreach (var p in platforms)
            {
                var cpu = p.Devices().FirstOrDefault(d => d.IsCpu);
                if (cpu is not null)
                    return cpu;
            }
        }
        var known = string.Join("; ", platforms.SelectMany(p => p.Devices()).Select(d => d.ToString()));
        throw new OpenClException("select device", -1,
            $"no device {platformIndex}:{deviceIndex}{(cpuFallback ? " and no CPU device to fall back to" : "")}; devices: {(known.Length == 0 ? "none" : known)}");
    }
}
