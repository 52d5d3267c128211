using System.Numerics;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;

namespace Lima2.Core.Processing;

/// <summary>
/// ROI profiles: for each rectangle, one statistics record (min, max, avg, population std, sum over the unmasked
/// pixels) per column (<see cref="ProfileDirection.Horizontal"/>: dimensions.x bins, each over the ROI's rows) or per
/// row (<see cref="ProfileDirection.Vertical"/>: dimensions.y bins). Per frame, the profiles' bins are concatenated
/// in ROI order into <see cref="Rows"/> (<c>popRoiProfiles</c>).
/// </summary>
public sealed class RoiProfilesNode : FrameConsumer<RoiStatRow[]>
{
    private readonly Profile[] _profiles;
    private readonly int _parallelism;
    private readonly byte[]? _mask;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(Profile Profile, int Width, int Height), PixelRegion[]> _rowRegions = new();

    public RoiProfilesNode(IReadOnlyList<RectRoi> rois, IReadOnlyList<ProfileDirection> directions, FrameInfo frame,
        byte[]? mask, int bufferFrames, int parallelism = 1) : base("roi_profiles")
    {
        if (rois.Count != directions.Count)
            throw new ArgumentException($"{rois.Count} profile ROIs but {directions.Count} directions");
        _profiles = rois.Select((roi, i) => Profile.Clip(roi, directions[i], frame)).ToArray();
        _mask = mask;
        _parallelism = Math.Max(1, parallelism);
        BinsPerFrame = _profiles.Sum(p => p.Bins);
        Rows = new ReducedDataBuffer<RoiStatRow>(Math.Max(1, bufferFrames) * Math.Max(1, BinsPerFrame));
    }

    /// <summary>Rows each frame adds: the sum of the profiles' lengths.</summary>
    public int BinsPerFrame { get; }

    public ReducedDataBuffer<RoiStatRow> Rows { get; }

    public override int MaxDegreeOfParallelism => _parallelism;

    public override RoiStatRow[] Compute(Frame frame)
    {
        var rows = new RoiStatRow[BinsPerFrame];
        var offset = 0;
        var stats = new RoiStats[_profiles.Length == 0 ? 0 : _profiles.Max(p => p.Bins)];
        foreach (var profile in _profiles)
        {
            var bins = stats.AsSpan(0, profile.Bins);
            Measure(frame, profile, bins);
            for (var i = 0; i < bins.Length; i++)
                rows[offset + i] = RoiStatRow.From(frame, bins[i]);
            offset += bins.Length;
        }
        return rows;
    }

    public override ValueTask CommitAsync(Frame frame, RoiStatRow[] result, CancellationToken cancellationToken)
    {
        Rows.Push(result);
        return default;
    }

    /// <summary>The statistics of each bin of <paramref name="profile"/> on one frame.</summary>
    public void Measure(Frame frame, Profile profile, Span<RoiStats> bins)
    {
        if (profile.Direction == ProfileDirection.Vertical)
        {
            // a row bin is a row segment: the vectorised ROI kernel over its unmasked runs, rasterised once
            var rows = _rowRegions.GetOrAdd((profile, frame.Info.Width, frame.Info.Height), key => Enumerable
                .Range(0, key.Profile.Height)
                .Select(i => PixelRegion.Rectangle(key.Profile.X, key.Profile.Y + i, key.Profile.Width, 1, key.Width, key.Height, _mask))
                .ToArray());
            for (var i = 0; i < bins.Length; i++)
                bins[i] = RoiMath.Measure(frame, rows[i]);
            return;
        }
        switch (frame.Info.PixelType)
        {
            case PixelType.Gray8: Columns(frame.Pixels<byte>(), frame.Info.Width, profile, bins); break;
            case PixelType.Gray8s: Columns(frame.Pixels<sbyte>(), frame.Info.Width, profile, bins); break;
            case PixelType.Gray16: Columns(frame.Pixels<ushort>(), frame.Info.Width, profile, bins); break;
            case PixelType.Gray16s: Columns(frame.Pixels<short>(), frame.Info.Width, profile, bins); break;
            case PixelType.Gray32: Columns(frame.Pixels<uint>(), frame.Info.Width, profile, bins); break;
            case PixelType.Gray32s: Columns(frame.Pixels<int>(), frame.Info.Width, profile, bins); break;
            case PixelType.Gray32f: Columns(frame.Pixels<float>(), frame.Info.Width, profile, bins); break;
            case PixelType.Gray64f: Columns(frame.Pixels<double>(), frame.Info.Width, profile, bins); break;
            default: throw new NotSupportedException(frame.Info.PixelType.ToString());
        }
    }

    /// <summary>Column bins, accumulated row by row (contiguous reads); two passes as <see cref="RoiMath"/>.</summary>
    private void Columns<T>(ReadOnlySpan<T> pixels, int width, Profile profile, Span<RoiStats> bins)
        where T : unmanaged, INumberBase<T>
    {
        var n = profile.Width;
        var first = new Extremes(new long[n], new double[n], new double[n], new double[n]);
        first.Min.AsSpan().Fill(double.PositiveInfinity);
        first.Max.AsSpan().Fill(double.NegativeInfinity);
        ForEachUnmasked(pixels, width, profile, first);
        var avg = new double[n];
        for (var x = 0; x < n; x++)
            avg[x] = first.Count[x] == 0 ? 0 : first.Sum[x] / first.Count[x];
        var squares = new Squares(avg, new double[n]);
        ForEachUnmasked(pixels, width, profile, squares);
        for (var x = 0; x < n; x++)
            bins[x] = first.Count[x] == 0
                ? default
                : new RoiStats(first.Count[x], first.Sum[x], first.Min[x], first.Max[x], avg[x], Math.Sqrt(squares.Sum[x] / first.Count[x]));
    }

    /// <summary>The masked row walk of a column profile: each unmasked pixel's value with its column.</summary>
    private void ForEachUnmasked<T, TPass>(ReadOnlySpan<T> pixels, int width, Profile profile, TPass pass)
        where T : unmanaged, INumberBase<T>
        where TPass : struct, IColumnPass
    {
        var n = profile.Width;
        for (var y = profile.Y; y < profile.Y + profile.Height; y++)
        {
            var row = pixels.Slice(y * width + profile.X, n);
            var used = _mask is null ? default : _mask.AsSpan(y * width + profile.X, n);
            for (var x = 0; x < n; x++)
                if (used.IsEmpty || used[x] != 0)
                    pass.Add(x, double.CreateTruncating(row[x]));
        }
    }

    private interface IColumnPass
    {
        void Add(int column, double value);
    }

    /// <summary>First pass: count, sum, min and max per column.</summary>
    private readonly record struct Extremes(long[] Count, double[] Sum, double[] Min, double[] Max) : IColumnPass
    {
        public void Add(int column, double value)
        {
            Count[column]++;
            Sum[column] += value;
            if (value < Min[column])
                Min[column] = value;
            if (value > Max[column])
                Max[column] = value;
        }
    }

    /// <summary>Second pass: squared distances to each column's mean.</summary>
    private readonly record struct Squares(double[] Avg, double[] Sum) : IColumnPass
    {
        public void Add(int column, double value)
        {
            var d = value - Avg[column];
            Sum[column] += d * d;
        }
    }

    /// <summary>A profile's rectangle clipped to the frame, and its direction.</summary>
    public readonly record struct Profile(int X, int Y, int Width, int Height, ProfileDirection Direction)
    {
        public int Bins => Direction == ProfileDirection.Horizontal ? Width : Height;

        public static Profile Clip(RectRoi roi, ProfileDirection direction, FrameInfo frame)
        {
            var x0 = Math.Clamp(roi.Topleft.X, 0, frame.Width);
            var y0 = Math.Clamp(roi.Topleft.Y, 0, frame.Height);
            var x1 = (int)Math.Clamp((long)roi.Topleft.X + roi.Dimensions.X, x0, frame.Width);
            var y1 = (int)Math.Clamp((long)roi.Topleft.Y + roi.Dimensions.Y, y0, frame.Height);
            return new Profile(x0, y0, x1 - x0, y1 - y0, direction);
        }
    }
}
