namespace Lima2.PeakFinding;

/// <summary>What stays fixed for every sparse frame of an acquisition (written once by a saver).</summary>
/// <param name="Radius">Bin centres (m), pyFAI's <c>radius</c> dataset: background_avg/std are sampled there.</param>
/// <param name="Mask">1 = masked, row-major (pyFAI's <c>mask</c> dataset).</param>
public sealed record SparseLayout(int Width, int Height, float[] Radius, byte[] Mask, FaiParams Params)
{
    /// <summary>Radius of each pixel centre (m), NaN where masked: pyFAI stores this image as the sparse group's
    /// <c>mask</c> and densifies by interpolating the background at it.</summary>
    public float[]? PixelRadius { get; init; }

    public static SparseLayout Of(PeakFinderModel m) =>
        new(m.Width, m.Height, m.BinCenters.Select(c => (float)c).ToArray(), m.Mask, m.Params) { PixelRadius = m.Radius };
}

/// <summary>
/// The saving side of the peak finder: receives every frame's result in frame order. Implementations write
/// pyFAI's sparse layout (<c>frame_ptr, index, intensity, background_avg, background_std, radius, mask</c>) and
/// CXI peak tables (<c>nPeaks, peakTotalIntensity, peakXPosRaw, peakYPosRaw, peakSNR</c>); see
/// <see cref="SparseTables"/> for the arrays. Calls come from one thread.
/// </summary>
public interface IPeakResultWriter : IDisposable
{
    void Begin(SparseLayout layout);

    void Write(PeakFrameResult result);

    /// <summary>Flushes what is buffered; no call follows.</summary>
    void Complete();
}

/// <summary>
/// The arrays of pyFAI's sparse format and of the CXI peak tables for a run of frames, built in memory: what an
/// HDF5 writer stores (one dataset per property), and what tests compare.
/// </summary>
/// <remarks>CXI tables are (frames × <see cref="MaxPeaks"/>), padded with 0; positions are the centroid column
/// (x) and row (y) in raw-frame pixels.</remarks>
public sealed class SparseTables : IPeakResultWriter
{
    private readonly List<long> _framePtr = [0];
    private readonly List<int> _index = new();
    private readonly List<float> _intensity = new();
    private readonly List<float[]> _avg = new(), _std = new();
    private readonly List<Peak[]> _peaks = new();
    private readonly List<long> _frameIndex = new();

    public SparseTables(int maxPeaks = 2048) => MaxPeaks = maxPeaks;

    public int MaxPeaks { get; }

    public SparseLayout? Layout { get; private set; }

    public int Frames => _peaks.Count;

    public void Begin(SparseLayout layout) => Layout = layout;

    public void Write(PeakFrameResult result)
    {
        if (Layout is null)
            throw new InvalidOperationException("Begin must come before Write");
        _index.AddRange(result.Sparse.Index);
        _intensity.AddRange(result.Sparse.Intensity);
        _framePtr.Add(_index.Count);
        _avg.Add(result.Sparse.BackgroundAvg);
        _std.Add(result.Sparse.BackgroundStd);
        _peaks.Add(result.Peaks);
        _frameIndex.Add(result.FrameIndex);
    }

    public void Complete()
    {
    }

    /// <summary>pyFAI <c>frame_ptr</c>: frame k's pixels are index[frame_ptr[k]..frame_ptr[k+1]].</summary>
    public long[] FramePtr => _framePtr.ToArray();

    public int[] Index => _index.ToArray();

    public float[] Intensity => _intensity.ToArray();

    /// <summary>(frames × bins), row-major.</summary>
    public float[] BackgroundAvg => _avg.SelectMany(a => a).ToArray();

    public float[] BackgroundStd => _std.SelectMany(a => a).ToArray();

    public long[] FrameIndex => _frameIndex.ToArray();

    public int[] NPeaks => _peaks.Select(p => Math.Min(p.Length, MaxPeaks)).ToArray();

    public float[] PeakTotalIntensity => Table(p => p.Intensity);

    public float[] PeakXPosRaw => Table(p => p.Pos1);

    public float[] PeakYPosRaw => Table(p => p.Pos0);

    public float[] PeakSnr => Table(p => p.Snr);

    private float[] Table(Func<Peak, float> value)
    {
        var table = new float[_peaks.Count * MaxPeaks];
        for (var f = 0; f < _peaks.Count; f++)
            for (var i = 0; i < Math.Min(MaxPeaks, _peaks[f].Length); i++)
                table[f * MaxPeaks + i] = value(_peaks[f][i]);
        return table;
    }

    public void Dispose()
    {
    }
}

/// <summary>Writes peaks as CSV: frame, then the oracle CSV columns.</summary>
public sealed class CsvPeakWriter(TextWriter writer) : IPeakResultWriter
{
    public void Begin(SparseLayout layout) => writer.WriteLine("frame," + PeaksCsv.Header);

    public void Write(PeakFrameResult result)
    {
        foreach (var p in result.Peaks)
            writer.WriteLine($"{result.FrameIndex},{PeaksCsv.Line(p)}");
    }

    public void Complete() => writer.Flush();

    public void Dispose() => writer.Dispose();
}
