using Lima2.Core.Frames;
using Lima2.Core.Pipeline;

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
                return _frames.Count == 0 ? -1 : _frames.Max(f => f.Index);
        }
    }

    public override bool Compute(Frame frame) => true;

    public override ValueTask CommitAsync(Frame frame, bool result, CancellationToken cancellationToken)
    {
        Add(frame.Retain());
        return default;
    }

    /// <summary>Keeps <paramref name="frame"/>, taking ownership of it; the oldest frame goes when full.</summary>
    public void Add(Frame frame)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                frame.Dispose();
                return;
            }
            _frames.Enqueue(frame);
            if (_frames.Count > Capacity)
                _frames.Dequeue().Dispose();
        }
    }

    /// <summary>
    /// The frame of global index <paramref name="index"/> (-1: the newest) if it is still kept, retained for the
    /// caller, who disposes it.
    /// </summary>
    public bool TryGet(long index, out Frame frame)
    {
        lock (_lock)
        {
            // frames may be added out of order by parallel steps: the newest is the highest index
            var found = index < 0 ? _frames.MaxBy(f => f.Index) : _frames.FirstOrDefault(f => f.Index == index);
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

/// <summary>
/// The last input frames as they came from the detector, before the steps that change pixels in place (background,
/// flat field, mask) or make new frames (roi_flip_rot), for <c>getInputFrame(idx)</c>. Each frame is copied into a
/// pool of its own (capacity + 1 frames, counted in the memory cap); when every copy is held by a reader the frame is
/// not kept rather than waited for.
/// </summary>
public sealed class InputFrameHistory : IFrameTransform, IDisposable
{
    private readonly FramePool _pool;

    public InputFrameHistory(FrameInfo input, int capacity)
    {
        Output = input;
        Frames = new FrameHistory(capacity);
        _pool = new FramePool(input.ByteSize, BufferBytes(input, capacity));
    }

    /// <summary>Bytes of frame copies this history may hold.</summary>
    public static long BufferBytes(FrameInfo input, int capacity) => (long)(Math.Max(1, capacity) + 1) * input.ByteSize;

    public string Name => "input_history";

    public FrameInfo Output { get; }

    public FrameHistory Frames { get; }

    public ValueTask<Frame> ApplyAsync(Frame input, CancellationToken cancellationToken)
    {
        if (_pool.TryRent(out var buffer))
        {
            input.Data.Span.CopyTo(buffer.Span);
            Frames.Add(new Frame(buffer, input.Info, input.Index, input.ReceiverIndex));
        }
        return ValueTask.FromResult(input);
    }

    public void Dispose()
    {
        Frames.Dispose();
        _pool.Dispose();
    }
}
