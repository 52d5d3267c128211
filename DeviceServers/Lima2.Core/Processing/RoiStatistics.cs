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
    public static RoiStats Measure(Frame frame, PixelRegion region)
    {
        Span<RoiStats> stats = stackalloc RoiStats[1];
        RoiPass.Measure(frame, region.Runs, default, stats);
        return stats[0];
    }
}

/// <summary>
/// The statistics of several regions of a frame in one pass over its rows: the regions' runs merged in row order, so
/// the frame is read once from memory (overlapping regions re-read pixels that are still in cache).
/// </summary>
public sealed class RoiSet
{
    private readonly PixelRun[] _runs;
    private readonly int[] _owners;

    public RoiSet(IReadOnlyList<PixelRegion> regions)
    {
        Regions = [.. regions];
        var tagged = new List<(PixelRun Run, int Owner)>();
        for (var i = 0; i < Regions.Count; i++)
            foreach (var run in Regions[i].Runs)
                tagged.Add((run, i));
        tagged.Sort((a, b) => a.Run.Y != b.Run.Y ? a.Run.Y.CompareTo(b.Run.Y) : a.Run.X.CompareTo(b.Run.X));
        _runs = tagged.Select(t => t.Run).ToArray();
        _owners = tagged.Select(t => t.Owner).ToArray();
    }

    public IReadOnlyList<PixelRegion> Regions { get; }

    /// <summary>The statistics of every region, in the order given to the constructor.</summary>
    public void Measure(Frame frame, Span<RoiStats> stats)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stats.Length, Regions.Count);
        RoiPass.Measure(frame, _runs, _owners, stats[..Regions.Count]);
    }
}
