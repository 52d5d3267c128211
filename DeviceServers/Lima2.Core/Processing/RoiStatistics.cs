using System.Numerics;
using System.Runtime.InteropServices;
using Lima2.Core.Frames;

namespace Lima2.Core.Processing;

/// <summary>Statistics of the pixels of one region of one frame, as Lima1's RoiCounter defines them.</summary>
/// <param name="Count">pixels used (masked pixels excluded)</param>
/// <param name="Sum">sum of the pixel values</param>
/// <param name="Avg">sum / count</param>
/// <param name="Std">population standard deviation (divided by count)</param>
/// <remarks>An empty region (all masked, or outside the frame) gives zeros everywhere.</remarks>
public readonly record struct RoiStats(long Count, double Sum, double Min, double Max, double Avg, double Std);

/// <summary>
/// One row of the <c>popRoiStatistics</c> / <c>popRoiProfiles</c> structured arrays: numpy dtype
/// <c>[('frame_idx','&lt;i4'),('recv_idx','&lt;i4'),('min','&lt;f4'),('max','&lt;f4'),('avg','&lt;f4'),('std','&lt;f4'),('sum','&lt;f8')]</c>,
/// packed, 32 bytes, so a device sends <c>MemoryMarshal.AsBytes(rows)</c> as it is.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public readonly record struct RoiStatRow(int FrameIdx, int RecvIdx, float Min, float Max, float Avg, float Std, double Sum)
{
    public const int Size = 32;

    public static RoiStatRow From(Frame frame, in RoiStats stats) => new(
        (int)frame.Index, (int)frame.ReceiverIndex,
        (float)stats.Min, (float)stats.Max, (float)stats.Avg, (float)stats.Std, stats.Sum);
}

/// <summary>ROI maths on frames of any pixel type.</summary>
public static class RoiMath
{
    /// <summary>Sum, average, population std, min and max over the pixels of <paramref name="region"/>.</summary>
    public static RoiStats Measure(Frame frame, PixelRegion region) => frame.Info.PixelType switch
    {
        PixelType.Gray8 => Measure(frame.Pixels<byte>(), frame.Info.Width, region),
        PixelType.Gray8s => Measure(frame.Pixels<sbyte>(), frame.Info.Width, region),
        PixelType.Gray16 => Measure(frame.Pixels<ushort>(), frame.Info.Width, region),
        PixelType.Gray16s => Measure(frame.Pixels<short>(), frame.Info.Width, region),
        PixelType.Gray32 => Measure(frame.Pixels<uint>(), frame.Info.Width, region),
        PixelType.Gray32s => Measure(frame.Pixels<int>(), frame.Info.Width, region),
        PixelType.Gray32f => Measure(frame.Pixels<float>(), frame.Info.Width, region),
        PixelType.Gray64f => Measure(frame.Pixels<double>(), frame.Info.Width, region),
        _ => throw new NotSupportedException(frame.Info.PixelType.ToString()),
    };

    /// <summary>
    /// Two passes, as Lima1: sum, min and max, then the squared deviations from the average, in double — exact for
    /// the sums of integer frames up to 2^53 and free of the cancellation of the sum-of-squares formula.
    /// </summary>
    public static RoiStats Measure<T>(ReadOnlySpan<T> pixels, int width, PixelRegion region)
        where T : unmanaged, INumberBase<T>, IComparisonOperators<T, T, bool>
    {
        if (region.Count == 0)
            return default;
        var runs = region.Runs;
        var first = pixels[runs[0].Y * width + runs[0].X];
        var min = first;
        var max = first;
        var sum = 0.0;
        foreach (var run in runs)
        {
            var span = pixels.Slice(run.Y * width + run.X, run.Length);
            var (runSum, runMin, runMax) = SumMinMax(span);
            sum += runSum;
            if (runMin < min)
                min = runMin;
            if (runMax > max)
                max = runMax;
        }
        var count = region.Count;
        var avg = sum / count;
        var squares = 0.0;
        foreach (var run in runs)
            squares += SquaredDeviations(pixels.Slice(run.Y * width + run.X, run.Length), avg);
        return new RoiStats(count, sum, double.CreateTruncating(min), double.CreateTruncating(max), avg,
            Math.Sqrt(squares / count));
    }

    private static (double Sum, T Min, T Max) SumMinMax<T>(ReadOnlySpan<T> span)
        where T : unmanaged, INumberBase<T>, IComparisonOperators<T, T, bool>
    {
        if (typeof(T) == typeof(ushort))
        {
            var (s, lo, hi) = SumMinMaxU16(MemoryMarshal.Cast<T, ushort>(span));
            return (s, T.CreateTruncating(lo), T.CreateTruncating(hi));
        }
        var min = span[0];
        var max = span[0];
        var sum = 0.0;
        foreach (var value in span)
        {
            sum += double.CreateTruncating(value);
            if (value < min)
                min = value;
            if (value > max)
                max = value;
        }
        return (sum, min, max);
    }

    /// <summary>The common detector case, vectorised: exact integer sum, min and max of 16-bit pixels.</summary>
    private static (double Sum, ushort Min, ushort Max) SumMinMaxU16(ReadOnlySpan<ushort> span)
    {
        var i = 0;
        ulong sum = 0;
        ushort min = ushort.MaxValue, max = 0;
        if (Vector.IsHardwareAccelerated && span.Length >= Vector<ushort>.Count)
        {
            var vmin = new Vector<ushort>(ushort.MaxValue);
            var vmax = Vector<ushort>.Zero;
            var vsum = Vector<ulong>.Zero;
            var vectors = MemoryMarshal.Cast<ushort, Vector<ushort>>(span);
            foreach (var v in vectors)
            {
                vmin = Vector.Min(vmin, v);
                vmax = Vector.Max(vmax, v);
                Vector.Widen(v, out var lo, out var hi);
                var words = lo + hi;
                Vector.Widen(words, out var a, out var b);
                vsum += a + b;
            }
            i = vectors.Length * Vector<ushort>.Count;
            sum = Vector.Sum(vsum);
            for (var k = 0; k < Vector<ushort>.Count; k++)
            {
                min = Math.Min(min, vmin[k]);
                max = Math.Max(max, vmax[k]);
            }
        }
        for (; i < span.Length; i++)
        {
            var value = span[i];
            sum += value;
            min = Math.Min(min, value);
            max = Math.Max(max, value);
        }
        return (sum, min, max);
    }

    private static double SquaredDeviations<T>(ReadOnlySpan<T> span, double avg) where T : unmanaged, INumberBase<T>
    {
        if (typeof(T) == typeof(ushort))
            return SquaredDeviationsU16(MemoryMarshal.Cast<T, ushort>(span), avg);
        var squares = 0.0;
        foreach (var value in span)
        {
            var d = double.CreateTruncating(value) - avg;
            squares += d * d;
        }
        return squares;
    }

    private static double SquaredDeviationsU16(ReadOnlySpan<ushort> span, double avg)
    {
        var i = 0;
        var squares = 0.0;
        if (Vector.IsHardwareAccelerated && span.Length >= Vector<ushort>.Count)
        {
            var vavg = new Vector<double>(avg);
            var acc = Vector<double>.Zero;
            var vectors = MemoryMarshal.Cast<ushort, Vector<ushort>>(span);
            foreach (var v in vectors)
            {
                Vector.Widen(v, out var lo, out var hi);
                Vector.Widen(lo, out var a, out var b);
                Vector.Widen(hi, out var c, out var d);
                acc += Sq(Vector.ConvertToDouble(a), vavg) + Sq(Vector.ConvertToDouble(b), vavg)
                     + Sq(Vector.ConvertToDouble(c), vavg) + Sq(Vector.ConvertToDouble(d), vavg);
            }
            i = vectors.Length * Vector<ushort>.Count;
            squares = Vector.Sum(acc);
        }
        for (; i < span.Length; i++)
        {
            var d = span[i] - avg;
            squares += d * d;
        }
        return squares;
    }

    private static Vector<double> Sq(Vector<double> value, Vector<double> avg)
    {
        var d = value - avg;
        return d * d;
    }
}
