namespace Lima2.OpenCL;

/// <summary>
/// An in-order command queue. Not thread-safe by contract of this wrapper: one owner enqueues. Commands of two
/// queues run in any order unless one waits for the other's event (<c>after</c>): that is how a copy on one queue
/// overlaps the kernels of another frame on a second queue.
/// </summary>
public sealed unsafe class ClQueue : IDisposable
{
    private const ulong ProfilingEnable = 1 << 1;

    internal ClQueue(ClContext context, bool profiling)
    {
        Context = context;
        Profiling = profiling;
        var q = Native.clCreateCommandQueue(context.Handle.Raw, context.Device.Id, profiling ? ProfilingEnable : 0, out var rc);
        OpenClException.Check(rc, "clCreateCommandQueue");
        Handle = new ClQueueHandle(q);
    }

    public ClContext Context { get; }

    public bool Profiling { get; }

    internal ClQueueHandle Handle { get; }

    internal nint Raw => Handle.Raw;

    public void Finish() => OpenClException.Check(Native.clFinish(Raw), "clFinish");

    public void Flush() => OpenClException.Check(Native.clFlush(Raw), "clFlush");

    /// <summary>Copies host memory into a buffer. Non-blocking copies need the source to stay valid until the
    /// returned event completes (pinned memory).</summary>
    public ClEvent? Write(ClBuffer buffer, ReadOnlySpan<byte> source, long offset = 0, bool blocking = true, bool wantEvent = false)
    {
        fixed (byte* p = source)
            return Write(buffer, p, source.Length, offset, blocking, wantEvent);
    }

    public ClEvent? Write<T>(ClBuffer buffer, ReadOnlySpan<T> source, long offset = 0, bool blocking = true, bool wantEvent = false) where T : unmanaged =>
        Write(buffer, System.Runtime.InteropServices.MemoryMarshal.AsBytes(source), offset * sizeof(T), blocking, wantEvent);

    /// <summary>Copies <paramref name="bytes"/> bytes of pinned host memory into a buffer once the events of
    /// <paramref name="after"/> have completed; the memory must stay valid until the returned event completes.</summary>
    public ClEvent? Write(ClBuffer buffer, void* source, long bytes, long offset = 0, bool blocking = true, bool wantEvent = false,
        ReadOnlySpan<ClEvent?> after = default)
    {
        nint evt = 0;
        var wait = stackalloc nint[after.Length];
        var count = WaitList(after, wait);
        OpenClException.Check(Native.clEnqueueWriteBuffer(Raw, buffer.Raw, blocking ? 1u : 0u, (nuint)offset, (nuint)bytes, source,
            count, count == 0 ? null : wait, wantEvent ? &evt : null), "clEnqueueWriteBuffer");
        return ClEvent.Wrap(evt);
    }

    public ClEvent? Read(ClBuffer buffer, Span<byte> destination, long offset = 0, bool blocking = true, bool wantEvent = false)
    {
        fixed (byte* p = destination)
            return Read(buffer, p, destination.Length, offset, blocking, wantEvent);
    }

    public void Read<T>(ClBuffer buffer, Span<T> destination, long offset = 0) where T : unmanaged =>
        Read(buffer, System.Runtime.InteropServices.MemoryMarshal.AsBytes(destination), offset * sizeof(T), blocking: true);

    /// <summary>Copies a buffer into pinned host memory; non-blocking reads need the memory to stay valid until the
    /// returned event completes.</summary>
    public ClEvent? Read(ClBuffer buffer, void* destination, long bytes, long offset = 0, bool blocking = true, bool wantEvent = false)
    {
        nint evt = 0;
        OpenClException.Check(Native.clEnqueueReadBuffer(Raw, buffer.Raw, blocking ? 1u : 0u, (nuint)offset, (nuint)bytes, destination, 0, null,
            wantEvent ? &evt : null), "clEnqueueReadBuffer");
        return ClEvent.Wrap(evt);
    }

    /// <summary>Fills a buffer with a repeated value once the events of <paramref name="after"/> have completed.</summary>
    public void Fill<T>(ClBuffer buffer, T value, long offset = 0, long count = -1, ReadOnlySpan<ClEvent?> after = default) where T : unmanaged
    {
        var bytes = count < 0 ? buffer.Bytes - offset * sizeof(T) : count * sizeof(T);
        var wait = stackalloc nint[after.Length];
        var waits = WaitList(after, wait);
        OpenClException.Check(Native.clEnqueueFillBuffer(Raw, buffer.Raw, &value, (nuint)sizeof(T), (nuint)(offset * sizeof(T)), (nuint)bytes,
            waits, waits == 0 ? null : wait, null), "clEnqueueFillBuffer");
    }

    /// <summary>Maps a buffer into host memory (blocking); unmap with <see cref="Unmap"/>.</summary>
    public void* Map(ClBuffer buffer, bool write, long offset = 0, long bytes = -1)
    {
        const ulong mapRead = 1, mapWrite = 2;
        var p = Native.clEnqueueMapBuffer(Raw, buffer.Raw, 1, write ? mapWrite | mapRead : mapRead, (nuint)offset,
            (nuint)(bytes < 0 ? buffer.Bytes - offset : bytes), 0, null, null, out var rc);
        OpenClException.Check(rc, "clEnqueueMapBuffer");
        return p;
    }

    public void Unmap(ClBuffer buffer, void* mapped) =>
        OpenClException.Check(Native.clEnqueueUnmapMemObject(Raw, buffer.Raw, mapped, 0, null, null), "clEnqueueUnmapMemObject");

    /// <summary>Enqueues a kernel over a 1-, 2- or 3-D range; <paramref name="local"/> null lets the driver choose.</summary>
    public ClEvent? Run(ClKernel kernel, ReadOnlySpan<long> global, ReadOnlySpan<long> local = default, bool wantEvent = false)
    {
        var dims = global.Length;
        if (dims is < 1 or > 3 || (local.Length != 0 && local.Length != dims))
            throw new ArgumentException("1 to 3 dimensions, local sizes matching the global ones");
        var g = stackalloc nuint[3];
        var l = stackalloc nuint[3];
        for (var i = 0; i < dims; i++)
        {
            g[i] = (nuint)global[i];
            l[i] = local.Length == 0 ? 0 : (nuint)local[i];
        }
        nint evt = 0;
        OpenClException.Check(Native.clEnqueueNDRangeKernel(Raw, kernel.Raw, (uint)dims, null, g, local.Length == 0 ? null : l, 0, null, wantEvent ? &evt : null),
            $"clEnqueueNDRangeKernel({kernel.Name})");
        return ClEvent.Wrap(evt);
    }

    /// <summary>The raw handles of the non-null events; their count.</summary>
    private static uint WaitList(ReadOnlySpan<ClEvent?> events, nint* handles)
    {
        uint n = 0;
        foreach (var e in events)
            if (e is not null)
                handles[n++] = e.Handle.Raw;
        return n;
    }

    public void Dispose() => Handle.Dispose();
}
