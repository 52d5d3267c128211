namespace Lima2.Core.Pipeline;

/// <summary>
/// Rows of reduced data (ROI statistics, profiles, ...) that a device pops, oldest first. Bounded: when the
/// consumer is too slow the oldest rows are overwritten and counted in <see cref="Lost"/>, never silently.
/// </summary>
/// <remarks>Rows of one frame are pushed together, so a pop never splits a frame unless rows were lost.</remarks>
public sealed class ReducedDataBuffer<T> where T : unmanaged
{
    private readonly T[] _ring;
    private readonly Lock _lock = new();
    private int _start;
    private int _count;
    private long _produced;
    private long _lost;
    private long _popped;

    public ReducedDataBuffer(int capacityRows)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityRows);
        _ring = new T[capacityRows];
    }

    public int Capacity => _ring.Length;

    /// <summary>Rows pushed so far.</summary>
    public long Produced => Interlocked.Read(ref _produced);

    /// <summary>Rows overwritten before anyone popped them.</summary>
    public long Lost => Interlocked.Read(ref _lost);

    /// <summary>Rows handed out by <see cref="Pop"/>.</summary>
    public long Popped => Interlocked.Read(ref _popped);

    /// <summary>Rows waiting to be popped.</summary>
    public int Pending
    {
        get
        {
            lock (_lock)
                return _count;
        }
    }

    public void Push(ReadOnlySpan<T> rows)
    {
        lock (_lock)
        {
            _produced += rows.Length;
            if (rows.Length > _ring.Length)
            {
                _lost += rows.Length - _ring.Length;
                rows = rows[^_ring.Length..];
            }
            var overflow = _count + rows.Length - _ring.Length;
            if (overflow > 0)
            {
                _lost += overflow;
                _start = (_start + overflow) % _ring.Length;
                _count -= overflow;
            }
            var end = (_start + _count) % _ring.Length;
            var first = Math.Min(rows.Length, _ring.Length - end);
            rows[..first].CopyTo(_ring.AsSpan(end));
            rows[first..].CopyTo(_ring);
            _count += rows.Length;
        }
    }

    /// <summary>Takes every row pushed since the previous pop (empty when nothing is new).</summary>
    public T[] Pop()
    {
        lock (_lock)
        {
            var result = new T[_count];
            var first = Math.Min(_count, _ring.Length - _start);
            _ring.AsSpan(_start, first).CopyTo(result);
            _ring.AsSpan(0, _count - first).CopyTo(result.AsSpan(first));
            _popped += _count;
            _start = 0;
            _count = 0;
            return result;
        }
    }
}
