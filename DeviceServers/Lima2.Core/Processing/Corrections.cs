using System.Numerics;
using Lima2.Core.Frames;
using Lima2.Core.Pipeline;

namespace Lima2.Core.Processing;

/// <summary>Runs a per-pixel operation on a frame of any pixel type, in place.</summary>
internal static class InPlace
{
    public interface IPixelOp
    {
        void Apply<T>(Span<T> pixels) where T : unmanaged, INumber<T>, IMinMaxValue<T>;
    }

    public static void Run<TOp>(Frame frame, TOp op) where TOp : IPixelOp
    {
        switch (frame.Info.PixelType)
        {
            case PixelType.Gray8: op.Apply(frame.Pixels<byte>()); break;
            case PixelType.Gray8s: op.Apply(frame.Pixels<sbyte>()); break;
            case PixelType.Gray16: op.Apply(frame.Pixels<ushort>()); break;
            case PixelType.Gray16s: op.Apply(frame.Pixels<short>()); break;
            case PixelType.Gray32: op.Apply(frame.Pixels<uint>()); break;
            case PixelType.Gray32s: op.Apply(frame.Pixels<int>()); break;
            case PixelType.Gray32f: op.Apply(frame.Pixels<float>()); break;
            case PixelType.Gray64f: op.Apply(frame.Pixels<double>()); break;
            default: throw new NotSupportedException(frame.Info.PixelType.ToString());
        }
    }

    public static void CheckSize(string node, FrameInfo frame, int referenceLength, string what)
    {
        if (referenceLength != frame.Width * frame.Height)
            throw new ArgumentException(
                $"{node}: the {what} has {referenceLength} pixels, the frames {frame.Width}x{frame.Height}");
    }
}

/// <summary>
/// A correction that changes every pixel in place by one rule with a reference image of the frame's size (mask,
/// background, flat field): the size check and the dispatch on the pixel type are held here once.
/// </summary>
public abstract class InPlaceTransform : IFrameTransform
{
    /// <param name="name">the node's name, also the start of a size error</param>
    /// <param name="referenceLength">pixels of the reference image: must be the frame's</param>
    /// <param name="what">the reference image, as a size error names it</param>
    private protected InPlaceTransform(string name, FrameInfo frame, int referenceLength, string what)
    {
        InPlace.CheckSize(name, frame, referenceLength, what);
        Name = name;
        Output = frame;
    }

    public string Name { get; }

    public FrameInfo Output { get; }

    /// <summary>The per-pixel rule (boxed once; the call is per frame, the loop over the pixels is inside it).</summary>
    private protected abstract InPlace.IPixelOp Op { get; }

    public ValueTask<Frame> ApplyAsync(Frame input, CancellationToken cancellationToken)
    {
        InPlace.Run(input, Op);
        return ValueTask.FromResult(input);
    }
}

/// <summary>Lima2's mask node: pixels whose mask value is 0 become 0 (ROI statistics also leave them out).</summary>
public sealed class MaskTransform(FrameInfo frame, byte[] mask) : InPlaceTransform("mask", frame, mask.Length, "mask")
{
    private protected override InPlace.IPixelOp Op { get; } = new ZeroMasked(mask);

    private readonly struct ZeroMasked(byte[] mask) : InPlace.IPixelOp
    {
        public void Apply<T>(Span<T> pixels) where T : unmanaged, INumber<T>, IMinMaxValue<T>
        {
            for (var i = 0; i < pixels.Length; i++)
                if (mask[i] == 0)
                    pixels[i] = T.Zero;
        }
    }
}

/// <summary>Background subtraction: pixel − background, saturating at the pixel type's range (0 for unsigned).</summary>
public sealed class BackgroundTransform(FrameInfo frame, double[] background)
    : InPlaceTransform("background", frame, background.Length, "background image")
{
    private protected override InPlace.IPixelOp Op { get; } = new Subtract(background);

    private readonly struct Subtract(double[] background) : InPlace.IPixelOp
    {
        public void Apply<T>(Span<T> pixels) where T : unmanaged, INumber<T>, IMinMaxValue<T>
        {
            for (var i = 0; i < pixels.Length; i++)
                pixels[i] = PixelMath.Saturate<T>(double.CreateTruncating(pixels[i]) - background[i]);
        }
    }
}

/// <summary>
/// Flat-field correction: pixel / flat, with the flat normalised to a mean of 1 over its positive pixels, so the
/// frame's scale is kept; pixels where the flat is ≤ 0 become 0. Integer results are rounded and saturated.
/// </summary>
public sealed class FlatfieldTransform(FrameInfo frame, double[] flat)
    : InPlaceTransform("flatfield", frame, flat.Length, "flat field")
{
    private protected override InPlace.IPixelOp Op { get; } = new Multiply(Gain(flat));

    private static double[] Gain(double[] flat)
    {
        var positive = flat.Where(v => v > 0).ToArray();
        var mean = positive.Length == 0 ? 1 : positive.Average();
        return flat.Select(v => v > 0 ? mean / v : 0).ToArray();
    }

    private readonly struct Multiply(double[] gain) : InPlace.IPixelOp
    {
        public void Apply<T>(Span<T> pixels) where T : unmanaged, INumber<T>, IMinMaxValue<T>
        {
            for (var i = 0; i < pixels.Length; i++)
                pixels[i] = PixelMath.Saturate<T>(double.CreateTruncating(pixels[i]) * gain[i]);
        }
    }
}

/// <summary>
/// Lima2's checkpoint node: passes frames on unchanged; the graph counts the frames that reach it (under its name)
/// and the last index, e.g. <c>input</c> at the start of the graph.
/// </summary>
public sealed class CheckpointTransform(string name, FrameInfo frame) : IFrameTransform
{
    private long _lastIndex = -1;

    public string Name { get; } = name;

    public FrameInfo Output { get; } = frame;

    /// <summary>Highest global index that passed (-1 if none).</summary>
    public long LastIndex => Interlocked.Read(ref _lastIndex);

    public ValueTask<Frame> ApplyAsync(Frame input, CancellationToken cancellationToken)
    {
        // frames of one step may pass in parallel: keep the highest
        var seen = Interlocked.Read(ref _lastIndex);
        while (input.Index > seen)
        {
            var previous = Interlocked.CompareExchange(ref _lastIndex, input.Index, seen);
            if (previous == seen)
                break;
            seen = previous;
        }
        return ValueTask.FromResult(input);
    }
}

/// <summary>The LimaProcessingFailing pipeline's only node: fails on the first frame, on purpose.</summary>
public sealed class FailingTransform(FrameInfo frame) : IFrameTransform
{
    public string Name => "failing";

    public FrameInfo Output { get; } = frame;

    public ValueTask<Frame> ApplyAsync(Frame input, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("LimaProcessingFailing fails on purpose");
}
