namespace Lima2.OpenCL;

/// <summary>A context on one device; creates queues, buffers and programs.</summary>
public sealed unsafe class ClContext : IDisposable
{
    public ClContext(ClDevice device)
    {
        Device = device;
        var id = device.Id;
        nint ctx;
        int rc;
        lock (ClPlatform.DriverSetup)
            ctx = Native.clCreateContext(null, 1, &id, 0, 0, out rc);
        OpenClException.Check(rc, "clCreateContext");
        Handle = new ClContextHandle(ctx);
    }

    public ClDevice Device { get; }

    internal ClContextHandle Handle { get; }

    /// <summary>An in-order queue; <paramref name="profiling"/> enables <see cref="ClEvent"/> timings.</summary>
    public ClQueue CreateQueue(bool profiling = false) => new(this, profiling);

    public ClBuffer CreateBuffer(long bytes, ClMemFlags flags = ClMemFlags.ReadWrite) => new(this, bytes, flags, null);

    public ClBuffer<T> CreateBuffer<T>(long length, ClMemFlags flags = ClMemFlags.ReadWrite) where T : unmanaged =>
        new(this, length, flags);

    /// <summary>A buffer over caller-owned memory that must stay pinned and alive as long as the buffer
    /// (CL_MEM_USE_HOST_PTR): on CPU devices the kernels then read the memory in place.</summary>
    public ClBuffer CreateBufferOver(void* hostMemory, long bytes, ClMemFlags flags = ClMemFlags.ReadOnly) =>
        new(this, bytes, flags | ClMemFlags.UseHostPtr, hostMemory);

    public void Dispose() => Handle.Dispose();
}

[Flags]
public enum ClMemFlags : ulong
{
    ReadWrite = 1 << 0,
    WriteOnly = 1 << 1,
    ReadOnly = 1 << 2,
    UseHostPtr = 1 << 3,
    AllocHostPtr = 1 << 4,
    CopyHostPtr = 1 << 5,
}
