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
        PixelType.Gray16 => MeasureU16(frame.Pixels<ushort>(), frame.Info.Width, region),
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
        if (typeof(T) == typeof(ushort))
            return MeasureU16(MemoryMarshal.Cast<T, ushort>(pixels), width, region);
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

    private static double SquaredDeviations<T>(ReadOnlySpan<T> span, double avg) where T : unmanaged, INumberBase<T>
    {
        var squares = 0.0;
        foreach (var value in span)
        {
            var d = double.CreateTruncating(value) - avg;
            squares += d * d;
        }
        return squares;
    }

    /// <summary>
    /// The common detector case, vectorised with accumulators kept across runs (a masked ROI is many short runs):
    /// exact integer sum, min and max, then the squared deviations in double.
    /// </summary>
    public static RoiStats MeasureU16(ReadOnlySpan<ushort> pixels, int width, PixelRegion region)
    {
        if (region.Count == 0)
            return default;
        var lanes = Vector<ushort>.Count;
        var vmin = new Vector<ushort>(ushort.MaxValue);
        var vmax = Vector<ushort>.Zero;
        var vsum = Vector<ulong>.Zero;
        ulong sum = 0;
        ushort min = ushort.MaxValue, max = 0;
        foreach (var run in region.Runs)
        {
            var span = pixels.Slice(run.Y * width + run.X, run.Length);
            var vectors = Vector.IsHardwareAccelerated ? MemoryMarshal.Cast<ushort, Vector<ushort>>(span) : default;
            foreach (var v in vectors)
            {
                vmin = Vector.Min(vmin, v);
                vmax = Vector.Max(vmax, v);
                Vector.Widen(v, out var lo, out var hi);
                Vector.Widen(lo + hi, out var a, out var b);
                vsum += a + b;
            }
            foreach (var value in span[(vectors.Length * lanes)..])
            {
                sum += value;
                min = Math.Min(min, value);
                max = Math.Max(max, value);
            }
        }
        sum += Vector.Sum(vsum);
        for (var k = 0; k < lanes; k++)
        {
            min = Math.Min(min, vmin[k]);
            max = Math.Max(max, vmax[k]);
        }
        var count = region.Count;
        var avg = (double)sum / count;
        var vavg = new Vector<double>(avg);
        var acc = Vector<double>.Zero;
        var squares = 0.0;
        foreach (var run in region.Runs)
        {
            var span = pixels.Slice(run.Y * width + run.X, run.Length);
            var vectors = Vector.IsHardwareAccelerated ? MemoryMarshal.Cast<ushort, Vector<ushort>>(span) : default;
            foreach (var v in vectors)
            {
                Vector.Widen(v, out var lo, out var hi);
                Vector.Widen(lo, out var a, out var b);
                Vector.Widen(hi, out var c, out var d);
                acc += Sq(Vector.ConvertToDouble(a), vavg) + Sq(Vector.ConvertToDouble(b), vavg)
                     + Sq(Vector.ConvertToDouble(c), vavg) + Sq(Vector.ConvertToDouble(d), vavg);
            }
            foreach (var value in span[(vectors.Length * lanes)..])
            {
                var dev = value - avg;
                squares += dev * dev;
            }
        }
        squares += Vector.Sum(acc);
        return new RoiStats(count, sum, min, max, avg, Math.Sqrt(squares / count));
    }

    private static Vector<double> Sq(Vector<double> value, Vector<double> avg)
    {
        var d = value - avg;
        return d * d;
    }
}
