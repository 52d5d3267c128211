using System.Buffers;
using System.Collections.Concurrent;

namespace Lima2.Core.Frames;

/// <summary>
/// Where a pool's buffers live. The default is the pinned managed heap; a device that copies fastest from memory its
/// driver has page-locked (an OpenCL GPU) gives its own, so that frames are written there by the channel and copied to
/// the device without a staging copy.
/// </summary>
public interface IBufferMemory
{
    /// <summary>A block of <paramref name="bytes"/> bytes whose address does not move until it is disposed.</summary>
    IMemoryOwner<byte> Allocate(int bytes);
}

/// <summary>Buffers on the pinned object heap: native code reads them without pinning.</summary>
public sealed class PinnedHeapMemory : IBufferMemory
{
    public static PinnedHeapMemory Instance { get; } = new();

    public IMemoryOwner<byte> Allocate(int bytes) => new Block(GC.AllocateUninitializedArray<byte>(bytes, pinned: true));

    public override string ToString() => "the pinned managed heap";

    private sealed class Block(byte[] array) : IMemoryOwner<byte>
    {
        public Memory<byte> Memory { get; } = array;

        public void Dispose()
        {
        }
    }
}

/// <summary>
/// A bounded pool of pinned, equally sized buffers with a hard memory cap. Buffers are allocated (in
/// <see cref="Memory"/>) the first time they are needed and reused afterwards, so native code (ZMQ, HDF5,
/// OpenCL) can read them without pinning and the receiver's memory never grows past the cap.
/// </summary>
/// <remarks>
/// <see cref="RentAsync"/> waits for a free buffer: that wait is the back-pressure that reaches the
/// detector channel. <see cref="TryRent"/> fails at once instead, for a drop-and-count overload policy.
/// </remarks>
public sealed class FramePool : IDisposable
{
    private readonly ConcurrentBag<IMemoryOwner<byte>> _free = new();
    private readonly SemaphoreSlim _slots;
    private int _allocated;
    private long _rents;
    private bool _disposed;

    /// <param name="bufferBytes">size of every buffer</param>
    /// <param name="memoryCapBytes">most bytes of buffers at once</param>
    /// <param name="memory">where the buffers live; null = the pinned managed heap</param>
    public FramePool(int bufferBytes, long memoryCapBytes, IBufferMemory? memory = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferBytes);
        if (memoryCapBytes < bufferBytes)
            throw new ArgumentOutOfRangeException(nameof(memoryCapBytes), memoryCapBytes,
                $"the memory cap must hold at least one buffer of {bufferBytes} bytes");
        BufferBytes = bufferBytes;
        Memory = memory ?? PinnedHeapMemory.Instance;
        Capacity = (int)Math.Min(int.MaxValue, memoryCapBytes / bufferBytes);
        _slots = new SemaphoreSlim(Capacity, Capacity);
    }

    /// <summary>Size of every buffer in bytes.</summary>
    public int BufferBytes { get; }

    /// <summary>Where the buffers live.</summary>
    public IBufferMemory Memory { get; }

    /// <summary>How many buffers may exist at once.</summary>
    public int Capacity { get; }

    /// <summary>Buffers currently rented.</summary>
    public int InUse => Capacity - _slots.CurrentCount;

    /// <summary>Buffers rented so far, each rent counted once.</summary>
    public long Rents => Interlocked.Read(ref _rents);

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

    private IMemoryOwner<byte> Take()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        if (_free.TryTake(out var block))
        {
            Interlocked.Increment(ref _rents);
            return block;
        }
        Interlocked.Increment(ref _allocated);
        try
        {
            block = Memory.Allocate(BufferBytes);
            Interlocked.Increment(ref _rents);
            return block;
        }
        catch
        {
            // a driver out of pinned memory: the slot stays free for a later rent
            Interlocked.Decrement(ref _allocated);
            _slots.Release();
            throw;
        }
    }

    internal void Return(IMemoryOwner<byte> block)
    {
        _free.Add(block);
        if (Volatile.Read(ref _disposed))
            FreeAll(); // returned after the pool was disposed: nobody rents it again
        _slots.Release();
    }

    private void FreeAll()
    {
        while (_free.TryTake(out var block))
            block.Dispose();
    }

    /// <summary>
    /// Stops renting and frees the buffers not rented (back to their <see cref="Memory"/>, which may keep them for
    /// another pool). Buffers still rented may be returned afterwards (a frame kept for readers): they are freed then
    /// instead of failing their owner's Dispose.
    /// </summary>
    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        FreeAll();
    }
}

/// <summary>
/// One rented buffer; disposing it gives it back to its pool. It may also be a buffer lent by another owner (a received
/// message whose bytes are a frame's pixels), which disposing it releases.
/// </summary>
public readonly struct PooledBuffer : IDisposable
{
    private readonly FramePool? _pool;
    private readonly IMemoryOwner<byte>? _block;

    internal PooledBuffer(FramePool? pool, IMemoryOwner<byte> block)
    {
        _pool = pool;
        _block = block;
        Memory = block.Memory;
    }

    private PooledBuffer(byte[] array) => Memory = array;

    /// <summary>The pinned bytes: their address is stable while the buffer is rented.</summary>
    public Memory<byte> Memory { get; }

    public Span<byte> Span => Memory.Span;

    public bool IsEmpty => Memory.IsEmpty;

    /// <summary>A buffer that belongs to no pool (tests, files read whole).</summary>
    public static PooledBuffer Unpooled(byte[] array) => new(array);

    /// <summary>
    /// The bytes of <paramref name="owner"/>, which stay where they are until the buffer is disposed, which disposes
    /// <paramref name="owner"/> (bytes held where they arrived, counted by their holder instead of a pool).
    /// </summary>
    public static PooledBuffer Lent(IMemoryOwner<byte> owner) => new(null, owner);

    public void Dispose()
    {
        if (_block is null)
            return;
        if (_pool is null)
            _block.Dispose();
        else
            _pool.Return(_block);
    }
}
