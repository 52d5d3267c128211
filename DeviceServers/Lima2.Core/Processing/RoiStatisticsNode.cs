using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;

namespace Lima2.Core.Processing;

/// <summary>
/// Lima2's roi_counters node: per frame, one <see cref="RoiStatRow"/> per ROI (rect ROIs, then arc ROIs) into a
/// bounded buffer that the processing device pops (<c>popRoiStatistics</c>).
/// </summary>
public sealed class RoiStatisticsNode : FrameConsumer<RoiStatRow[]>
{
    private readonly RoiSet _rois;
    private readonly int _parallelism;
    private RoiStatRow[] _latest = [];

    /// <param name="regions">rasterised ROIs in output order</param>
    /// <param name="bufferFrames">frames' worth of rows kept until popped</param>
    /// <param name="parallelism">frames measured at once</param>
    public RoiStatisticsNode(IReadOnlyList<PixelRegion> regions, int bufferFrames, int parallelism = 1)
        : base("roi_statistics")
    {
        _rois = new RoiSet(regions);
        _parallelism = Math.Max(1, parallelism);
        Rows = new ReducedDataBuffer<RoiStatRow>(Math.Max(1, bufferFrames) * Math.Max(1, RoiCount));
    }

    /// <summary>The node for a proc_params statistics block on frames of <paramref name="frame"/>'s geometry.</summary>
    public static RoiStatisticsNode FromParams(Statistics statistics, FrameInfo frame, ReadOnlySpan<byte> mask,
        int bufferFrames, int parallelism)
    {
        var regions = new List<PixelRegion>();
        foreach (var roi in statistics.RectRois)
            regions.Add(PixelRegion.Rectangle(roi, frame.Width, frame.Height, mask));
        foreach (var arc in statistics.ArcRois)
            regions.Add(PixelRegion.Arc(arc, frame.Width, frame.Height, mask));
        return new RoiStatisticsNode(regions, bufferFrames, parallelism);
    }

    public int RoiCount => _rois.Regions.Count;

    public IReadOnlyList<PixelRegion> Regions => _rois.Regions;

    /// <summary>Rows waiting for <c>popRoiStatistics</c>, with the count of rows lost to a slow reader.</summary>
    public ReducedDataBuffer<RoiStatRow> Rows { get; }

    public override int MaxDegreeOfParallelism => _parallelism;

    public override RoiStatRow[] Compute(Frame frame)
    {
        // one pass over the frame for all ROIs
        var stats = RoiCount <= 64 ? stackalloc RoiStats[RoiCount] : new RoiStats[RoiCount];
        _rois.Measure(frame, stats);
        var rows = new RoiStatRow[RoiCount];
        for (var i = 0; i < rows.Length; i++)
            rows[i] = RoiStatRow.From(frame, stats[i]);
        return rows;
    }

    /// <summary>The rows of the newest frame measured (one per ROI), without taking anything from <see cref="Rows"/>.</summary>
    public RoiStatRow[] Latest => Volatile.Read(ref _latest);

    /// <summary>Raised at each frame's commit, in receiver order, with its rows (the re-publisher sends them with the frame).</summary>
    public event Action<Frame, RoiStatRow[]>? Committed;

    public override ValueTask CommitAsync(Frame frame, RoiStatRow[] result, CancellationToken cancellationToken)
    {
        Rows.Push(result);
        Volatile.Write(ref _latest, result);
        Committed?.Invoke(frame, result);
        return default;
    }
}
