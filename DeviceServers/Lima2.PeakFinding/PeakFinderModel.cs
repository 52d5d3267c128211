using Lima2.Core.IO;

namespace Lima2.PeakFinding;

/// <summary>
/// Everything that stays fixed during an acquisition, computed once: validity mask, equal-width radial bins
/// and their pixel lists (CSR), each pixel's background interpolation position, and the combined
/// normalisation ω = normalization_factor·flat·Ω·P·A. Both engines (C# and OpenCL) run from this.
/// </summary>
/// <remarks>
/// Binning follows pyFAI's <c>setup_CSR(split="no", unit="r_m")</c>: r_min/r_max over unmasked pixels,
/// Δ = (r_max·(1+2⁻²³) − r_min)/N, bin = ⌊(r − r_min)/Δ⌋ in float64. The interpolation position follows
/// pyFAI's kernels in float32: pos = clamp((r − c₀)/(c₁ − c₀), 0, N).
/// </remarks>
public sealed class PeakFinderModel
{
    private PeakFinderModel(int width, int height, FaiParams fai, Calibration calibration)
    {
        Width = width;
        Height = height;
        Params = fai;
        Calibration = calibration;
    }

    public int Width { get; }

    public int Height { get; }

    public int PixelCount => Width * Height;

    public FaiParams Params { get; }

    public Calibration Calibration { get; }

    /// <summary>1 = excluded: masked by the user or with no finite radius.</summary>
    public byte[] Mask { get; private set; } = [];

    /// <summary>Radius of each pixel centre (m) as float32, NaN where masked (pyFAI's radius2d).</summary>
    public float[] Radius { get; private set; } = [];

    public int NbBins { get; private set; }

    public double RadiusMin { get; private set; }

    public double BinWidth { get; private set; }

    /// <summary>Bin centres in m (pyFAI's radius1d).</summary>
    public double[] BinCenters { get; private set; } = [];

    /// <summary>CSR row pointers: bin k holds <see cref="BinPixels"/>[BinStart[k]..BinStart[k+1]].</summary>
    public int[] BinStart { get; private set; } = [];

    /// <summary>Flat pixel indices of every unmasked pixel, grouped by bin, ascending within a bin.</summary>
    public int[] BinPixels { get; private set; } = [];

    /// <summary>Background interpolation position per pixel; NaN where there is no background (masked or
    /// beyond radius_max): such pixels are never picked.</summary>
    public float[] BackgroundPosition { get; private set; } = [];

    /// <summary>Combined normalisation per pixel; 0 where the pixel can never be valid.</summary>
    public float[] Omega { get; private set; } = [];

    /// <summary>
    /// Builds the model from the SMX parameter blocks as a receiver gets them: the radius map from
    /// <c>fai.radius2d_path</c> (m) or else from <paramref name="geometry"/>; the mask from <c>fai.mask_path</c>
    /// (1 = masked) unless <paramref name="mask"/> is given; the number of bins from <c>fai.nb_bins</c>, else the
    /// length of <c>fai.radius1d_path</c>, else one per two pixels of radius; the calibration arrays of <c>fai</c> and
    /// <c>jfrau</c>. Files are read through <paramref name="images"/> (.npy, plus what is registered, e.g. HDF5).
    /// </summary>
    /// <exception cref="ArgumentException">neither a radius map nor a geometry, or inconsistent shapes.</exception>
    /// <exception cref="ReferenceImageException">a named image cannot be read or has the wrong shape (names the field).</exception>
    /// <exception cref="ReferenceImageException">the <c>fai.radius1d_path</c> file does not exist or cannot be read.</exception>
    public static PeakFinderModel Load(int width, int height, FaiParams fai, Geometry? geometry, JungfrauParams? jungfrau = null,
        byte[]? mask = null, ReferenceImages? images = null)
    {
        fai = fai.Validated();
        images ??= ReferenceImages.Default;
        double[] Read(string path, string field) => images.Read(path, field, width, height);
        if (mask is null && fai.MaskPath is not null)
            mask = Array.ConvertAll(Read(fai.MaskPath, "fai.mask_path"), v => v != 0 ? (byte)1 : (byte)0);
        if (fai.NbBins == 0 && fai.Radius1dPath is not null)
            fai = fai with { NbBins = checked((int)images.ReadFile(fai.Radius1dPath, "fai.radius1d_path", NpyFile.Read).Length) };
        var calibration = Calibration.Load(fai, jungfrau, width, height, images);
        if (fai.Radius2dPath is not null)
        {
            var radius = Read(fai.Radius2dPath, "fai.radius2d_path");
            var pixel = geometry?.PixelSize1 ?? (fai.NbBins > 0 ? 1.0 : throw new ArgumentException("fai.radius2d_path without a geometry needs fai.nb_bins or fai.radius1d_path"));
            return Create(width, height, radius, mask, fai, calibration, pixel);
        }
        return geometry is null
            ? throw new ArgumentException("no geometry: give a PONI geometry or fai.radius2d_path")
            : Create(width, height, geometry, mask, fai, calibration);
    }

    /// <summary>Builds the model from a geometry.</summary>
    /// <exception cref="ArgumentException">the geometry is for a detector of another shape.</exception>
    public static PeakFinderModel Create(int width, int height, Geometry geometry, byte[]? mask, FaiParams fai, Calibration? calibration = null) =>
        geometry.DetectorShape is { } shape && shape != (height, width)
            ? throw new ArgumentException(
                $"the geometry is for a detector of shape ({shape.Height}, {shape.Width}), the frames have shape ({height}, {width})")
            : Create(width, height, geometry.RadiusMeters(height, width), mask, fai, calibration, geometry.PixelSize1);

    /// <summary>Builds the model from a radius map in m.</summary>
    /// <param name="pixelSize">m, used to choose the default number of bins (one per two pixels of radius).</param>
    public static PeakFinderModel Create(int width, int height, double[] radius, byte[]? mask, FaiParams fai, Calibration? calibration, double pixelSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        fai = fai.Validated();
        // more bins than pixels of radius leave most of them empty, and each costs work and memory per frame
        var diagonal = (int)Math.Ceiling(Math.Sqrt((double)width * width + (double)height * height));
        if (fai.NbBins > diagonal)
            throw new ArgumentException($"fai.nb_bins {fai.NbBins} is more than the {diagonal} pixels of the frame's diagonal (at most one bin per pixel of radius)");
        calibration ??= Calibration.None;
        var n = checked(width * height);
        if (radius.Length != n)
            throw new ArgumentException($"the radius map has {radius.Length} values, the frame has {height}x{width} = {n} pixels");
        if (mask is not null && mask.Length != n)
            throw new ArgumentException($"the mask has {mask.Length} values, the frame has {height}x{width} = {n} pixels");
        calibration.CheckShapes(n);
        if (fai.ErrorModel == ErrorModel.Variance && calibration.Variance is null)
            throw new ArgumentException("fai.error_model 'variance' needs a variance array (fai.variance_path)");

        var model = new PeakFinderModel(width, height, fai, calibration);
        var m = new byte[n];
        double rmin = double.PositiveInfinity, rmax = double.NegativeInfinity;
        for (var i = 0; i < n; i++)
        {
            var r = radius[i];
            if ((mask is not null && mask[i] != 0) || !double.IsFinite(r))
            {
                m[i] = 1;
                continue;
            }
            if (r < rmin) rmin = r;
            if (r > rmax) rmax = r;
        }
        if (double.IsPositiveInfinity(rmin))
            throw new ArgumentException("the mask excludes every pixel: nothing to process");
        model.Mask = m;

        var bins = fai.NbBins > 0 ? fai.NbBins : DefaultBins(rmax, pixelSize);
        var rmaxEdge = rmax * (1 + Math.Pow(2, -23));
        var delta = (rmaxEdge - rmin) / bins;
        model.NbBins = bins;
        model.RadiusMin = rmin;
        model.BinWidth = delta;
        model.BinCenters = Enumerable.Range(0, bins).Select(k => rmin + (k + 0.5) * delta).ToArray();

        var binOf = new int[n];
        var counts = new int[bins + 1];
        for (var i = 0; i < n; i++)
        {
            if (m[i] != 0) { binOf[i] = -1; continue; }
            var b = Math.Clamp((int)Math.Floor((radius[i] - rmin) / delta), 0, bins - 1);
            binOf[i] = b;
            counts[b + 1]++;
        }
        for (var k = 0; k < bins; k++)
            counts[k + 1] += counts[k];
        var start = (int[])counts.Clone();
        var pixels = new int[counts[bins]];
        for (var i = 0; i < n; i++)
            if (binOf[i] >= 0)
                pixels[start[binOf[i]]++] = i;
        model.BinStart = counts;
        model.BinPixels = pixels;

        // float32 exactly as pyFAI's kernels see radius2d and radius1d
        var r32 = new float[n];
        var pos = new float[n];
        var c0 = (float)model.BinCenters[0];
        var step = bins > 1 ? (float)model.BinCenters[1] - c0 : (float)delta;
        var pickMax = fai.RadiusMax > 0 ? (float)(fai.RadiusMax * (1 + Math.Pow(2, -23))) : float.MaxValue;
        for (var i = 0; i < n; i++)
        {
            var r = m[i] != 0 ? float.NaN : (float)radius[i];
            r32[i] = r;
            pos[i] = float.IsFinite(r) && r < pickMax ? Math.Clamp((r - c0) / step, 0f, bins) : float.NaN;
        }
        model.Radius = r32;
        model.BackgroundPosition = pos;
        model.Omega = CombinedOmega(n, fai, calibration, m);
        return model;
    }

    /// <summary>
    /// Bins two pixels of radius wide. One-pixel bins near the beam centre hold so few pixels that a bright Bragg
    /// peak there makes most of a bin: the first mean is then so high that sigma clipping rejects every pixel, the
    /// bin's background becomes 0 and its whole ring is picked (pyFAI does the same with such bins). Two-pixel bins
    /// hold twice the pixels and still follow powder rings a few pixels wide, which much wider bins average away
    /// (their pixels are then picked as peaks); for a large detector this is close to pyFAI's command-line default of 800 bins.
    /// </summary>
    private static int DefaultBins(double rmax, double pixelSize) => Math.Max(1, (int)Math.Ceiling(rmax / (2 * pixelSize)));

    private static float[] CombinedOmega(int n, FaiParams fai, Calibration c, byte[] mask)
    {
        var omega = new float[n];
        var norm = (float)fai.NormalizationFactor;
        var dummy = (float)(fai.Dummy ?? 0);
        var dd = (float)fai.DeltaDummy;
        for (var i = 0; i < n; i++)
        {
            if (mask[i] != 0)
                continue;
            var w = norm;
            if (c.Flat is { } flat)
            {
                var f = flat[i];
                if (fai.Dummy is not null && (dd != 0 ? MathF.Abs(f - dummy) <= dd : f == dummy))
                    continue; // a flat-field hole invalidates the pixel
                w *= f;
            }
            if (c.SolidAngle is { } sa) w *= sa[i];
            if (c.Polarization is { } pol) w *= pol[i];
            if (c.Absorption is { } abs) w *= abs[i];
            omega[i] = float.IsNaN(w) ? 0 : w;
        }
        return omega;
    }
}
