using System.Runtime.InteropServices;

namespace Lima2.Zmq;

/// <summary>
/// One ZeroMQ socket. Like libzmq's, it is used from one thread at a time; <see cref="Dispose"/> closes it
/// (pending outgoing messages are kept for <see cref="ZmqOption.Linger"/> milliseconds).
/// </summary>
public sealed unsafe class ZmqSocket : IDisposable
{
    private const int DontWait = 1;
    private const int SendMore = 2;

    private readonly ZmqSocketHandle _handle;

    internal ZmqSocket(ZmqSocketHandle handle, ZmqSocketType type)
    {
        _handle = handle;
        Type = type;
    }

    public ZmqSocketType Type { get; }

    public void Bind(string endpoint)
    {
        if (Native.zmq_bind(_handle, endpoint) != 0)
            throw Native.Error($"bind {endpoint}");
    }

    public void Connect(string endpoint)
    {
        if (Native.zmq_connect(_handle, endpoint) != 0)
            throw Native.Error($"connect {endpoint}");
    }

    public void SetOption(ZmqOption option, int value)
    {
        if (Native.zmq_setsockopt(_handle, (int)option, &value, sizeof(int)) != 0)
            throw Native.Error($"set {option} = {value}");
    }

    public void SetOption(ZmqOption option, long value)
    {
        if (Native.zmq_setsockopt(_handle, (int)option, &value, sizeof(long)) != 0)
            throw Native.Error($"set {option} = {value}");
    }

    public void SetOption(ZmqOption option, ReadOnlySpan<byte> value)
    {
        fixed (byte* bytes = value)
            if (Native.zmq_setsockopt(_handle, (int)option, bytes, (nuint)value.Length) != 0)
                throw Native.Error($"set {option}");
    }

    public int GetOption(ZmqOption option)
    {
        int value;
        nuint length = sizeof(int);
        if (Native.zmq_getsockopt(_handle, (int)option, &value, &length) != 0)
            throw Native.Error($"get {option}");
        return value;
    }

    /// <summary>Sends one part (copied by libzmq); <paramref name="more"/> when other parts of the message follow.</summary>
    /// <returns>false when the message could not be queued before <see cref="ZmqOption.SendTimeout"/>.</returns>
    public bool Send(ReadOnlySpan<byte> data, bool more = false, bool dontWait = false)
    {
        var flags = (more ? SendMore : 0) | (dontWait ? DontWait : 0);
        fixed (byte* bytes = data)
        {
            while (true)
            {
                if (Native.zmq_send(_handle, bytes, (nuint)data.Length, flags) >= 0)
                    return true;
                var errno = Native.zmq_errno();
                if (errno == Native.EAGAIN)
                    return false;
                if (errno != Native.EINTR)
                    throw Native.Error("send");
            }
        }
    }

    /// <summary>
    /// Sends one part without copying it: libzmq reads <paramref name="buffer"/>'s bytes from where they are until it
    /// has written them to the connection (or dropped them), then releases the buffer (<see cref="ZmqSendBuffer.InFlight"/>).
    /// </summary>
    /// <returns>false when the message could not be queued before <see cref="ZmqOption.SendTimeout"/>.</returns>
    public bool Send(ZmqSendBuffer buffer, bool more = false)
    {
        var message = stackalloc byte[Native.MessageSize];
        buffer.InitMessage(message);
        while (true)
        {
            if (Native.zmq_msg_send(message, _handle, more ? SendMore : 0) >= 0)
                return true;
            var errno = Native.zmq_errno();
            if (errno == Native.EINTR)
                continue;
            // not queued: the message is still ours, and closing it releases the buffer
            Native.zmq_msg_close(message);
            if (errno == Native.EAGAIN)
                return false;
            throw Native.Error("send");
        }
    }

    /// <summary>Receives one part into <paramref name="message"/> (no copy: the bytes stay in libzmq's buffer).</summary>
    /// <returns>false when nothing arrived before <see cref="ZmqOption.ReceiveTimeout"/>.</returns>
    public bool Receive(ZmqMessage message, bool dontWait = false)
    {
        while (true)
        {
            if (Native.zmq_msg_recv(message.Handle, _handle, dontWait ? DontWait : 0) >= 0)
                return true;
            var errno = Native.zmq_errno();
            if (errno == Native.EAGAIN)
                return false;
            if (errno != Native.EINTR)
                throw Native.Error("receive");
        }
    }

    /// <summary>Receives every part of the next message (ZeroMQ delivers all parts or none).</summary>
    /// <returns>false when nothing arrived before <see cref="ZmqOption.ReceiveTimeout"/>.</returns>
    public bool Receive(ZmqMultipartMessage message)
    {
        message.Count = 0;
        if (!Receive(message.Next()))
            return false;
        while (message[message.Count - 1].More)
        {
            // The other parts are already here: a message is atomic, so this does not wait.
            if (!Receive(message.Next()))
                throw new ZmqException(Native.EAGAIN, "a multipart message ended early");
        }
        return true;
    }

    /// <summary>Waits for the socket to be readable/writable; false after <paramref name="timeout"/>.</summary>
    public bool Poll(ZmqPollEvents events, TimeSpan timeout)
    {
        var added = false;
        _handle.DangerousAddRef(ref added);
        try
        {
            var item = new Native.PollItem { Socket = _handle.DangerousGetHandle(), Events = (short)events };
            while (true)
            {
                var ready = Native.zmq_poll(&item, 1, (long)timeout.TotalMilliseconds);
                if (ready >= 0)
                    return ready > 0;
                if (Native.zmq_errno() != Native.EINTR)
                    throw Native.Error("poll");
            }
        }
        finally
        {
            _handle.DangerousRelease();
        }
    }

    public void Dispose() => _handle.Dispose();
}

/// <summary>One received part, in libzmq's memory until the next receive into it or <see cref="Dispose"/>.</summary>
public sealed unsafe class ZmqMessage : IDisposable
{
    internal ZmqMessageHandle Handle { get; } = ZmqMessageHandle.Create();

    public int Length => (int)Native.zmq_msg_size(Handle);

    public ReadOnlySpan<byte> Span => new(Native.zmq_msg_data(Handle), Length);

    /// <summary>The part as <see cref="ReadOnlyMemory{T}"/> (for parsers that need one); valid as long as <see cref="Span"/>.</summary>
    public ReadOnlyMemory<byte> Memory
    {
        get
        {
            _memory ??= new NativeMemoryView();
            _memory.Reset((byte*)Native.zmq_msg_data(Handle), Length);
            return _memory.Memory;
        }
    }

    private NativeMemoryView? _memory;

    /// <summary>Whether other parts of the same message follow this one.</summary>
    public bool More => Native.zmq_msg_more(Handle) != 0;

    /// <summary>Closes the part; a receive into it in flight on another thread finishes first.</summary>
    public void Dispose() => Handle.Dispose();
}

/// <summary>A view of native memory as <see cref="Memory{T}"/>, re-pointed at each message part.</summary>
internal sealed unsafe class NativeMemoryView : System.Buffers.MemoryManager<byte>
{
    private byte* _pointer;
    private int _length;

    public void Reset(byte* pointer, int length)
    {
        _pointer = pointer;
        _length = length;
    }

    public override Span<byte> GetSpan() => new(_pointer, _length);

    public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}

/// <summary>The parts of one multipart message; reused from message to message so receiving allocates nothing.</summary>
public sealed class ZmqMultipartMessage : IDisposable
{
    private readonly List<ZmqMessage> _parts = [];

    public int Count { get; internal set; }

    public ZmqMessage this[int index] =>
        (uint)index < (uint)Count ? _parts[index] : throw new ArgumentOutOfRangeException(nameof(index), index, $"{Count} parts");

    internal ZmqMessage Next()
    {
        if (Count == _parts.Count)
            _parts.Add(new ZmqMessage());
        return _parts[Count++];
    }

    public void Dispose()
    {
        foreach (var part in _parts)
            part.Dispose();
        _parts.Clear();
        Count = 0;
    }
}
