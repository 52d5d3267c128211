namespace Lima2.OpenCL;

/// <summary>A device buffer.</summary>
public unsafe class ClBuffer : IDisposable
{
    internal ClBuffer(ClContext context, long bytes, ClMemFlags flags, void* hostPtr)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        Bytes = bytes;
        Flags = flags;
        var mem = Native.clCreateBuffer(context.Handle.Raw, (ulong)flags, (nuint)bytes, hostPtr, out var rc);
        OpenClException.Check(rc, $"clCreateBuffer({bytes} bytes)");
        Handle = new ClMemHandle(mem);
    }

    public long Bytes { get; }

    public ClMemFlags Flags { get; }

    internal ClMemHandle Handle { get; }

    internal nint Raw => Handle.Raw;

    public void Dispose() => Handle.Dispose();
}

/// <summary>A device buffer of <typeparamref name="T"/> elements.</summary>
public sealed unsafe class ClBuffer<T> : ClBuffer where T : unmanaged
{
    internal ClBuffer(ClContext context, long length, ClMemFlags flags) : base(context, Math.Max(1, length) * sizeof(T), flags, null) =>
        Length = length;

    public long Length { get; }
}
