using Lima2.Core.Frames;
using Lima2.Core.Pipeline;

namespace Lima2.Core.Processing;

/// <summary>A finished accumulation: the pixel-wise sum of <see cref="FrameCount"/> consecutive frames.</summary>
/// <param name="FirstIndex">global index of the first frame summed</param>
/// <param name="LastIndex">global index of the last frame summed</param>
public sealed record AccumulatedFrame(long FirstIndex, long LastIndex, int FrameCount, int Width, int Height, double[] Sum);

/// <summary>
/// Sums <c>nb_frames</c> consecutive frames of the receiver (in receiver order) into a double image and publishes
/// it as <see cref="Latest"/> every nb_frames frames; a partial sum is published at the end of the run.
/// </summary>
public sealed class AccumulationNode : FrameConsumer<bool>
{
    private readonly int _framesPerSum;
    private readonly FrameInfo _frame;
    private double[] _sum;
    private int _count;
    private long _first;
    private long _last;
    private AccumulatedFrame? _latest;
    private long _published;

    public AccumulationNode(FrameInfo frame, int framesPerSum) : base("accumulation")
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(framesPerSum);
        _frame = frame;
        _framesPerSum = framesPerSum;
        _sum = new double[frame.Width * frame.Height];
    }

    /// <summary>The last finished accumulation, or null.</summary>
    public AccumulatedFrame? Latest => Volatile.Read(ref _latest);

    /// <summary>Accumulations finished so far.</summary>
    public long Published => Interlocked.Read(ref _published);

    public override bool Compute(Frame frame) => true;

    public override ValueTask CommitAsync(Frame frame, bool result, CancellationToken cancellationToken)
    {
        if (_count == 0)
            _first = frame.Index;
        Add(frame);
        _last = frame.Index;
        if (++_count == _framesPerSum)
            Publish();
        return default;
    }

    public override ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        if (_count > 0)
            Publish();
        return default;
    }

    private void Add(Frame frame)
    {
        var sum = _sum.AsSpan();
        switch (frame.Info.PixelType)
        {
            case PixelType.Gray8: Add(frame.Pixels<byte>(), sum); break;
            case PixelType.Gray8s: Add(frame.Pixels<sbyte>(), sum); break;
            case PixelType.Gray16: Add(frame.Pixels<ushort>(), sum); break;
            case PixelType.Gray16s: Add(frame.Pixels<short>(), sum); break;
            case PixelType.Gray32: Add(frame.Pixels<uint>(), sum); break;
            case PixelType.Gray32s: Add(frame.Pixels<int>(), sum); break;
            case PixelType.Gray32f: Add(frame.Pixels<float>(), sum); break;
            case PixelType.Gray64f: Add(frame.Pixels<double>(), sum); break;
            default: throw new NotSupportedException(frame.Info.PixelType.ToString());
        }
    }

    private static void Add<T>(ReadOnlySpan<T> pixels, Span<double> sum) where T : unmanaged, System.Numerics.INumberBase<T>
    {
        for (var i = 0; i < sum.Length; i++)
            sum[i] += double.CreateTruncating(pixels[i]);
    }

    private void Publish()
    {
        Volatile.Write(ref _latest, new AccumulatedFrame(_first, _last, _count, _frame.Width, _frame.Height, _sum));
        Interlocked.Increment(ref _published);
        _sum = new double[_sum.Length];
        _count = 0;
    }
}
