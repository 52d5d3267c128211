using System.Collections.Concurrent;

namespace Lima2.Core.Frames;

/// <summary>
/// A bounded pool of pinned, equally sized buffers with a hard memory cap. Buffers are allocated on the
/// pinned object heap the first time they are needed and reused afterwards, so native code (ZMQ, HDF5,
/// OpenCL) can read them without pinning and the receiver's memory never grows past the cap.
/// </summary>
/// <remarks>
/// <see cref="RentAsync"/> waits for a free buffer: that wait is the back-pressure that reaches the
/// detector channel. <see cref="TryRent"/> fails at once instead, for a drop-and-count overload policy.
/// </remarks>
public sealed class FramePool : IDisposable
{
    private readonly ConcurrentBag<byte[]> _free = new();
    private readonly SemaphoreSlim _slots;
    private int _allocated;
    private bool _disposed;

    public FramePool(int bufferBytes, long memoryCapBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferBytes);
        if (memoryCapBytes < bufferBytes)
            throw new ArgumentOutOfRangeException(nameof(memoryCapBytes), memoryCapBytes,
                $"the memory cap must hold at least one buffer of {bufferBytes} bytes");
        BufferBytes = bufferBytes;
        Capacity = (int)Math.Min(int.MaxValue, memoryCapBytes / bufferBytes);
        _slots = new SemaphoreSlim(Capacity, Capacity);
    }

    /// <summary>Size of every buffer in bytes.</summary>
    public int BufferBytes { get; }

    /// <summary>How many buffers may exist at once.</summary>
    public int Capacity { get; }

    /// <summary>Buffers currently rented.</summary>
    public int InUse => Capacity - _slots.CurrentCount;

    /// <summary>Bytes allocated so far: never more than <see cref="Capacity"/> × <see cref="BufferBytes"/>.</summary>
    public long AllocatedBytes => (long)Volatile.Read(ref _allocated) * BufferBytes;

    /// <summary>Rents a buffer, waiting while all are in use.</summary>
    public async ValueTask<PooledBuffer> RentAsync(CancellationToken cancellationToken = default)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new PooledBuffer(this, Take());
    }

    /// <summary>Rents a buffer, blocking the calling thread while all are in use.</summary>
    public PooledBuffer Rent(CancellationToken cancellationToken = default)
    {
        _slots.Wait(cancellationToken);
        return new PooledBuffer(this, Take());
    }

    /// <summary>Rents a buffer if one is free now.</summary>
    public bool TryRent(out PooledBuffer buffer)
    {
        if (!_slots.Wait(0))
        {
            buffer = default;
            return false;
        }
        buffer = new PooledBuffer(this, Take());
        return true;
    }

    private byte[] Take()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        if (_free.TryTake(out var array))
            return array;
        Interlocked.Increment(ref _allocated);
        return GC.AllocateUninitializedArray<byte>(BufferBytes, pinned: true);
    }

    internal void Return(byte[] array)
    {
        if (Volatile.Read(ref _disposed))
            return;
        _free.Add(array);
        _slots.Release();
    }

    /// <summary>
    /// Stops renting. Buffers still rented may be returned afterwards (a frame released late): they are let go to
    /// the GC instead of failing their owner's Dispose.
    /// </summary>
    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        _free.Clear();
    }
}

/// <summary>One rented buffer; disposing it gives it back to its pool.</summary>
public readonly struct PooledBuffer : IDisposable
{
    private readonly FramePool? _pool;

    internal PooledBuffer(FramePool? pool, byte[] array)
    {
        _pool = pool;
        Array = array;
    }

    /// <summary>The pinned array: its address is stable while the buffer is rented.</summary>
    public byte[] Array { get; }

    public bool IsEmpty => Array is null;

    /// <summary>A buffer that belongs to no pool (tests, files read whole).</summary>
    public static PooledBuffer Unpooled(byte[] array) => new(null, array);

    public void Dispose()
    {
        if (Array is not null)
            _pool?.Return(Array);
    }
}
