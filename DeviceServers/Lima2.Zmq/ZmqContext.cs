namespace Lima2.Zmq;

/// <summary>A ZeroMQ context: the I/O threads its sockets share. Disposed after its sockets.</summary>
public sealed class ZmqContext : IDisposable
{
    public ZmqContext()
    {
    }

    /// <param name="ioThreads">libzmq I/O threads, which move the bytes between the sockets and the kernel (libzmq's default: 1)</param>
    public ZmqContext(int ioThreads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ioThreads, 1);
        if (Native.zmq_ctx_set(Handle, Native.IoThreads, ioThreads) != 0)
            throw Native.Error($"set ZMQ_IO_THREADS = {ioThreads}");
    }

    internal ZmqContextHandle Handle { get; } = ZmqContextHandle.Create();

    public ZmqSocket CreateSocket(ZmqSocketType type) => new(ZmqSocketHandle.Create(Handle, (int)type), type);

    public void Dispose() => Handle.Dispose();
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
