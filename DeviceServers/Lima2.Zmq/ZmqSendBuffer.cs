using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Lima2.Zmq;

/// <summary>
/// Bytes in native memory that sockets send without copying (<c>zmq_msg_init_data</c>): one buffer can go out in
/// many messages, on many sockets, at once. libzmq releases each message once its bytes are written to the connection
/// (or dropped with it); the memory is freed when the owner has disposed the buffer and every message is released.
/// </summary>
public sealed unsafe class ZmqSendBuffer : IDisposable
{
    private readonly byte* _bytes;
    private readonly Action? _released;
    private GCHandle _self;
    private int _references = 1; // the owner's, until Dispose
    private int _disposed;

    /// <param name="length">bytes, left for the owner to fill through <see cref="Span"/> before the first send</param>
    /// <param name="released">called (on a libzmq thread) each time a message of this buffer is released</param>
    public ZmqSendBuffer(int length, Action? released = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        _bytes = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(length, 1), 64);
        _released = released;
        _self = GCHandle.Alloc(this);
    }

    public int Length { get; }

    /// <summary>The bytes; not to be changed while messages of them are in flight.</summary>
    public Span<byte> Span => new(_bytes, Length);

    /// <summary>Messages of this buffer queued or being written, not yet released by libzmq.</summary>
    public int InFlight => Volatile.Read(ref _references) - (Volatile.Read(ref _disposed) == 0 ? 1 : 0);

    /// <summary>Initialises <paramref name="message"/> (a <c>zmq_msg_t</c>) on these bytes, holding the buffer until libzmq releases it.</summary>
    internal void InitMessage(void* message)
    {
        if (Volatile.Read(ref _disposed) != 0)
            throw new ObjectDisposedException(nameof(ZmqSendBuffer));
        Interlocked.Increment(ref _references);
        if (Native.zmq_msg_init_data(message, _bytes, (nuint)Length, &Free, (void*)GCHandle.ToIntPtr(_self)) != 0)
        {
            Release();
            throw Native.Error("zmq_msg_init_data");
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Free(void* data, void* hint)
    {
        var buffer = (ZmqSendBuffer)GCHandle.FromIntPtr((nint)hint).Target!;
        buffer.Release();
        buffer._released?.Invoke();
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _references) != 0)
            return;
        NativeMemory.AlignedFree(_bytes);
        _self.Free();
    }

    /// <summary>Gives up the owner's hold: the memory goes once the last message in flight is released.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            Release();
    }
}
