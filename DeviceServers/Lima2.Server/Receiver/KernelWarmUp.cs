using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.OpenCL;
using Lima2.PeakFinding;

namespace Lima2.Server.Receiver;

/// <summary>
/// Builds the peak finder's OpenCL kernels, or loads them from the cache, in the background from the receiver's
/// start, so that a Prepare finds them built: from source that takes seconds (PoCL on a CPU), longer than a Tango
/// client waits. <see cref="Status"/> says how far it is; a Prepare that needs the kernels calls <see cref="Wait"/>.
/// </summary>
public sealed class KernelWarmUp
{
    private readonly Task _done;
    private volatile string _status = "OpenCL kernels: looking for a device";

    /// <param name="pixelTypes">the frame types to build for, most likely first</param>
    /// <param name="report">told each new <see cref="Status"/> (for the log)</param>
    private KernelWarmUp(IReadOnlyList<PixelType> pixelTypes, Action<string> report)
    {
        _done = Task.Run(() =>
        {
            try
            {
                // the device a default gpu block selects: Lima2's clients leave it at 0:0 with the CPU fallback
                var gpu = new GpuParams();
                var device = ClDevice.Select(gpu.PlatformIdx, gpu.DeviceIdx, gpu.OclCpuFallbackEnabled);
                Set($"OpenCL kernels: building for {device.Name} ({device.Platform.Name})...", report);
                PeakFinder.WarmUp(device, pixelTypes);
                Set($"OpenCL kernels: ready ({device.Name}, {device.Platform.Name})", report);
            }
            catch (Exception e)
            {
                // Prepare builds what it needs itself and reports its own error
                Set($"OpenCL kernels: not built ({e.Message})", report);
            }
        });
    }

    /// <summary>One line for the device Status.</summary>
    public string Status => _status;

    /// <summary>Starts the warm-up where peak finding may run on OpenCL (backend auto or opencl); null elsewhere.</summary>
    public static KernelWarmUp? StartIfUseful(PeakFinderBackend backend, IReadOnlyList<PixelType> pixelTypes, Action<string> report) =>
        backend == PeakFinderBackend.Reference ? null : new KernelWarmUp(pixelTypes, report);

    /// <summary>Returns once the warm-up has ended, built or not.</summary>
    public void Wait() => _done.Wait();

    private void Set(string status, Action<string> report)
    {
        _status = status;
        report(status);
    }
}
