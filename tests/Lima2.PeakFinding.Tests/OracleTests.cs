using System.Globalization;

namespace Lima2.PeakFinding.Tests;

/// <summary>Our finder against pyFAI 0.21.3's outputs on the shared frames (compat switch on).</summary>
public sealed class OracleTests
{
    public static TheoryData<string, string, string> PeakCases() => new()
    {
        { "f1k", "pf8_poisson_c4_p3_n3", "reference" },
        { "f1k", "pf8_poisson_c4_p3_n3", "opencl" },
        { "f1k", "pf8_azimuthal_c4_p3_n3", "reference" },
        { "f1k", "pf8_azimuthal_c4_p3_n3", "opencl" },
        { "f1k", "pf8_cli_defaults", "opencl" },
        { "jf4m", "pf8_poisson_c4_p3_n3", "opencl" },
        { "jf4m", "pf8_azimuthal_c4_p3_n3", "opencl" },
        { "jf4m", "pf8_cli_defaults", "reference" },
        { "blank1k", "pf8_poisson_c4_p3_n3", "opencl" },
        { "blank1k", "pf8_cli_defaults", "reference" },
    };

    internal static PeakFrameResult Run(TestFrame f, FaiParams p, string backend)
    {
        using var finder = PeakFinder.Create(f.Model(p), Lima2.Core.Frames.PixelType.Gray32s, backend == "opencl" ? Ocl.Options : Ocl.Reference);
        using var frame = f.ToFrame();
        return finder.Process(frame);
    }

    [Theory]
    [MemberData(nameof(PeakCases))]
    public void Peak_finding_gives_pyFAIs_peaks_with_centroids_within_a_thousandth_of_a_pixel(string name, string config, string backend)
    {
        var f = TestFrame.Get(name);
        var result = Run(f, f.OracleParams(config), backend);
        var expected = PeaksCsv.Read(TestFrame.Oracle($"{name}_{config}_peaks.csv")).OrderBy(p => p.Index).ToList();

        Assert.Equal(expected.Select(p => p.Index), result.Peaks.Select(p => p.Index));
        Assert.Equal(expected.Count, result.NbPeaks);
        foreach (var (e, a) in expected.Zip(result.Peaks))
        {
            Assert.True(Math.Abs(e.Pos0 - a.Pos0) <= 1e-3 && Math.Abs(e.Pos1 - a.Pos1) <= 1e-3,
                $"peak {e.Index}: pyFAI ({e.Pos0}, {e.Pos1}), ours ({a.Pos0}, {a.Pos1})");
            Assert.True(Math.Abs(e.Intensity - a.Intensity) <= 1e-3 * Math.Abs(e.Intensity) + 1e-3, $"peak {e.Index}: intensity {e.Intensity} vs {a.Intensity}");
            Assert.True(Math.Abs(e.Sigma - a.Sigma) <= 1e-3 * e.Sigma + 1e-3, $"peak {e.Index}: sigma {e.Sigma} vs {a.Sigma}");
        }
    }

    [Theory]
    [InlineData("f1k", "opencl")]
    [InlineData("f1k", "reference")]
    [InlineData("jf4m", "opencl")]
    [InlineData("blank1k", "reference")]
    public void Sparsify_keeps_pyFAIs_pixels_up_to_one_borderline_pixel_in_ten_thousand(string name, string backend)
    {
        var f = TestFrame.Get(name);
        var p = f.OracleParams("sparsify_poisson_c3");
        var result = Run(f, p, backend);
        var bytes = File.ReadAllBytes(TestFrame.Oracle($"{name}_sparsify_poisson_c3_index_i32.bin"));
        var expected = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(bytes).ToArray().ToHashSet();
        var ours = result.Sparse.Index.ToHashSet();
        var differ = expected.Except(ours).Count() + ours.Except(expected).Count();
        Assert.True(differ <= Math.Max(1, expected.Count / 10_000), $"{differ} pixels differ out of {expected.Count}");
        Assert.Equal(result.Sparse.Index.Order(), result.Sparse.Index);

        var background = File.ReadLines(TestFrame.Oracle($"{name}_sparsify_poisson_background.csv")).Skip(1)
            .Select(l => l.Split(',')).Select(c => (Avg: double.Parse(c[2], CultureInfo.InvariantCulture), Std: double.Parse(c[3], CultureInfo.InvariantCulture)))
            .ToArray();
        Assert.Equal(background.Length, result.Sparse.BackgroundAvg.Length);
        for (var k = 0; k < background.Length; k++)
        {
            Assert.True(Math.Abs(background[k].Avg - result.Sparse.BackgroundAvg[k]) <= 1e-4 * Math.Abs(background[k].Avg) + 1e-4, $"bin {k}: avg {background[k].Avg} vs {result.Sparse.BackgroundAvg[k]}");
            Assert.True(Math.Abs(background[k].Std - result.Sparse.BackgroundStd[k]) <= 1e-4 * background[k].Std + 1e-4, $"bin {k}: std {background[k].Std} vs {result.Sparse.BackgroundStd[k]}");
        }
    }

    [Theory]
    [InlineData("f1k", "pf8_poisson_c4_p3_n3")]
    [InlineData("jf4m", "pf8_cli_defaults")]
    public void Radial_bins_have_pyFAIs_edges(string name, string config)
    {
        var f = TestFrame.Get(name);
        var model = f.Model(f.OracleParams(config));
        var (min, delta) = f.OracleBins(config);
        Assert.Equal(min, model.RadiusMin, 1e-15);
        Assert.Equal(delta, model.BinWidth, 1e-15);
    }
}
