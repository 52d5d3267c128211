using System.Buffers;
using System.Collections.Concurrent;

namespace Lima2.Zmq;

/// <summary>
/// Bytes of received message parts held past their message, at most <see cref="Capacity"/> at once, each at most
/// <see cref="PartBytes"/>: a part is moved out of its message (<c>zmq_msg_move</c>, no copy), so that the message can
/// receive again while the part's bytes stay where libzmq read them until their holder disposes them.
/// <see cref="Hold"/> waits for held bytes to be released, <see cref="TryHold"/> fails at once.
/// </summary>
public sealed class ZmqHeldParts : IDisposable
{
    /// <summary>
    /// libzmq reads a part up to its input batch (<c>ZMQ_IN_BATCH_SIZE</c>, 8 KiB unless set) into a receive buffer
    /// it shares with the parts around it: holding such a part would hold that whole buffer, so the bytes wanted are
    /// copied (a few KiB at most). A larger part has an allocation of its own, which is held.
    /// </summary>
    public const int SharedReceiveBufferBytes = 8192;

    private readonly ConcurrentBag<ZmqHeldPart> _free = [];
    private readonly SemaphoreSlim _slots;
    private int _peak;
    private bool _disposed;

    /// <param name="capacity">parts held at once</param>
    /// <param name="partBytes">most bytes one held part keeps: the bytes wanted of a bigger part are copied out of it</param>
    public ZmqHeldParts(int capacity, int partBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(partBytes);
        Capacity = capacity;
        PartBytes = partBytes;
        _slots = new SemaphoreSlim(capacity, capacity);
    }

    /// <summary>How many parts may be held at once.</summary>
    public int Capacity { get; }

    /// <summary>Most bytes one held part keeps.</summary>
    public int PartBytes { get; }

    /// <summary>Parts held now.</summary>
    public int Held => Capacity - _slots.CurrentCount;

    /// <summary>The most parts held at once so far.</summary>
    public int PeakHeld => Volatile.Read(ref _peak);

    /// <summary>
    /// Whether a part of <paramref name="partLength"/> bytes is held where libzmq read it, its bytes' address unchanged:
    /// a part with an allocation of its own, no bigger than <see cref="PartBytes"/>; other parts' bytes are copied.
    /// </summary>
    public bool HoldsInPlace(int partLength) => partLength > SharedReceiveBufferBytes && partLength <= PartBytes;

    /// <summary>
    /// Holds <paramref name="length"/> bytes (at most <see cref="PartBytes"/>) at <paramref name="offset"/> of
    /// <paramref name="part"/>, waiting while <see cref="Capacity"/> parts are held; the part is left empty, unless its
    /// bytes were copied.
    /// </summary>
    public ZmqHeldPart Hold(ZmqMessage part, int offset, int length, CancellationToken cancellationToken)
    {
        _slots.Wait(cancellationToken);
        return Take(part, offset, length);
    }

    /// <summary>As <see cref="Hold"/>, or null at once when <see cref="Capacity"/> parts are held.</summary>
    public ZmqHeldPart? TryHold(ZmqMessage part, int offset, int length) => _slots.Wait(0) ? Take(part, offset, length) : null;

    private ZmqHeldPart Take(ZmqMessage part, int offset, int length)
    {
        try
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(length, PartBytes);
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
            if (!_free.TryTake(out var held))
                held = new ZmqHeldPart(this);
            held.Take(part, offset, length, copy: !HoldsInPlace(part.Length));
            var now = Held;
            for (var peak = Volatile.Read(ref _peak); now > peak; peak = Volatile.Read(ref _peak))
                Interlocked.CompareExchange(ref _peak, now, peak);
            return held;
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    internal void Return(ZmqHeldPart held)
    {
        _free.Add(held);
        if (Volatile.Read(ref _disposed))
            FreeAll(); // released after the set was disposed: nobody holds it again
        _slots.Release();
    }

    private void FreeAll()
    {
        while (_free.TryTake(out var held))
            held.Free();
    }

    /// <summary>Frees the parts not held; those still held (a frame kept for readers) are freed when released.</summary>
    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        FreeAll();
    }
}

/// <summary>
/// One held part's bytes, as <see cref="Memory{T}"/> over libzmq's memory; disposing it releases them (libzmq frees
/// them) and gives the hold back to its <see cref="ZmqHeldParts"/>.
/// </summary>
public sealed unsafe class ZmqHeldPart : MemoryManager<byte>
{
    private readonly ZmqHeldParts _owner;
    private readonly ZmqMessageHandle _message = ZmqMessageHandle.Create();
    private byte* _bytes;
    private int _length;
    private int _held;

    internal ZmqHeldPart(ZmqHeldParts owner) => _owner = owner;

    internal void Take(ZmqMessage part, int offset, int length, bool copy)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((long)offset + length, part.Length);
        if (copy)
        {
            if (Native.zmq_msg_init_size(_message, (nuint)length) != 0)
                throw Native.Error("zmq_msg_init_size");
            _bytes = (byte*)Native.zmq_msg_data(_message);
            part.Span.Slice(offset, length).CopyTo(new Span<byte>(_bytes, length));
        }
        else
        {
            if (Native.zmq_msg_move(_message, part.Handle) != 0)
                throw Native.Error("zmq_msg_move");
            _bytes = (byte*)Native.zmq_msg_data(_message) + offset;
        }
        _length = length;
        Volatile.Write(ref _held, 1);
    }

    public override Span<byte> GetSpan() => new(_bytes, _length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_bytes + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _held, 0) == 0)
            return;
        _message.Clear();
        _bytes = null;
        _length = 0;
        _owner.Return(this);
    }

    internal void Free() => _message.Dispose();
}
