using System.Buffers;
using System.Collections.Concurrent;
using Lima2.Core.Frames;
using Lima2.OpenCL;

namespace Lima2.PeakFinding;

/// <summary>
/// Frame buffers in an OpenCL device's driver-pinned memory (<see cref="ClHostMemory"/>): a <see cref="FramePool"/>
/// over it lets the channel write frames where the peak finder copies them to the device from at the bus's rate.
/// One per device for the process; its buffers are freed by the pools that made them.
/// </summary>
public sealed class DevicePinnedMemory : IBufferMemory
{
    private static readonly ConcurrentDictionary<ClContext, Lazy<DevicePinnedMemory>> ByContext = new();
    private readonly ClContext _context;
    private readonly ClQueue _mapQueue;
    private readonly Lock _mapLock = new();

    private DevicePinnedMemory(ClContext context)
    {
        _context = context;
        _mapQueue = context.CreateQueue();
    }

    public static DevicePinnedMemory For(ClDevice device) =>
        ByContext.GetOrAdd(ClRuntime.Context(device), c => new Lazy<DevicePinnedMemory>(() => new DevicePinnedMemory(c))).Value;

    public ClDevice Device => _context.Device;

    /// <exception cref="OpenClException">the driver could not allocate or map the memory.</exception>
    public IMemoryOwner<byte> Allocate(int bytes) => new ClHostMemory(_context, _mapQueue, _mapLock, bytes);

    public override string ToString() => $"driver-pinned memory of {Device.Name}";
}
