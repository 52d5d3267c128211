using Lima2.Core.Pipeline;
using Lima2.Core.Frames;

namespace Lima2.Core.Processing;

/// <summary>
/// The last processed frames, kept (retained, not copied) for the processing device's <c>getFrame(idx)</c>. Holding
/// a frame holds its pool buffer, so the builder keeps at most a quarter of the pool here.
/// </summary>
public sealed class FrameHistory(int capacity) : FrameConsumer<bool>("frame_history"), IDisposable
{
    private readonly Queue<Frame> _frames = new();
    private readonly Lock _lock = new();
    private bool _disposed;

    public int Capacity { get; } = Math.Max(1, capacity);

    /// <summary>Global index of the newest frame kept, or -1.</summary>
    public long LatestIndex
    {
        get
        {
            lock (_lock)
                return _frames.Count == 0 ? -1 : _frames.Last().Index;
        }
    }

    public override bool Compute(Frame frame) => true;

    public override ValueTask CommitAsync(Frame frame, bool result, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_disposed)
                return default;
            _frames.Enqueue(frame.Retain());
            if (_frames.Count > Capacity)
                _frames.Dequeue().Dispose();
        }
        return default;
    }

    /// <summary>
    /// The frame of global index <paramref name="index"/> (-1: the newest) if it is still kept, retained for the
    /// caller, who disposes it.
    /// </summary>
    public bool TryGet(long index, out Frame frame)
    {
        lock (_lock)
        {
            var found = index < 0 ? _frames.LastOrDefault() : _frames.FirstOrDefault(f => f.Index == index);
            frame = found?.Retain()!;
            return found is not null;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            while (_frames.Count > 0)
                _frames.Dequeue().Dispose();
        }
    }
}
