using System.Buffers;

namespace Lima2.Core.Frames;

/// <summary>
/// The frame buffers a receiver keeps from one acquisition to the next. The pools of a run take their buffers from
/// here (<see cref="For"/>) and give them back when they are disposed, so a second run of the same frame size writes
/// into pages that are already mapped instead of faulting fresh ones (one minor fault per 4 KiB page the first time,
/// 100 to 270 per 4 Mpx frame, a cost that grows with the pool).
/// </summary>
/// <remarks>
/// Bounded by the budget of the current run (its share of memory_cap for frames): a buffer given back is kept only
/// while the buffers lent and kept fit in it, and a run that needs a buffer of a size nobody kept first frees the kept
/// buffers of other sizes (another geometry) its room needs. Buffers of another memory (a GPU's driver-pinned memory
/// instead of the managed heap) are never mixed: changing memory frees what was kept. <see cref="Trim"/> (a reset)
/// frees every kept buffer, <see cref="Dispose"/> (the device deleted) also those given back later.
/// </remarks>
public sealed class FrameBufferReserve : IBufferMemory, IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, Stack<IMemoryOwner<byte>>> _kept = [];
    private IBufferMemory _memory = PinnedHeapMemory.Instance;
    private long _budget = long.MaxValue;
    private long _lentBytes;
    private long _keptBytes;
    private long _peakBytes;
    private long _freshBuffers;
    private long _reusedBuffers;
    private bool _disposed;

    /// <summary>
    /// Where the next run's pools take their buffers: <paramref name="memory"/> (null: the pinned managed heap), with
    /// the buffers kept from earlier runs in it, within <paramref name="budgetBytes"/>. Kept buffers beyond the new
    /// budget are freed now.
    /// </summary>
    public IBufferMemory For(IBufferMemory? memory, long budgetBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budgetBytes);
        memory ??= PinnedHeapMemory.Instance;
        List<IMemoryOwner<byte>> freed;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            freed = ReferenceEquals(memory, _memory) ? [] : TakeAllKept();
            _memory = memory;
            _budget = budgetBytes;
            freed.AddRange(TakeKeptToFit(0, keepSize: null));
        }
        Free(freed);
        return this;
    }

    /// <summary>Buffers made fresh in the memory so far: each one's pages fault the first time they are written.</summary>
    public long FreshBuffers => Interlocked.Read(ref _freshBuffers);

    /// <summary>Buffers handed out again from those kept.</summary>
    public long ReusedBuffers => Interlocked.Read(ref _reusedBuffers);

    /// <summary>Bytes of buffers in pools or frames now.</summary>
    public long LentBytes
    {
        get
        {
            lock (_lock)
                return _lentBytes;
        }
    }

    /// <summary>Bytes of buffers kept for the next run.</summary>
    public long KeptBytes
    {
        get
        {
            lock (_lock)
                return _keptBytes;
        }
    }

    /// <summary>The most bytes lent and kept at once so far.</summary>
    public long PeakBytes
    {
        get
        {
            lock (_lock)
                return _peakBytes;
        }
    }

    /// <summary>A kept buffer of <paramref name="bytes"/> bytes if there is one, else a fresh one.</summary>
    public IMemoryOwner<byte> Allocate(int bytes)
    {
        IMemoryOwner<byte>? reused = null;
        IBufferMemory memory;
        List<IMemoryOwner<byte>> freed;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            memory = _memory;
            if (_kept.TryGetValue(bytes, out var same) && same.TryPop(out reused))
            {
                _keptBytes -= bytes;
                freed = [];
            }
            else
                freed = TakeKeptToFit(bytes, keepSize: bytes);
            _lentBytes += bytes;
            _peakBytes = Math.Max(_peakBytes, _lentBytes + _keptBytes);
        }
        Free(freed);
        if (reused is not null)
        {
            Interlocked.Increment(ref _reusedBuffers);
            return new Lent(this, reused, memory, bytes);
        }
        try
        {
            var fresh = memory.Allocate(bytes);
            Interlocked.Increment(ref _freshBuffers);
            return new Lent(this, fresh, memory, bytes);
        }
        catch
        {
            lock (_lock)
                _lentBytes -= bytes;
            throw;
        }
    }

    /// <summary>Frees every kept buffer (a reset, a receiver left idle); buffers lent now are kept when they come back.</summary>
    public void Trim()
    {
        List<IMemoryOwner<byte>> freed;
        lock (_lock)
            freed = TakeAllKept();
        Free(freed);
    }

    /// <summary>Frees every kept buffer, and each lent one when it comes back.</summary>
    public void Dispose()
    {
        List<IMemoryOwner<byte>> freed;
        lock (_lock)
        {
            _disposed = true;
            freed = TakeAllKept();
        }
        Free(freed);
    }

    private void GiveBack(IMemoryOwner<byte> block, IBufferMemory memory, int bytes)
    {
        lock (_lock)
        {
            _lentBytes -= bytes;
            if (!_disposed && ReferenceEquals(memory, _memory) && _lentBytes + _keptBytes + bytes <= _budget)
            {
                if (!_kept.TryGetValue(bytes, out var same))
                    _kept[bytes] = same = new Stack<IMemoryOwner<byte>>();
                same.Push(block);
                _keptBytes += bytes;
                return;
            }
        }
        block.Dispose();
    }

    /// <summary>Takes kept buffers out, other sizes than <paramref name="keepSize"/> first, until <paramref name="bytes"/> more fit in the budget.</summary>
    private List<IMemoryOwner<byte>> TakeKeptToFit(long bytes, int? keepSize)
    {
        var taken = new List<IMemoryOwner<byte>>();
        foreach (var (size, stack) in _kept.OrderBy(k => k.Key == keepSize))
            while (_lentBytes + _keptBytes + bytes > _budget && stack.TryPop(out var block))
            {
                taken.Add(block);
                _keptBytes -= size;
            }
        return taken;
    }

    private List<IMemoryOwner<byte>> TakeAllKept()
    {
        var taken = _kept.Values.SelectMany(s => s).ToList();
        _kept.Clear();
        _keptBytes = 0;
        return taken;
    }

    private static void Free(List<IMemoryOwner<byte>> blocks)
    {
        foreach (var block in blocks)
            block.Dispose();
    }

    /// <summary>A buffer out of the reserve: disposing it gives it back.</summary>
    private sealed class Lent(FrameBufferReserve reserve, IMemoryOwner<byte> block, IBufferMemory memory, int bytes) : IMemoryOwner<byte>
    {
        private int _returned;

        public Memory<byte> Memory => block.Memory;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _returned, 1) == 0)
                reserve.GiveBack(block, memory, bytes);
        }
    }

    public override string ToString() => $"{_memory}, kept between runs";
}
