using Lima2.Core.Parameters;
using Lima2.OpenCL;

namespace Lima2.PeakFinding.Tests;

/// <summary>The OpenCL CPU device (PoCL) and a program cache shared by every test of the run.</summary>
public static class Ocl
{
    public static string Cache { get; } = Path.Combine(Path.GetTempPath(), "lima2-tests-opencl-cache");

    public static PeakFinderOptions Options { get; } = new()
    {
        Backend = PeakFinderBackend.OpenCl,
        Gpu = new GpuParams { PlatformIdx = 99, DeviceIdx = 0, OclCpuFallbackEnabled = true },
        ProgramCache = Cache,
    };

    public static PeakFinderOptions Reference { get; } = new() { Backend = PeakFinderBackend.Reference };

    public static ClDevice Cpu => ClDevice.Select(99, 0, cpuFallback: true);
}
