using System.Collections.Concurrent;

namespace Lima2.Zmq;

/// <summary>A ZeroMQ context: the I/O threads its sockets share. Disposed after its sockets.</summary>
public sealed class ZmqContext : IDisposable
{
    /// <summary>Receiving contexts given back, the last one first (<see cref="ForReceiving"/>).</summary>
    private static readonly ConcurrentStack<ZmqContextHandle> GivenBack = new();

    private readonly bool _giveBack;
    private int _disposed;

    public ZmqContext()
        : this(ZmqContextHandle.Create(), giveBack: false)
    {
    }

    /// <param name="ioThreads">libzmq I/O threads, which move the bytes between the sockets and the kernel (libzmq's default: 1)</param>
    public ZmqContext(int ioThreads)
        : this()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ioThreads, 1);
        if (Native.zmq_ctx_set(Handle, Native.IoThreads, ioThreads) != 0)
            throw Native.Error($"set ZMQ_IO_THREADS = {ioThreads}");
    }

    private ZmqContext(ZmqContextHandle handle, bool giveBack)
    {
        Handle = handle;
        _giveBack = giveBack;
    }

    /// <summary>
    /// A context for a receiver's socket whose I/O thread outlives it: disposing it gives it back to the next receiver
    /// of the process instead of ending the thread (the context given back last is taken first; one per receiver
    /// that runs at once).
    /// </summary>
    /// <remarks>
    /// libzmq's I/O thread mallocs each message it reads, and glibc serves a thread from the arena it took at its
    /// first malloc. A new I/O thread for every run may take another arena, whose pages the kernel then faults in
    /// afresh as it copies the stream into them (one fault per 4 KiB, for as many messages as the receiver holds),
    /// and every arena so taken keeps its pages. Kept, the thread keeps its arena: grown once to the most messages
    /// its receivers held (which their memory caps count), then reused (<see cref="ZmqMessageMemory"/>).
    /// </remarks>
    public static ZmqContext ForReceiving() =>
        new(GivenBack.TryPop(out var handle) ? handle : ZmqContextHandle.Create(), giveBack: true);

    internal ZmqContextHandle Handle { get; }

    public ZmqSocket CreateSocket(ZmqSocketType type) => new(ZmqSocketHandle.Create(Handle, (int)type), type);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        if (_giveBack)
            GivenBack.Push(Handle);
        else
            Handle.Dispose();
    }
}

public enum ZmqSocketType
{
    Pub = 1,
    Sub = 2,
    Pull = 7,
    Push = 8,
}

/// <summary>The socket options we set (values of libzmq's <c>ZMQ_*</c> constants).</summary>
public enum ZmqOption
{
    Subscribe = 6,
    ReceiveBuffer = 12,
    Linger = 17,

    /// <summary>The largest message part taken (int64): a bigger one is dropped with its connection, which reconnects.</summary>
    MaxMessageSize = 22,
    SendHighWaterMark = 23,
    ReceiveHighWaterMark = 24,
    ReceiveTimeout = 27,
    SendTimeout = 28,
}

[Flags]
public enum ZmqPollEvents : short
{
    None = 0,
    In = 1,
    Out = 2,
}
