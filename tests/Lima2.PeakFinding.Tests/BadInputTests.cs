using Lima2.Core.Frames;

using Lima2.Core.IO;

namespace Lima2.PeakFinding.Tests;

/// <summary>Wrong input gives an error that says what is wrong.</summary>
public sealed class BadInputTests
{
    private static readonly FaiParams P = new();

    [Theory]
    [InlineData("opencl")]
    [InlineData("reference")]
    public void A_frame_of_another_shape_is_refused_with_both_shapes(string backend)
    {
        using var finder = PeakFinder.Create(Synthetic.Model(P), PixelType.Gray32s, backend == "opencl" ? Ocl.Options : Ocl.Reference);
        using var frame = Frame.FromArray(new int[100 * 50], 100, 50, index: 7);
        var e = Assert.Throws<ArgumentException>(() => finder.Process(frame));
        Assert.Contains("100x50", e.Message);
        Assert.Contains($"{Synthetic.Width}x{Synthetic.Height}", e.Message);
    }

    [Fact]
    public void A_frame_of_another_pixel_type_is_refused_by_the_OpenCL_engine()
    {
        using var finder = PeakFinder.Create(Synthetic.Model(P), PixelType.Gray32s, Ocl.Options);
        using var frame = Frame.FromArray(new ushort[Synthetic.Width * Synthetic.Height], Synthetic.Width, Synthetic.Height);
        Assert.Contains("gray16", Assert.Throws<ArgumentException>(() => finder.Process(frame)).Message);
    }

    [Fact]
    public void A_mask_or_radius_map_of_the_wrong_size_is_refused()
    {
        Assert.Contains("mask", Assert.Throws<ArgumentException>(() => Synthetic.Model(P, mask: new byte[10])).Message);
        Assert.Contains("radius", Assert.Throws<ArgumentException>(() =>
            PeakFinderModel.Create(Synthetic.Width, Synthetic.Height, new double[5], null, P, null, 75e-6)).Message);
        Assert.Contains("dark", Assert.Throws<ArgumentException>(() => Synthetic.Model(P, new Calibration { Dark = new float[3] })).Message);
    }

    [Fact]
    public void A_mask_that_excludes_everything_is_refused()
    {
        var mask = Enumerable.Repeat((byte)1, Synthetic.Width * Synthetic.Height).ToArray();
        Assert.Contains("excludes every pixel", Assert.Throws<ArgumentException>(() => Synthetic.Model(P, mask: mask)).Message);
    }

    [Theory]
    [InlineData("""{"noise": "NaN"}""", "noise")]
    [InlineData("""{"cutoff_pick": -1}""", "cutoff_pick")]
    [InlineData("""{"patch_size": 4}""", "patch_size")]
    [InlineData("""{"connected": 10}""", "connected")]
    [InlineData("""{"error_model": "no_var"}""", "error_model")]
    [InlineData("""{"error_model": "variance"}""", "variance_path")]
    [InlineData("""{"error_model": "gaussian"}""", "error_model")]
    [InlineData("""{"cutof_pick": 3}""", "cutof_pick")]
    [InlineData("""{"cycle": "five"}""", "cycle")]
    public void Bad_fai_parameters_name_the_field(string json, string field)
    {
        var e = Assert.Throws<ArgumentException>(() => FaiParams.Parse(json));
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void NaN_pixels_and_NaN_calibration_values_make_pixels_invalid_not_peaks()
    {
        var counts = Synthetic.Counts(3).Select(v => (float)v).ToArray();
        counts[Synthetic.Peaks[0].Row * Synthetic.Width + Synthetic.Peaks[0].Col] = float.NaN;
        var flat = Enumerable.Repeat(1f, counts.Length).ToArray();
        flat[Synthetic.Peaks[1].Row * Synthetic.Width + Synthetic.Peaks[1].Col] = float.NaN;
        var model = Synthetic.Model(P with { CutoffPick = 4, Connected = 2 }, new Calibration { Flat = flat });
        using var finder = PeakFinder.Create(model, PixelType.Gray32f, Ocl.Reference);
        using var frame = Frame.FromArray(counts, Synthetic.Width, Synthetic.Height);
        var result = finder.Process(frame);
        Assert.All(result.Peaks, x => Assert.True(float.IsFinite(x.Intensity) && float.IsFinite(x.Pos0)));
        Assert.All(result.Sparse.BackgroundAvg, v => Assert.True(float.IsFinite(v)));
        Assert.DoesNotContain(result.Peaks, x => x.Index == Synthetic.Peaks[0].Row * Synthetic.Width + Synthetic.Peaks[0].Col);
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("reference")]
    public void Bins_with_every_pixel_masked_get_zero_background_and_no_peaks(string backend)
    {
        // mask a ring 30 to 40 px from the centre: bins there are empty
        var mask = new byte[Synthetic.Width * Synthetic.Height];
        for (var i = 0; i < Synthetic.Height; i++)
            for (var j = 0; j < Synthetic.Width; j++)
            {
                var r = Math.Sqrt((i - 99.8) * (i - 99.8) + (j - 120.1) * (j - 120.1));
                mask[i * Synthetic.Width + j] = r is >= 30 and < 40 ? (byte)1 : (byte)0;
            }
        var model = Synthetic.Model(P, mask: mask);
        using var finder = PeakFinder.Create(model, PixelType.Gray32s, backend == "opencl" ? Ocl.Options : Ocl.Reference);
        using var frame = Synthetic.Frame(Synthetic.Counts(5));
        var result = finder.Process(frame);
        var empty = Enumerable.Range(0, model.NbBins).Where(k => model.BinStart[k] == model.BinStart[k + 1]).ToList();
        Assert.NotEmpty(empty);
        Assert.All(empty, k => Assert.Equal(0f, result.Sparse.BackgroundAvg[k]));
        Assert.All(empty, k => Assert.Equal(0f, result.Sparse.BackgroundStd[k]));
        Assert.DoesNotContain(result.Sparse.Index, i => mask[i] == 1);
        Assert.DoesNotContain(result.Peaks, x => mask[x.Index] == 1);
    }

    [Fact]
    public void Missing_calibration_files_name_the_parameter_and_the_path()
    {
        var p = P with { FlatPath = "/nonexistent/flat.npy" };
        var e = Assert.Throws<ReferenceImageException>(() => Calibration.Load(p, null, Synthetic.Width, Synthetic.Height));
        Assert.Equal("fai.flat_path", e.Field);
        Assert.Contains("/nonexistent/flat.npy", e.Message);
        var jf = new JungfrauParams { GainPath = "/nonexistent/gain.npy", PedestalPath = "/nonexistent/ped.npy" };
        Assert.Contains("jfrau.gain_path", Assert.Throws<ReferenceImageException>(() => Calibration.Load(P, jf, 10, 10)).Message);
    }

    [Fact]
    public void A_calibration_file_of_another_shape_is_refused_with_both_shapes()
    {
        var path = Path.Combine(Path.GetTempPath(), $"lima2-test-dark-{Environment.ProcessId}.npy");
        NpyFile.Write(path, new byte[48], "<f4", 3, 4);
        try
        {
            var e = Assert.Throws<ReferenceImageException>(() => Calibration.Load(P with { DarkPath = path }, null, Synthetic.Width, Synthetic.Height));
            Assert.Equal("fai.dark_path", e.Field);
            Assert.Contains("(3, 4)", e.Message);
            Assert.Contains($"({Synthetic.Height}, {Synthetic.Width})", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_PONI_file_without_pixel_size_or_that_is_missing_says_so()
    {
        Assert.Contains("pixel size", Assert.Throws<FormatException>(() => Geometry.ParsePoni("Detector: Pilatus6M\nDistance: 0.1\nPoni1: 0.1\nPoni2: 0.1\n")).Message);
        Assert.Contains("Poni2", Assert.Throws<FormatException>(() => Geometry.ParsePoni("PixelSize1: 1e-4\nPixelSize2: 1e-4\nDistance: 0.1\nPoni1: 0.1\n")).Message);
        Assert.Throws<FileNotFoundException>(() => Geometry.FromPoniFile("/nonexistent.poni"));
    }

    [Fact]
    public void More_bins_than_pixels_of_the_frame_diagonal_are_refused()
    {
        // 256x200: a 325-pixel diagonal
        var e = Assert.Throws<ArgumentException>(() => Synthetic.Model(P with { NbBins = 10_000_000 }));
        Assert.Equal("fai.nb_bins 10000000 is more than the 325 pixels of the frame's diagonal (at most one bin per pixel of radius)", e.Message);
        Assert.Equal(325, Synthetic.Model(P with { NbBins = 325 }).NbBins);
    }

    [Fact]
    public void A_PONI_geometry_for_a_detector_of_another_shape_is_refused()
    {
        var poni = Geometry.ParsePoni(PyFaiOracle.Poni(Synthetic.Geometry, Synthetic.Height, Synthetic.Width));
        Assert.Equal((Synthetic.Height, Synthetic.Width), poni.DetectorShape);
        Assert.Equal(Synthetic.Width, PeakFinderModel.Create(Synthetic.Width, Synthetic.Height, poni, null, P).Width);
        var e = Assert.Throws<ArgumentException>(() => PeakFinderModel.Create(Synthetic.Height, Synthetic.Width, poni, null, P));
        Assert.Equal("the geometry is for a detector of shape (200, 256), the frames have shape (256, 200)", e.Message);
    }
}
